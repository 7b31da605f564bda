"""aiosmtplib's preparation of a letter for DATA, done by byte counts and ``replace``.

Before DATA, aiosmtplib rewrites every line ending as CRLF and doubles a period that starts a
line, each by a regular-expression substitution over the whole letter: about 100 microseconds
for the two on a 9 KB letter, on the sending loop's thread. Our letters leave ``wire_bytes``
with CRLF line ends already, which three byte counts confirm, and doubling the periods is a
``replace``: together a quarter of the time. ``install`` puts these in front of aiosmtplib's
own functions, which still run for a letter with other line breaks; the bytes sent are the same
(tests compare them on letters made of every kind of line ending and period).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import aiosmtplib.protocol as _protocol


def crlf_only(message: bytes) -> bool:
    """Every CR of ``message`` is followed by LF, and every LF preceded by CR."""
    pairs = message.count(b"\r\n")
    return message.count(b"\r") == pairs and message.count(b"\n") == pairs


def quick_normalizer(original: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    def normalize_message_line_endings(message: bytes) -> bytes:
        if crlf_only(message):
            return message if message.endswith(b"\r\n") else message + b"\r\n"
        return original(message)

    return normalize_message_line_endings


class QuickPeriodQuoting:
    """Stands in for aiosmtplib's ``PERIOD_REGEX`` (``(?m)^\\.``). ``^`` in multi-line mode is
    the start of the text or just after an LF, so doubling each such period is a ``replace`` of
    LF-period, and one more period in front when the text starts with one (a quoted-printable
    line break often leaves a line starting with the period that ends a sentence). Any other
    use is left to the pattern."""

    def __init__(self, pattern: re.Pattern[bytes]) -> None:
        self.pattern = pattern

    def sub(self, repl: Any, string: bytes, count: int = 0) -> bytes:
        if repl != b".." or count != 0:
            return self.pattern.sub(repl, string, count)
        quoted = string.replace(b"\n.", b"\n..")
        return b"." + quoted if string.startswith(b".") else quoted

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pattern, name)


def install() -> None:
    """Idempotent: a second call finds the quick versions in place."""
    if not isinstance(_protocol.PERIOD_REGEX, QuickPeriodQuoting):
        if (
            _protocol.PERIOD_REGEX.pattern != rb"(?m)^\."
            or _protocol.LINE_ENDINGS_REGEX.pattern != rb"(?:\r\n|\n|\r(?!\n))"
        ):
            return  # an aiosmtplib that prepares letters otherwise: left as it is
        _protocol.PERIOD_REGEX = QuickPeriodQuoting(_protocol.PERIOD_REGEX)  # type: ignore[assignment]
        _protocol.normalize_message_line_endings = quick_normalizer(
            _protocol.normalize_message_line_endings
        )
