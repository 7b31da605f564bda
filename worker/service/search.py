"""Case search for ``/cases?q=...`` (SPEC section 7): a reference, a resident's name or email,
an address or postcode, or words of the messages, the case summary and staff notes.

PostgreSQL uses its full-text search (``plainto_tsquery`` over the English configuration, ranked
with ``ts_rank``; migration 0009 adds the matching GIN index on messages). SQLite, the embedded
mode, matches every word with LIKE. In both, what a handler types most often outranks the words
of a message: the exact reference first, then an email or name, then an address or postcode.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import TYPE_CHECKING

from sqlalchemy import String, and_, cast, func, literal_column, or_, select
from sqlalchemy.orm import Session

from worker.adapters.db_models import AuditEvent, Case, InboundMessage, Resident

if TYPE_CHECKING:
    from sqlalchemy.sql.elements import ColumnElement

MAX_QUERY = 200
MAX_RESULTS = 200
# Weights: a hit on who or where the case is about beats a word somewhere in a letter.
REF, IDENTITY, PLACE, WORDS = 1000.0, 100.0, 50.0, 1.0
_REF = re.compile(r"^(?:CMP|SR)-\d{4}-\d{1,10}$", re.IGNORECASE)
_WORD = re.compile(r"[\w'@.-]+", re.UNICODE)
# The English text-search configuration; the index of migration 0009 is built with the same
# expression, so PostgreSQL can use it.
TS_CONFIG = "english"


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(column: ColumnElement[str], value: str) -> ColumnElement[bool]:
    return func.lower(column).like(_like(value.lower()), escape="\\")


def words(query: str) -> list[str]:
    return [w for w in _WORD.findall(query.lower()) if len(w) >= 2][:12]


def search(session: Session, query: str) -> list[tuple[int, float]]:
    """``[(case id, score)]``, best first, at most MAX_RESULTS."""
    query = " ".join(query.split())[:MAX_QUERY]
    if not query:
        return []
    scores: dict[int, float] = defaultdict(float)

    if _REF.match(query):
        for case_id in session.scalars(
            select(Case.id).where(func.upper(Case.ref) == query.upper())
        ):
            scores[case_id] += REF

    # Who: the resident's name or email address (any part of either).
    resident_hit = or_(
        _contains(Resident.email, query),
        _contains(Resident.name, query),
        _contains(cast(Resident.other_emails, String), query),
    )
    for case_id in session.scalars(
        select(Case.id).join(Resident, Case.resident_id == Resident.id).where(resident_hit)
    ):
        scores[case_id] += IDENTITY

    # Where: an address or postcode appears in the resident's messages, spaced or not.
    squeezed = query.replace(" ", "")
    if any(ch.isdigit() for ch in query) and len(squeezed) >= 3:
        text = func.replace(func.lower(InboundMessage.text), " ", "")
        for case_id in session.scalars(
            select(InboundMessage.case_id)
            .where(InboundMessage.case_id.is_not(None))
            .where(text.like(_like(squeezed.lower()), escape="\\"))
            .distinct()
        ):
            scores[case_id] += PLACE

    for case_id, rank in _word_hits(session, query):
        scores[case_id] += WORDS * rank

    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], -kv[0]))
    return ranked[:MAX_RESULTS]


def _word_hits(session: Session, query: str) -> list[tuple[int, float]]:
    if session.get_bind().dialect.name == "postgresql":
        return _postgres_words(session, query)
    return _like_words(session, query)


def _postgres_words(session: Session, query: str) -> list[tuple[int, float]]:
    config = literal_column(f"'{TS_CONFIG}'::regconfig")
    tsquery = func.plainto_tsquery(config, query)
    hits: dict[int, float] = defaultdict(float)
    sources: list[tuple[ColumnElement[int | None], ColumnElement[str], float]] = [
        (InboundMessage.case_id, InboundMessage.subject + " " + InboundMessage.text, 1.0),
        # The case summary (our understanding) says what the case is about: worth more.
        (Case.id, Case.subject + " " + Case.understanding, 2.0),
        (AuditEvent.case_id, AuditEvent.why, 0.5),
    ]
    for key, document, weight in sources:
        vector = func.to_tsvector(config, document)
        stmt = (
            select(key, func.max(func.ts_rank(vector, tsquery)))
            .where(key.is_not(None))
            .where(vector.op("@@")(tsquery))
            .group_by(key)
        )
        for case_id, rank in session.execute(stmt):
            hits[int(case_id)] += weight * (1.0 + float(rank or 0.0))
    return list(hits.items())


def _like_words(session: Session, query: str) -> list[tuple[int, float]]:
    terms = words(query)
    if not terms:
        return []
    hits: dict[int, float] = defaultdict(float)
    sources: list[tuple[ColumnElement[int | None], list[ColumnElement[str]], float]] = [
        (InboundMessage.case_id, [InboundMessage.subject, InboundMessage.text], 1.0),
        (Case.id, [Case.subject, Case.understanding], 2.0),
        (AuditEvent.case_id, [AuditEvent.why], 0.5),
    ]
    for key, columns, weight in sources:
        # Every word must appear (in any of the columns), as plainto_tsquery asks.
        every = and_(*(or_(*(_contains(c, t) for c in columns)) for t in terms))
        stmt = select(key).where(key.is_not(None)).where(every).distinct()
        for case_id in session.scalars(stmt):
            hits[int(case_id)] += weight * (1.0 + len(terms))
    return list(hits.items())
