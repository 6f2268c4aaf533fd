"""figures of a daily notice (the digest's counts): numbers only, never content

Revision ID: n002
Revises: n001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "n002"
down_revision = "n001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # {"due_soon": 2, "overdue": 1}: how many cases wait, for the digest's text; no case is named
    op.add_column("notifications", sa.Column("figures", postgresql.JSONB, nullable=True))


def downgrade() -> None:
    op.drop_column("notifications", "figures")
