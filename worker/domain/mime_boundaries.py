"""The email parser's boundary test, without compiling a regular expression for every message.

For each multipart it reads, the standard library's feed parser compiles a pattern made from
that part's boundary (``email.feedparser``, ``_parsegen``):

    (?P<sep>--BOUNDARY)(?P<end>--)?(?P<ws>[ \\t]*)(?P<linesep>\\r\\n|\\r|\\n)?$

Every message has boundaries of its own, so ``re``'s cache never holds them and each one is
compiled afresh, in Python: about 230 microseconds on the benchmark's machine, once or twice a
message (most mail is multipart/alternative, often inside multipart/mixed), some 2 % of a
worker's time.

The parser only ever calls ``match(line)`` on that pattern and reads the groups "end" and
"linesep" of what it returns. A line matches it exactly when it starts with the separator and
the rest of it, from there, matches the pattern's fixed tail. So ``install`` gives the feed parser
a ``re`` whose ``compile`` returns, for a pattern of that shape, an object whose ``match`` checks
``startswith`` and then matches one tail pattern compiled once, from where the separator ends:
the same groups, with the same values. Any other pattern, or one whose separator does not come
back exactly from ``re.escape``, is compiled by ``re`` as before.
"""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any

_HEAD = "(?P<sep>"
_TAIL = r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
_REST = re.compile(_TAIL[1:])
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


class BoundaryLine:
    """What the feed parser is given in place of its compiled boundary pattern."""

    __slots__ = ("separator", "_length")

    def __init__(self, separator: str) -> None:
        self.separator = separator
        self._length = len(separator)

    def match(self, line: str) -> re.Match[str] | None:
        if line.startswith(self.separator):
            return _REST.match(line, self._length)
        return None


def separator_of(pattern: str) -> str | None:
    """The separator (``--`` and the boundary) of a feed parser boundary pattern, or None when
    ``pattern`` is not one."""
    if not (pattern.startswith(_HEAD) and pattern.endswith(_TAIL)):
        return None
    escaped = pattern[len(_HEAD) : len(pattern) - len(_TAIL)]
    separator = _ESCAPED.sub(r"\1", escaped)
    # re.escape only ever puts a backslash before a character; undoing it must give back the
    # very string escaped, or this is not the feed parser's pattern.
    if re.escape(separator) != escaped:
        return None
    return separator


class _Re:
    """``re`` as the feed parser sees it, with ``compile`` knowing its boundary patterns."""

    def __getattr__(self, name: str) -> Any:
        return getattr(re, name)

    @staticmethod
    def compile(pattern: Any, flags: int = 0) -> Any:  # noqa: A003 - stands in for re.compile
        if isinstance(pattern, str) and not flags:
            separator = separator_of(pattern)
            if separator is not None:
                return BoundaryLine(separator)
        return re.compile(pattern, flags)


def install(feedparser: ModuleType) -> None:
    """Give ``feedparser`` (``email.feedparser``) the boundary test above. Idempotent."""
    if isinstance(getattr(feedparser, "re", None), _Re):
        return
    feedparser.re = _Re()  # type: ignore[attr-defined]


__all__ = ["BoundaryLine", "install", "separator_of"]
