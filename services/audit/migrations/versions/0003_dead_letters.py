"""dead letters and their re-drives

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("audit_dead_letters", "audit_dead_letter_redrives")


def upgrade() -> None:
    op.create_table(
        "audit_dead_letters",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("topic", sa.String(249), nullable=False),
        sa.Column("kafka_partition", sa.Integer, nullable=False),
        sa.Column("kafka_offset", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.Column("record_sha256", sa.String(64), nullable=False),
        sa.Column("record_key", sa.LargeBinary, nullable=True),
        sa.Column("record_value", sa.LargeBinary, nullable=True),
        sa.Column("event_id", sa.String(64), nullable=True),
        sa.Column("tenant", sa.String(63), nullable=True),
        sa.Column(
            "received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        # a record read again (consumer restarted before committing offsets) is one dead letter
        sa.UniqueConstraint("topic", "kafka_partition", "kafka_offset"),
    )
    op.create_table(
        "audit_dead_letter_redrives",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "dead_letter_id",
            sa.BigInteger,
            sa.ForeignKey("audit_dead_letters.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(40), nullable=True),
        sa.Column("by", sa.String(100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    # Append-only like the ledger: the consumer records, a re-drive adds a row, nothing edits.
    for table in TABLES:
        op.execute(f"grant select, insert on {table} to replika_audit_app")
        op.execute(f"grant usage on sequence {table}_id_seq to replika_audit_app")


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
