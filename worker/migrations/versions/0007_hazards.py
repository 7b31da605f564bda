"""issue 11 (Awaab's Law hazard records): the hazards table

Revision ID: 0007
Revises: 0006

One row per potential hazard found in a message (SI 2025/1042), with its clocks and the events
staff recorded. Plain ids, not foreign keys, to the message, case and request: the route stage
writes a whole batch's rows in one flush, as it does for inbound_messages.case_id.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hazards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inbound_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("service_request_id", sa.Integer(), nullable=True),
        sa.Column("ref", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("words", sa.Text(), nullable=False),
        sa.Column("aware_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("investigate_by_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("investigate_by", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("investigated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("summary_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("safety_work_done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("preventative_begun_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("preventative_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("no_further_work", sa.Boolean(), nullable=False),
        sa.Column("alternative_accommodation_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("notified_letter_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("inbound_id", "kind", name="uq_hazard_inbound_kind"),
    )
    op.create_index("ix_hazards_status", "hazards", ["status"], unique=False)
    op.create_index("ix_hazards_case", "hazards", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_hazards_case", table_name="hazards")
    op.drop_index("ix_hazards_status", table_name="hazards")
    op.drop_table("hazards")
