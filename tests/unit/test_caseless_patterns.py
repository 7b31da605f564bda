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


def test_a_pattern_with_capitals_gets_a_lower_cased_copy_only_where_nothing_else_changes() -> None:
    # An A-Z range or a capital letter lower-cases to what IGNORECASE means by it.
    quick = caseless.compile(r"\b[A-Z][a-z]+\b", re.IGNORECASE)._quick
    assert quick is not None and quick.pattern == r"\b[a-z][a-z]+\b"
    assert caseless.compile(r"Original Message", re.IGNORECASE)._quick is not None
    # A group's name would change; an escaped capital stays a capital; a non-ASCII letter and an
    # alternation the parser factors differently once lower-cased are left to re.
    assert caseless.compile(r"(?P<Name>x)", re.IGNORECASE)._quick is None
    assert caseless.compile(r"\x41\u00c9", re.IGNORECASE)._quick is None
    assert caseless.compile(r"straße", re.IGNORECASE)._quick is None
    assert caseless.compile(r"(?:Nb|nc)", re.IGNORECASE)._quick is None
    assert caseless.compile(r"[!-~]", re.IGNORECASE)._quick is None  # a range holding A-Z
    assert caseless.compile(r"\S+\s+don[’']t", re.IGNORECASE)._quick is not None
    assert caseless.compile(r"no case flag")._quick is None


@pytest.mark.parametrize(
    ("pattern", "text"),
    [(r"\x41", "a A"), (r"caf\u00c9", "CAFÉ café"), (r"[\x41-\x5a]+", "abc XYZ")],
)
def test_an_escaped_capital_matches_both_cases_as_ignorecase_does(pattern: str, text: str) -> None:
    plain = re.compile(pattern, re.IGNORECASE)
    quick = caseless.compile(pattern, re.IGNORECASE)
    assert [m.span() for m in quick.finditer(text)] == [m.span() for m in plain.finditer(text)]
    assert quick.search(text) is not None


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
        # An escaped capital leaves no lower-case copy: the literals still count, lower-cased.
        (r"\bclaim\s+(?:no|Number)\s*[\x41-\x5a0-9]{2,}\d", {"claim"}),
        (r"(?:Job|TICKET)\s+[\x41-\x5a]{0,4}\d{5,}", {"job", "ticket"}),
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
@pytest.mark.parametrize("escaped", [False, True])
def test_a_pattern_with_capitals_finds_what_the_regex_finds_with_or_without_a_quick_copy(
    pattern: str, text: str, escaped: bool
) -> None:
    if escaped:  # the same pattern with its capitals escaped: no lower-case copy
        pattern = pattern.replace("A-Z", r"\x41-\x5a")
    plain = re.compile(pattern, re.IGNORECASE)
    quick = caseless.compile(pattern, re.IGNORECASE)
    assert (quick._quick is None) == escaped and quick._needles
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


def agrees_everywhere(quick: caseless.Caseless, plain: re.Pattern[str], text: str) -> None:
    """Every way of asking gives what the regex gives, from every position and to every end."""
    for pos in range(len(text) + 1):
        assert same(quick.search(text, pos), plain.search(text, pos)), (text, pos)
        assert same(quick.search(text, 0, pos), plain.search(text, 0, pos)), (text, 0, pos)
        assert same(quick.search(text, pos, pos + 9), plain.search(text, pos, pos + 9))
        assert quick.findall(text, pos) == plain.findall(text, pos), (text, pos)
    assert [m.span() for m in quick.finditer(text)] == [m.span() for m in plain.finditer(text)]
    assert quick.sub("#", text) == plain.sub("#", text)
    assert quick.split(text) == plain.split(text)


def test_a_word_pattern_found_after_its_scanner_skips_a_false_start() -> None:
    # "showdid" holds "how" but not at a word's start; "told" is no "tell".
    quick = caseless.compile(r"\b(?:how\s+did|tell\s+us|stage\s*(?:2|two))\b", re.IGNORECASE)
    assert quick._scan is not None
    text = "Showdid we? Told us. Backstage 2. Well, HOW  did it go, tell us"
    found = quick.search(text)
    assert found is not None and found.group(0) == "HOW  did"
    agrees_everywhere(quick, re.compile(quick.pattern, re.IGNORECASE), text)


@pytest.mark.parametrize(
    ("pattern", "flags", "offset"),
    [
        # Few first letters: the class of them, then the pattern checked where one is found.
        (r"\b(?:yes|young)\s+\w+", re.I, 0),
        (r"(?:(?:very|quite)\s+)?(?:dis)?satisfied|not\s+happy", re.I, 0),  # a group first
        (r"\b(\d{1,2})[/.-](\d{1,2})\b", 0, 0),
        (r"\b((?:Mr|Dr)\.?\s+[A-Z][a-z]+)", 0, 0),
        (r"(?<!not\s)\b(?:you|your)\s+fault", re.I, 0),  # a lookbehind first
        # Many common first letters, every match a word: the character before the word.
        (r"\b(?:on|since|from|this|by|until|till)\s+(monday|friday)\b", re.I, 1),
        (r"\b(?:abc|def|ghi|mno|\d+x)\b|\bjkl", re.I, 1),
        # Every match a line: the newline before it.
        (r"^\s*(?:kind regards|thanks)\b", re.I | re.M, 1),
        (r"^(?:-{2,}\s*Original|From:\s.+$)", re.I | re.M, 1),
    ],
)
def test_the_scanner_matches_where_the_pattern_matches_from_any_position(
    pattern: str, flags: int, offset: int
) -> None:
    quick = caseless.compile(pattern, flags)
    assert quick._scan is not None and quick._scan_offset == offset
    plain = re.compile(pattern, flags)
    rng = random.Random(5)
    pieces = [
        "yes", "Young one", "YES sir", "eyes no", "very satisfied", "dissatisfied", "not happy",
        "12/3", "x12/3", "1/2/3", "Mr Smith", "MR Smith", "Dr. Who", "your fault", "not you fault",
        "on Monday", "Upon monday", "this friday", "abc", "xabc", "def_", "12x", "jkl", "mno", "é",
        "Kind regards", "thanks", "--- Original", "From: me", "\n", "\n\n", "_", "'", "İ", "ſ",
    ]  # fmt: skip
    texts = ["", "x", "yes", "abc", "Thanks", "\nthanks"]
    texts += [
        "".join(rng.choice(pieces) + rng.choice(" \n.,'_-é") for _ in range(9)) for _ in range(60)
    ]
    for text in texts:
        agrees_everywhere(quick, plain, text)


@pytest.mark.parametrize(
    ("pattern", "flags"),
    [
        (r"foo\b", re.I),  # a literal first: re skips ahead itself
        (r"(?:fine|ok|good)\s+since", re.I),
        (r"[ab]x", re.I),
        (r"^\s*dear\b", re.I),  # tried at the start only
        (r"\Ahello", re.I),
        (r"\b\w+ly\b", re.I),  # a word character: any letter may begin it
        (r"\b(?:a|b)?", re.I),  # may match the empty string
        (r"\b(?:[A-Z]+)", re.I | re.X),
    ],
)
def test_a_pattern_re_skips_ahead_in_itself_or_one_beyond_reading_gets_no_scanner(
    pattern: str, flags: int
) -> None:
    assert caseless.compile(pattern, flags)._scan is None


def test_a_long_text_is_ruled_out_when_no_alternative_has_all_it_requires() -> None:
    pattern = (
        r"\b(?:stage\s*(?:2|two)|(?:not|un)\s*happy\s+with\s+(?:the|your)\s+response"
        r"|review\s+(?:my|the)\s+complaint)\b"
    )
    quick = caseless.compile(pattern, re.IGNORECASE)
    assert quick._ways is not None
    # "happy" and "complaint" are there, but not "response" nor "review": nothing can match.
    text = "I am happy to wait but this complaint is old. " * 10
    assert len(text) >= caseless._SHORTEST_TEXT_FOR_WAYS
    assert quick._start(text, 0, len(text)) == -1
    plain = re.compile(pattern, re.IGNORECASE)
    for more in ["", " Not happy with the RESPONSE.", " Stage 2 please", " review my complaint"]:
        longer = text + more
        assert same(quick.search(longer), plain.search(longer))
        assert same(
            quick.search(longer, 5, len(longer) - 3), plain.search(longer, 5, len(longer) - 3)
        )
    assert quick.search(text + " Not happy with the RESPONSE.") is not None


@pytest.mark.parametrize(
    ("pattern", "ways"),
    [
        # An alternation of phrases: what each one needs.
        (
            r"\b(?:weekly\s+(?:summary|digest)|automated\s+(?:message|alert))\b",
            [[{"weekly"}, {"summary", "digest"}], [{"automated"}, {"message", "alert"}]],
        ),
        (r"\b(?:fire\s+door|smoke\s+alarm)\b", [[{"fire"}, {"door"}], [{"smoke"}, {"alarm"}]]),
        # One phrase, two things it needs (the parser keeps the s of spring|summer apart); two
        # digits are telling, two letters are not.
        (r"\b(spring|summer)\s+(?:of\s+)?((?:19|20)\d\d)\b", [[{"pring", "ummer"}, {"19", "20"}]]),
        (r"\b(?:in|on|at)\s+(?:19|20)\d\d", [[{"19", "20"}]]),
        # Nothing beyond what the needles say; a phrase that needs nothing rules nothing out.
        (r"\b(?:fire|smoke|alarm)s?\b", None),
        (r"\b(?:fire\s+door|)\b", None),
        (r"\b(?:fire\s+door|\w+\s+at)\b", None),
    ],
)
def test_the_requirements_are_what_each_alternative_must_hold(
    pattern: str, ways: list[list[set[str]]] | None
) -> None:
    got = caseless.compile(pattern, re.IGNORECASE)._ways
    if ways is None:
        assert got is None
    else:
        assert got is not None
        # Within an alternative the likeliest to be missing (the longest) is checked first.
        assert [sorted(map(set, way), key=sorted) for way in got] == [
            sorted(way, key=sorted) for way in ways
        ]
        assert all(
            [min(map(len, r)) for r in way] == sorted((min(map(len, r)) for r in way), reverse=True)
            for way in got
        )


def test_finditer_finds_each_match_the_quick_way_and_hands_over_after_many() -> None:
    pattern = r"\b(?:(over|about)\s+)?(\d+|a few|several)\s+(years?|weeks?)\s+ago\b"
    quick = caseless.compile(pattern, re.IGNORECASE)
    plain = re.compile(pattern, re.IGNORECASE)
    assert quick._stepwise
    few = "It broke 3 weeks ago, then ABOUT two years ago, and again a few Weeks Ago."
    many = " ".join(f"{n} weeks ago" for n in range(3 * caseless._MOST_STEPS))
    for text in (few, many, few + many + few, "no dates here"):
        assert [(m.span(), m.groups()) for m in quick.finditer(text)] == [
            (m.span(), m.groups()) for m in plain.finditer(text)
        ]
        assert quick.findall(text) == plain.findall(text)
        assert quick.findall(text, 7, len(text) - 4) == plain.findall(text, 7, len(text) - 4)
    # One group and none: findall gives strings, as re does.
    for one in (r"\b(\d+)\s+weeks\b", r"\b\d+\s+weeks\b", r"\b(x)?\d+\s+weeks\b"):
        assert caseless.compile(one, re.I).findall(many) == re.compile(one, re.I).findall(many)


@pytest.mark.parametrize("pattern", [r"\b(?:ab)*", r"x*", r"(?:foo|)\b"])
def test_a_pattern_that_can_match_nothing_is_left_to_re_for_the_matches_after_the_first(
    pattern: str,
) -> None:
    quick = caseless.compile(pattern, re.IGNORECASE)
    assert not quick._stepwise
    text = "abab foo ab x xx"
    assert [m.span() for m in quick.finditer(text)] == [
        m.span() for m in re.compile(pattern, re.I).finditer(text)
    ]
    assert quick.findall(text) == re.compile(pattern, re.I).findall(text)


# --- the scanner's look-ahead, its alternatives put together by first character ------------


def _matches_at(pattern: str, text: str) -> list[int]:
    compiled = re.compile(pattern)
    return [pos for pos in range(len(text) + 1) if compiled.match(text, pos) is not None]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"\b(?:not|never|rude)\b", r"\b(?:n(?:ot|ever)|rude)\b"),
        (r"(?:never|no one)\s+came|nobody", r"n(?:ever\s+came|o one\s+came|obody)"),
        # A group that begins an alternative is spread over its branches, nested ones too.
        (r"\b(?:(?:a|b(?:c|d))x|e)", r"\b(?:ax|b(?:c|d)x|e)"),
        (r"(?:(?:a|b)x|c)y|d", r"axy|bxy|cy|d"),
        # Whatever begins with a class, an escape, an assertion or an optional letter stays
        # as it is, after the others.
        (
            r"\b(?:[ab]x|\dy|(?<!z)w|a?q|ab)",
            r"\b(?:ab|[ab]x|\dy|(?<!z)w|a?q)",
        ),
        # "|" and ")" inside a class or escaped are not where the pattern divides.
        (r"(?:a[|)]b|\|c|a\)d)", r"(?:a(?:[|)]b|\)d)|\|c)"),
    ],
)
def test_the_look_ahead_tries_only_what_begins_with_the_character_there(
    pattern: str, expected: str
) -> None:
    assert caseless._dispatched(pattern) == expected


@pytest.mark.parametrize(
    "pattern",
    [
        r"(a|b)\1",  # a back-reference: the groups must stay as they are
        r"(?P<x>a|b)c|(?P=x)d",
        r"(?:a|b)?c|\d",  # an optional group first: not spread
        r"\b(?:only one)\b",  # nothing to put together
        r"abc",
    ],
)
def test_a_pattern_not_safe_or_not_worth_rewriting_is_left_as_it_is(pattern: str) -> None:
    assert caseless._dispatched(pattern) == pattern


def test_every_rewritten_look_ahead_matches_where_the_pattern_matches() -> None:
    rng = random.Random(11)
    words = " ".join(TEXTS + SPECIAL).lower().split() + [
        "not good enough", "nobody came", "never turned up", "third time", "12th time",
        "fed up", "your fault", "not your fault", "stage 2", "how did we do", "mould", "damp",
        "still waiting", "the 3rd of may", "on monday", "mr smith", "\n", "-", "'",
    ]  # fmt: skip
    texts = [" ".join(rng.choices(words, k=30)) for _ in range(40)]
    rewritten = 0
    for pattern in module_patterns():
        locate = pattern._locate
        if locate is None or locate.flags & re.VERBOSE:
            continue
        body = caseless._dispatched(locate.pattern)
        if body == locate.pattern:
            continue
        rewritten += 1
        flags = locate.flags
        for text in texts:
            expected = [p for p in range(len(text) + 1) if locate.match(text, p)]
            found = re.compile(body, flags)
            assert [p for p in range(len(text) + 1) if found.match(text, p)] == expected
    assert rewritten > 20


def test_questions_asked_in_any_order_get_the_answers_re_gives() -> None:
    # Where the first match begins is remembered for the last text, from and to where it was
    # asked: asking about other texts and other places in between must never mix them up.
    rng = random.Random(11)
    patterns = module_patterns()
    texts = TEXTS + SPECIAL
    for _ in range(4000):
        pattern = rng.choice(patterns)
        plain = re.compile(pattern.pattern, pattern.flags)
        text = rng.choice(texts)
        pos = rng.choice([0, 0, 1, len(text) // 2])
        endpos = rng.choice([len(text), len(text), len(text) // 2, 10**9])
        assert same(pattern.search(text, pos, endpos), plain.search(text, pos, endpos)), (
            pattern.pattern,
            text,
            pos,
            endpos,
        )
        assert pattern.findall(text, pos, endpos) == plain.findall(text, pos, endpos)


def test_the_same_question_about_the_same_text_is_answered_without_looking_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    looked: list[str] = []
    find_start = caseless.Caseless._find_start

    def counting(self: caseless.Caseless, string: str, pos: int, endpos: int) -> int:
        looked.append(string)
        return find_start(self, string, pos, endpos)

    monkeypatch.setattr(caseless.Caseless, "_find_start", counting)
    pattern = caseless.compile(r"\b(?:nobody|no one)\s+(?:came|called)\b", re.IGNORECASE)
    text = "I waited in all day and NOBODY CAME, again."
    first = pattern.search(text)
    assert first is not None and first.group(0) == "NOBODY CAME"
    assert same(pattern.search(text), first)
    assert len(looked) == 1
    # Another text, even one equal to it, is looked at; so is the same text from elsewhere.
    equal = "".join(list(text))
    assert equal == text and equal is not text
    assert same(pattern.search(equal), first)
    assert same(pattern.search(text, 5), first)
    assert len(looked) == 3
    # A long text is not kept, so asking again looks again.
    long_text = "x " * (caseless._REMEMBERED_LONGEST // 2) + text
    assert pattern.search(long_text) is not None
    assert pattern.search(long_text) is not None
    assert len(looked) == 5
