"""config changes notified: per-process caches of tenants and keys live long (shared/change_feed.py)

Revision ID: c001
Revises: k001
"""

from alembic import op

from shared.change_feed import drop_trigger_sql, trigger_sql

revision = "c001"
down_revision = "k001"
branch_labels = None
depends_on = None

# the rows the per-process caches hold in this database
WATCHED_TABLES = ("tenants", "tenant_keys")


def upgrade() -> None:
    for table in WATCHED_TABLES:
        for statement in trigger_sql(table):
            op.execute(statement)


def downgrade() -> None:
    for table in WATCHED_TABLES:
        for statement in drop_trigger_sql(table):
            op.execute(statement)
    op.execute("drop function if exists replika_notify_config_changed()")
