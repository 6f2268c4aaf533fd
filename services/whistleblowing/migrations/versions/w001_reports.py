"""whistleblowing reports, timeline, messages, attachments, assignments, recusals,
identity requests, idempotency keys, receipt throttle (tenant-owned, row-level security)

Revision ID: w001
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from shared.db import tenant_rls_sql

revision = "w001"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = (
    "wb_reports",
    "wb_report_history",
    "wb_messages",
    "wb_attachments",
    "wb_assignments",
    "wb_recusals",
    "wb_identity_requests",
    "wb_idempotency",
    "wb_receipt_throttle",
)


def _id():
    return sa.Column("id", sa.Uuid, primary_key=True)


def _tenant():
    return sa.Column("tenant_id", sa.Uuid, nullable=False, index=True)


def _report():
    return sa.Column(
        "report_id", sa.Uuid, sa.ForeignKey("wb_reports.id"), nullable=False, index=True
    )


def _at(name="at", nullable=False):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "wb_reports",
        _id(),
        _tenant(),
        sa.Column("case_number", sa.String(32), nullable=False),
        sa.Column("receipt_hash", sa.String(128), nullable=False),
        sa.Column("category", sa.String(63), nullable=False, index=True),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("outcome", sa.String(40)),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("content_digest", sa.String(128), nullable=False),
        sa.Column("sealed_identity", sa.LargeBinary),
        sa.Column("assignee_id", sa.Uuid, index=True),
        _at("received_at"),
        _at("acknowledged_at", True),
        _at("triaged_at", True),
        _at("concluded_at", True),
        _at("archived_at", True),
        sa.Column("acknowledge_by", sa.Date, nullable=False),
        sa.Column("feedback_by", sa.Date, nullable=False),
        _at("last_reporter_input_at"),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("tenant_id", "case_number", name="wb_reports_case_number"),
        sa.UniqueConstraint("tenant_id", "receipt_hash", name="wb_reports_receipt"),
    )
    op.create_table(
        "wb_report_history",
        _id(),
        _tenant(),
        _report(),
        _at(),
        sa.Column("from_status", sa.String(20)),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(40)),
        sa.Column("actor_role", sa.String(40), nullable=False),
        sa.Column("actor_id", sa.Uuid),
        sa.Column("reason", sa.LargeBinary),
        sa.Column("referral", sa.LargeBinary),
    )
    op.create_table(
        "wb_messages",
        _id(),
        _tenant(),
        _report(),
        _at(),
        sa.Column("author_role", sa.String(40), nullable=False),
        sa.Column("author_id", sa.Uuid),
        sa.Column("body", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "wb_attachments",
        _id(),
        _tenant(),
        _report(),
        _at(),
        sa.Column("uploaded_by", sa.String(40), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(128), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "wb_assignments",
        _id(),
        _tenant(),
        _report(),
        _at(),
        sa.Column("official_id", sa.Uuid, nullable=False),
        sa.Column("assigned_by", sa.Uuid, nullable=False),
    )
    op.create_table(
        "wb_recusals",
        _id(),
        _tenant(),
        _report(),
        _at(),
        sa.Column("official_id", sa.Uuid, nullable=False),
        sa.Column("recorded_by", sa.Uuid, nullable=False),
        sa.Column("reason", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("report_id", "official_id", name="wb_recusals_once"),
    )
    op.create_table(
        "wb_identity_requests",
        _id(),
        _tenant(),
        _report(),
        sa.Column("requested_by", sa.Uuid, nullable=False),
        sa.Column("reason", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("approvals", sa.JSON, nullable=False),
        _at("created_at"),
        _at("decided_at", True),
        sa.Column("disclosure", sa.LargeBinary),
        _at("viewed_at", True),
    )
    op.create_table(
        "wb_idempotency",
        sa.Column("key_hash", sa.String(128), primary_key=True),
        _tenant(),
        sa.Column("request_digest", sa.String(128), nullable=False),
        sa.Column("report_id", sa.Uuid, sa.ForeignKey("wb_reports.id"), nullable=False),
        sa.Column("receipt", sa.LargeBinary),
        _at("created_at"),
    )
    op.create_table(
        "wb_receipt_throttle",
        sa.Column("key", sa.String(128), primary_key=True),
        _tenant(),
        sa.Column("failures", sa.Integer, nullable=False),
        _at("window_started_at"),
    )
    for table in TABLES:
        for statement in tenant_rls_sql(table):
            op.execute(statement)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
