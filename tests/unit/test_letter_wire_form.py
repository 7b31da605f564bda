"""The letter as it goes over SMTP: the quick paths in building it give the bytes compat32 gives."""

from __future__ import annotations

import email
import email.policy
import random
import string
from datetime import UTC, datetime
from email.policy import Compat32
from types import SimpleNamespace
from typing import Any

import pytest

from worker.adapters.smtp import _prepare
from worker.stages.send import _POLICY, build_message

_CLASSIC = Compat32(linesep="\r\n")
_WIRE = _POLICY.clone(linesep="\r\n")


def _app() -> Any:
    return SimpleNamespace(
        landlord=SimpleNamespace(name="Thrive Homes"),
        from_address="complaints@thrive.example",
        clock=SimpleNamespace(now=lambda: datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
    )


def _letter(**changes: Any) -> Any:
    text = (
        "Dear Ms Okafor,\n\nThank you for your complaint about the damp in your home. We "
        "received it on 1 December 2026 and will reply by 15 December 2026.\n\n"
    ) * 6
    values: dict[str, Any] = {
        "recipient": "ada.okafor@example.org",
        "subject": "Your complaint CMP-2026-000123: we have received it",
        "message_id": "<letter.123.abc@thrive.example>",
        "in_reply_to": "<abc.def@mail.example.org>",
        "ref": "CMP-2026-000123",
        "kind": "stage1_acknowledgement",
        "automatic": True,
        "text": text,
        "html": "<p>" + text.replace("\n\n", "</p><p>") + "</p>",
    }
    values.update(changes)
    return SimpleNamespace(**values)


def _values(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + " \t;:,.<>\"'()=?@-_[]\\/!#$%&*+{}|~^`"
    fixed = ["", " leading", "trailing ", "two  spaces", "a\ttab", "=?utf-8?q?x?=", "x" * 60]
    return fixed + [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 75))) for _ in range(count)
    ]


@pytest.mark.parametrize("name", ["Subject", "To", "X-Complaints-Letter-Kind"])
def test_a_short_plain_header_is_written_as_compat32_writes_it(name: str) -> None:
    for value in _values(seed=len(name), count=3000):
        assert _WIRE._fold(name, value, True) == _CLASSIC._fold(name, value, True), value


@pytest.mark.parametrize(
    "value",
    [
        "word " * 30,  # too long for one line: folded by compat32
        "Réponse à votre plainte",  # not ASCII
        "form\x0cfeed",  # a control character compat32 treats as a line break
    ],
)
def test_other_headers_are_still_folded_by_compat32(value: str) -> None:
    assert _WIRE._fold("Subject", value, True) == _CLASSIC._fold("Subject", value, True)


def test_message_ids_are_never_folded_however_long() -> None:
    long_id = "<" + "a" * 90 + "@thrive.example>"
    assert _WIRE._fold("Message-ID", long_id, True) == f"Message-ID: {long_id}\r\n"


def _wire(letter: Any) -> bytes:
    return _prepare(0, build_message(_app(), letter)).data


def test_a_letter_parses_cleanly_with_both_parts_and_our_boundary() -> None:
    letter = _letter(subject="Réponse: your complaint " + "about the repairs " * 5)
    raw = _wire(letter)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed.defects == []
    assert str(parsed["Subject"]) == letter.subject
    assert parsed["Message-ID"] == letter.message_id
    boundary = parsed.get_boundary()
    assert boundary is not None and boundary.startswith("=_")
    parts = list(parsed.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.defects == [] for p in parts)
    assert parts[0].get_content().replace("\r\n", "\n") == letter.text
    assert parts[1].get_content().replace("\r\n", "\n") == letter.html
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


def test_a_letter_whose_text_holds_boundary_like_lines_keeps_its_parts_apart() -> None:
    # The resident's own words may hold anything; quoted-printable writes "=" as "=3D", so no
    # line of a part can be read as our boundary.
    sneaky = "--=_0123456789abcdef\n--=_\n=_=_=_\n" * 3
    letter = _letter(text=sneaky, html=sneaky)
    parsed = email.message_from_bytes(_wire(letter), policy=email.policy.default)
    parts = list(parsed.iter_parts())
    assert len(parts) == 2
    assert parts[0].get_content().replace("\r\n", "\n") == sneaky


def test_each_letter_has_a_boundary_of_its_own() -> None:
    boundaries = {
        email.message_from_bytes(_wire(_letter()), policy=email.policy.default).get_boundary()
        for _ in range(20)
    }
    assert len(boundaries) == 20
