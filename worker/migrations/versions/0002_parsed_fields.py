"""parsed fields kept on the inbound message, so later stages never parse the raw bytes again

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_messages") as batch:
        batch.add_column(sa.Column("headers", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("content_type", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("return_path", sa.String(length=1000), nullable=True))
        batch.add_column(sa.Column("new_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("touched_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_column("touched_at")
        batch.drop_column("new_text")
        batch.drop_column("return_path")
        batch.drop_column("content_type")
        batch.drop_column("headers")
