"""parse_message on real-world mail: the fixtures in tests/fixtures/emails and expected.json."""

from __future__ import annotations

import base64
import json
import random
import string
import time
from pathlib import Path
from typing import Any

import pytest

from worker.domain.errors import PermanentError
from worker.domain.parsing import (
    CASE_REF_PATTERN,
    MAX_TEXT_CHARS,
    ParsedMessage,
    UnparsableMessage,
    bounced_message_ids,
    find_case_refs,
    html_to_text,
    parse_message,
    safe_header_value,
    strip_quoted,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "emails"
EXPECTED: dict[str, dict[str, Any]] = {
    name: facts
    for name, facts in json.loads((FIXTURES / "expected.json").read_text("utf-8")).items()
    if not name.startswith("_")
}


def parse_fixture(name: str) -> ParsedMessage:
    return parse_message((FIXTURES / name).read_bytes())


def test_every_fixture_has_expectations_and_there_are_at_least_twenty() -> None:
    files = {p.name for p in FIXTURES.glob("*.eml")}
    assert files == set(EXPECTED)
    assert len(files) >= 20


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_as_expected(name: str) -> None:
    facts = EXPECTED[name]
    parsed = parse_fixture(name)
    for key in (
        "message_id",
        "from_addr",
        "from_name",
        "reply_to",
        "return_path",
        "subject",
        "content_type",
        "in_reply_to",
    ):
        if key in facts:
            assert getattr(parsed, key) == facts[key], key
    if "to" in facts:
        assert list(parsed.to) == facts["to"]
    if "references" in facts:
        assert list(parsed.references) == facts["references"]
    if "date" in facts:
        assert (parsed.date.isoformat() if parsed.date else None) == facts["date"]
    if parsed.date is not None:
        assert parsed.date.tzinfo is not None
    for snippet in facts.get("text_contains", []):
        assert snippet in parsed.text
    for snippet in facts.get("text_excludes", []):
        assert snippet not in parsed.text
    for snippet in facts.get("new_text_contains", []):
        assert snippet in parsed.new_text()
    for snippet in facts.get("new_text_excludes", []):
        assert snippet not in parsed.new_text()
    if "has_html" in facts:
        assert bool(parsed.html) == facts["has_html"]
    if "attachments" in facts:
        assert [[a.filename, a.content_type] for a in parsed.attachments] == facts["attachments"]
    for filename, size in facts.get("attachment_sizes", {}).items():
        assert {a.filename: a.size for a in parsed.attachments}[filename] == size
    if "defects" in facts:
        assert list(parsed.defects) == facts["defects"]
    for defect in facts.get("defects_include", []):
        assert defect in parsed.defects
    assert find_case_refs(parsed.subject + "\n" + parsed.text) == facts.get("case_refs", [])
    if "bounced_message_ids" in facts:
        assert list(bounced_message_ids(parsed)) == facts["bounced_message_ids"]
    for value in (parsed.subject, parsed.from_name, parsed.from_addr, *parsed.headers.values()):
        assert "\r" not in value and "\n" not in value


def test_headers_are_lower_case_first_value_and_decoded() -> None:
    parsed = parse_fixture("04_rfc2047_latin1_subject.eml")
    assert parsed.headers["subject"] == "Réparation de la chaudière - boiler still broken"
    assert parsed.headers["from"] == "Renée François <renee.francois@yahoo.co.uk>"
    assert all(name == name.lower() for name in parsed.headers)


def test_header_injection_is_stripped() -> None:
    parsed = parse_fixture("16_header_injection_subject.eml")
    assert parsed.subject == "My complaint Bcc: everyone@example.com Injected body"
    assert "\n" not in parsed.from_name and "\r" not in parsed.from_name
    assert safe_header_value("Re: hi\r\nBcc: x@example.com") == "Re: hi Bcc: x@example.com"
    assert safe_header_value("a\u2028b\x00c\x85d\te") == "a b c d e"
    assert safe_header_value("  plain  ") == "plain"


def test_mislabelled_cp1252_is_read_as_cp1252_and_said_so() -> None:
    parsed = parse_fixture("03_cp1252_mislabelled_as_utf8.eml")
    assert "£412.50" in parsed.text
    assert "charset_mislabelled:utf-8" in parsed.defects


def test_utf8_labelled_latin1_is_read_as_utf8() -> None:
    raw = (
        b"From: a@example.com\nSubject: x\nContent-Type: text/plain; charset=iso-8859-1\n"
        b"Content-Transfer-Encoding: 8bit\n\n"
    ) + "Costs £5 – café".encode()
    parsed = parse_message(raw)
    assert parsed.text == "Costs £5 – café"
    assert "charset_mislabelled:iso8859-1->utf-8" in parsed.defects


def test_broken_encoded_word_in_odd_charset_does_not_fail() -> None:
    raw = (
        b"From: =?windows-1251?B?0eXw4+Xp?= <s@example.ru>\n"
        b"Subject: =?utf-8?B?not-base64!!?= =?koi8-r?Q?=F0=D2=C9=D7=C5=D4?= =?bogus?Q?x?=\n\nhi\n"
    )
    parsed = parse_message(raw)
    assert parsed.from_name == "Сергей"
    assert "Привет" in parsed.subject
    assert parsed.from_addr == "s@example.ru"


def test_html_only_mail_becomes_readable_text_without_scripts_or_styles() -> None:
    parsed = parse_fixture("02_html_only_complaint.eml")
    assert parsed.html.startswith("<html>")
    assert "alert" not in parsed.text and "font-family" not in parsed.text
    assert "K. Patel\nFlat 9, Beechwood House" in parsed.text


def test_html_blockquote_becomes_quoted_text_that_new_text_drops() -> None:
    html = (
        "<div>I am still waiting.</div><blockquote><p>Dear resident, we will call.</p></blockquote>"
    )
    text = html_to_text(html)
    assert "> Dear resident, we will call." in text
    assert strip_quoted(text) == "I am still waiting."


def huge_message(size: int = 5 * 1024 * 1024) -> bytes:
    payload = base64.encodebytes(random.Random(7).randbytes(size))
    return (
        b"From: Big Sender <big@example.com>\nTo: complaints@thrivehomes.org.uk\n"
        b"Subject: Video of the leak\nMessage-ID: <big@example.com>\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\n'
        b"Video of water coming through the ceiling attached.\n--b\n"
        b'Content-Type: video/mp4; name="leak.mp4"\nContent-Transfer-Encoding: base64\n'
        b'Content-Disposition: attachment; filename="leak.mp4"\n\n' + payload + b"\n--b--\n"
    )


def test_huge_attachment_is_recorded_with_its_size_not_decoded() -> None:
    raw = huge_message()
    started = time.perf_counter()
    parsed = parse_message(raw)
    elapsed = time.perf_counter() - started
    assert parsed.attachments[0].filename == "leak.mp4"
    assert parsed.attachments[0].content_type == "video/mp4"
    assert parsed.attachments[0].size == 5 * 1024 * 1024
    assert parsed.text == "Video of water coming through the ceiling attached."
    assert elapsed < 10


def test_long_text_is_capped_and_the_cap_is_recorded() -> None:
    body = ("My flat is damp. " * 20_000).encode()
    parsed = parse_message(b"From: a@example.com\nSubject: long\n\n" + body)
    assert len(parsed.text) < MAX_TEXT_CHARS + 200
    assert parsed.text.endswith("truncated at 200000 characters ...]")
    assert any(d.startswith("text_truncated:") for d in parsed.defects)


def test_missing_from_is_a_defect_not_a_failure() -> None:
    parsed = parse_message(b"Subject: hello\nDate: nonsense\n\nbody\n")
    assert parsed.from_addr == ""
    assert parsed.date is None
    assert {"missing_from", "bad_date", "missing_message_id"} <= set(parsed.defects)


def test_date_without_zone_is_utc_and_aware() -> None:
    parsed = parse_message(b"From: a@b.com\nDate: Mon, 2 Nov 2026 10:00:00 -0000\n\nx\n")
    assert parsed.date is not None and parsed.date.utcoffset() is not None


def test_unparseable_address_falls_back_to_the_addr_spec() -> None:
    parsed = parse_message(b'From: "Unclosed <broken@example.com\nSubject: x\n\nbody\n')
    assert parsed.from_addr == "broken@example.com"


@pytest.mark.parametrize(
    "raw",
    [b"", b"   \r\n\r\n ", bytes(range(256)) * 4, b"\x00\x01\x02\x03:\x04\n\nbody", b"just text\n"],
)
def test_input_that_is_not_a_message_is_unparsable(raw: bytes) -> None:
    with pytest.raises(UnparsableMessage):
        parse_message(raw)
    assert issubclass(UnparsableMessage, PermanentError)


def test_leading_junk_before_the_headers_is_skipped() -> None:
    parsed = parse_message(b"\x00garbage line\nFrom: a@example.com\nSubject: hello\n\nbody\n")
    assert parsed.subject == "hello"
    assert any(d.startswith("leading_garbage_skipped") for d in parsed.defects)


def test_deeply_nested_multiparts_do_not_exhaust_the_stack() -> None:
    depth = 300
    head = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i) for i in range(depth)
    )
    raw = b"From: a@example.com\nSubject: deep\n" + head + b"Content-Type: text/plain\n\nhi\n"
    parsed = parse_message(raw)
    assert parsed.subject == "deep"


def test_nested_forwarded_messages_are_bounded() -> None:
    inner = b"From: x@example.com\nSubject: innermost\n\nthe words\n"
    for i in range(30):
        inner = (
            (
                b"From: f%d@example.com\nSubject: Fwd\n"
                b'Content-Type: multipart/mixed; boundary="m%d"\n\n'
                b"--m%d\nContent-Type: message/rfc822\n\n" % (i, i, i)
            )
            + inner
            + b"\n--m%d--\n" % i
        )
    parsed = parse_message(inner)
    assert parsed.attachments


def test_find_case_refs() -> None:
    text = (
        "Re: CMP-2026-00042 and sr-2026-00311, again CMP-2026-00042;"
        " not CMP-2026-000421 or XCMP-2026-00001"
    )
    assert find_case_refs(text) == ["CMP-2026-00042", "SR-2026-00311"]
    assert "CMP" in CASE_REF_PATTERN and "SR" in CASE_REF_PATTERN


def test_bounced_message_ids_accepts_raw_bytes() -> None:
    raw = (FIXTURES / "10_postfix_mailer_daemon_bounce.eml").read_bytes()
    assert bounced_message_ids(raw) == (
        "letter.SR-2026-00118.service_request_acknowledgement.1@thrivehomes.org.uk",
    )


def test_inline_qmail_style_bounce_yields_the_original_message_id() -> None:
    raw = (
        b"From: MAILER-DAEMON@mail.example.net\nSubject: failure notice\n"
        b"Message-ID: <bounce.1@mail.example.net>\n\n"
        b"Sorry, I couldn't deliver your message.\n\n"
        b"--- Below this line is a copy of the message.\n\n"
        b"From: complaints@thrivehomes.org.uk\nMessage-ID: <letter.77@thrivehomes.org.uk>\n"
        b"Subject: Your complaint CMP-2026-00077\n\nDear resident\n"
    )
    parsed = parse_message(raw)
    assert bounced_message_ids(parsed) == ("letter.77@thrivehomes.org.uk",)
    assert find_case_refs(parsed.text) == ["CMP-2026-00077"]


def test_new_text_keeps_bottom_posted_and_inline_replies() -> None:
    text = (
        "On Mon, 2 Nov 2026 at 10:00, Thrive <complaints@thrivehomes.org.uk> wrote:\n"
        "> When can we visit?\n"
        "Any weekday morning.\n"
        "> Is the leak still active?\n"
        "Yes, worse than ever.\n"
    )
    assert strip_quoted(text) == "Any weekday morning.\nYes, worse than ever."


def test_new_text_cuts_original_message_and_signature() -> None:
    text = "Still broken.\n\n-----Original Message-----\nFrom: Thrive\nSent: today\n\nold"
    assert strip_quoted(text) == "Still broken."
    assert strip_quoted("Still broken.\n-- \nJohn Smith\n07700 900000") == "Still broken."
    assert strip_quoted("Fixed? No.\n\nSent from my iPhone\n\n> quoted") == "Fixed? No."


def test_new_text_of_only_a_forward_is_the_forwarded_text() -> None:
    text = "---------- Forwarded message ---------\nFrom: me\n\nMy complaint from last month."
    assert "My complaint from last month." in strip_quoted(text)


# ------------------------------------------------------------------------------------------
# Property-ish: random damage never makes the parser raise anything but UnparsableMessage.


def mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    kind = rng.randrange(5)
    if kind == 0 and buf:  # flip random bytes
        for _ in range(rng.randint(1, 20)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
    elif kind == 1:  # truncate
        del buf[rng.randrange(len(buf) + 1) :]
    elif kind == 2 and buf:  # delete a slice
        start = rng.randrange(len(buf))
        del buf[start : start + rng.randint(1, 200)]
    elif kind == 3:  # insert hostile bytes
        junk = rng.choice([b"\r", b"\n", b"\x00", b"=?", b"?=", b"--", b"\xff\xfe", b":", b"<>"])
        pos = rng.randrange(len(buf) + 1)
        buf[pos:pos] = junk * rng.randint(1, 5)
    else:  # duplicate a slice (repeated boundaries and headers)
        start = rng.randrange(len(buf) + 1)
        chunk = buf[start : start + rng.randint(1, 300)]
        buf[start:start] = chunk
    return bytes(buf)


def test_random_damage_never_raises_anything_but_unparsable() -> None:
    rng = random.Random(20261102)
    sources = [p.read_bytes() for p in sorted(FIXTURES.glob("*.eml"))]
    parsed_count = 0
    for i in range(600):
        data = sources[i % len(sources)]
        for _ in range(rng.randint(1, 3)):
            data = mutate(data, rng)
        try:
            parsed = parse_message(data)
        except UnparsableMessage:
            continue
        parsed_count += 1
        parsed.new_text()
        bounced_message_ids(parsed)
        assert isinstance(parsed.text, str)
        assert "\n" not in parsed.subject
    assert parsed_count > 400  # damage rarely destroys the header section


def test_a_base64_parts_size_counts_its_alphabet_whatever_the_noise_around_it() -> None:
    from email.message import Message

    from worker.domain.parsing import _encoded_size

    rng = random.Random(11)
    alphabet = string.ascii_letters + string.digits + "+/"
    noises = ["\r\n", "\n", "=", " ", "\t", "", "*", "é", "\x00", "-_"]
    for _ in range(400):
        payload = "".join(
            rng.choice(alphabet) if rng.random() < 0.9 else rng.choice(noises)
            for _ in range(rng.randint(0, 600))
        )
        part = Message()
        part["Content-Transfer-Encoding"] = "base64"
        part.set_payload(payload)
        expected = sum(ch in alphabet for ch in payload) * 3 // 4
        assert _encoded_size(part) == expected, repr(payload)


def test_case_references_are_found_where_the_published_pattern_finds_them() -> None:
    import random
    import re
    import sys

    from worker.domain import parsing

    published = re.compile(CASE_REF_PATTERN, re.IGNORECASE)
    # The first letter: exactly the characters IGNORECASE lets stand for C or S.
    first = re.compile(r"[CS]", re.IGNORECASE)
    assert [c for c in range(sys.maxunicode + 1) if first.fullmatch(chr(c))] == [
        ord(c) for c in "CScs\u017f"
    ]
    rng = random.Random(3)
    pieces = ["CMP-", "cmp-", "Cmp", "SR-", "sr-", "\u017fr-", "K", "\u212a", "x", "1", "2026-"]
    pieces += ["12345", "123456", "-", " ", "\u0130", "\u0131", "C", "S", "M", "R", "\u0663", "é"]
    for _ in range(30_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 12)))
        want = [(m.span(), m.group(0)) for m in published.finditer(text)]
        assert [(m.span(), m.group(0)) for m in parsing._CASE_REF_RE.finditer(text)] == want
    assert find_case_refs("re cmp-2026-00001, SR-2026-00002 and xCMP-2026-00003") == [
        "CMP-2026-00001",
        "SR-2026-00002",
    ]


def test_base64_characters_are_counted_alike_in_ascii_and_other_payloads() -> None:
    import random

    from worker.domain import parsing

    rng = random.Random(5)
    pieces = ["QUJD", "+/", "=", "\n", "\r\n", " ", "!", "é", "\udcff", "😀", "A", "z9"]
    for _ in range(5_000):
        payload = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 30)))
        as_defined = sum(ch in parsing.BASE64_ALPHABET.decode() for ch in payload)
        assert parsing._base64_characters(payload) == as_defined, repr(payload)
