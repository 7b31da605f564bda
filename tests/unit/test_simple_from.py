"""The commonest From headers are read by a regex (``recipient._SIMPLE_FROM_RE``) rather than
the modern header parser: for every header it accepts, the addresses, defects and groups must
be exactly the parser's."""

from __future__ import annotations

import random
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from worker.bootstrap import SAMPLE_MAILBOX
from worker.domain import recipient

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _by_the_parser(value: str) -> Any:
    try:
        header = policy.default.header_factory("From", value)
        groups = list(header.groups)
        addresses = list(header.addresses)
        defects = list(header.defects)
    except Exception as exc:  # noqa: BLE001 - as _parse_from
        return [], [], False, type(exc).__name__
    return addresses, defects, any(g.display_name is not None for g in groups), ""


def _plain(result: Any) -> Any:
    addresses, defects, grouped, error = result
    return (
        [(a.display_name, a.username, a.domain) for a in addresses],
        [type(d).__name__ for d in defects],
        grouped,
        error,
    )


def _word(rng: random.Random, alphabet: str, most: int = 8) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, most)))


LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
ATOM = LETTERS + "0123456789_+-"
LABEL = LETTERS + "0123456789-"


def _simple(rng: random.Random) -> str:
    local = ".".join(_word(rng, ATOM) for _ in range(rng.randint(1, 3)))
    domain = ".".join(_word(rng, LABEL) for _ in range(rng.randint(2, 4)))
    if rng.random() < 0.3:
        return f"{local}@{domain}"
    name = " ".join(_word(rng, LETTERS) for _ in range(rng.randint(1, 4)))
    return f"{name} <{local}@{domain}>"


def test_every_header_read_the_quick_way_is_read_as_the_parser_reads_it() -> None:
    rng = random.Random(20261201)
    quick = 0
    for _ in range(5000):
        value = _simple(rng)
        assert recipient._SIMPLE_FROM_RE.fullmatch(value) is not None, value
        assert _plain(recipient._parse_from(value)) == _plain(_by_the_parser(value)), value
        quick += 1
    assert quick == 5000


def test_near_misses_are_left_to_the_parser_and_read_as_it_reads_them() -> None:
    rng = random.Random(7)
    twists = [
        lambda v: v.replace(" <", "  <"),
        lambda v: v.replace(" ", "  ", 1),
        lambda v: '"' + v.replace(" <", '" <', 1),
        lambda v: v.replace("@", "@@"),
        lambda v: v.replace(".", "..", 1),
        lambda v: v.replace("@", ".@"),
        lambda v: v + " (comment)",
        lambda v: " " + v,
        lambda v: v + ",",
        lambda v: v.replace("<", "<<"),
        lambda v: "Dr. " + v,
        lambda v: "=?utf-8?q?S=C3=A9?= " + v,
        lambda v: v.replace("a", "é"),
        lambda v: "group: " + v + ";",
        lambda v: v[:-1],
    ]
    for _ in range(3000):
        value = rng.choice(twists)(_simple(rng))
        assert _plain(recipient._parse_from(value)) == _plain(_by_the_parser(value)), value


def test_every_from_header_of_the_corpus_is_read_as_the_parser_reads_it() -> None:
    paths = sorted(FIXTURES.rglob("*.eml")) + sorted(
        p for p in SAMPLE_MAILBOX.rglob("*") if p.is_file()
    )
    quick = 0
    for path in paths:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(path.read_bytes())
        for value in headers.get_all("from") or []:
            value = str(value)
            quick += recipient._SIMPLE_FROM_RE.fullmatch(value) is not None
            assert _plain(recipient._parse_from(value)) == _plain(_by_the_parser(value)), value
    assert quick > 50  # the quick way really is the common one
