"""Primary keys taken ahead of the insert, on a real PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError, OperationalError

from worker.adapters.db import Database
from worker.adapters.db_models import Resident
from worker.records import Ids


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
