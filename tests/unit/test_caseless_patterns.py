"""Caseless patterns (worker/domain/caseless.py) give exactly what re.IGNORECASE gives: the same
matches, spans and groups in the resident's own capitals, only sooner when there is none."""

from __future__ import annotations

import random
import re

import pytest

from worker.domain import caseless, extraction, hazards, triage_rules

TEXTS = [
    "I am NOT HAPPY with how my complaint was handled. Nobody called back.",
    "The Boiler broke in January 2024 and it is STILL not fixed; I want compensation.",
    "Please could you book a plumber, the kitchen tap drips.",
    "This is an automated message. Do not reply. Your appointment is confirmed.",
    "We smell GAS in the hallway!! My son has asthma and there is black mould.",
    "Dear Sir/Madam, I’m writing on behalf of my mother, Mrs Jones – she’s 84. £200 owed.",
    "",
    "ΣΊΣΥΦΟΣ ςσ straße STRASSE",
]
# The four characters IGNORECASE folds onto an ASCII letter that lower() leaves alone.
SPECIAL = [
    "The \u212aelvin sign in \u212aITCHEN",  # Kelvin sign: matches k under IGNORECASE
    "The \u017ftaff were rude",  # long s: matches s under IGNORECASE
    "\u0130stanbul \u0131nspection",  # dotted capital I, dotless i
]


def module_patterns() -> list[caseless.Caseless]:
    found: list[caseless.Caseless] = []
    for module in (triage_rules, extraction):
        for value in vars(module).values():
            items = value if isinstance(value, tuple | list) else (value,)
            for item in items:
                item = item[1] if isinstance(item, tuple) and len(item) == 2 else item
                if isinstance(item, caseless.Caseless):
                    found.append(item)
    return found


def same(a: re.Match[str] | None, b: re.Match[str] | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.span() == b.span() and a.groups() == b.groups() and a.group(0) == b.group(0)


def test_every_triage_pattern_finds_what_ignorecase_finds_on_varied_and_tricky_text() -> None:
    patterns = module_patterns()
    assert len(patterns) > 40
    rng = random.Random(7)
    words = " ".join(TEXTS + SPECIAL).split()
    texts = TEXTS + SPECIAL + [" ".join(rng.choices(words, k=40)) for _ in range(60)]
    texts += [t.upper() for t in texts[:20]] + [t.swapcase() for t in texts[:20]]
    for pattern in patterns:
        plain = re.compile(pattern.pattern, pattern.flags)
        for text in texts:
            assert same(pattern.search(text), plain.search(text)), (pattern.pattern, text)
            assert [m.span() for m in pattern.finditer(text)] == [
                m.span() for m in plain.finditer(text)
            ]
            assert pattern.findall(text) == plain.findall(text)
            assert pattern.sub("#", text) == plain.sub("#", text)
            assert pattern.split(text) == plain.split(text)


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        (r"\bkitchen\b", "The \u212aITCHEN floor"),
        (r"\bstaff\b", "The \u017ftaff were rude"),
        (r"inspection", "\u0131nspection"),
    ],
)
def test_a_character_that_ignorecase_folds_onto_a_letter_still_matches(
    pattern: str, text: str
) -> None:
    plain = re.compile(pattern, re.IGNORECASE)
    quick = caseless.compile(pattern, re.IGNORECASE)
    assert same(quick.search(text), plain.search(text))
    assert plain.search(text) is not None or pattern == "inspection"


def test_a_pattern_with_its_own_capitals_or_cased_letters_is_left_to_re_alone() -> None:
    assert caseless.compile(r"\b[A-Z][a-z]+\b", re.IGNORECASE)._quick is None
    assert caseless.compile(r"(?P<Name>x)", re.IGNORECASE)._quick is None
    assert caseless.compile(r"straße", re.IGNORECASE)._quick is None
    assert caseless.compile(r"\S+\s+don[’']t", re.IGNORECASE)._quick is not None
    assert caseless.compile(r"no case flag")._quick is None


def test_the_match_keeps_the_residents_own_capitals() -> None:
    found = caseless.compile(r"not happy", re.IGNORECASE).search("I am NOT Happy")
    assert found is not None and found.group(0) == "NOT Happy"


def test_hazard_phrases_are_caseless_and_still_find_a_shouted_report() -> None:
    rules = hazards.parse_rules(
        {
            "hazard": [
                {"kind": "gas", "severity": "emergency", "title": "Gas", "phrases": [r"\bgas\b"]}
            ]
        }
    )
    assert isinstance(rules.rules[0].phrases[0], caseless.Caseless)
    found = hazards.detect("", "THERE IS A SMELL OF GAS IN THE FLAT", rules)
    assert [d.kind for d in found] == ["gas"]


def test_every_match_holds_one_of_the_patterns_needles() -> None:
    # The literal prefilter rules a text out when it holds none of the needles: every real match
    # must hold one, or a match would be missed.
    rng = random.Random(11)
    words = " ".join(TEXTS).split()
    texts = TEXTS + [" ".join(rng.choices(words, k=60)) for _ in range(80)]
    with_needles = [p for p in module_patterns() if p._needles]
    assert len(with_needles) > 20
    for pattern in with_needles:
        assert pattern._needles is not None
        plain = re.compile(pattern.pattern, pattern.flags)
        for text in texts:
            for found in plain.finditer(text):
                seen = found.group(0).lower() if pattern._needles_lowered else found.group(0)
                assert any(n in seen for n in pattern._needles), (
                    pattern.pattern,
                    found.group(0),
                )


@pytest.mark.parametrize(
    ("pattern", "needles"),
    [
        (r"\b(?:fire\s*doors?|smoke\s+alarm)\b", {"fire", "smoke"}),
        (r"\bnot\s+happy\s+with\b", {"happy"}),
        (r"(?:black\s+)?mould", {"mould"}),
        (r"\b(?:leaking|)\s", None),  # an empty branch: nothing is certain
        (r"x?y*z{0,3}", None),  # all optional
        (r"(?i:complaint)", None),  # flags inside: left to the regex
        (r"(?:annoyed|upset)+ again", {"annoyed", "upset", " again"}),
    ],
)
def test_the_needles_are_what_every_match_must_hold(pattern: str, needles: set[str] | None) -> None:
    compiled = caseless.compile(pattern, re.IGNORECASE)
    got = set(compiled._needles) if compiled._needles is not None else None
    if needles is None:
        assert got is None
    else:
        # The choice is the cheapest sound one; each needle named must be one a match holds.
        assert got is not None and got <= needles | {"again"}


@pytest.mark.parametrize(
    ("pattern", "needles"),
    [
        # [A-Z] leaves no lower-case copy; the literals still count, lower-cased.
        (r"\bclaim\s+(?:no|Number)\s*[A-Z0-9]{2,}\d", {"claim"}),
        (r"(?:Job|TICKET)\s+[A-Z]{0,4}\d{5,}", {"job", "ticket"}),
        (r"\bStraße\s+[A-Z]+", None),  # a non-ASCII literal may match other letters
    ],
)
def test_a_pattern_without_a_lower_case_copy_still_has_lower_cased_needles(
    pattern: str, needles: set[str] | None
) -> None:
    compiled = caseless.compile(pattern, re.IGNORECASE)
    assert compiled._quick is None
    got = set(compiled._needles) if compiled._needles is not None else None
    assert got == needles


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        (
            r"\bclaim\s+(?:no|number)\s*[:#]?\s*[A-Z0-9]{2,}\d",
            "My CLAIM Number: AB12345 and claim no x",
        ),
        (r"(?:job|ticket)\s+[A-Z]{0,4}-?\d{5,}", "Ticket ABC-123456 then JOB 99999 then job 1"),
        (r"(?:job|ticket)\s+[A-Z]{0,4}-?\d{5,}", "no such thing here at all"),
        (r"\bclaim\s+[A-Z]+", "a ſtrange CLAİM text: claim FORM"),  # folding characters
    ],
)
def test_a_pattern_without_a_lower_case_copy_finds_what_the_regex_finds(
    pattern: str, text: str
) -> None:
    plain = re.compile(pattern, re.IGNORECASE)
    quick = caseless.compile(pattern, re.IGNORECASE)
    assert quick._quick is None and quick._needles
    for pos in range(len(text) + 1):
        assert same(quick.search(text, pos), plain.search(text, pos)), pos
        assert quick.findall(text, pos) == plain.findall(text, pos)
        assert same(quick.search(text, 0, pos), plain.search(text, 0, pos))
    assert quick.sub("#", text) == plain.sub("#", text)


@pytest.mark.parametrize(
    ("pattern", "flags", "text"),
    [
        (r"(?<!writing\s)today\b", re.I, "I am writing today, and TODAY it leaked"),
        (r"^\s*dear\b", re.I | re.M, "Subject line\nDEAR Sir\ndear madam"),
        (r"^\s*dear\b", re.I, "Subject line\nDEAR Sir"),
        (r"\bgas\b", re.I, "Vegas then GAS and gas"),
        (r"(?<=my\s)son\b", re.I, "Person: MY SON has asthma"),
        (r"x*", re.I, "abc"),
    ],
)
def test_searching_from_the_first_quick_match_finds_what_a_whole_search_finds(
    pattern: str, flags: int, text: str
) -> None:
    plain = re.compile(pattern, flags)
    quick = caseless.compile(pattern, flags)
    for pos in range(len(text) + 1):
        assert same(quick.search(text, pos), plain.search(text, pos)), pos
        assert [m.span() for m in quick.finditer(text, pos)] == [
            m.span() for m in plain.finditer(text, pos)
        ]
        assert quick.findall(text, pos) == plain.findall(text, pos)
        assert same(quick.search(text, 0, pos), plain.search(text, 0, pos))


@pytest.mark.parametrize(
    ("pattern", "flags", "prefixes"),
    [
        (r"\b(?:how\s+did\s+we\s+do|tell\s+us)", re.I, ("how", "tell")),
        # The parser factors never|nobody into n(?:ever|obody); the prefixes run on through it.
        (r"(?:never|nobody|no one)\s+answer", re.I, ("never", "no one", "nobody")),
        (r"\b(?:take|taking)\s+you\s+to\s+court", re.I, ("take", "taking")),
        (r"\b(?:Mr|Mrs|Dr)\.?\s+[A-Z][a-z]+", 0, ("Dr", "Mr")),  # case-sensitive: as written
        (r"\b(?:(\d+)\s+)?days", re.I, None),  # may begin with a digit: no literal prefix
        (r"\b(?:i|we)\s+want", re.I, None),  # "i" alone is in every text
        (r"[A-Z]{2}\d+", re.I, None),  # IGNORECASE without a lower-case copy: left to the regex
    ],
)
def test_the_prefixes_are_what_every_match_begins_with(
    pattern: str, flags: int, prefixes: tuple[str, ...] | None
) -> None:
    compiled = caseless.compile(pattern, flags)
    assert compiled._prefixes == prefixes


@pytest.mark.parametrize(
    ("pattern", "flags"),
    [
        (r"\b(?:how\s+did\s+we\s+do|tell\s+us\s+how|on\s+a\s+scale)\b", re.I),
        (r"(?:never|nobody|no one)\s+answer\w*", re.I),
        (r"\b(?:in|back in|during)\s+((?:19|20)\d\d)", re.I),
        (r"\b((?:Mr|Mrs|Ms|Dr)\.?\s+[A-Z][a-z]+)", 0),
        (r"^(?:dear|hello)\b", re.I | re.M),
    ],
)
def test_trying_the_pattern_where_its_prefixes_occur_finds_what_a_scan_finds(
    pattern: str, flags: int
) -> None:
    plain = re.compile(pattern, flags)
    quick = caseless.compile(pattern, flags)
    assert quick._prefixes is not None
    rng = random.Random(11)
    pieces = [
        "how", "HOW", "did we do", "showdid", "tell us how", "on a scale", "online", "in",
        "into", "BACK IN 2019", "during 2020", "never", "Nobody answered", "no one answers",
        "Mr Smith", "Mrs. Jones", "mr smith", "DR Who", "Dear", "\ndear", "hello", "x",
    ]  # fmt: skip
    texts = [" ".join(rng.choices(pieces, k=rng.randint(0, 30))) for _ in range(300)]
    # More places than are tried one by one: the regex scans on from there.
    texts += ["in " * 40 + "during 1999", "how " * 60, "mr " * 50 + "Mr Smith", "onon" * 50]
    for text in texts:
        for pos in (0, 1, 7):
            assert same(quick.search(text, pos), plain.search(text, pos)), (text, pos)
            assert same(
                quick.search(text, 0, len(text) - pos), plain.search(text, 0, len(text) - pos)
            )
        assert [m.span() for m in quick.finditer(text)] == [m.span() for m in plain.finditer(text)]
        assert quick.findall(text) == plain.findall(text)
