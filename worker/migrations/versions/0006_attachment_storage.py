"""issue 7: big attachment bodies stored apart from their message, in 1 MiB chunks

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stored_bodies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inbound_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("skeleton_offset", sa.BigInteger(), nullable=False),
        sa.Column("placeholder_len", sa.Integer(), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("decoded_size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=200), nullable=False),
        sa.Column("filename", sa.String(length=500), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["inbound_id"], ["inbound_messages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("inbound_id", "seq", name="uq_stored_body_seq"),
    )
    op.create_index("ix_stored_bodies_inbound_id", "stored_bodies", ["inbound_id"])
    op.create_table(
        "stored_body_chunks",
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["body_id"], ["stored_bodies.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("body_id", "seq"),
    )


def downgrade() -> None:
    op.drop_table("stored_body_chunks")
    op.drop_index("ix_stored_bodies_inbound_id", table_name="stored_bodies")
    op.drop_table("stored_bodies")
