"""An SMTP sink for tests (aiosmtpd): records every message, can refuse, can be stopped and
restarted on the same port to simulate an outage."""

from __future__ import annotations

import email
import email.message
import email.policy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.dovecot import HOST, free_port


@dataclass(frozen=True)
class ReceivedMail:
    """One delivery: envelope, raw bytes as sent (CRLF), and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: email.message.EmailMessage


class _RecordingHandler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.server.rcpt_response:
            return self.server.rcpt_response
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.server.data_response:
            return self.server.data_response
        raw = bytes(envelope.original_content or envelope.content)
        # Parsed with LF line ends, so get_content() compares with what the letter was built from.
        message = email.message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=email.policy.default)
        self.server._record(
            ReceivedMail(envelope.mail_from, tuple(envelope.rcpt_tos), raw, message)  # type: ignore[arg-type]
        )
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on 127.0.0.1:`port`. Set `data_response` / `rcpt_response` (e.g. "550 5.7.1 no")
    to refuse; `stop()` and `start()` keep the port."""

    def __init__(self) -> None:
        self.host = HOST
        self.port = free_port()
        self.data_response: str | None = None
        self.rcpt_response: str | None = None
        self._messages: list[ReceivedMail] = []
        self._cond = threading.Condition()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._cond:
            return list(self._messages)

    def _record(self, mail: ReceivedMail) -> None:
        with self._cond:
            self._messages.append(mail)
            self._cond.notify_all()

    @property
    def letters(self) -> list[ReceivedMail]:
        """What went to residents: every message but the notices to the landlord's own teams
        (a hazard in a resident's words notifies the repairs team, SPEC section 11)."""
        with self._cond:
            return [m for m in self._messages if _to_resident(m)]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        """Wait for at least `count` messages and return them all (else AssertionError)."""
        return self._wait(count, timeout, lambda m: True)

    def wait_for_letters(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        """Wait for at least `count` letters to residents and return them all (see `letters`)."""
        return self._wait(count, timeout, _to_resident)

    def _wait(
        self, count: int, timeout: float, keep: Callable[[ReceivedMail], bool]
    ) -> list[ReceivedMail]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(kept := [m for m in self._messages if keep(m)]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} message(s) on {self.url} within {timeout}s, "
                        f"got {len(kept)}"
                    )
                self._cond.wait(left)
            return kept

    def clear(self) -> None:
        with self._cond:
            self._messages.clear()

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is not None:
            return
        # A new Controller each time: a stopped one has closed its event loop.
        controller = Controller(
            _RecordingHandler(self), hostname=self.host, port=self.port, ready_timeout=10
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()


# Letter kinds that go to the landlord's own teams, not to the person who wrote.
STAFF_NOTICE_KINDS = frozenset({"hazard_notification"})


def _to_resident(mail: ReceivedMail) -> bool:
    return str(mail.message.get("X-Complaints-Letter-Kind", "")) not in STAFF_NOTICE_KINDS
