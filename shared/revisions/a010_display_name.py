"""officials: the name colleagues read on case and application pages (optional; the username
stands in when it is empty)

Its own small branch after a002, so it merges beside other additions to `officials`.

Revision ID: a010
Revises: b001
"""

import sqlalchemy as sa
from alembic import op

revision = "a010"
down_revision = "b001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("officials", sa.Column("display_name", sa.String(100), nullable=True))


def downgrade() -> None:
    op.drop_column("officials", "display_name")
