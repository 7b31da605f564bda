"""The bundled sample mailbox is a valid Maildir whose README says what each message is."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from worker.domain.mail_safety import assess
from worker.domain.parsing import ParsedMessage, UnparsableMessage, parse_message

MAILBOX = Path(__file__).resolve().parents[2] / "worker" / "sample_mailbox"
ROW_RE = re.compile(r"^\| `((?:cur|new)/[^`]+)` \|[^|]*\| ([^|]*) \| ([^|]*) \|", re.MULTILINE)


def readme_rows() -> dict[str, tuple[str, str]]:
    text = (MAILBOX / "README.md").read_text("utf-8")
    return {m[1]: (m[2].strip().strip("`"), m[3].strip().strip("`")) for m in ROW_RE.finditer(text)}


def message_files() -> list[Path]:
    return sorted(p for sub in ("cur", "new") for p in (MAILBOX / sub).iterdir())


def parse(path: Path) -> ParsedMessage | None:
    try:
        return parse_message(path.read_bytes())
    except UnparsableMessage:
        return None


def test_it_is_a_maildir_with_at_least_24_messages_named_maildir_style() -> None:
    assert (MAILBOX / "tmp" / ".gitkeep").exists()
    files = message_files()
    assert len(files) >= 24
    for path in files:
        if path.parent.name == "cur":
            assert re.fullmatch(r"\d{10}\.M\d{3}P\d+\.demo:2,", path.name)
        else:
            assert re.fullmatch(r"\d{10}\.M\d{3}P\d+\.demo", path.name)


def test_readme_lists_every_message_and_nothing_else() -> None:
    listed = set(readme_rows())
    on_disk = {f"{p.parent.name}/{p.name}" for p in message_files()}
    assert listed == on_disk


def test_messages_are_dated_november_2026_to_our_complaints_address() -> None:
    saturdays = 0
    for path in message_files():
        parsed = parse(path)
        if parsed is None:
            continue
        assert parsed.date is not None
        assert date(2026, 11, 2) <= parsed.date.date() <= date(2026, 11, 20)
        assert parsed.date.weekday() != 6
        saturdays += parsed.date.weekday() == 5
        assert "complaints@thrivehomes.org.uk" in parsed.to
    assert saturdays == 1


def test_exactly_one_message_is_unparsable_and_the_readme_says_quarantined() -> None:
    rows = readme_rows()
    unparsable = [p for p in message_files() if parse(p) is None]
    assert len(unparsable) == 1
    path = unparsable[0]
    assert rows[f"{path.parent.name}/{path.name}"][0] == "quarantined"


def test_the_duplicate_repeats_a_message_id() -> None:
    rows = readme_rows()
    ids = Counter(parsed.message_id for parsed in map(parse, message_files()) if parsed is not None)
    assert [n for n in ids.values() if n > 1] == [2]
    assert sum(label == "duplicate" for label, _ in rows.values()) == 1


@pytest.mark.parametrize("name", sorted(readme_rows()))
def test_mail_safety_agrees_with_the_readme(name: str) -> None:
    label, reason = readme_rows()[name]
    parsed = parse(MAILBOX / name)
    if parsed is None:
        return
    verdict = assess(
        parsed.headers,
        parsed.from_addr,
        content_type=parsed.content_type,
        return_path=parsed.return_path or None,
        own_addresses=("complaints@thrivehomes.org.uk",),
        body=parsed.text,
    )
    if label == "not_resident_mail" and reason != "spam":
        assert verdict.automatic and verdict.reason == reason
        assert not verdict.may_hold_resident_words
    else:
        assert not verdict.automatic, verdict.rules
