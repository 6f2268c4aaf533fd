"""tenant configuration versions edited by a tenant admin (one row per saved version), with RLS

Revision ID: r002
Revises: r001
"""

import sqlalchemy as sa
from alembic import op

from shared.db import tenant_rls_sql

revision = "r002"
down_revision = "r001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenant_config_versions",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("changed", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version > 0", name="tenant_config_versions_positive"),
    )
    for statement in tenant_rls_sql("tenant_config_versions"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("tenant_config_versions")
