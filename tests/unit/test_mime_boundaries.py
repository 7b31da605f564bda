"""The feed parser's boundary test without a pattern compiled per message
(``mime_boundaries``): every line must match or not exactly as the pattern the parser would
have compiled, with the same "end" and "linesep" groups, and whole messages must parse to the
same thing as with the parser's own ``re``."""

from __future__ import annotations

import email.feedparser
import random
import re

import pytest

from tests.unit.test_base64_runs import _corpus, _outcome
from tests.unit.test_parsing import mutate
from worker.domain import mime_boundaries, parsing


def _parser_pattern(boundary: str) -> str:
    """The pattern email.feedparser builds for ``boundary`` (written out here, so that a change
    to it in a new Python shows as a failure below rather than as a slow parser)."""
    return (
        "(?P<sep>"
        + re.escape("--" + boundary)
        + r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
    )


def _same(expected: re.Match[str] | None, got: re.Match[str] | None) -> None:
    assert (expected is None) == (got is None)
    if expected is not None and got is not None:
        for group in ("end", "ws", "linesep"):
            assert got.group(group) == expected.group(group), group


_AWKWARD = [
    "simple",
    "===============1234567890123456789==",
    "_000_DB7PR02MB1234EURPRD02PRODOUTLOOK_",
    "0000000000004ce8f605f0c4d1a2",
    "a b",
    "(?P<sep>x)",
    r"back\slash\\",
    "dots...and*stars+?[]{}|^$",
    "tab\there",
    "ends in space ",
    "--",
    "-",
    "",
    "é unicode ☃",
    "\udcff surrogate",
    ")(?P<end>--)?(?P<ws>[ \\t]*)(?P<linesep>\\r\\n|\\r|\\n)?$",
    "line\nbreak",
]


def _lines_for(boundary: str, rng: random.Random) -> list[str]:
    separator = "--" + boundary
    tails = ["", "--", " ", "\t", " \t ", "--  ", "\n", "\r\n", "\r", "--\n", "--\r\n", " \n"]
    tails += ["x", "--x", " x\n", "\n\n", "\r\n\n", "---", "-- --\n", "\n "]
    lines = [separator + tail for tail in tails]
    lines += [separator[:-1] + tail for tail in tails if separator]
    lines += ["x" + separator + "\n", separator.upper() + "\n", "\n", ""]
    for _ in range(40):
        lines.append(
            separator + "".join(rng.choice("- \t\r\nab") for _ in range(rng.randint(0, 6)))
        )
    return lines


@pytest.mark.parametrize("boundary", _AWKWARD)
def test_each_line_matches_as_the_parsers_pattern_does(boundary: str) -> None:
    pattern = _parser_pattern(boundary)
    expected = re.compile(pattern)
    quick = mime_boundaries._Re.compile(pattern)
    assert isinstance(quick, mime_boundaries.BoundaryLine)
    for line in _lines_for(boundary, random.Random(repr(boundary))):
        _same(expected.match(line), quick.match(line))


def test_random_boundaries_and_lines_match_as_the_parsers_pattern_does() -> None:
    rng = random.Random(20261201)
    alphabet = "ab-_=. \t()[]\\?*+|^$#&~{}\r\n'\"/:é"
    for _ in range(3000):
        boundary = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        pattern = _parser_pattern(boundary)
        expected = re.compile(pattern)
        quick = mime_boundaries._Re.compile(pattern)
        assert isinstance(quick, mime_boundaries.BoundaryLine), boundary
        for line in _lines_for(boundary, rng)[::3]:
            _same(expected.match(line), quick.match(line))


@pytest.mark.parametrize(
    ("pattern", "flags"),
    [
        (r"(\r\n|\r|\n)\Z", 0),
        ("(?P<sep>--a)(?P<end>--)?$", 0),  # not the parser's tail
        (_parser_pattern("abc"), re.IGNORECASE),  # flags the parser never gives
        ("(?P<sep>--a\\" + _parser_pattern("b")[len("(?P<sep>--b") :], 0),  # a dangling escape
        ("(?P<sep>a.b" + _parser_pattern("x")[len("(?P<sep>--x") :], 0),  # "." not escaped
    ],
)
def test_any_other_pattern_is_compiled_by_re(pattern: str, flags: int) -> None:
    try:
        expected = re.compile(pattern, flags)
    except re.error:
        with pytest.raises(re.error):
            mime_boundaries._Re.compile(pattern, flags)
        return
    assert mime_boundaries._Re.compile(pattern, flags) == expected


def test_the_parser_is_given_the_quick_test_once_parsing_is_loaded() -> None:
    assert isinstance(email.feedparser.re, mime_boundaries._Re)
    mime_boundaries.install(email.feedparser)  # a second time changes nothing
    assert isinstance(email.feedparser.re, mime_boundaries._Re)
    assert email.feedparser.re.escape is re.escape


def test_every_fixture_and_damaged_fixture_parses_as_with_the_parsers_own_re(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(20261202)
    paths = _corpus()
    raws = [path.read_bytes() for path in paths]
    raws += [mutate(rng.choice(raws), rng) for _ in range(800)]
    quick = [_outcome(parsing._feed, raw) for raw in raws]
    monkeypatch.setattr(email.feedparser, "re", re)
    assert [_outcome(parsing._feed, raw) for raw in raws] == quick
    assert sum(b"boundary=" in raw for raw in raws) > 200  # multiparts really were parsed
