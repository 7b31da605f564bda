"""Migration 0011: large values compressed with lz4 on a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import text

from worker.adapters.db import Database, alembic_config
from worker.adapters.db_models import InboundMessage


@pytest.fixture
def db(pg_database: Database) -> Database:
    return pg_database


def _lz4_supported(db: Database) -> bool:
    with db.engine.connect() as conn:
        methods = conn.execute(
            text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
        ).scalar_one_or_none()
    return bool(methods) and "lz4" in methods


def _methods(db: Database) -> dict[tuple[str, str], str]:
    """(table, column) -> the column's compression setting ('' for the server's default)."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.relname, a.attname, a.attcompression FROM pg_attribute a "
                "JOIN pg_class c ON c.oid = a.attrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r' AND a.attnum > 0 "
                "AND NOT a.attisdropped AND a.attstorage <> 'p'"
            )
        ).all()
    return {(row[0], row[1]): row[2] for row in rows}


def test_big_columns_compress_with_lz4_and_a_big_raw_message_is_stored_so(db: Database) -> None:
    if not _lz4_supported(db):
        pytest.skip("this PostgreSQL was built without lz4")
    methods = _methods(db)
    for column in [
        ("inbound_messages", "raw"),
        ("inbound_messages", "text"),
        ("letters", "text"),
        ("letters", "html"),
        ("audit_log", "details"),
    ]:
        assert methods[column] == "l", column
    # Every compressible column of the schema (alembic's own table aside), not a chosen few.
    assert {m for (table, _), m in methods.items() if table != "alembic_version"} == {"l"}

    # A value the server compresses (large and repetitive) goes in with lz4.
    now = datetime.now(UTC)
    with db.session() as session:
        row = InboundMessage(
            source="imap",
            mailbox="INBOX",
            uidvalidity=1,
            uid=1,
            message_id="m@x",
            dedupe_key="mid:m@x",
            raw=b"Subject: hello\r\n\r\n" + b"the damp is back\r\n" * 2000,
            size=0,
            stored_at=now,
            touched_at=now,
        )
        session.add(row)
    with db.engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT pg_column_compression(raw) FROM inbound_messages")
            ).scalar_one()
            == "lz4"
        )


def test_downgrading_gives_the_columns_back_to_the_servers_default(db: Database) -> None:
    if not _lz4_supported(db):
        pytest.skip("this PostgreSQL was built without lz4")
    config = alembic_config(db.engine)
    command.downgrade(config, "0010")
    assert set(_methods(db).values()) == {""}
    command.upgrade(config, "head")
    assert {m for (t, _), m in _methods(db).items() if t != "alembic_version"} == {"l"}
