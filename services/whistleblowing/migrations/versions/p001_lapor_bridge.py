"""whistleblowing: the SP4N-LAPOR! bridge (issue 23 item 4)

Forwards of public-service complaints to LAPOR! (one per case, the text a ciphertext), the
status updates LAPOR! gave on them, and the corruption reports that came in from LAPOR! (a
new intake channel `lapor`). Tenant-owned with row-level security like every table of the
service. A line of its own off 0001; it needs the reports' table and their channel (w007).

Revision ID: p001
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from shared.db import tenant_rls_sql

revision = "p001"
down_revision = "0001"
branch_labels = None
depends_on = "w007"

CHANNELS_BEFORE = "channel in ('online', 'walk_in', 'phone', 'letter', 'email')"
CHANNELS = "channel in ('online', 'walk_in', 'phone', 'letter', 'email', 'lapor')"


def upgrade() -> None:
    op.create_table(
        "wb_lapor_forwards",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False, index=True),
        sa.Column("report_id", sa.Uuid, sa.ForeignKey("wb_reports.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("text", sa.LargeBinary, nullable=False),
        sa.Column("offered_by", sa.Uuid, nullable=True),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tracking_id", sa.String(40), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("updates_seen", sa.Integer, nullable=False, server_default="0"),
        sa.Column("polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("report_id", name="wb_lapor_forwards_one_per_case"),
        sa.CheckConstraint(
            "status in ('offered', 'declined', 'queued', 'sent')", name="wb_lapor_forwards_status"
        ),
    )
    op.create_index("wb_lapor_forwards_due", "wb_lapor_forwards", ["status", "next_attempt_at"])
    op.create_table(
        "wb_lapor_updates",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False, index=True),
        sa.Column(
            "forward_id",
            sa.Uuid,
            sa.ForeignKey("wb_lapor_forwards.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("status", sa.String(60), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("note", sa.LargeBinary, nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("forward_id", "seq", name="wb_lapor_updates_once"),
    )
    op.create_table(
        "wb_lapor_inbound",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False, index=True),
        sa.Column("lapor_id", sa.String(60), nullable=False),
        sa.Column("report_id", sa.Uuid, sa.ForeignKey("wb_reports.id"), nullable=False),
        sa.Column("receipt", sa.LargeBinary, nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("tenant_id", "lapor_id", name="wb_lapor_inbound_once"),
    )
    for table in ("wb_lapor_forwards", "wb_lapor_updates", "wb_lapor_inbound"):
        for statement in tenant_rls_sql(table):
            op.execute(statement)
    op.drop_constraint("wb_reports_channel", "wb_reports", type_="check")
    op.create_check_constraint("wb_reports_channel", "wb_reports", CHANNELS)


def downgrade() -> None:
    op.drop_constraint("wb_reports_channel", "wb_reports", type_="check")
    op.create_check_constraint("wb_reports_channel", "wb_reports", CHANNELS_BEFORE)
    op.drop_table("wb_lapor_inbound")
    op.drop_table("wb_lapor_updates")
    op.drop_table("wb_lapor_forwards")
