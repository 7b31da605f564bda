"""RecipientOverride sends every letter to the staging address only, one at a time or batched."""

from __future__ import annotations

import email.message
from collections.abc import Callable, Sequence

from worker.adapters.recipient_override import RecipientOverride
from worker.ports import MailSender, SendResult


class FakeSender:
    def __init__(self) -> None:
        self.sent: list[email.message.EmailMessage] = []
        self.closed = False

    def send(
        self,
        message: email.message.EmailMessage,
        before_data: Callable[[], None] | None = None,
    ) -> str:
        if before_data is not None:
            before_data()
        self.sent.append(message)
        return str(message["Message-ID"])

    def send_batch(
        self,
        messages: Sequence[email.message.EmailMessage],
        before_data: Callable[[Sequence[int]], None],
        after_data: Callable[[Sequence[SendResult]], None] | None = None,
    ) -> list[SendResult]:
        before_data(list(range(len(messages))))
        self.sent.extend(messages)
        results = [SendResult(i, str(m["Message-ID"])) for i, m in enumerate(messages)]
        if after_data is not None:
            after_data(results)
        return results

    def close(self) -> None:
        self.closed = True


def letter(n: int) -> email.message.EmailMessage:
    msg = email.message.EmailMessage()
    msg["From"] = "complaints@landlord.example"
    msg["To"] = f"Resident {n} <resident{n}@example.org>"
    msg["Message-ID"] = f"<l{n}@landlord.example>"
    msg.set_content("x")
    return msg


def test_send_goes_to_the_staging_address_and_keeps_the_original() -> None:
    inner = FakeSender()
    override = RecipientOverride(inner, "staging@landlord.example")
    assert isinstance(override, MailSender)

    assert override.send(letter(1)) == "<l1@landlord.example>"

    (sent,) = inner.sent
    assert sent.get_all("To") == ["staging@landlord.example"]
    assert sent["X-Complaints-Original-To"] == "Resident 1 <resident1@example.org>"


def test_send_batch_redirects_every_letter_and_passes_before_data_through() -> None:
    inner = FakeSender()
    calls: list[list[int]] = []

    results = RecipientOverride(inner, "staging@landlord.example").send_batch(
        [letter(1), letter(2)], lambda indices: calls.append(list(indices))
    )

    assert calls == [[0, 1]]
    assert [r.message_id for r in results] == ["<l1@landlord.example>", "<l2@landlord.example>"]
    assert [m["To"] for m in inner.sent] == ["staging@landlord.example"] * 2
    assert [m["X-Complaints-Original-To"] for m in inner.sent] == [
        "Resident 1 <resident1@example.org>",
        "Resident 2 <resident2@example.org>",
    ]


def test_copies_never_reach_their_real_recipients() -> None:
    inner = FakeSender()
    msg = letter(1)
    msg["Cc"] = "advocate@example.org"
    msg["Bcc"] = "manager@landlord.example"

    RecipientOverride(inner, "staging@landlord.example").send_batch([msg], lambda indices: None)

    (sent,) = inner.sent
    assert sent.get_all("Cc") is None and sent.get_all("Bcc") is None
    assert sent["X-Complaints-Original-Cc"] == "advocate@example.org, manager@landlord.example"


def test_close_closes_the_wrapped_sender() -> None:
    inner = FakeSender()
    RecipientOverride(inner, "staging@landlord.example").close()
    assert inner.closed
