"""issue 7 (sender trust): the trusted-recipient decision kept on the inbound message

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: rows parsed before this revision have no decision; the route stage makes it from
    # their raw message when it needs one.
    with op.batch_alter_table("inbound_messages") as batch:
        batch.add_column(sa.Column("recipient_trust", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("recipient_address", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("recipient_reasons", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_column("recipient_reasons")
        batch.drop_column("recipient_address")
        batch.drop_column("recipient_trust")
