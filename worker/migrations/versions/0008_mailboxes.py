"""issue 8 (several mailboxes): each stored message keeps the address the resident wrote to, so
the letters answering it come from that address.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_messages") as batch:
        batch.add_column(
            sa.Column("mailbox_address", sa.String(320), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_column("mailbox_address")
