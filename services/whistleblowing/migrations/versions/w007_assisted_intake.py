"""whistleblowing: assisted intake (issue 18 item 6)

A report an intake official files for a reporter who came in person, phoned, wrote a letter or
an e-mail: the channel it came by (`online` for every report filed by the reporter), the
official who entered it, and when the reporter confirmed the transcript in their inbox.

Revision ID: w007
Revises: w006
"""

import sqlalchemy as sa
from alembic import op

revision = "w007"
down_revision = "w006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "wb_reports",
        sa.Column("channel", sa.String(20), nullable=False, server_default="online"),
    )
    op.add_column("wb_reports", sa.Column("entered_by", sa.Uuid, nullable=True))
    op.add_column(
        "wb_reports",
        sa.Column("transcript_confirmed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_check_constraint(
        "wb_reports_channel",
        "wb_reports",
        "channel in ('online', 'walk_in', 'phone', 'letter', 'email')",
    )


def downgrade() -> None:
    op.drop_constraint("wb_reports_channel", "wb_reports", type_="check")
    op.drop_column("wb_reports", "transcript_confirmed_at")
    op.drop_column("wb_reports", "entered_by")
    op.drop_column("wb_reports", "channel")
