"""applicant_password_resets: one-time, expiring password resets (e-mail or counter)

Revision ID: h011
Revises: h010
"""

import sqlalchemy as sa
from alembic import op

from shared.db import tenant_rls_sql

revision = "h011"
down_revision = "h010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "applicant_password_resets",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("applicant_id", sa.Uuid, sa.ForeignKey("applicants.id"), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("issued_by", sa.String(80), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index(
        "applicant_password_resets_code",
        "applicant_password_resets",
        ["tenant_id", "code_hash"],
        unique=True,
    )
    op.create_index(
        "applicant_password_resets_applicant",
        "applicant_password_resets",
        ["tenant_id", "applicant_id", "at"],
    )
    for statement in tenant_rls_sql("applicant_password_resets"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("applicant_password_resets")
