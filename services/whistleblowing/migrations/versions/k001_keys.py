"""envelope-encryption keys (shared/crypto.py) and the identity custodian key (shared/identity.py)

Revision ID: k001
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from shared.db import tenant_rls_sql

revision = "k001"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenant_keys",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("purpose", sa.String(10), nullable=False),
        sa.Column("master_key_id", sa.String(60), nullable=False),
        # NULL once destroyed (crypto-shredding of the whole tenant)
        sa.Column("wrapped", sa.LargeBinary, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("tenant_id", "key_id"),
    )
    op.create_index(
        "tenant_keys_one_active",
        "tenant_keys",
        ["tenant_id", "purpose"],
        unique=True,
        postgresql_where=sa.text("active"),
    )
    op.create_table(
        "record_keys",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("table_name", sa.String(63), nullable=False),
        sa.Column("row_id", sa.String(64), nullable=False),
        sa.Column("data_key_id", sa.String(40), nullable=False),
        sa.Column("wrapped", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "table_name", "row_id"),
    )
    tables = ["tenant_keys", "record_keys"]
    op.create_table(
        "custodian_keys",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("public_key", sa.LargeBinary, nullable=False),
        sa.Column("passphrase_salt", sa.LargeBinary, nullable=False),
        sa.Column("wrapped_by_passphrase", sa.LargeBinary, nullable=False),
        sa.Column("wrapped_by_recovery", sa.LargeBinary, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    tables.append("custodian_keys")
    for table in tables:
        for statement in tenant_rls_sql(table):
            op.execute(statement)


def downgrade() -> None:
    for table in ("custodian_keys", "record_keys", "tenant_keys"):
        op.execute(f"drop table if exists {table}")
