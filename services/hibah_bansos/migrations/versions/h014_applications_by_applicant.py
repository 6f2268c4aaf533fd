"""applications by applicant: an index for the look-ups by applicant (the eligibility rule on
last year's hibah, an applicant's own applications), which scanned the tenant's applications
of a status (applications_status) and filtered them by applicant

Revision ID: h014
Revises: h013
"""

from alembic import op

revision = "h014"
down_revision = "h013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "applications_applicant", "applications", ["tenant_id", "applicant_id", "status"]
    )


def downgrade() -> None:
    op.drop_index("applications_applicant", table_name="applications")
