"""application_rab_lines: the budget plan (RAB) as lines of item, volume, unit, unit price and
computed total, with what the LPJ says was spent on each; the LPJ's return of the unspent
balance to the kas daerah (amount, date, reference). `applications.rab` (the encrypted JSON
of the first shape) becomes nullable: older applications keep it and are read from it.

Revision ID: h012
Revises: h011
"""

import sqlalchemy as sa
from alembic import op

from shared.db import tenant_rls_sql

revision = "h012"
down_revision = "h011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "application_rab_lines",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("application_id", sa.Uuid, sa.ForeignKey("applications.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("item", sa.LargeBinary, nullable=False),
        sa.Column("volume", sa.BigInteger),
        sa.Column("unit", sa.String(40)),
        sa.Column("unit_price", sa.BigInteger),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("actual", sa.BigInteger),
        sa.CheckConstraint("amount > 0", name="application_rab_lines_amount_positive"),
        sa.CheckConstraint(
            "volume is null or unit_price is null or amount = volume * unit_price",
            name="application_rab_lines_amount_is_volume_times_price",
        ),
        sa.CheckConstraint("actual is null or actual >= 0", name="application_rab_lines_actual"),
    )
    op.create_index(
        "application_rab_lines_application",
        "application_rab_lines",
        ["tenant_id", "application_id", "position"],
        unique=True,
    )
    for statement in tenant_rls_sql("application_rab_lines"):
        op.execute(statement)
    op.alter_column("applications", "rab", nullable=True)
    op.add_column("applications", sa.Column("refund_amount", sa.BigInteger))
    op.add_column("applications", sa.Column("refund_date", sa.Date))
    op.add_column("applications", sa.Column("refund_reference", sa.String(100)))


def downgrade() -> None:
    op.drop_column("applications", "refund_reference")
    op.drop_column("applications", "refund_date")
    op.drop_column("applications", "refund_amount")
    op.drop_table("application_rab_lines")
