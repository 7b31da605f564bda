"""Dev-mode recipient override: staging can never mail a real resident (as GNU Mailman does)."""

from __future__ import annotations

import email.message
from collections.abc import Callable

from worker.ports import MailSender


class RecipientOverride:
    def __init__(self, inner: MailSender, address: str) -> None:
        self.inner = inner
        self.address = address

    def send(
        self,
        message: email.message.EmailMessage,
        before_data: Callable[[], None] | None = None,
    ) -> str:
        original = message.get("To", "")
        del message["To"]
        message["To"] = self.address
        message["X-Complaints-Original-To"] = original
        return self.inner.send(message, before_data)
