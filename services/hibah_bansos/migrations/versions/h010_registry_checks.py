"""registry_checks: a person's standing in the social registry (yes/no and data period only)

The answers of the social registry (DTKS/DTSEN) asked by NIK, and officials vouching for a
person the registry does not list. Nothing of the registry's record is stored.

Revision ID: h010
Revises: h005
"""

import sqlalchemy as sa
from alembic import op

from shared.db import tenant_rls_sql

revision = "h010"
down_revision = "h005"  # after the digits and sealed-text migrations
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_checks",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("applicant_id", sa.Uuid, sa.ForeignKey("applicants.id"), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("listed", sa.Boolean, nullable=False),
        sa.Column("period", sa.String(7)),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("source in ('registry', 'official')", name="registry_check_source"),
    )
    op.create_index(
        "registry_checks_applicant", "registry_checks", ["tenant_id", "applicant_id", "at"]
    )
    for statement in tenant_rls_sql("registry_checks"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("registry_checks")
