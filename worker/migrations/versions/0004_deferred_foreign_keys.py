"""foreign keys checked at commit on PostgreSQL, so a batch's rows can be written in any order

Revision ID: 0004
Revises: 0003

The route stage gives new cases, letters and residents their ids up front from the sequences and
writes a whole batch's rows in one flush at the end. The ORM only orders inserts along its
relationships, and many of our references (audit rows, correspondence) are plain foreign keys, so
the constraints are checked when the transaction commits, not row by row. SQLite is unchanged:
there the ids come from each insert, as before.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_FOREIGN_KEYS = """
SELECT c.conrelid::regclass::text AS table_name, c.conname
FROM pg_constraint c
JOIN pg_namespace n ON n.oid = c.connamespace
WHERE c.contype = 'f' AND n.nspname = current_schema()
"""


def _alter(deferred: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    mode = "DEFERRABLE INITIALLY DEFERRED" if deferred else "NOT DEFERRABLE"
    for table, name in bind.exec_driver_sql(_FOREIGN_KEYS).fetchall():
        op.execute(f'ALTER TABLE {table} ALTER CONSTRAINT "{name}" {mode}')


def upgrade() -> None:
    _alter(True)


def downgrade() -> None:
    _alter(False)
