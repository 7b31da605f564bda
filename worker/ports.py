"""The interfaces between the pipeline and the outside world (typing.Protocol, no I/O here).

Stages depend on these; `worker/adapters/` holds one implementation per external system, and
`bootstrap` picks which ones to use.
"""

from __future__ import annotations

import email.message
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class RawInbound:
    """One message as it came off a mailbox, before anything has looked inside it.

    `(mailbox, uidvalidity, uid)` identifies it for good: the database's unique key on these makes
    a second delivery of the same message a no-op.
    """

    mailbox: str  # stable identifier, e.g. "imap://user@host:port/INBOX" or "maildir:/abs/path"
    uidvalidity: int
    uid: int
    raw: bytes


@runtime_checkable
class Mailbox(Protocol):
    """Where resident mail arrives (IMAP folder or a local Maildir)."""

    name: str

    def fetch_new(self, limit: int = 100) -> list[RawInbound]:
        """Messages not yet processed, oldest first, without marking them seen."""
        ...

    def mark_processed(self, item: RawInbound) -> None:
        """Move `item` out of the way; call ONLY once its raw bytes are committed to the DB."""
        ...

    def mark_processed_many(self, items: Sequence[RawInbound]) -> None:
        """`mark_processed` for a whole batch in as few server round trips as possible."""
        ...

    def wait_for_mail(self, timeout: float) -> bool:
        """Block until new mail may have arrived (IMAP IDLE, or a short local poll) or until
        `timeout` seconds pass. True when something changed; False on timeout. Never loses
        mail: a caller that always fetches after it returns sees everything."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SendResult:
    """What became of one letter of a batch: ``error`` is None when the server accepted it,
    else a TransientError (retry later), PermanentError (quarantine) or DeliveryUncertain
    (it may have been delivered: never resent automatically)."""

    index: int  # position in the batch handed to send_batch
    message_id: str
    error: Exception | None = None


@runtime_checkable
class MailSender(Protocol):
    """Delivers one finished letter."""

    def send(
        self,
        message: email.message.EmailMessage,
        before_data: Callable[[], None] | None = None,
    ) -> str:
        """Send and return the Message-ID used.

        ``before_data`` is called once every recipient is accepted and just before the message
        itself is handed over: until then a crash means "certainly not delivered".

        Raises `worker.domain.errors.TransientError` when worth retrying (connection refused,
        timeouts, SMTP 4xx) and `PermanentError` when not (SMTP 5xx, every recipient refused).
        Raises `DeliveryUncertain` when the connection failed after ``before_data``: the letter
        may have been delivered, so it must not be sent again automatically.
        """
        ...

    def send_batch(
        self,
        messages: Sequence[email.message.EmailMessage],
        before_data: Callable[[Sequence[int]], None],
        after_data: Callable[[Sequence[SendResult]], None] | None = None,
    ) -> list[SendResult]:
        """Send many letters, over persistent connections where the transport has them.

        ``before_data(indices)`` is called with the positions of the letters whose recipients
        are all accepted, once per group and before any of them is handed over (one database
        write per group, not per letter); a crash before it means "certainly not delivered".
        ``after_data(results)`` is called with each group's results as soon as its DATA is
        answered, so the caller can record them before the next group: a crash then leaves at
        most one group in doubt. Returns one SendResult per message, in any order. Never raises
        for one letter's failure; raises only if a callback itself raises.
        """
        ...
