"""Case-insensitive patterns that answer "no match" quickly.

Python's ``re`` is two to nine times slower with IGNORECASE than without, and triage runs some
sixty such patterns over every message (most of them match nothing). A ``Caseless`` pattern first
looks for a match in the lower-cased text with a lower-case copy compiled without IGNORECASE;
only when that finds one does the original pattern run on the original text, so every result
(the match, its span, its groups in the resident's own capitals) is exactly what the original
pattern gives. Measured on the benchmark's messages: about 2.4 times less time in the patterns.

Two more shortcuts, both exact: the text is lower-cased (and checked for the folding characters)
once for all the patterns that look at it, not once a pattern; and each pattern carries the
literal strings one of which every match must contain (worked out from the parsed pattern, see
``_required``), so a text holding none of them is ruled out by a few substring searches, which
cost about a microsecond each on a 3 KB message where a regex costs tens. This also serves the
case-sensitive patterns (the staff-name finders). When the quick look finds a match, the original
pattern searches from where it starts rather than from the beginning again. A pattern that is an
alternation of phrases also carries what each phrase requires (``_ways``): "stage 2", "escalate",
"not happy with the response"... A long text that holds "happy" but not "response", nor any of
the words another phrase needs, is ruled out too.

Where every match must begin with one of a few literal strings (``\\b(?:how\\s+did|tell\\s+us)``
begins with "how" or "tell"), the quick look does not scan the text with the regex at all: it
finds those strings with substring searches and tries the pattern only where they occur, in
order; the first place it matches is where the regex's own scan would have found the first
match (``_prefixes``).

Otherwise the text is scanned, but not with the pattern itself. ``re`` skips ahead to the places
a match can begin only when a pattern begins with a literal or a character class; one that
begins with ``\\b``, ``^`` or a group holding an alternation is tried at every position of the
text, which is where most of the time went. So each pattern gets a scanner (``_scanner``): the
class of the characters a match can begin with, then the pattern itself, checked in place by a
lookahead (inside a one-character lookbehind, to look from where the class matched). The scanner
matches exactly where the pattern does, and ``re`` passes over every other character without
trying anything there. Where those first characters are common letters and every match begins
a word, the scanner looks instead for the character before the word (not a letter, a digit or an
underscore: a space, mostly) followed by one of them, which is found at fewer places; where
every match begins a line (``^`` with MULTILINE), for the newline before it. Measured: about 40%
less time a scan. Inside the scanner's look-ahead, the pattern's alternatives are put together
by their first character (``_dispatched``), so that at each place only those that can begin there
are tried: 14% fewer instructions over all the scanners. ``finditer`` and ``findall`` find each
further match the same way, from where the last one ended, rather than scanning the rest of
the text with the IGNORECASE original: for a pattern that can never match the empty string, the
next match is the first one a search from there finds, however that is found.

The quick look is used only where it is certain to agree with IGNORECASE: the copy is the pattern
with its ASCII capitals lower-cased, and the parsed copy must be the parsed pattern with nothing
changed but those (a literal, an ``A-Z`` range) and hold no character with a case other than
an ASCII lower-case letter (not ``\\x41``, nor a non-ASCII letter); and the text holds none of the
four characters that IGNORECASE folds onto an ASCII letter (dotted and dotless I, long s, the
Kelvin sign). Otherwise the original pattern runs alone.
"""

from __future__ import annotations

import heapq
import re
import sys
from collections.abc import Callable, Iterator
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

# Characters IGNORECASE treats as an ASCII letter that lower() does not turn into one.
_FOLDS_TO_ASCII = "\u0130\u0131\u017f\u212a"

# The lower-cased copy of the last few texts looked at (None: the text holds one of the folding
# characters). Triage asks some sixty patterns about the same text; lower-casing it and looking
# for the folding characters once, not sixty times, is most of the saving on a 3 KB message.
# Keyed by id() with the text itself kept, so a reused id can never return another text's copy.
_LOWERED: dict[int, tuple[str, str | None]] = {}
_LOWERED_SIZE = 16
# Texts longer than this are lower-cased afresh each time rather than kept: the cache must not
# hold a huge message (and its copy) in memory after it has gone.
_LOWERED_LONGEST = 1 << 20

# A literal prefilter is worth it only when it is a few quick substring searches.
_MOST_NEEDLES = 24
_SHORTEST_NEEDLE = 3


def _quick_form(pattern: str) -> str | None:
    """The lower-case copy of ``pattern`` (its ASCII capitals lowered, escapes left alone), or
    None when it holds a non-ASCII letter with a case. ``_alike`` then checks the copy."""
    out: list[str] = []
    escaped = False
    for ch in pattern:
        if escaped:
            out.append(ch)  # \\S, \\W, \\B, \\A, \\Z keep their meaning
            escaped = False
            continue
        if ch == "\\":
            escaped = True
            out.append(ch)
            continue
        if not ch.isascii() and (ch.lower() != ch or ch.upper() != ch or ch in _FOLDS_TO_ASCII):
            return None  # a non-ASCII letter with a case
        out.append(ch.lower() if ch.isascii() else ch)
    return "".join(out)


# A class range longer than this is not checked character by character: no quick copy.
_LONGEST_CHECKED_RANGE = 0x3000


def _caseless_char(code: int) -> bool:
    """A character the quick copy may hold: one the lower-cased text and IGNORECASE agree on,
    an ASCII lower-case letter or a character with no case at all."""
    ch = chr(code)
    if "a" <= ch <= "z":
        return True
    return ch.lower() == ch and ch.upper() == ch and ch not in _FOLDS_TO_ASCII


def _alike(original: Any, quick: Any) -> bool:
    """Whether the parsed quick copy is the parsed original with only its ASCII capitals
    lower-cased (a literal, an A-Z range), and holds no character with a case besides the
    ASCII lower-case letters: then, on lower-cased text without the folding characters, it
    matches exactly where the original matches with IGNORECASE. Anything else (an escaped
    capital such as \\x41, an alternation the parser factored differently): no quick copy."""
    if len(original) != len(quick):
        return False
    for (op, av), (op2, av2) in zip(original, quick, strict=True):
        if op is not op2:
            return False
        if op is sre.LITERAL or op is sre.NOT_LITERAL:
            if not _caseless_char(av2) or (
                av2 != av and not (0x41 <= av <= 0x5A and av2 == av + 32)
            ):
                return False
        elif op is sre.RANGE:
            (low, high), (low2, high2) = av, av2
            if (low2, high2) != (low, high) and not (
                0x41 <= low and high <= 0x5A and (low2, high2) == (low + 32, high + 32)
            ):
                return False
            if high2 - low2 > _LONGEST_CHECKED_RANGE:
                return False
            if not all(_caseless_char(c) for c in range(low2, high2 + 1)):
                return False
        elif op is sre.IN or op is sre.ATOMIC_GROUP:
            if not _alike(av, av2):
                return False
        elif op is sre.SUBPATTERN:
            if av[:3] != av2[:3] or not _alike(av[3], av2[3]):
                return False
        elif op is sre.BRANCH:
            if len(av[1]) != len(av2[1]) or not all(map(_alike, av[1], av2[1])):
                return False
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            if av[:2] != av2[:2] or not _alike(av[2], av2[2]):
                return False
        elif op is sre.ASSERT or op is sre.ASSERT_NOT:
            if av[0] != av2[0] or not _alike(av[1], av2[1]):
                return False
        elif op is sre.GROUPREF_EXISTS:
            group, yes, no = av
            group2, yes2, no2 = av2
            if group != group2 or not _alike(yes, yes2):
                return False
            if (no is None) != (no2 is None) or (no is not None and not _alike(no, no2)):
                return False
        elif av != av2:  # \\b, a category, a wildcard, a back-reference: as they are
            return False
    return True


def _quick_copy(pattern: str, flags: int) -> re.Pattern[str] | None:
    """The quick copy of an IGNORECASE pattern, compiled without IGNORECASE, or None."""
    quick = _quick_form(pattern)
    if quick is None:
        return None
    try:
        compiled = re.compile(quick, flags & ~re.IGNORECASE)
        same = _alike(sre_parse.parse(pattern, flags), sre_parse.parse(quick, compiled.flags))
    except (re.error, RecursionError):
        return None
    return compiled if same else None


def _lowered(string: str) -> str | None:
    entry = _LOWERED.get(id(string))
    if entry is not None and entry[0] is string:
        return entry[1]
    # An ASCII text (known without reading it) holds none of the folding characters.
    folds = not string.isascii() and any(ch in string for ch in _FOLDS_TO_ASCII)
    lowered = None if folds else string.lower()
    if len(string) > _LOWERED_LONGEST:
        return lowered
    if len(_LOWERED) >= _LOWERED_SIZE:
        _LOWERED.clear()  # threads may race here: the worst is a miss, never a wrong copy
    _LOWERED[id(string)] = (string, lowered)
    return lowered


Needles = frozenset[str] | None  # one of these is in every match; None: nothing known


def _best(candidates: list[frozenset[str]]) -> Needles:
    """The requirement cheapest to check: the longest shortest needle, then the fewest."""
    if not candidates:
        return None
    return max(candidates, key=lambda c: (min(map(len, c)), -len(c)))


def _requirements(items: Any) -> list[frozenset[str]]:
    """Every requirement the parsed sequence ``items`` makes of a match: sets of literal
    strings, a match holding at least one string of each set.

    Sound by construction: only what a match must consume counts (a literal character, a group,
    every branch of an alternation, a repeat taken at least once); zero-width assertions and
    anything optional or variable break a run of literals and add nothing."""
    candidates: list[frozenset[str]] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            candidates.append(frozenset(["".join(run)]))
            run.clear()

    def add(found: Needles) -> None:
        flush()
        if found:
            candidates.append(found)

    for op, av in items:
        if op is sre.LITERAL:
            run.append(chr(av))
        elif op is sre.SUBPATTERN:
            _group, add_flags, del_flags, sub = av
            if add_flags or del_flags:
                raise _GiveUp  # (?i:...) and the like: leave the pattern to the regex
            add(_required(sub))
        elif op is sre.ATOMIC_GROUP:
            add(_required(av))
        elif op is sre.BRANCH:
            alternatives = [_required(branch) for branch in av[1]]
            if all(alternatives):
                add(frozenset().union(*alternatives))  # type: ignore[arg-type]
            else:
                flush()
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, _high, sub = av
            add(_required(sub) if low >= 1 else None)
        else:  # a class, a wildcard, \\b, a lookaround, a back-reference: nothing certain
            flush()
    flush()
    return candidates


def _required(items: Any) -> Needles:
    """The literal strings of which every match of the parsed sequence ``items`` holds at least
    one: of its requirements, the cheapest to check."""
    return _best(_requirements(items))


_ZERO_WIDTH = (sre.AT, sre.ASSERT, sre.ASSERT_NOT)


def _ways(items: Any) -> list[list[frozenset[str]]]:
    """The requirements of each alternative of a pattern that is one alternation (between
    zero-width assertions, within a group or not): every match meets all the requirements of
    at least one alternative. Anything else is one way, with all its requirements."""
    core = [(op, av) for op, av in items if op not in _ZERO_WIDTH]
    if len(core) == 1:
        op, av = core[0]
        if op is sre.SUBPATTERN and not av[1] and not av[2]:
            return _ways(av[3])
        if op is sre.BRANCH:
            return [way for branch in av[1] for way in _ways(branch)]
    return [_requirements(items)]


class _GiveUp(Exception):
    pass


# Trying the pattern at each place a prefix occurs beats a regex scan only for a few places,
# and each prefix costs a substring search of the whole text.
_MOST_STARTS = 24
_SHORTEST_PREFIX = 2
_MOST_PREFIXES = 16


def _leading(items: Any) -> frozenset[str] | None:
    """Literal strings one of which every match of the parsed sequence ``items`` begins with,
    or None. Zero-width assertions (``\\b``, ``^``) are passed over: the pattern itself is then
    tried at each place, and checks them."""
    for i, (op, av) in enumerate(items):
        if op is sre.AT:
            continue
        if op is sre.LITERAL:
            run = []
            for op2, av2 in items[i:]:
                if op2 is not sre.LITERAL:
                    break
                run.append(chr(av2))
            # The parser turns never|nobody into n(?:ever|obody): carry on into what follows.
            after = _leading(items[i + len(run) :])
            head = "".join(run)
            if after and len(after) <= _MOST_PREFIXES:
                return frozenset(head + tail for tail in after)
            return frozenset([head])
        if op is sre.SUBPATTERN:
            _group, add_flags, del_flags, sub = av
            if add_flags or del_flags:
                return None
            return _leading(sub)
        if op is sre.BRANCH:
            found: set[str] = set()
            for branch in av[1]:
                starts = _leading(branch)
                if not starts:
                    return None
                found |= starts
            return frozenset(found)
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT) and av[0] >= 1:
            return _leading(av[2])
        return None
    return None


def _prefixes(pattern: re.Pattern[str]) -> tuple[str, ...] | None:
    """``_leading`` of a compiled pattern, without the strings another of them begins (their
    places are among its places), or None."""
    if pattern.flags & (re.VERBOSE | re.IGNORECASE):
        return None
    try:
        found = _leading(sre_parse.parse(pattern.pattern, pattern.flags))
    except (re.error, RecursionError):
        return None
    if not found or min(map(len, found)) < _SHORTEST_PREFIX or len(found) > _MOST_PREFIXES:
        return None  # a letter on its own is in every text, many times; and each costs a search
    return tuple(sorted(p for p in found if not any(o != p and p.startswith(o) for o in found)))


class _Unknown(Exception):
    pass


# A piece of a first-character class: (low, high) code points, or None for \d.
_Piece = tuple[int, int] | None


def _first_chars(items: Any) -> tuple[set[_Piece], bool]:
    """The first character of every match of the parsed sequence ``items``, as pieces of a
    character class, and whether the sequence can match the empty string (then what follows
    it may supply the first character). Raises _Unknown when it cannot tell."""
    found: set[_Piece] = set()
    for op, av in items:
        if op in _ZERO_WIDTH:
            continue  # consumes nothing: the first character comes after it
        if op is sre.LITERAL:
            found.add((av, av))
            return found, False
        if op is sre.IN:
            for op2, av2 in av:
                if op2 is sre.LITERAL:
                    found.add((av2, av2))
                elif op2 is sre.RANGE:
                    found.add(av2)
                elif op2 is sre.CATEGORY and av2 is sre.CATEGORY_DIGIT:
                    found.add(None)
                else:
                    raise _Unknown  # a negated class, \\w, \\s: too broad to skip anything
            return found, False
        if op is sre.SUBPATTERN:
            _group, add_flags, del_flags, sub = av
            if add_flags or del_flags:
                raise _Unknown
            chars, empty = _first_chars(sub)
        elif op is sre.ATOMIC_GROUP:
            chars, empty = _first_chars(av)
        elif op is sre.BRANCH:
            chars, empty = set(), False
            for branch in av[1]:
                more, can_be_empty = _first_chars(branch)
                chars |= more
                empty = empty or can_be_empty
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, _high, sub = av
            chars, empty = _first_chars(sub)
            empty = empty or low == 0
        else:
            raise _Unknown  # a wildcard, a back-reference, a conditional
        found |= chars
        if not empty:
            return found, False
    return found, True


def _starts_at(items: Any, where: int) -> bool:
    """Whether every match of the parsed sequence begins at the zero-width assertion ``where``
    (``sre.AT_BOUNDARY`` for ``\\b``, ``sre.AT_BEGINNING`` for ``^``)."""
    for op, av in items:
        if op is sre.AT and av is where:
            return True
        if op in _ZERO_WIDTH:
            continue
        if op is sre.SUBPATTERN and not av[1] and not av[2]:
            return _starts_at(av[3], where)
        if op is sre.ATOMIC_GROUP:
            return _starts_at(av, where)
        if op is sre.BRANCH:
            return all(_starts_at(branch, where) for branch in av[1])
        return False
    return False


def _skips_ahead_itself(items: Any) -> bool:
    """Whether ``re`` finds a literal prefix or a first-character set for this parsed pattern
    on its own (the rule of ``re._compiler._compile_info``): then it needs no scanner."""
    while items and items[0][0] is sre.SUBPATTERN:
        items = items[0][1][3]
    if not items:
        return False
    op, av = items[0]
    if op is sre.LITERAL or op is sre.IN:
        return True
    return op is sre.BRANCH and all(b and b[0][0] is sre.LITERAL for b in av[1])


def _class(pieces: set[_Piece]) -> str:
    def char(code: int) -> str:
        return chr(code) if chr(code).isascii() and chr(code).isalnum() else f"\\U{code:08x}"

    parts = sorted(
        "\\d" if p is None else char(p[0]) if p[0] == p[1] else f"{char(p[0])}-{char(p[1])}"
        for p in pieces
    )
    return "[" + "".join(parts) + "]"


def _all_word_chars(pieces: set[_Piece], flags: int) -> bool:
    """Whether every character of the class is one ``\\b`` counts as a word character."""
    word = re.compile(r"\w", flags & re.ASCII)
    for piece in pieces:
        if piece is None:
            continue  # a digit: \d means [0-9] under ASCII, and a Unicode digit is alphanumeric
        low, high = piece
        if high - low > _LONGEST_CHECKED_RANGE:
            return False
        if not all(word.match(chr(c)) for c in range(low, high + 1)):
            return False
    return True


def _common_letters(pieces: set[_Piece]) -> int:
    """How many lower-case ASCII letters the class holds: the characters of running text."""
    letters: set[int] = set()
    for piece in pieces:
        if piece is not None:
            letters.update(c for c in range(max(piece[0], 0x61), min(piece[1], 0x7A) + 1))
    return len(letters)


# Where the first characters a match can begin with are as common as this in running text, the
# scanner looks for the character before a match instead (a space, mostly): fewer places.
_MOST_COMMON_LETTERS = 4
# Every ASCII character that is not a word character, and every other character.
_NOT_ASCII_WORD = "[^0-9A-Za-z_]"


_QUANTIFIERS = frozenset("?*+{")  # a set: an empty slice is not "in" it
_SPECIAL = frozenset("\\.^$*+?{}[]|()")
# Distributing a group can multiply the alternatives; beyond this many the text is left alone.
_MOST_DISPATCHED = 400


def _skip(text: str, i: int) -> int:
    """The index after the escape or character class at ``text[i]``, else ``i + 1``."""
    if text[i] == "\\":
        return i + 2
    if text[i] != "[":
        return i + 1
    j = i + 1
    if j < len(text) and text[j] == "^":
        j += 1
    if j < len(text) and text[j] == "]":
        j += 1  # a "]" first is a literal
    while j < len(text) and text[j] != "]":
        j += 2 if text[j] == "\\" else 1
    return j + 1


def _alternatives_of(text: str) -> list[str] | None:
    """``text`` split at its top-level "|" (None when its brackets do not balance)."""
    out: list[str] = []
    depth = start = i = 0
    while i < len(text):
        ch = text[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return None
        elif ch == "|" and depth == 0:
            out.append(text[start:i])
            start = i + 1
        i = _skip(text, i)
    if depth != 0 or i > len(text):
        return None
    out.append(text[start:])
    return out


def _group_end(text: str, start: int) -> int | None:
    """The index of the ")" closing the group opened at ``text[start]``."""
    depth = 0
    i = start
    while i < len(text):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
        i = _skip(text, i)
    return None


def _distributed(alternative: str, depth: int = 3) -> list[str]:
    """``(?:a|b)rest`` as ``arest`` and ``brest`` (again for what each then begins with), so
    that each begins with what it begins with; anything else as it is."""
    if depth == 0 or not alternative.startswith("(?:"):
        return [alternative]
    end = _group_end(alternative, 0)
    if end is None or alternative[end + 1 : end + 2] in _QUANTIFIERS:
        return [alternative]
    inner = _alternatives_of(alternative[3:end])
    if inner is None:
        return [alternative]
    rest = alternative[end + 1 :]
    return [out for branch in inner for out in _distributed(branch + rest, depth - 1)]


def _dispatched(text: str) -> str:
    """``text`` for a scanner's look-ahead, its alternation written so that ``re`` tries at each
    place only the alternatives that begin with the character there: each alternative that
    begins with a group of alternatives becomes one for each of them, and those that begin with
    the same literal character are put together behind it (``n(?:ever|obody)``).

    ``re`` does try an alternative beginning with a literal only where that character is, but
    it checks them one by one, and it tries every alternative that begins with a group (or an
    assertion) all the way in: for the sixty phrases of a dissatisfaction pattern, that was
    most of the time a scan took. The scanner needs only to know whether the pattern matches at
    a place, not which alternative does, so the order of the alternatives does not matter, and
    ``(?:a|b)c`` matches wherever ``ac|bc`` does. Left as it is (no gain, or not safe to
    rewrite): a pattern that refers back to a group, or one not of the form ``A|B|...`` or
    ``\\b(?:A|B|...)...``."""
    try:
        parsed = sre_parse.parse(text)
    except (re.error, RecursionError):
        return text
    if "(?P" in text or _refers_back(parsed):
        return text
    prefix, suffix = "", ""
    alternatives = _alternatives_of(text)
    if alternatives is not None and len(alternatives) == 1:
        prefix = "\\b" if text.startswith("\\b(?:") else ""
        body = text[len(prefix) :]
        end = _group_end(body, 0) if body.startswith("(?:") else None
        if end is None or body[end + 1 : end + 2] in _QUANTIFIERS:
            return text
        alternatives = _alternatives_of(body[3:end])
        suffix = body[end + 1 :]
        prefix += "(?:"
        suffix = ")" + suffix
    if alternatives is None or len(alternatives) < 2:
        return text
    spread = [out for alternative in alternatives for out in _distributed(alternative)]
    if len(spread) > _MOST_DISPATCHED:
        return text
    by_first: dict[str, list[str]] = {}
    others: list[str] = []
    for alternative in spread:
        first = alternative[:1]
        if first and first not in _SPECIAL and alternative[1:2] not in _QUANTIFIERS:
            by_first.setdefault(first, []).append(alternative[1:])
        else:
            others.append(alternative)
    groups = [
        first + (rests[0] if len(rests) == 1 else "(?:" + "|".join(rests) + ")")
        for first, rests in by_first.items()
    ]
    return prefix + "|".join(groups + others) + suffix


def _refers_back(items: Any) -> bool:
    """Whether the parsed pattern holds a back-reference or a conditional on a group."""
    for op, av in items:
        if op in (sre.GROUPREF, sre.GROUPREF_EXISTS):
            return True
        if op is sre.SUBPATTERN and _refers_back(av[3]):
            return True
        if op is sre.BRANCH and any(_refers_back(b) for b in av[1]):
            return True
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT) and _refers_back(av[2]):
            return True
        if op in (sre.ASSERT, sre.ASSERT_NOT) and _refers_back(av[1]):
            return True
        if op is sre.ATOMIC_GROUP and _refers_back(av):
            return True
    return False


def _looking_ahead(template: str, text: str, flags: int) -> re.Pattern[str]:
    """``template`` compiled with the pattern ``text`` where its "{}" is, dispatched (see
    ``_dispatched``) unless that does not compile (a name given to two groups, say)."""
    dispatched = _dispatched(text)
    if dispatched != text:
        try:
            return re.compile(template.format(dispatched), flags)
        except (re.error, RecursionError, OverflowError):
            pass
    return re.compile(template.format(text), flags)


def _scanner(pattern: re.Pattern[str]) -> tuple[re.Pattern[str], int] | None:
    """A pattern whose matches begin where ``pattern``'s do, or one character before (the
    ``int``), and that ``re`` can skip ahead in: it begins with a character class (see the
    module text). None: ``re`` skips ahead in ``pattern`` itself, or nothing is known."""
    flags = pattern.flags
    if flags & (re.VERBOSE | re.IGNORECASE):
        return None
    text = pattern.pattern
    try:
        items = sre_parse.parse(text, flags)
        if _skips_ahead_itself(items):
            return None
        if _starts_at(items, sre.AT_BEGINNING_STRING):
            return None  # \\A: a match can begin at the start of the text only
        if _starts_at(items, sre.AT_BEGINNING):
            if not flags & re.MULTILINE:
                return None  # the same for ^ without MULTILINE
            # Every match begins a line: look for the newline, a literal re finds fastest.
            return re.compile(f"\\n(?={text})", flags), 1
        chars, empty = _first_chars(items)
        if empty or not chars:
            return None
        first = _class(chars)
        if (
            _common_letters(chars) > _MOST_COMMON_LETTERS
            and _starts_at(items, sre.AT_BOUNDARY)
            and _all_word_chars(chars, flags)
        ):
            # A match begins a word: the character before it is not a word character.
            return _looking_ahead(f"{_NOT_ASCII_WORD}{first}(?<=(?={{}}){first})", text, flags), 1
        return _looking_ahead(f"{first}(?<=(?={{}}){first})", text, flags), 0
    except (_Unknown, re.error, RecursionError, OverflowError):
        return None


def _needles(pattern: re.Pattern[str], *, caseless: bool = False) -> tuple[str, ...] | None:
    """The substring searches that can rule out a match of ``pattern`` (see ``_required``), or
    None when there are too many, too short to gain anything, or the pattern is beyond the
    reading.

    ``caseless``: an IGNORECASE pattern with no lower-case copy (``\\x41`` in it, say); its needles
    are lower-cased, to be looked for in the lower-cased text. Only ASCII needles are used: once
    the folding characters are ruled out, only ASCII matches an ASCII literal under IGNORECASE,
    and lower() of the text holds lower() of every ASCII stretch of it."""
    if pattern.flags & re.VERBOSE or bool(pattern.flags & re.IGNORECASE) != caseless:
        return None
    try:
        found = _required(sre_parse.parse(pattern.pattern, pattern.flags))
    except (_GiveUp, re.error, RecursionError):
        return None
    if caseless and found is not None:
        if not all(n.isascii() for n in found):
            return None
        found = frozenset(n.lower() for n in found)
    if not found or len(found) > _MOST_NEEDLES or min(map(len, found)) < _SHORTEST_NEEDLE:
        return None
    # A needle holding another is redundant: the text holds the shorter one whenever it holds it.
    kept = [n for n in found if not any(o != n and o in n for o in found)]
    return tuple(sorted(kept, key=len, reverse=True))


# A requirement is checked only if it can rule something out: a few strings, none too short.
_MOST_WAYS = 16
_MOST_WAY_NEEDLES = 30
_SHORTEST_TEXT_FOR_WAYS = 256

Ways = tuple[tuple[tuple[str, ...], ...], ...]


def _telling(needle: str) -> bool:
    """Whether a text may well lack ``needle``: two letters ("to", "in") are in every text, two
    digits ("19", "20") are not."""
    return len(needle) >= 3 or (len(needle) == 2 and not needle.isalpha())


def _alternatives(
    pattern: re.Pattern[str], needles: tuple[str, ...] | None, *, caseless: bool = False
) -> Ways | None:
    """For each alternative of the pattern (see ``_ways``), its requirements, the likeliest to
    fail first; None when some alternative has none worth checking (then nothing is ruled out
    that the needles do not already rule out), or when there is only one requirement in all.
    ``caseless``: as for ``_needles``."""
    if pattern.flags & re.VERBOSE or bool(pattern.flags & re.IGNORECASE) != caseless:
        return None
    try:
        ways = _ways(sre_parse.parse(pattern.pattern, pattern.flags))
    except (_GiveUp, re.error, RecursionError):
        return None
    if len(ways) > _MOST_WAYS:
        return None
    out = []
    for way in ways:
        kept = []
        for requirement in way:
            if caseless:
                if not all(n.isascii() for n in requirement):
                    continue  # leaving a requirement out is always safe
                requirement = frozenset(n.lower() for n in requirement)
            if len(requirement) <= _MOST_NEEDLES and all(map(_telling, requirement)):
                kept.append(tuple(sorted(requirement, key=len, reverse=True)))
        if not kept:
            return None
        # Long strings are the rarest: a way is usually ruled out by its first requirement.
        kept.sort(key=lambda strings: (-min(map(len, strings)), len(strings)))
        out.append(tuple(dict.fromkeys(kept)))
    if needles is not None and all(len(way) == 1 for way in out):
        return None  # one requirement a way: the needles say as much
    if len({n for way in out for requirement in way for n in requirement}) > _MOST_WAY_NEEDLES:
        return None  # checking them would cost about what the scan costs
    return tuple(out)


def _possible(ways: Ways, haystack: str, pos: int, endpos: int) -> bool:
    """Whether the text between ``pos`` and ``endpos`` meets every requirement of one way."""
    whole = pos == 0 and endpos >= len(haystack)
    seen: dict[str, bool] = {}
    for way in ways:
        for needles in way:
            for needle in needles:
                there = seen.get(needle)
                if there is None:
                    there = needle in haystack if whole else haystack.find(needle, pos, endpos) >= 0
                    seen[needle] = there
                if there:
                    break
            else:
                break  # a requirement no string of which is there: not this way
        else:
            return True
    return False


# Texts up to this long are remembered with where their first match begins (``_start``).
_REMEMBERED_LONGEST = 64 * 1024

# finditer and findall find this many matches one by one (see ``Caseless._each``).
_MOST_STEPS = 16


class Caseless:
    """A compiled pattern with the ``re.Pattern`` methods triage uses (see the module text)."""

    __slots__ = (
        "_slow",
        "_quick",
        "_needles",
        "_needles_lowered",
        "_ways",
        "_locate",
        "_prefixes",
        "_scan",
        "_scan_offset",
        "_stepwise",
        "_last",
        "pattern",
        "flags",
        "groups",
        "groupindex",
    )

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._slow: re.Pattern[str] = re.compile(pattern, flags)
        self.pattern = pattern
        self.flags = self._slow.flags
        self.groups = self._slow.groups
        self.groupindex = self._slow.groupindex
        self._quick: re.Pattern[str] | None = None
        self._needles: tuple[str, ...] | None = None
        self._ways: Ways | None = None
        # True: the needles are looked for in the lower-cased text, else in the text itself.
        self._needles_lowered = bool(flags & re.IGNORECASE)
        if flags & re.IGNORECASE:
            self._quick = _quick_copy(pattern, flags)
            if self._quick is not None:
                self._needles = _needles(self._quick)
                self._ways = _alternatives(self._quick, self._needles)
            if self._quick is None:
                # No lower-case copy (an escaped capital, a letter such as é, say): its
                # literals still rule texts out.
                self._needles = _needles(self._slow, caseless=True)
                self._ways = _alternatives(self._slow, self._needles, caseless=True)
        else:
            # Case-sensitive: no quick copy is needed, but its needles still rule texts out.
            self._needles = _needles(self._slow)
            self._ways = _alternatives(self._slow, self._needles)
        # The pattern that finds where a match begins, in the text the needles are looked for
        # in, and the literal strings every match begins with (None: scan with the regex).
        self._locate = self._slow if not flags & re.IGNORECASE else self._quick
        self._prefixes = _prefixes(self._locate) if self._locate is not None else None
        # What scans the text for the first match when there are no prefixes (None: the
        # quick copy itself), and how far before a match it matches (see ``_scanner``).
        self._scan: re.Pattern[str] | None = None
        self._scan_offset = 0
        scanner = _scanner(self._locate) if self._locate is not None else None
        if scanner is not None:
            self._scan, self._scan_offset = scanner
        # finditer and findall look for each match the quick way too (``_each``): only for a
        # pattern that cannot match the empty string (the rules for the next match after an
        # empty one are re's own), and only where there is a quick way.
        try:
            never_empty = sre_parse.parse(pattern, flags).getwidth()[0] > 0
        except (re.error, RecursionError):
            never_empty = False
        self._stepwise = never_empty and (
            self._needles is not None
            or self._quick is not None
            or self._scan is not None
            or self._prefixes is not None
            or self._ways is not None
        )
        # The last text looked at, where from and to, and where its first match begins.
        self._last: tuple[str, int, int, int] | None = None

    def _start(self, string: str, pos: int, endpos: int) -> int:
        """Where the first match begins (see ``_find_start``), remembered for the last text:
        triage asks some patterns the same question about the same text two or three times
        (the rules for a survey reply and for dissatisfaction share phrases, the quoted-text
        finder runs for the model, the rules and the extraction). The very object is checked,
        so another text equal to it is simply looked at again; only texts up to
        ``_REMEMBERED_LONGEST`` are kept, so that some hundred patterns never hold large ones."""
        last = self._last  # read once: another thread may replace it (never change it)
        if last is not None and last[0] is string and last[1] == pos and last[2] == endpos:
            return last[3]
        start = self._find_start(string, pos, endpos)
        if len(string) <= _REMEMBERED_LONGEST:
            self._last = (string, pos, endpos, start)
        return start

    def _find_start(self, string: str, pos: int, endpos: int) -> int:
        """Where the first match begins, found in the lower-cased text: -1 when there is
        certainly none, ``pos`` when the quick look cannot be used.

        The original pattern then searches from there: positions agree between the two texts
        (lower() keeps the length once the folding characters are ruled out), and a search from
        a position still sees the text before it for \\b, ^ and lookbehinds, so its first match
        is the one a search from ``pos`` finds, without scanning the text before it again."""
        needles = self._needles
        if (
            needles is None
            and self._ways is None
            and self._quick is None
            and self._prefixes is None
            and self._scan is None
        ):
            return pos
        if self._needles_lowered:
            lowered = _lowered(string)
            if lowered is None:
                return pos
            haystack = lowered
        else:
            haystack = string  # a case-sensitive pattern: its needles are searched as they are
        if needles is not None:
            if pos == 0 and endpos >= len(haystack):
                if not any(map(haystack.__contains__, needles)):
                    return -1
            elif all(haystack.find(n, pos, endpos) < 0 for n in needles):
                return -1
        if (
            self._ways is not None
            and min(endpos, len(haystack)) - pos >= _SHORTEST_TEXT_FOR_WAYS
            and not _possible(self._ways, haystack, pos, endpos)
        ):
            return -1
        if self._prefixes is not None:
            return self._first_start(haystack, pos, endpos)
        if self._scan is not None:
            return self._scan_from(haystack, pos, endpos)
        if self._quick is None:
            return pos
        found = self._quick.search(haystack, pos, endpos)
        return -1 if found is None else found.start()

    def _scan_from(self, haystack: str, pos: int, endpos: int) -> int:
        """Where the first match begins, found with the scanner (-1: none)."""
        scan = self._scan
        assert scan is not None
        if self._scan_offset:
            # The scanner finds the character before a match: a match at the very start of
            # the text has none, and is tried on its own.
            if pos == 0:
                locate = self._locate
                assert locate is not None
                if locate.match(haystack, 0, endpos) is not None:
                    return 0
                pos = 1
            found = scan.search(haystack, pos - 1, endpos)
            return -1 if found is None else found.start() + 1
        found = scan.search(haystack, pos, endpos)
        return -1 if found is None else found.start()

    def _first_start(self, haystack: str, pos: int, endpos: int) -> int:
        """Where the first match begins: the first place one of the prefixes occurs at which
        the pattern matches (-1: none). The places are visited in order (the next one of each
        prefix kept in a heap); after ``_MOST_STARTS`` of them the regex scans on from there."""
        locate = self._locate
        prefixes = self._prefixes
        assert locate is not None and prefixes is not None
        places = [
            (at, i) for i, p in enumerate(prefixes) if (at := haystack.find(p, pos, endpos)) >= 0
        ]
        heapq.heapify(places)
        for _ in range(_MOST_STARTS):
            if not places:
                return -1
            at, i = places[0]
            if locate.match(haystack, at, endpos) is not None:
                return at
            following = haystack.find(prefixes[i], at + 1, endpos)
            if following >= 0:
                heapq.heapreplace(places, (following, i))
            else:
                heapq.heappop(places)
        if not places:
            return -1
        if self._scan is not None:
            return self._scan_from(haystack, places[0][0], endpos)
        found = locate.search(haystack, places[0][0], endpos)
        return -1 if found is None else found.start()

    def _none_here(self, string: str) -> bool:
        return self._start(string, 0, sys.maxsize) < 0

    def search(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        start = self._start(string, pos, endpos)
        if start < 0:
            return None
        return self._slow.search(string, start, endpos)

    def finditer(
        self, string: str, pos: int = 0, endpos: int = sys.maxsize
    ) -> Iterator[re.Match[str]]:
        start = self._start(string, pos, endpos)
        if start < 0:
            return iter(())
        if self._stepwise:
            return self._each(string, start, endpos)
        return self._slow.finditer(string, start, endpos)

    def _each(self, string: str, start: int, endpos: int) -> Iterator[re.Match[str]]:
        """The matches from ``start`` (where the first one begins), each further one found
        from where the last one ended as a search finds it; after ``_MOST_STEPS`` of them the
        regex's own ``finditer`` goes on from there (a pattern that matches all over the text
        is quicker left to it)."""
        slow = self._slow
        for _ in range(_MOST_STEPS):
            found = slow.search(string, start, endpos)
            if found is None:
                return
            yield found
            start = self._start(string, found.end(), endpos)
            if start < 0:
                return
        yield from slow.finditer(string, start, endpos)

    def findall(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> list[Any]:
        start = self._start(string, pos, endpos)
        if start < 0:
            return []
        if not self._stepwise:
            return self._slow.findall(string, start, endpos)
        found = self._each(string, start, endpos)
        if self.groups == 0:
            return [m.group() for m in found]
        if self.groups == 1:
            return [m.group(1) or "" for m in found]
        return [m.groups("") for m in found]

    def sub(self, repl: str | Callable[[re.Match[str]], str], string: str, count: int = 0) -> str:
        if self._none_here(string):
            return string
        return self._slow.sub(repl, string, count)

    def split(self, string: str, maxsplit: int = 0) -> list[str | Any]:
        if self._none_here(string):
            return [string]
        return self._slow.split(string, maxsplit)

    # Anchored: already quick, so no look first.
    def match(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self._slow.match(string, pos, endpos)

    def fullmatch(
        self, string: str, pos: int = 0, endpos: int = sys.maxsize
    ) -> re.Match[str] | None:
        return self._slow.fullmatch(string, pos, endpos)

    def __repr__(self) -> str:
        return f"Caseless({self.pattern!r}, quick={self._quick is not None})"


def compile(pattern: str, flags: int = 0) -> Caseless:  # noqa: A001 - mirrors re.compile
    return Caseless(pattern, flags)


__all__ = ["Caseless", "compile"]
