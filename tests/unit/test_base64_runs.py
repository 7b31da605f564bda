"""The parser is handed each run of base64 lines that begins a body as one marker line, and the
run is put back afterwards (``parsing._parse_bytes``): the message it gives must be the one the
feed parser makes of the message as it is, part for part, on every message we have and on
layouts built to catch the parser's edge cases (a run before a boundary, in a preamble or an
epilogue, where an enclosed message's headers would be, a run that ends the message without a
line break, CRLF and LF)."""

from __future__ import annotations

import random
import re
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_parsing import mutate
from worker.bootstrap import SAMPLE_MAILBOX
from worker.domain import parsing

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _shape(msg: Message) -> tuple[Any, ...]:
    """Everything the parser decided about a message and its parts."""
    payload = msg._payload  # type: ignore[attr-defined]
    if isinstance(payload, list):
        payload = [_shape(p) if isinstance(p, Message) else p for p in payload]
    return (
        msg.get_unixfrom(),
        msg._headers,  # type: ignore[attr-defined]
        msg.preamble,
        msg.epilogue,
        msg.get_default_type(),
        [(type(d).__name__, str(d)) for d in msg.defects],
        payload,
    )


def _outcome(parse: Any, raw: bytes) -> Any:
    try:
        return _shape(parse(raw))
    except RecursionError:  # nested deeper than the parser (or this comparison) can follow
        return "too deep"


def _same_as_the_parser(raw: bytes) -> None:
    assert _outcome(parsing._parse_bytes, raw) == _outcome(parsing._feed, raw)


def _base64_lines(rng: random.Random, count: int, width: int = 76) -> list[str]:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    lines = ["".join(rng.choice(alphabet) for _ in range(width)) for _ in range(count)]
    if lines:
        lines[-1] = lines[-1][: rng.randint(min(4, width), max(4, width - 2))] + rng.choice(
            ["", "=", "=="]
        )
    return lines


def _corpus() -> list[Path]:
    paths = sorted(FIXTURES.rglob("*.eml"))
    return paths + sorted(p for p in SAMPLE_MAILBOX.rglob("*") if p.is_file())


def test_every_fixture_and_sample_message_parses_the_same() -> None:
    paths = _corpus()
    assert len(paths) > 300
    collapsed = 0
    for path in paths:
        raw = path.read_bytes()
        _same_as_the_parser(raw)
        collapsed += parsing._BASE64_RUN_RE.search(raw) is not None
    assert collapsed >= 5  # the shortcut really was taken


def test_damaged_fixtures_parse_the_same() -> None:
    rng = random.Random(20261201)
    paths = _corpus()
    for _ in range(1500):
        raw = rng.choice(paths).read_bytes()
        for _ in range(rng.randint(1, 4)):
            raw = mutate(raw, rng)
        _same_as_the_parser(raw)


def _layout(rng: random.Random) -> bytes:
    """A message of random structure whose bodies, preambles and epilogues are runs of base64
    lines (long and short), text and empty lines, with LF or CRLF and any ending."""
    nl = rng.choice(["\n", "\r\n"])

    def filler() -> list[str]:
        out: list[str] = []
        for _ in range(rng.randint(0, 3)):
            kind = rng.randrange(5)
            if kind == 0:
                out += _base64_lines(rng, rng.choice([3, 15, 16, 17, 40]), rng.choice([76, 64, 4]))
            elif kind == 1:
                out.append("plain words: here")
            elif kind == 2:
                out.append("")
            elif kind == 3:
                out.append("-" * rng.randint(1, 3) + "b0")
            else:
                out += _base64_lines(rng, 20)[: rng.randint(0, 20)]
        return out

    def entity(depth: int) -> list[str]:
        kind = rng.randrange(4) if depth < 3 else 0
        if kind == 1:
            boundary = f"b{depth}{rng.randrange(9)}"
            lines = [f'Content-Type: multipart/mixed; boundary="{boundary}"', "", *filler()]
            for _ in range(rng.randint(0, 3)):
                lines += [f"--{boundary}", *entity(depth + 1)]
            if rng.random() < 0.8:
                lines.append(f"--{boundary}--")
            return lines + filler()
        if kind == 2:
            return ["Content-Type: message/rfc822", "", *entity(depth + 1)]
        if kind == 3:
            return ["Content-Type: message/delivery-status", "", *filler(), "", *filler()]
        return ["Content-Type: application/octet-stream", *filler()[:1], "", *filler()]

    lines = ["From: a@example.org", "Subject: runs", *entity(0)]
    text = nl.join(lines) + rng.choice(["", nl, nl + nl])
    return text.encode("ascii")


def test_random_layouts_of_runs_parse_the_same() -> None:
    rng = random.Random(7)
    collapsed = 0
    for _ in range(3000):
        raw = _layout(rng)
        _same_as_the_parser(raw)
        collapsed += parsing._BASE64_RUN_RE.search(raw) is not None
    assert collapsed > 1000


@pytest.mark.parametrize("nl", ["\n", "\r\n"])
def test_a_run_just_before_a_boundary_keeps_its_last_line_break_in_the_message(nl: str) -> None:
    lines = _base64_lines(random.Random(1), 30)
    raw = nl.join(
        [
            "From: a@example.org",
            'Content-Type: multipart/mixed; boundary="b"',
            "",
            "--b",
            "Content-Type: image/jpeg",
            "Content-Transfer-Encoding: base64",
            "",
            *lines,
            "--b--",
            "",
        ]
    ).encode()
    _same_as_the_parser(raw)
    part = parsing._parse_bytes(raw).get_payload(0)
    assert part.get_payload() == nl.join(lines)  # the break before "--b" belongs to it


def test_a_message_already_holding_the_marker_is_parsed_as_it_is() -> None:
    lines = _base64_lines(random.Random(2), 20)
    raw = "\n".join(
        ["From: a@example.org", "", f"{parsing._RUN_MARK}0\x7f", "", *lines, ""]
    ).encode()
    _same_as_the_parser(raw)
    assert parsing._parse_bytes(raw).get_payload().endswith(lines[-1] + "\n")


# The runs as first defined: a look behind for the blank line before each (slow: re tries it at
# every byte). The quicker pattern must find exactly these.
_RUNS_AS_DEFINED = re.compile(rb"(?:(?<=\n\n)|(?<=\n\r\n))(?:[A-Za-z0-9+/=]{4,998}+\r?\n){16,}+")


def _runs(raw: bytes) -> list[tuple[int, int]]:
    return [m.span(1) for m in parsing._BASE64_RUN_RE.finditer(raw)]


def test_the_runs_found_are_the_runs_as_defined() -> None:
    rng = random.Random(11)
    raws = [path.read_bytes() for path in _corpus()]
    raws += [_layout(rng) for _ in range(2000)]
    line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\n"
    raws += [
        b"a: b\n\n" + line * 16 + b"\n" + line * 20,  # one run just after another
        b"a: b\r\n\r\n" + line.replace(b"\n", b"\r\n") * 17 + b"\r\n" + line * 16 + b"\n\n",
        b"a: b\n\n\n\n" + line * 16,  # blank lines before it
        line * 40,  # no blank line before it: not a run
        b"a: b\n\n" + line * 15,  # too short
    ]
    found = 0
    for raw in raws:
        assert _runs(raw) == [m.span() for m in _RUNS_AS_DEFINED.finditer(raw)], raw[:200]
        found += len(_runs(raw))
    assert found > 800
