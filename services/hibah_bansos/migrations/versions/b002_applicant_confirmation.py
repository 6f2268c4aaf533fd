"""applicants: confirmation (e-mail link or counter), one-time activation links, who set the
social-registry flag

Accounts registered before this revision are taken as confirmed (confirmed_at = created_at).

Revision ID: b002
Revises: h012
"""

import sqlalchemy as sa
from alembic import op

revision = "b002"
down_revision = "h012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("applicants", sa.Column("confirmed_at", sa.DateTime(timezone=True)))
    op.add_column("applicants", sa.Column("link_hash", sa.String(64)))
    op.add_column("applicants", sa.Column("link_expires_at", sa.DateTime(timezone=True)))
    op.add_column("applicants", sa.Column("social_registry_set_by", sa.String(80)))
    op.execute("update applicants set confirmed_at = created_at")
    op.create_index(
        "applicants_link",
        "applicants",
        ["link_hash"],
        postgresql_where=sa.text("link_hash is not null"),
    )


def downgrade() -> None:
    op.drop_index("applicants_link", table_name="applicants")
    for name in ("social_registry_set_by", "link_expires_at", "link_hash", "confirmed_at"):
        op.drop_column("applicants", name)
