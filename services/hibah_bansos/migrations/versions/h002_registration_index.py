"""applicants.registration_index: one account per legal entity

Revision ID: h002
Revises: h001
"""

import sqlalchemy as sa
from alembic import op

revision = "h002"
down_revision = "h001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("applicants", sa.Column("registration_index", sa.String(64)))
    op.create_index(
        "applicants_registration",
        "applicants",
        ["tenant_id", "registration_index"],
        unique=True,
        postgresql_where=sa.text("registration_index is not null"),
    )


def downgrade() -> None:
    op.drop_index("applicants_registration", table_name="applicants")
    op.drop_column("applicants", "registration_index")
