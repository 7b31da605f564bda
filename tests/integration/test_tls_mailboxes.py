"""imaps:// is verified: a Dovecot whose certificate comes from a private (test) CA is accepted
when that CA is configured, and refused in one line naming the host when it is not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.support.dovecot import DovecotInstance, DovecotOptions
from tests.support.oauth_server import TestCA, make_test_ca
from worker.adapters.imap import ImapMailbox
from worker.adapters.oauth import MailTlsError
from worker.cli import main

pytestmark = pytest.mark.integration

MESSAGE = b"From: a@example.org\r\nSubject: hello\r\nMessage-ID: <tls1@example.org>\r\n\r\nhi\r\n"


@pytest.fixture
def test_ca(tmp_path: Path) -> TestCA:
    return make_test_ca(tmp_path / "ca")


@pytest.fixture
def tls_dovecot(test_ca: TestCA) -> Iterator[DovecotInstance]:
    instance = DovecotInstance(
        DovecotOptions(tls_cert=str(test_ca.cert_file), tls_key=str(test_ca.key_file))
    )
    instance.start()
    yield instance
    instance.close()


def _url(instance: DovecotInstance) -> str:
    return (
        f"imaps://tls-user:{quote(instance.password, safe='')}@{instance.host}:"
        f"{instance.tls_port}/INBOX"
    )


def test_imaps_with_the_test_ca_configured_is_accepted(tls_dovecot, test_ca) -> None:
    tls_dovecot.mailbox("tls-user").append(MESSAGE)
    mailbox = ImapMailbox.from_url(_url(tls_dovecot), ca_file=str(test_ca.ca_file))
    try:
        assert [item.raw for item in mailbox.fetch_new()] == [MESSAGE]
    finally:
        mailbox.close()


def test_imaps_without_the_ca_is_refused_in_one_line_naming_the_host(tls_dovecot) -> None:
    mailbox = ImapMailbox.from_url(_url(tls_dovecot))
    with pytest.raises(MailTlsError) as info:
        mailbox.fetch_new()
    message = str(info.value)
    assert "\n" not in message
    assert f"TLS: the certificate of 127.0.0.1:{tls_dovecot.tls_port} is not trusted" in message


def test_check_connection_reports_tls_and_exits_2(
    tls_dovecot, test_ca, monkeypatch, tmp_path, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COMPLAINTS_DATABASE_URL", f"sqlite:///{tmp_path / 'c.db'}")
    monkeypatch.setenv("COMPLAINTS_IMAP_URL", _url(tls_dovecot))
    for name in ("COMPLAINTS_SMTP_URL", "COMPLAINTS_REDIS_URL", "COMPLAINTS_TLS_CA_FILE"):
        monkeypatch.delenv(name, raising=False)
    assert main(["check-connection"]) == 2
    imap = capsys.readouterr().out.splitlines()[0]
    assert imap.startswith("IMAP imaps://tls-user@127.0.0.1:")
    assert ": TLS: the certificate of 127.0.0.1:" in imap
    assert tls_dovecot.password not in imap

    monkeypatch.setenv("COMPLAINTS_TLS_CA_FILE", str(test_ca.ca_file))
    assert main(["check-connection"]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith(": ok")
