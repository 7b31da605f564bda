"""issue 12 (speed): the full-text index on received mail covers only mail on a case

Search (worker/service/search.py) looks in received mail only for messages on a case
(``case_id IS NOT NULL``). The index covered every message, so PostgreSQL worked out the words
of each message every time its row changed, whether or not it was ever on a case: when it was
parsed and again when it was routed. Building those word lists was a fifth of the database
server's CPU on the end-to-end benchmark (`perf`). Limited to mail on a case, a message's words
are worked out once, when it joins a case, and never for mail that does not; the search query
already says ``case_id IS NOT NULL``, so the planner uses the index as before.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The expression search.py queries, unchanged from migration 0009.
_EXPRESSION = "to_tsvector('english'::regconfig, subject || ' ' || text)"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_inbound_fulltext")
        op.execute(
            f"CREATE INDEX ix_inbound_fulltext ON inbound_messages USING gin ({_EXPRESSION}) "
            "WHERE case_id IS NOT NULL"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_inbound_fulltext")
        op.execute(
            f"CREATE INDEX ix_inbound_fulltext ON inbound_messages USING gin ({_EXPRESSION})"
        )
