"""Primary keys taken ahead of the insert, and rows copied in, on a real PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, event, func, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from worker.adapters.db import Database, copy_rows
from worker.adapters.db_models import AuditEvent, Resident
from worker.records import Ids, insert_many


@pytest.fixture
def db(pg_database: Database) -> Database:
    return pg_database


def test_ids_come_fresh_from_the_sequence_without_writing_pending_rows(db: Database) -> None:
    with db.session() as session:
        session.add(Resident(email="pending@example.org", name="Pending"))
        first = db.next_ids(session, "cases", 3)
        again = db.next_ids(session, "cases", 1)
        # Nothing was flushed to take them: the resident is still only in the session.
        assert session.new
        assert len(set(first + again)) == 4
        assert first == sorted(first) and again[0] > first[-1]


def test_case_numbers_are_taken_one_at_a_time_and_other_ids_in_blocks(db: Database) -> None:
    with db.session() as session:
        ids = Ids(session, db.next_ids)
        cases = [ids.take("cases") for _ in range(3)]
        letters = [ids.take("letters") for _ in range(3)]
    assert cases == list(range(cases[0], cases[0] + 3))
    assert letters == list(range(letters[0], letters[0] + 3))
    with db.session() as session:
        # The next case number follows on (no block was held back); the letters' block was.
        assert db.next_ids(session, "cases", 1) == [cases[-1] + 1]
        assert db.next_ids(session, "letters", 1)[0] == letters[0] + Ids.BLOCK


def test_a_lost_connection_while_taking_ids_is_an_outage(db: Database) -> None:
    # Reported as SQLAlchemy reports any lost connection, which the worker treats as an outage.
    with pytest.raises(OperationalError) as lost, db.session() as session:
        pid = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with db.engine.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        db.next_ids(session, "cases", 1)
    assert lost.value.connection_invalidated
    with db.session() as session:  # the pool hands out a working connection afterwards
        assert len(db.next_ids(session, "cases", 2)) == 2


def test_a_database_error_while_taking_ids_is_sqlalchemys_and_leaves_the_connection_alone(
    db: Database,
) -> None:
    with pytest.raises(DBAPIError) as failed, db.session() as session:
        db.next_ids(session, "no_such_table", 1)
    assert not isinstance(failed.value, OperationalError)
    assert not failed.value.connection_invalidated
    with db.session() as session:
        assert len(db.next_ids(session, "letters", 3)) == 3


def _written(db: Database, first_id: int) -> list[tuple[Any, ...]]:
    with db.session() as session:
        rows = session.execute(
            select(
                AuditEvent.actor,
                AuditEvent.action,
                AuditEvent.why,
                AuditEvent.case_id,
                AuditEvent.details,
                AuditEvent.details.is_(None),  # SQL NULL, not the JSON null an INSERT writes
                AuditEvent.at,
            )
            .where(AuditEvent.id >= first_id)
            .order_by(AuditEvent.id)
        ).all()
    return [tuple(row) for row in rows]


_AWKWARD_ROWS = [
    {"actor": "system", "action": "case.opened", "why": "plain", "details": {"a": 1}},
    {
        "actor": "sam",
        "action": "note",
        "why": "tab\there, new\nline, back\\slash, \\N",
        "details": {},
    },
    {"actor": "é ☃", "action": "x", "why": "", "details": {"nested": [1, "two", None], "q": '"'}},
    {"actor": "system", "action": "y", "why": "\r\n\x0b\\.", "details": None},
]


def test_rows_copied_in_are_the_rows_an_insert_writes(db: Database) -> None:
    rows = [{**row, "case_id": None} for row in _AWKWARD_ROWS]
    with db.session() as session:
        start = session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0))) + 1
        session.execute(insert(AuditEvent.__table__), rows)  # SQLAlchemy's own INSERT
        assert copy_rows(session, AuditEvent.__table__, rows)
    written = _written(db, start)
    inserted, copied = written[: len(rows)], written[len(rows) :]
    # The same values, JSON and all (None in a JSON column is JSON null both ways); each row
    # was given its own time, as the INSERT gives it.
    assert [r[:-1] for r in copied] == [r[:-1] for r in inserted]
    assert copied[0][4] == {"a": 1} and copied[3][4] is None
    assert all(r[-1] is not None and r[-1].tzinfo is not None for r in copied)
    assert len({r[-1] for r in copied}) == len(copied)


def test_audit_rows_go_in_by_copy_on_postgresql(db: Database) -> None:
    copied: list[str] = []
    with db.session() as session:
        connection = session.connection()

        def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            copied.append(statement)

        event.listen(connection, "before_cursor_execute", seen)
        insert_many(session, AuditEvent.__tablename__, [dict(_AWKWARD_ROWS[0])])
    # Nothing went through SQLAlchemy's INSERT: the rows were streamed past it.
    assert not [s for s in copied if s.lstrip().upper().startswith("INSERT")]
    assert _written(db, 1)


def test_a_column_default_that_reads_the_statement_is_left_to_sqlalchemy(db: Database) -> None:
    metadata = MetaData()
    table = Table(
        "audit_log",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("actor", String),
        Column("action", String, default=lambda context: context.current_parameters["actor"]),
    )
    with db.session() as session:
        assert not copy_rows(session, table, [{"actor": "system"}])


def test_a_failed_copy_is_sqlalchemys_error_and_a_lost_connection_an_outage(db: Database) -> None:
    bad = [{"actor": "system", "action": "x", "case_id": 987654321}]  # no such case
    with pytest.raises(IntegrityError), db.session() as session:
        copy_rows(session, AuditEvent.__table__, bad)
    with pytest.raises(OperationalError) as lost, db.session() as session:
        pid = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with db.engine.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        copy_rows(session, AuditEvent.__table__, [dict(_AWKWARD_ROWS[0])])
    assert lost.value.connection_invalidated
