"""Dev-mode recipient override: staging can never mail a real resident (as GNU Mailman does)."""

from __future__ import annotations

import email.message
from collections.abc import Callable, Sequence

from worker.ports import MailSender, SendResult


class RecipientOverride:
    """Wraps a MailSender: every letter goes to `address` alone. The original ``To`` is kept in
    ``X-Complaints-Original-To``, any ``Cc`` and ``Bcc`` in ``X-Complaints-Original-Cc``."""

    def __init__(self, inner: MailSender, address: str) -> None:
        self.inner = inner
        self.address = address

    def __repr__(self) -> str:
        return f"RecipientOverride({self.inner!r}, {self.address!r})"

    def _redirect(self, message: email.message.EmailMessage) -> None:
        original_to = ", ".join(str(v) for v in message.get_all("To", []))
        # Cc and Bcc are recipients too (the SMTP sender addresses them): left in place they
        # would reach real people from staging.
        copied = ", ".join(str(v) for key in ("Cc", "Bcc") for v in message.get_all(key, []))
        for key in ("To", "Cc", "Bcc", "X-Complaints-Original-To", "X-Complaints-Original-Cc"):
            del message[key]
        message["To"] = self.address
        message["X-Complaints-Original-To"] = original_to
        if copied:
            message["X-Complaints-Original-Cc"] = copied

    def send(
        self,
        message: email.message.EmailMessage,
        before_data: Callable[[], None] | None = None,
    ) -> str:
        self._redirect(message)
        return self.inner.send(message, before_data)

    def send_batch(
        self,
        messages: Sequence[email.message.EmailMessage],
        before_data: Callable[[Sequence[int]], None],
        after_data: Callable[[Sequence[SendResult]], None] | None = None,
    ) -> list[SendResult]:
        for message in messages:
            self._redirect(message)
        return self.inner.send_batch(messages, before_data, after_data)

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if callable(close):
            close()
