"""notifications and dead letters of the notifications consumer

Revision ID: n001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "n001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(120), nullable=False),
        sa.Column("tenant_id", sa.Uuid, nullable=False, index=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("recipient", sa.String(80), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("link", sa.String(500), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        # at-least-once from Kafka, once per recipient and channel here
        sa.UniqueConstraint("event_id", "recipient", "channel", name="notifications_once"),
        sa.CheckConstraint(
            "status in ('pending', 'sent', 'skipped', 'dead')", name="notifications_status"
        ),
    )
    # the sender's queue: what is due, oldest first
    op.create_index(
        "notifications_due",
        "notifications",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    # the per-tenant rate limit counts what was sent in the last minute
    op.create_index("notifications_sent_at", "notifications", ["tenant_id", "sent_at"])
    op.create_table(
        "notification_dead_letters",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("topic", sa.String(249), nullable=False),
        sa.Column("kafka_partition", sa.Integer, nullable=False),
        sa.Column("kafka_offset", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.Column("record_sha256", sa.String(64), nullable=False),
        sa.Column("record_value", sa.LargeBinary, nullable=True),
        sa.Column("event_id", sa.String(64), nullable=True),
        sa.Column("tenant", sa.String(63), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("topic", "kafka_partition", "kafka_offset"),
    )


def downgrade() -> None:
    op.drop_table("notification_dead_letters")
    op.drop_table("notifications")
