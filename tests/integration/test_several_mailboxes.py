"""Several mailboxes polled by one worker: each message is stored once, and each letter comes
from the address the resident wrote to."""

from __future__ import annotations

import uuid

import pytest

from worker.cli import main

pytestmark = pytest.mark.integration


def _complaint(to: str, n: int) -> bytes:
    return (
        f"From: Resident {n} <resident{n}@example.org>\r\nTo: {to}\r\n"
        f"Subject: Nobody came to fix my boiler\r\nMessage-ID: <many-{n}-{uuid.uuid4().hex}@e>\r\n"
        "Date: Mon, 02 Nov 2026 09:00:00 +0000\r\n\r\n"
        "I am unhappy with the service: my boiler has been broken for weeks.\r\n"
    ).encode()


def test_two_mailboxes_one_worker_each_message_once_each_letter_from_its_address(
    dovecot_instance, smtp_server, pg_url, monkeypatch, tmp_path
) -> None:
    english = dovecot_instance.mailbox(f"complaints{uuid.uuid4().hex[:6]}")
    welsh = dovecot_instance.mailbox(f"cwynion{uuid.uuid4().hex[:6]}")
    english.append(_complaint("complaints@landlord.example", 1))
    welsh.append(_complaint("cwynion@landlord.example", 2))
    urls = [
        f"{english.url}?address=complaints@landlord.example",
        f"{welsh.url}?address=cwynion@landlord.example",
    ]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COMPLAINTS_DATABASE_URL", pg_url)
    monkeypatch.setenv("COMPLAINTS_IMAP_URL", " ".join(urls))
    monkeypatch.setenv("COMPLAINTS_SMTP_URL", smtp_server.url)
    monkeypatch.delenv("COMPLAINTS_REDIS_URL", raising=False)

    assert main(["worker", "--once"]) == 0
    assert main(["worker", "--once"]) == 0  # a second round finds nothing new

    letters = smtp_server.wait_for(2)
    by_recipient = {m.rcpt_tos[0]: m for m in letters}
    assert sorted(by_recipient) == ["resident1@example.org", "resident2@example.org"]
    assert len(letters) == 2
    assert "complaints@landlord.example" in by_recipient["resident1@example.org"].message["From"]
    assert "cwynion@landlord.example" in by_recipient["resident2@example.org"].message["From"]
    assert english.list_uids("INBOX") == [] and welsh.list_uids("INBOX") == []
