"""agreements between cities (shared/agreements.py): one row per side, with RLS

Revision ID: l001
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from shared.db import tenant_rls_sql

revision = "l001"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "link_agreements",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("partner", sa.String(100), nullable=False),
        sa.Column("partner_kind", sa.String(10), nullable=False),
        sa.Column("partner_tenant", sa.String(63), nullable=True),
        sa.Column("partner_url", sa.String(300), nullable=True),
        sa.Column("partner_signing_key", sa.LargeBinary, nullable=True),
        sa.Column("partner_name", sa.String(200), nullable=False),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("aid_key", sa.LargeBinary, nullable=True),
        sa.Column("proposed_by", sa.String(80), nullable=False),
        sa.Column("decided_by", sa.String(80), nullable=True),
        sa.Column("ended_by", sa.String(80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.CheckConstraint(
            "status in ('proposed', 'active', 'declined', 'ended')", name="link_agreements_status"
        ),
        sa.CheckConstraint("partner_kind in ('tenant', 'instance')", name="link_agreements_kind"),
        sa.CheckConstraint(
            "direction in ('outgoing', 'incoming')", name="link_agreements_direction"
        ),
    )
    # one live agreement (proposed or active) per pair of cities
    op.create_index(
        "link_agreements_live_partner",
        "link_agreements",
        ["tenant_id", "partner"],
        unique=True,
        postgresql_where=sa.text("status in ('proposed', 'active')"),
    )
    for statement in tenant_rls_sql("link_agreements"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("link_agreements")
