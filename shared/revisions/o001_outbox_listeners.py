"""outbox listeners: relays asking to be woken (shared/relay.py)

Revision ID: o001
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "o001"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One row per relay sleeping on LISTEN; a commit that writes outbox rows notifies only
    # while a row is here (shared/uow.py). Not tenant data: no tenant_id, no row-level security.
    op.create_table(
        "outbox_listeners",
        sa.Column("relay_id", sa.Uuid, primary_key=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("outbox_listeners")
