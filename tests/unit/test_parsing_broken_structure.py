"""Broken MIME structure and obsolete RFC 822 syntax (issue 7): the resident's words still reach
triage, and what was wrong is recorded in ``defects``. Fixtures: tests/fixtures/emails/
broken_structure/*.eml with their facts in expected.json there."""

from __future__ import annotations

import datetime
import json
import random
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_parsing import mutate
from worker.domain.mail_safety import assess
from worker.domain.parsing import UnparsableMessage, parse_message

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "emails" / "broken_structure"
EXPECTED: dict[str, dict[str, Any]] = {
    name: facts
    for name, facts in json.loads((FIXTURES / "expected.json").read_text("utf-8")).items()
    if not name.startswith("_")
}
WORDS = "The damp and black mould in my son's bedroom at 14 Elm Court"


@pytest.fixture(scope="module")
def triager() -> Any:
    from classifiers.triage import Triager

    return Triager.load()


def parse_fixture(name: str) -> Any:
    return parse_message((FIXTURES / name).read_bytes())


def test_every_broken_structure_fixture_has_expectations() -> None:
    assert {p.name for p in FIXTURES.glob("*.eml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_fixture_parses_with_the_residents_words(name: str) -> None:
    facts = EXPECTED[name]
    parsed = parse_fixture(name)
    for key in ("from_addr", "from_name", "subject", "message_id"):
        if key in facts:
            assert getattr(parsed, key) == facts[key], key
    if "to" in facts:
        assert list(parsed.to) == facts["to"]
    if "date" in facts:
        assert parsed.date is not None and parsed.date.isoformat() == facts["date"]
    for snippet in facts.get("text_contains", []):
        assert snippet in parsed.text
        assert snippet in parsed.new_text()  # what triage reads
    for snippet in facts.get("text_excludes", []):
        assert snippet not in parsed.text
    for defect in facts.get("defects_include", []):
        assert defect in parsed.defects
    if "attachments" in facts:
        assert [[a.filename, a.content_type] for a in parsed.attachments] == facts["attachments"]


@pytest.mark.parametrize(
    "name",
    ["missing_mime_boundary.eml", "wrong_mime_boundary.eml", "nesting_1000_deep.eml"],
)
def test_a_multipart_that_could_not_be_split_is_still_listed_as_an_attachment(name: str) -> None:
    parsed = parse_fixture(name)
    assert [a.content_type.split("/")[0] for a in parsed.attachments] == ["multipart"]
    assert parsed.attachments[0].size > 0


def test_html_alternative_recovered_from_a_broken_multipart_is_kept_for_display() -> None:
    parsed = parse_fixture("wrong_mime_boundary.eml")
    assert parsed.html.startswith("<p>")
    assert parsed.text.count(WORDS) == 1  # the plain part, not plain and HTML twice


def test_nesting_too_deep_for_the_stdlib_parser_is_not_quarantined() -> None:
    parsed = parse_fixture("nesting_1000_deep.eml")
    assert parsed.message_id == "broken-nesting-1000@example.org"
    assert WORDS in parsed.text


def test_broken_structure_mail_from_a_resident_is_not_taken_for_automatic_mail() -> None:
    for name in EXPECTED:
        if not name.startswith("rfc2822"):
            parsed = parse_fixture(name)
            verdict = assess(
                parsed.headers,
                parsed.from_addr,
                content_type=parsed.content_type,
                return_path=parsed.return_path or None,
                own_addresses=("complaints@thrivehomes.org.uk",),
                body=parsed.text,
            )
            assert not verdict.automatic, (name, verdict.rules)


def test_invalid_base64_that_is_really_text_keeps_the_text_not_decoded_noise() -> None:
    parsed = parse_fixture("text_labelled_base64.eml")
    assert parsed.text.startswith("I am writing to complain.")
    assert "charset_mislabelled" not in " ".join(parsed.defects)


def test_a_binary_attachment_with_bad_base64_stays_an_attachment() -> None:
    raw = (
        b"From: a@example.org\nSubject: photo\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\n'
        b"See the photo of the leak.\n--b\nContent-Type: image/png; name=leak.png\n"
        b"Content-Transfer-Encoding: base64\n\niVBORw0KGgo*AAAANSUhEUg\n--b--\n"
    )
    parsed = parse_message(raw)
    assert parsed.text == "See the photo of the leak."
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [("leak.png", "image/png")]


def test_header_lines_in_the_body_are_not_rewritten_by_the_obsolete_syntax_repair() -> None:
    raw = b"From  : a@example.org\nSubject : hi\n\nNote : keep this line as written\n"
    parsed = parse_message(raw)
    assert parsed.from_addr == "a@example.org"
    assert parsed.subject == "hi"
    assert parsed.text == "Note : keep this line as written"


def test_damaged_broken_fixtures_never_raise_anything_but_unparsable() -> None:
    rng = random.Random(7)
    sources = [p.read_bytes() for p in sorted(FIXTURES.glob("*.eml")) if p.stat().st_size < 5000]
    for i in range(400):
        data = sources[i % len(sources)]
        for _ in range(rng.randint(1, 3)):
            data = mutate(data, rng)
        try:
            parsed = parse_message(data)
        except UnparsableMessage:
            continue
        assert isinstance(parsed.text, str)
        assert "\n" not in parsed.subject


@pytest.mark.parametrize(
    "name", sorted(n for n in EXPECTED if not n.startswith("rfc2822") and "1000" not in n)
)
def test_recovered_words_are_triaged_as_the_complaint_they_are(name: str, triager: Any) -> None:
    from classifiers.triage import TriageInput

    parsed = parse_fixture(name)
    result = triager.triage(
        TriageInput(
            id=name,
            subject=parsed.subject,
            body=parsed.new_text(),
            from_addr=parsed.from_addr,
            received=datetime.date(2026, 11, 2),
            channel="email",
            headers=dict(parsed.headers),
            content_type=parsed.content_type,
            full_text=parsed.text,
        )
    )
    assert result.label == "complaint", (name, result)


def test_headers_of_binary_data_are_refused_and_a_few_control_characters_are_not() -> None:
    import random

    from worker.domain.parsing import UnparsableMessage, _check_header_block

    rng = random.Random(7)
    controls = bytes([*range(32), 127])  # the line breaks and tab among them
    outcomes = set()
    for _ in range(400):
        size = rng.randrange(20, 600)
        share = rng.random() * 0.3
        block = b"Subject: " + bytes(
            rng.choice(controls) if rng.random() < share else rng.choice(b"Ab :\t\xe9")
            for _ in range(size)
        )
        data = block + b"\r\n\r\nbody"
        head = data[: data.find(b"\r\n\r\n")] if b"\r\n\r\n" in data else data
        head = head[: head.find(b"\n\n")] if b"\n\n" in head else head
        # The rule as first written: a Python count of the control characters.
        binary = sum(1 for b in head if b < 9 or 13 < b < 32 or b == 127)
        refused = binary > max(8, len(head) // 10)
        outcomes.add(refused)
        try:
            _check_header_block(data)
        except UnparsableMessage as exc:
            assert refused, exc
        else:
            assert not refused
    assert outcomes == {True, False}
