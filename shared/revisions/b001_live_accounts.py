"""officials.token_version and official_sessions: tokens and page sessions bound to a live account

Every bearer token names the token version it was issued under; deactivate, reset, a role
change and logout bump it. A page session is a row here, the cookie carries only its random
id (stored as a SHA-256 digest), and logout deletes it.

Revision ID: b001
Revises: a003
"""

import sqlalchemy as sa
from alembic import op

from shared.db import tenant_rls_sql

revision = "b001"
down_revision = "a003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "officials",
        sa.Column("token_version", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "official_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False, index=True),
        sa.Column("official_id", sa.Uuid, nullable=False, index=True),
        sa.Column("token_version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    for statement in tenant_rls_sql("official_sessions"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("official_sessions")
    op.drop_column("officials", "token_version")
