"""replication portal: requests (hosting tenant) and onboarding links (new tenant), with RLS

Revision ID: r001
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from shared.db import tenant_rls_sql

revision = "r001"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "replication_requests",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False, index=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("new_slug", sa.String(63), nullable=False),
        sa.Column("region_name", sa.String(200), nullable=False),
        sa.Column("region_code", sa.String(16), nullable=False),
        sa.Column("applications", sa.JSON, nullable=False),
        sa.Column("agreement_number", sa.String(100), nullable=False),
        sa.Column("agreement_date", sa.Date, nullable=False),
        sa.Column("template", sa.String(63), nullable=False),
        sa.Column("contact", sa.LargeBinary, nullable=False),
        sa.Column("decision_reason", sa.Text, nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("steps", sa.JSON, nullable=False, server_default=sa.text("'[]'")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provisioned_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status in ('pending', 'approved', 'rejected', 'provisioned')",
            name="replication_requests_status",
        ),
    )
    # one live request per new city: a rejected one may be asked again
    op.create_index(
        "replication_requests_live_slug",
        "replication_requests",
        ["new_slug"],
        unique=True,
        postgresql_where=sa.text("status <> 'rejected'"),
    )
    op.create_table(
        "replication_onboarding",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False, index=True),
        sa.Column("official_id", sa.Uuid, nullable=False),
        sa.Column("request_id", sa.Uuid, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    for table in ("replication_requests", "replication_onboarding"):
        for statement in tenant_rls_sql(table):
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("replication_onboarding")
    op.drop_table("replication_requests")
