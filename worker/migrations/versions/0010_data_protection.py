"""issue 10 (retention, legal hold, access log): legal holds on cases, and the resident an audit
entry is about

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Tables whose rows stay, emptied of personal data, when retention or an erasure removes it.
_ANONYMISED = ("cases", "service_requests", "inbound_messages")


def upgrade() -> None:
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_by", sa.String(length=200), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(length=200), nullable=False),
        sa.Column("release_reason", sa.Text(), nullable=False),
        # Checked at commit, like every other foreign key on PostgreSQL (migration 0004).
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], deferrable=True, initially="DEFERRED"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_legal_holds_case", "legal_holds", ["case_id"])
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("resident_id", sa.Integer(), nullable=True))
        batch.create_index("ix_audit_resident", ["resident_id"])
    for table in _ANONYMISED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("anonymised_on", sa.Date(), nullable=True))


def downgrade() -> None:
    for table in _ANONYMISED:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("anonymised_on")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_index("ix_audit_resident")
        batch.drop_column("resident_id")
    op.drop_index("ix_legal_holds_case", table_name="legal_holds")
    op.drop_table("legal_holds")
