"""changes to security-relevant tenant settings waiting for a second tenant admin, with RLS

Revision ID: r003
Revises: r002
"""

import sqlalchemy as sa
from alembic import op

from shared.db import tenant_rls_sql

revision = "r003"
down_revision = "r002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenant_config_pending",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False, index=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("base_version", sa.Integer, nullable=False),
        sa.Column("changes", sa.JSON, nullable=False),
        sa.Column("proposed_by", sa.String(64), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer, nullable=True),
        sa.CheckConstraint(
            "status in ('pending', 'approved', 'rejected')", name="tenant_config_pending_status"
        ),
    )
    for statement in tenant_rls_sql("tenant_config_pending"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("tenant_config_pending")
