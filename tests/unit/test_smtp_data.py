"""The quick path in front of aiosmtplib's DATA preparation sends the very bytes aiosmtplib's own
functions would."""

from __future__ import annotations

import random
import re

import aiosmtplib.protocol
import aiosmtplib.smtp
import pytest

from worker.adapters import smtp, smtp_data  # noqa: F401 - importing smtp installs the quick path

# aiosmtplib.smtp keeps its own reference to the original function (it sizes letters with it).
ORIGINAL_NORMALIZE = aiosmtplib.smtp.normalize_message_line_endings
ORIGINAL_PERIODS = re.compile(rb"(?m)^\.")

PIECES = [
    b"\r",
    b"\n",
    b"\r\n",
    b"\r\n\r\n",
    b"\n\r",
    b".",
    b"..",
    b"a",
    b"line of text",
    b" ",
    b"=",
]


def letters(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out = [b"", b".", b"\r\n", b"\r\n.", b".\r\n", b"a\r\n.b\r\n", b"\r", b"\n", b"\r\r\n"]
    for _ in range(count):
        out.append(b"".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 40))))
        # A well-formed letter: CRLF only, sometimes with a line that starts with a period.
        lines = [
            rng.choice([b"Dear resident,", b".hidden", b"", b"=20", b"text."]) for _ in range(9)
        ]
        out.append(b"\r\n".join(lines) + rng.choice([b"", b"\r\n"]))
    return out


def test_the_quick_path_is_installed() -> None:
    assert isinstance(aiosmtplib.protocol.PERIOD_REGEX, smtp_data.QuickPeriodQuoting)
    assert aiosmtplib.protocol.normalize_message_line_endings is not ORIGINAL_NORMALIZE


@pytest.mark.parametrize("seed", range(4))
def test_line_endings_come_out_as_aiosmtplib_makes_them(seed: int) -> None:
    for message in letters(2_000, seed):
        want = ORIGINAL_NORMALIZE(message)
        assert aiosmtplib.protocol.normalize_message_line_endings(message) == want


@pytest.mark.parametrize("seed", range(4))
def test_periods_are_quoted_as_aiosmtplib_quotes_them(seed: int) -> None:
    for message in letters(2_000, seed):
        normalized = ORIGINAL_NORMALIZE(message)
        want = ORIGINAL_PERIODS.sub(b"..", normalized)
        assert aiosmtplib.protocol.PERIOD_REGEX.sub(b"..", normalized) == want
        # and on text not yet normalized (a lone CR before a period does not start a line)
        assert aiosmtplib.protocol.PERIOD_REGEX.sub(b"..", message) == ORIGINAL_PERIODS.sub(
            b"..", message
        )


def test_crlf_only_spots_every_lone_line_break() -> None:
    assert smtp_data.crlf_only(b"a\r\nb\r\n")
    assert smtp_data.crlf_only(b"")
    for bad in (b"a\nb", b"a\rb", b"\r\r\n", b"\r\n\n", b"\n\r", b"x\r"):
        assert not smtp_data.crlf_only(bad)


def test_installing_twice_keeps_one_quick_path() -> None:
    before = aiosmtplib.protocol.normalize_message_line_endings
    smtp_data.install()
    assert aiosmtplib.protocol.normalize_message_line_endings is before


def test_periods_given_another_replacement_are_left_to_the_pattern() -> None:
    quoting = aiosmtplib.protocol.PERIOD_REGEX
    text = b".a\r\n.b\r\n.c"
    assert quoting.sub(b"!", text) == ORIGINAL_PERIODS.sub(b"!", text)
    assert quoting.sub(b"..", text, 1) == ORIGINAL_PERIODS.sub(b"..", text, 1)
