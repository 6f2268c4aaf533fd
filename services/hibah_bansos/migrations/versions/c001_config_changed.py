"""config changes notified: per-process caches of tenants and keys live long (shared/change_feed.py)

Revision ID: c001
Revises: k001
"""

from alembic import op

from shared.change_feed import downgrade_sql, upgrade_sql

revision = "c001"
down_revision = "k001"
branch_labels = None
depends_on = None

# the rows the per-process caches hold in this database
WATCHED_TABLES = ("tenants", "tenant_keys")


def upgrade() -> None:
    for statement in upgrade_sql(WATCHED_TABLES):
        op.execute(statement)


def downgrade() -> None:
    for statement in downgrade_sql(WATCHED_TABLES):
        op.execute(statement)
