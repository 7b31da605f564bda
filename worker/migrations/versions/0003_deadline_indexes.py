"""indexes for the deadline watcher, so a round reads what is due, not every open case

Revision ID: 0003
Revises: 0002

Partial indexes (SQLite 3.8+ and PostgreSQL both have them): only stages still waiting for an
acknowledgement or a response, and only actions not yet completed, are in them, so their size
follows the open work, not the years of answered history. The watcher's queries repeat these
predicates word for word, which is what lets SQLite's planner choose them.

The watcher's look-up of its earlier events needs no new index: it asks for the due cases' rows
by case id, which ix_audit_case (0001) answers, and a case has tens of audit rows, not thousands.
A (case_id, action) index would cost every audit write for nothing the planners would use.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_WAITING_ACKNOWLEDGEMENT = "acknowledged IS NULL AND responded IS NULL"
_WAITING_RESPONSE = "acknowledged IS NOT NULL AND responded IS NULL"
_OUTSTANDING = "completed_on IS NULL"


def _partial(where: str) -> dict[str, sa.TextClause]:
    return {"sqlite_where": sa.text(where), "postgresql_where": sa.text(where)}


def upgrade() -> None:
    op.create_index(
        "ix_case_stages_acknowledge_due",
        "case_stages",
        ["acknowledge_by"],
        unique=False,
        **_partial(_WAITING_ACKNOWLEDGEMENT),
    )
    op.create_index(
        "ix_case_stages_respond_due",
        "case_stages",
        ["respond_by"],
        unique=False,
        **_partial(_WAITING_RESPONSE),
    )
    op.create_index(
        "ix_case_actions_outstanding_due",
        "case_actions",
        ["due"],
        unique=False,
        **_partial(_OUTSTANDING),
    )


def downgrade() -> None:
    op.drop_index("ix_case_actions_outstanding_due", table_name="case_actions")
    op.drop_index("ix_case_stages_respond_due", table_name="case_stages")
    op.drop_index("ix_case_stages_acknowledge_due", table_name="case_stages")
