"""``audit_now`` writes many audit entries in one statement, straight to the database: each entry
must read back exactly as the same entry written with ``audit`` through the session does."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from worker.adapters.db import Database
from worker.adapters.db_models import AuditEvent
from worker.records import AuditEntry, audit, audit_now


@pytest.fixture
def db(either_database_url: str) -> Database:
    database = Database(either_database_url)
    database.upgrade()
    return database


def _entries(db: Database, action: str) -> list[tuple[object, ...]]:
    with db.session() as session:
        return [
            (e.actor, e.why, e.case_id, e.inbound_id, e.letter_id, e.details, e.at is not None)
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        ]


def test_entries_written_at_once_read_back_as_those_written_one_by_one(db: Database) -> None:
    details = {"kind": "stage1_acknowledgement", "due": date(2026, 12, 7), "pair": ("a", 1)}
    before = datetime.now(UTC)
    with db.session() as session:
        for n in range(3):
            audit(session, "sender", "one.by.one", f"letter {n}", kind=details["kind"], n=n)
        audit(session, "sender", "one.by.one", "dated", due=details["due"], pair=details["pair"])
        audit_now(
            session,
            "sender",
            "at.once",
            [AuditEntry(f"letter {n}", details={"kind": details["kind"], "n": n}) for n in range(3)]
            + [AuditEntry("dated", details={"due": details["due"], "pair": details["pair"]})],
        )
    assert _entries(db, "at.once") == _entries(db, "one.by.one")
    with db.session() as session:
        stamped = session.scalars(select(AuditEvent.at).where(AuditEvent.action == "at.once"))
        # Stamped when written, as the session's entries are (SQLite keeps no zone).
        assert all(at.replace(tzinfo=at.tzinfo or UTC) >= before for at in stamped)


def test_no_entries_write_nothing(db: Database) -> None:
    with db.session() as session:
        audit_now(session, "sender", "at.once", [])
    assert _entries(db, "at.once") == []
