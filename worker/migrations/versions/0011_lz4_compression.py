"""issue 12 (speed): large values compressed with lz4 rather than pglz on PostgreSQL

PostgreSQL compresses a value over about 2 KB before it stores it (raw messages, their text, the
letters' text and HTML). With the default method, pglz, that compression was over a quarter of
the database server's CPU on the end-to-end benchmark (`perf`); lz4 does the same job several
times faster and gave about 6% more messages a second (`bench_e2e.py`, 6,000 messages, 208 to
220 msg/s). Stored values stay readable whichever way they were compressed: this changes only
how values written from now on are compressed, and rewrites nothing.

Needs PostgreSQL 14 or later built with lz4; elsewhere (SQLite, older servers) it does nothing.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# The column types PostgreSQL can compress that this schema uses.
_COMPRESSIBLE = ("text", "bytea", "json", "jsonb", "character varying")


def _compressible_columns(bind: sa.engine.Connection) -> list[tuple[str, str]]:
    """(table, column) for every compressible column of this schema's tables."""
    rows = bind.execute(
        sa.text(
            "SELECT c.table_name, c.column_name FROM information_schema.columns c "
            "JOIN information_schema.tables t "
            "ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
            "WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' "
            "AND c.table_name <> 'alembic_version' AND c.data_type = ANY(:types) "
            "ORDER BY c.table_name, c.ordinal_position"
        ),
        {"types": list(_COMPRESSIBLE)},
    )
    return [(row[0], row[1]) for row in rows]


def _lz4_available(bind: sa.engine.Connection) -> bool:
    if bind.dialect.name != "postgresql":
        return False
    if int(bind.execute(sa.text("SHOW server_version_num")).scalar_one()) < 140000:
        return False
    methods = bind.execute(
        sa.text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
    ).scalar_one_or_none()
    return bool(methods) and "lz4" in methods


def _set_compression(method: str) -> None:
    bind = op.get_bind()
    if not _lz4_available(bind):
        return
    preparer = bind.dialect.identifier_preparer
    for table, column in _compressible_columns(bind):
        op.execute(
            f"ALTER TABLE {preparer.quote(table)} "
            f"ALTER COLUMN {preparer.quote(column)} SET COMPRESSION {method}"
        )


def upgrade() -> None:
    _set_compression("lz4")


def downgrade() -> None:
    _set_compression("default")
