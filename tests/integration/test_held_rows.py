"""``held_rows``: audit and correspondence rows kept aside in a batch's transaction and written
at its end in one statement a table must read back exactly as rows added to the session do,
and vanish with the transaction when it fails."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.adapters.db import Database
from worker.adapters.db_models import AuditEvent, Correspondence
from worker.records import audit, correspondence, held_rows, insert_many

WHEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def db(either_database_url: str) -> Database:
    database = Database(either_database_url)
    database.upgrade()
    return database


def _write(session: Session, tag: str) -> None:
    for n in range(3):
        audit(session, "router", f"{tag}.made", f"entry {n}", n=n, due=date(2026, 12, 7))
        correspondence(session, "in" if n % 2 else "out", WHEN, f"{tag}-{n}")
    audit(session, "router", f"{tag}.made", "last", pair=("a", 1))


def _audit(db: Database, action: str) -> list[tuple[object, ...]]:
    with db.session() as session:
        return [
            (e.actor, e.why, e.case_id, e.inbound_id, e.letter_id, e.details, e.at is not None)
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        ]


def _letters(db: Database, prefix: str) -> list[tuple[object, ...]]:
    with db.session() as session:
        return [
            (c.direction, c.kind[len(prefix) :], c.at.replace(tzinfo=c.at.tzinfo or UTC))
            for c in session.scalars(
                select(Correspondence)
                .where(Correspondence.kind.like(f"{prefix}-%"))
                .order_by(Correspondence.id)
            )
        ]


def test_held_rows_are_written_at_the_end_of_the_block_as_the_session_would_write_them(
    db: Database,
) -> None:
    with db.session() as session:
        _write(session, "plain")
    with db.session() as session, held_rows(session):
        _write(session, "held")
        # Kept aside: nothing was added to the session for them.
        assert not session.new
    assert _audit(db, "held.made") == _audit(db, "plain.made")
    assert len(_audit(db, "held.made")) == 4
    assert _letters(db, "held") == _letters(db, "plain")
    assert len(_letters(db, "held")) == 3


def test_a_block_that_fails_writes_none_of_its_held_rows(db: Database) -> None:
    with pytest.raises(RuntimeError), db.session() as session, held_rows(session):
        _write(session, "failed")
        raise RuntimeError("triage broke")
    assert _audit(db, "failed.made") == []
    assert _letters(db, "failed") == []
    # And the session is back to adding rows as usual afterwards.
    with db.session() as session:
        audit(session, "router", "after.made")
        assert session.new


def test_rows_made_inside_a_savepoint_go_with_it(db: Database) -> None:
    with db.session() as session, held_rows(session):
        audit(session, "router", "kept.made", "before the savepoint")
        try:
            with session.begin_nested():
                audit(session, "router", "undone.made", "in the savepoint")
                correspondence(session, "in", WHEN, "undone-0")
                raise RuntimeError("this message fails alone")
        except RuntimeError:
            pass
    assert [why for _a, why, *_ in _audit(db, "kept.made")] == ["before the savepoint"]
    assert _audit(db, "undone.made") == []
    assert _letters(db, "undone") == []


@pytest.mark.parametrize("returning", [True, False], ids=["returning", "no-returning"])
def test_rows_written_at_once_come_back_with_their_keys_in_order(
    db: Database, returning: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without RETURNING (SQLite before 3.35) the rows go one statement each: the same rows,
    # the same keys in the same order.
    if not returning:
        monkeypatch.setattr(
            db.engine.dialect, "insert_executemany_returning_sort_by_parameter_order", False
        )
    rows = [
        {"direction": "in", "kind": f"keyed-{n}", "at": WHEN, "case_id": None,
         "service_request_id": None, "inbound_id": None, "letter_id": None}
        for n in range(30)
    ]  # fmt: skip
    with db.session() as session:
        keys = insert_many(session, Correspondence.__tablename__, rows, keys=True)
        assert insert_many(session, Correspondence.__tablename__, rows[:3]) == []
    with db.session() as session:
        written = dict(
            session.execute(
                select(Correspondence.id, Correspondence.kind).where(
                    Correspondence.kind.like("keyed-%")
                )
            ).all()
        )
    assert len(keys) == 30 and len(written) == 33
    assert [written[k] for k in keys] == [f"keyed-{n}" for n in range(30)]
