"""officials: a sealed e-mail address for notices, and the kinds of notice turned off

Revision ID: a003
Revises: a002
"""

import sqlalchemy as sa
from alembic import op

revision = "a003"
down_revision = "a002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("officials", sa.Column("email", sa.LargeBinary, nullable=True))
    op.add_column(
        "officials",
        sa.Column("notify_opt_outs", sa.JSON, nullable=False, server_default=sa.text("'[]'")),
    )


def downgrade() -> None:
    op.drop_column("officials", "notify_opt_outs")
    op.drop_column("officials", "email")
