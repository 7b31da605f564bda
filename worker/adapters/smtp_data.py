"""aiosmtplib's preparation of a letter for DATA, skipped when it would change nothing.

Before DATA, aiosmtplib rewrites every line ending as CRLF and doubles a period that starts a
line, each by a regular-expression substitution over the whole letter. Our letters leave
``wire_bytes`` with CRLF line ends already and rarely have a line starting with a period, so
both substitutions copy the letter unchanged: about 100 microseconds a 9 KB letter, on the
sending loop's thread, where a few byte counts and one search say the same in a quarter of the
time. ``install`` puts the two checks in front of aiosmtplib's own functions, which still run
whenever there is anything to change; the bytes sent are the same (tests compare them on
letters made of every kind of line ending and period).
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
    """Stands in for aiosmtplib's ``PERIOD_REGEX`` (``(?m)^\\.``): its ``sub`` returns the
    letter as it is when no line starts with a period (``^`` in multi-line mode is the start or
    just after LF), else lets the pattern do the work."""

    def __init__(self, pattern: re.Pattern[bytes]) -> None:
        self.pattern = pattern

    def sub(self, repl: Any, string: bytes, count: int = 0) -> bytes:
        if not string.startswith(b".") and b"\n." not in string:
            return string
        return self.pattern.sub(repl, string, count)

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
