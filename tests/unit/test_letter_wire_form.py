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


def _texts(seed: int, count: int) -> list[str]:
    """Letter bodies with what quoted-printable must get right: long lines, spaces and tabs at
    line ends, "=" signs, lone dots, "From " at a line start, accents, emoji, CRLF and CR."""
    rng = random.Random(seed)
    pieces = [
        "word",
        " ",
        "  ",
        "\t",
        "=",
        "=3D",
        ".",
        "From ",
        "é",
        "’",
        "£25",
        "😀",
        "ü" * 40,
        "x" * 90,
        "\n",
        "\n\n",
        "\r\n",
        "\r",
        " \n",
        "\t\n",
        "--",
        "_",
        "?",
    ]
    fixed = ["", "\n", " ", "no line end", "ends in a space ", ".\n.\n", "From here\n"]
    return fixed + [
        "".join(rng.choice(pieces) for _ in range(rng.randint(1, 120))) for _ in range(count)
    ]


def _decoded_parts(letter: Any) -> list[str]:
    raw = _wire(letter)
    assert all(len(line) <= 76 for line in raw.split(b"\r\n\r\n", 1)[1].split(b"\r\n"))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed.defects == []
    parts = list(parsed.iter_parts())
    assert all(p.defects == [] for p in parts)
    assert [p["Content-Transfer-Encoding"] for p in parts] == ["quoted-printable"] * 2
    assert [p.get_content_charset() for p in parts] == ["utf-8", "utf-8"]
    return [str(p.get_content()).replace("\r\n", "\n") for p in parts]


def test_each_part_reads_back_as_the_letter_text_whatever_it_holds() -> None:
    for text in _texts(seed=5, count=400):
        expected = text.replace("\r\n", "\n").replace("\r", "\n")
        assert _decoded_parts(_letter(text=text, html=text)) == [expected, expected], repr(text)


def test_the_parts_carry_the_headers_mimetext_gave_them() -> None:
    from email.charset import QP, Charset
    from email.mime.text import MIMEText

    utf8_qp = Charset("utf-8")
    utf8_qp.body_encoding = QP
    letter = _letter()
    ours = list(build_message(_app(), letter).walk())[1:]
    theirs = [MIMEText(letter.text, "plain", utf8_qp), MIMEText(letter.html, "html", utf8_qp)]
    assert [p.items() for p in ours] == [p.items() for p in theirs]
    # And the same text, once decoded.
    assert [p.get_payload(decode=True) for p in ours] == [
        p.get_payload(decode=True) for p in theirs
    ]


def test_a_line_separator_inside_a_line_is_kept_not_turned_into_a_line_break() -> None:
    text = "Flat 3\u2028Tower Road, page\x0cbreak\n"
    assert _decoded_parts(_letter(text=text, html=text)) == [text, text]


def test_an_over_long_encoded_line_is_broken_without_splitting_an_escape() -> None:
    import binascii

    from worker.stages.send import _within_qp_limit

    rng = random.Random(9)
    for _ in range(2000):
        line = "".join(rng.choice(["a", "=3D", "=C3=A9", "b", "=20"]) for _ in range(60))
        wrapped = _within_qp_limit(line + "\nshort\n")
        assert all(len(part) <= 76 for part in wrapped.split("\n"))
        assert binascii.a2b_qp(wrapped) == binascii.a2b_qp(line + "\nshort\n")
    assert _within_qp_limit("x" * 76 + "\n") == "x" * 76 + "\n"  # at the limit: untouched
