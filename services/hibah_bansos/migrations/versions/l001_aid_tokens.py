"""duplicate-aid tokens and matches between linked cities (services/hibah_bansos/aid_links.py)

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
        "aid_tokens",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("agreement_id", sa.Uuid, nullable=False),
        sa.Column("origin", sa.String(10), nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("application_id", sa.Uuid, nullable=True),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "agreement_id", "origin", "token"),
        sa.CheckConstraint("origin in ('own', 'partner')", name="aid_tokens_origin"),
        sa.CheckConstraint(
            "(origin = 'own') = (application_id is not null)", name="aid_tokens_own_application"
        ),
    )
    op.create_table(
        "aid_matches",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("agreement_id", sa.Uuid, nullable=False),
        sa.Column("application_id", sa.Uuid, nullable=False),
        sa.Column("partner_name", sa.String(200), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "agreement_id", "application_id", name="aid_matches_once"),
    )
    op.create_index("aid_matches_application", "aid_matches", ["tenant_id", "application_id"])
    for table in ("aid_tokens", "aid_matches"):
        for statement in tenant_rls_sql(table):
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("aid_matches")
    op.drop_table("aid_tokens")
