"""SmtpSender against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import email.message
import threading

import pytest

from tests.support.dovecot import free_port
from tests.support.smtp import SmtpServer
from worker.adapters.smtp import SmtpSender, parse_smtp_url
from worker.domain.errors import ConfigurationError, PermanentError, TransientError
from worker.ports import MailSender

pytestmark = pytest.mark.integration


def letter(message_id: str | None = "<ack-1@landlord.example>") -> email.message.EmailMessage:
    msg = email.message.EmailMessage()
    msg["From"] = "Complaints <complaints@landlord.example>"
    msg["To"] = "Resident <resident@example.org>"
    msg["Subject"] = "Your complaint CMP-2025-0001"
    msg["X-Complaints-Case-Ref"] = "CMP-2025-0001"
    msg["X-Complaints-Letter-Kind"] = "stage1_acknowledgement"
    if message_id:
        msg["Message-ID"] = message_id
    msg.set_content("We have received your complaint.\n")
    return msg


def test_delivers_and_returns_the_message_id(smtp_server: SmtpServer) -> None:
    sender = SmtpSender.from_url(smtp_server.url)
    assert isinstance(sender, MailSender)

    assert sender.send(letter()) == "<ack-1@landlord.example>"

    (got,) = smtp_server.wait_for(1)
    assert got.mail_from == "complaints@landlord.example"
    assert got.rcpt_tos == ("resident@example.org",)
    assert got.message["Message-ID"] == "<ack-1@landlord.example>"
    assert got.message["X-Complaints-Letter-Kind"] == "stage1_acknowledgement"
    assert got.message.get_content() == "We have received your complaint.\n"


def test_sets_a_message_id_when_missing(smtp_server: SmtpServer) -> None:
    msg = letter(message_id=None)
    sent_id = SmtpSender.from_url(smtp_server.url).send(msg)
    assert sent_id.startswith("<") and sent_id.endswith("@landlord.example>")
    assert msg["Message-ID"] == sent_id
    assert smtp_server.wait_for(1)[0].message["Message-ID"] == sent_id


def test_server_stopped_raises_transient_error_then_delivers_after_restart(
    smtp_server: SmtpServer,
) -> None:
    sender = SmtpSender.from_url(smtp_server.url, timeout=5)
    smtp_server.stop()
    with pytest.raises(TransientError):
        sender.send(letter())
    smtp_server.start()
    sender.send(letter())
    assert len(smtp_server.wait_for(1)) == 1


def test_nothing_listening_raises_transient_error() -> None:
    with pytest.raises(TransientError):
        SmtpSender.from_url(f"smtp://127.0.0.1:{free_port()}", timeout=2).send(letter())


def test_550_on_data_raises_permanent_error(smtp_server: SmtpServer) -> None:
    smtp_server.data_response = "550 5.7.1 Message rejected as spam"
    with pytest.raises(PermanentError, match="550"):
        SmtpSender.from_url(smtp_server.url).send(letter())
    assert smtp_server.messages == []


def test_451_on_data_raises_transient_error(smtp_server: SmtpServer) -> None:
    smtp_server.data_response = "451 4.3.0 Try again later"
    with pytest.raises(TransientError, match="451"):
        SmtpSender.from_url(smtp_server.url).send(letter())


def test_recipient_refused_raises_permanent_error(smtp_server: SmtpServer) -> None:
    smtp_server.rcpt_response = "550 5.1.1 No such user"
    with pytest.raises(PermanentError, match="resident@example.org"):
        SmtpSender.from_url(smtp_server.url).send(letter())


def test_recipient_deferred_raises_transient_error(smtp_server: SmtpServer) -> None:
    smtp_server.rcpt_response = "450 4.2.1 Mailbox busy"
    with pytest.raises(TransientError):
        SmtpSender.from_url(smtp_server.url).send(letter())


def test_works_from_a_worker_thread_and_inside_a_running_loop(smtp_server: SmtpServer) -> None:
    sender = SmtpSender.from_url(smtp_server.url)
    errors: list[BaseException] = []

    def in_thread() -> None:
        try:
            sender.send(letter("<thread@landlord.example>"))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    t = threading.Thread(target=in_thread)
    t.start()
    t.join(30)

    async def in_loop() -> str:
        return sender.send(letter("<loop@landlord.example>"))

    assert asyncio.run(in_loop()) == "<loop@landlord.example>"
    assert errors == []
    ids = {m.message["Message-ID"] for m in smtp_server.wait_for(2)}
    assert ids == {"<thread@landlord.example>", "<loop@landlord.example>"}


@pytest.mark.parametrize(
    "url",
    [
        "http://host",
        "smtp://",
        "smtp://user@host:25",
        "smtp://host:port",
        "smtps://host?starttls=1",
        "smtp://host?starttls=maybe",
        "smtp://host?pool=0",
        "smtp://host?pool=many",
    ],
)
def test_bad_url_raises_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        SmtpSender.from_url(url)
    assert "\n" not in str(info.value)


def test_url_parts() -> None:
    s = parse_smtp_url("smtps://no%40reply:pa%24s@relay.example:2465")
    assert (s.host, s.port, s.user, s.password, s.tls) == (
        "relay.example",
        2465,
        "no@reply",
        "pa$s",
        True,
    )
    assert "pa$s" not in repr(s)
    assert parse_smtp_url("smtps://h").port == 465
    assert parse_smtp_url("smtp://h").port == 25
    assert parse_smtp_url("smtp://h:587?starttls=1").starttls is True
    assert parse_smtp_url("smtp://h:587?starttls=0").starttls is False
    assert parse_smtp_url("smtp://h:587").starttls is None
    assert parse_smtp_url("smtp://h?verify=0").verify is False
    assert parse_smtp_url("smtp://h?pool=40").pool_size == 40
    assert parse_smtp_url("smtp://h").pool_size is None
