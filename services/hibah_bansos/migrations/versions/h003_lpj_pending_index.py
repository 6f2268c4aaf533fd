"""applications: partial index for the programme summary's overdue-LPJ count

The count of funded applications whose LPJ is overdue (status agreement_signed or disbursed,
lpj_due before today) walked every such application's heap row to read lpj_due: 177 ms of a
560 ms programme summary at 1,000,000 applications (bench/scale_bench.py). This small
partial index answers it from the index alone.

Revision ID: h003
Revises: h002
"""

import sqlalchemy as sa
from alembic import op

revision = "h003"
down_revision = "h002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "applications_lpj_pending",
        "applications",
        ["tenant_id", "programme_id", "lpj_due"],
        postgresql_where=sa.text("status in ('agreement_signed', 'disbursed')"),
    )


def downgrade() -> None:
    op.drop_index("applications_lpj_pending", table_name="applications")
