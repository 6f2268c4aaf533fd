"""templates that keep cities aligned: a template city's signed updates and followers, and the
offers a replica received (accepted or declined item by item), with RLS

Revision ID: t001
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from shared.db import tenant_rls_sql

revision = "t001"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "template_updates",  # published by the template city (tenant_id)
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False, index=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
        sa.Column("signer", sa.String(80), nullable=False),
        sa.Column("snapshot", sa.JSON, nullable=False),
        sa.Column("published_by", sa.String(64), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "seq", name="template_updates_seq"),
    )
    op.create_table(
        "template_followers",  # the template city's replicas (tenant_id: the template city)
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("follower_id", sa.Uuid, primary_key=True),
        sa.Column("follower_slug", sa.String(63), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "template_offers",  # received by a replica (tenant_id: the replica)
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False, index=True),
        sa.Column("update_id", sa.Uuid, nullable=False),
        sa.Column("template", sa.String(63), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
        sa.Column("signer", sa.String(80), nullable=False),
        sa.Column("items", sa.JSON, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "update_id", name="template_offers_once"),
    )
    for table in ("template_updates", "template_followers", "template_offers"):
        for statement in tenant_rls_sql(table):
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("template_offers")
    op.drop_table("template_followers")
    op.drop_table("template_updates")
