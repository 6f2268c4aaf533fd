"""the template city a replica follows, on the replica's side (its own row, under RLS): a
received template update is accepted only from it; backfilled from template_followers

Revision ID: t002
Revises: t001
"""

import sqlalchemy as sa
from alembic import op

from shared.db import tenant_rls_sql

revision = "t002"
down_revision = "t001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "template_following",  # tenant_id: the replica; one template city each
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("template", sa.String(63), nullable=False),
        sa.Column("template_tenant_id", sa.Uuid, nullable=True),  # None: on another deployment
        sa.Column("signer", sa.String(80), nullable=True),  # None: this deployment's own key
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("changed_by", sa.String(64), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    for statement in tenant_rls_sql("template_following"):
        op.execute(statement)
    op.execute(
        "insert into template_following (tenant_id, template, template_tenant_id, signer, "
        "active, changed_by, changed_at) "
        "select distinct on (f.follower_id) f.follower_id, t.slug, f.tenant_id, null, true, "
        "'system', f.created_at from template_followers f join tenants t on t.id = f.tenant_id "
        "order by f.follower_id, f.created_at desc"
    )


def downgrade() -> None:
    op.drop_table("template_following")
