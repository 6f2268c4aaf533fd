"""whistleblowing: referrals of cases between linked cities (issue 23, item 3)

`wb_referrals`: one row per side of a referral, each owned by its tenant with row-level
security like every table of the service (services/whistleblowing/referrals.py). The reason
is a ciphertext under the tenant's data key; no identity, no receipt.

Revision ID: f001
Revises: 0001 (needs w001's wb_reports)
"""

import sqlalchemy as sa
from alembic import op

from shared.db import tenant_rls_sql

revision = "f001"
down_revision = "0001"
branch_labels = None
depends_on = "w001"


def upgrade() -> None:
    op.create_table(
        "wb_referrals",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False, index=True),
        sa.Column("report_id", sa.Uuid, sa.ForeignKey("wb_reports.id"), nullable=False, index=True),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("partner_tenant_id", sa.Uuid, nullable=False),
        sa.Column("partner_slug", sa.String(63), nullable=False),
        sa.Column("partner_referral_id", sa.Uuid, nullable=True),
        sa.Column("partner_report_id", sa.Uuid, nullable=True),
        sa.Column("partner_case_number", sa.String(32), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("identity", sa.String(20), nullable=False),
        sa.Column("reason", sa.LargeBinary, nullable=True),
        sa.Column("requested_by", sa.Uuid, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint(
            "tenant_id",
            "partner_tenant_id",
            "partner_referral_id",
            name="wb_referrals_partner_once",
        ),
        sa.CheckConstraint("direction in ('out', 'in')", name="wb_referrals_direction"),
        sa.CheckConstraint(
            "status in ('awaiting_consent', 'moved', 'refused')", name="wb_referrals_status"
        ),
        sa.CheckConstraint(
            "identity in ('none', 'awaiting_reseal', 'resealed')", name="wb_referrals_identity"
        ),
    )
    for statement in tenant_rls_sql("wb_referrals"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("wb_referrals")
