"""whistleblowing: covering index for the officials' case list (newest first, paged)

At 100,000 cases the list read and sorted every wide row (sealed content inline) for each
page, spilling the sort to disk on deep pages (bench/scale_bench.py, EXPLAIN ANALYZE in
bench/results/). This index gives the list and its count an index-only scan in the list's
order, with every column the list filters on included.

Revision ID: w004
Revises: w003
"""

from alembic import op

revision = "w004"
down_revision = "w003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "create index wb_reports_case_list on wb_reports "
        "(tenant_id, received_at desc, id) "
        "include (status, category, outcome, acknowledge_by, feedback_by, assignee_id)"
    )


def downgrade() -> None:
    op.drop_index("wb_reports_case_list", table_name="wb_reports")
