"""whistleblowing: conflict-of-interest marks (reports, handler profiles), automatic recusals

Revision ID: w003
Revises: w002
"""

import sqlalchemy as sa
from alembic import op

from shared.db import tenant_rls_sql

revision = "w003"
down_revision = "w002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "wb_reports",
        sa.Column("reported_marks", sa.JSON, nullable=False, server_default=sa.text("'[]'")),
    )
    op.alter_column("wb_recusals", "recorded_by", nullable=True)
    op.add_column(
        "wb_recusals", sa.Column("kind", sa.String(20), nullable=False, server_default="declared")
    )
    op.create_table(
        "wb_handler_profiles",
        sa.Column("official_id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False, index=True),
        sa.Column("marks", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    for statement in tenant_rls_sql("wb_handler_profiles"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("wb_handler_profiles")
    op.drop_column("wb_recusals", "kind")
    op.alter_column("wb_recusals", "recorded_by", nullable=False)
    op.drop_column("wb_reports", "reported_marks")
