"""whistleblowing: per-tenant acknowledgement signing keys (tenant-owned, RLS)

Revision ID: w002
Revises: w001
"""

import sqlalchemy as sa
from alembic import op

from shared.db import tenant_rls_sql

revision = "w002"
down_revision = "w001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wb_signing_keys",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False, index=True),
        sa.Column("public_key", sa.LargeBinary, nullable=False),
        sa.Column("private_key", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", name="wb_signing_keys_one_per_tenant"),
    )
    for statement in tenant_rls_sql("wb_signing_keys"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("wb_signing_keys")
