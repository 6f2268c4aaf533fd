"""whistleblowing: reporters' contacts for "ada balasan baru" notices (issue 20, item 4)

One row per case at most, given only by the reporter's choice; the address is a ciphertext
under the tenant's data key (shared.crypto.FieldCipher, bound to the row's id), the kind is
`email` or `phone`. Tenant-owned with row-level security like every table of the service.

Revision ID: w006
Revises: w005
"""

import sqlalchemy as sa
from alembic import op

from shared.db import tenant_rls_sql

revision = "w006"
down_revision = "w005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wb_reporter_contacts",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False, index=True),
        sa.Column("report_id", sa.Uuid, sa.ForeignKey("wb_reports.id"), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("address", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("report_id", name="wb_reporter_contacts_one_per_case"),
        sa.CheckConstraint("kind in ('email', 'phone')", name="wb_reporter_contacts_kind"),
    )
    for statement in tenant_rls_sql("wb_reporter_contacts"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("wb_reporter_contacts")
