"""programmes, applicants, applications, their steps and documents

Revision ID: h001
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from shared.db import tenant_rls_sql

revision = "h001"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("programmes", "applicants", "applications", "application_steps", "application_documents")


def _tenant():
    return sa.Column("tenant_id", sa.Uuid, nullable=False, index=True)


def _ts(name):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "programmes",
        sa.Column("id", sa.Uuid, primary_key=True),
        _tenant(),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("fiscal_year", sa.Integer, nullable=False),
        sa.Column("ceiling", sa.BigInteger, nullable=False),
        sa.Column("allocated", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("disbursed", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("opens", sa.Date),
        sa.Column("closes", sa.Date),
        sa.Column("config", sa.JSON, nullable=False),
        sa.UniqueConstraint("tenant_id", "code"),
        # the budget rules, held by the database itself as a last line of defence
        sa.CheckConstraint("allocated >= 0 and allocated <= ceiling", name="within_ceiling"),
        sa.CheckConstraint(
            "disbursed >= 0 and disbursed <= allocated", name="paid_within_allocated"
        ),
    )
    op.create_table(
        "applicants",
        sa.Column("id", sa.Uuid, primary_key=True),
        _tenant(),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("organisation_name", sa.String(200)),
        sa.Column("email_index", sa.String(64)),
        sa.Column("password_hash", sa.String(200)),
        sa.Column("nik_index", sa.String(64)),
        sa.Column("bank_account_index", sa.String(64)),
        sa.Column("nik_region", sa.String(4)),
        sa.Column("legal_entity_since", sa.Date),
        sa.Column("in_social_registry", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("personal", sa.LargeBinary, nullable=False),
        _ts("created_at"),
    )
    op.create_index(
        "applicants_email",
        "applicants",
        ["tenant_id", "email_index"],
        unique=True,
        postgresql_where=sa.text("email_index is not null"),
    )
    op.create_index(
        "applicants_nik",
        "applicants",
        ["tenant_id", "nik_index"],
        unique=True,
        postgresql_where=sa.text("nik_index is not null"),
    )
    op.create_table(
        "applications",
        sa.Column("id", sa.Uuid, primary_key=True),
        _tenant(),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("programme_id", sa.Uuid, sa.ForeignKey("programmes.id"), nullable=False),
        sa.Column("applicant_id", sa.Uuid, sa.ForeignKey("applicants.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("requested", sa.BigInteger, nullable=False),
        sa.Column("recommended", sa.BigInteger),
        sa.Column("approved", sa.BigInteger),
        sa.Column("disbursed", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("nik_index", sa.String(64)),
        sa.Column("rab", sa.JSON, nullable=False),
        sa.Column("proposal", sa.LargeBinary, nullable=False),
        sa.Column("decree_number", sa.String(100)),
        sa.Column("decree_date", sa.Date),
        sa.Column("nphd_number", sa.String(100)),
        sa.Column("nphd_date", sa.Date),
        sa.Column("lpj_due", sa.Date),
        sa.Column("lpj", sa.JSON),
        sa.Column("actors", sa.JSON, nullable=False),
        sa.Column("idempotency_key", sa.String(100)),
        sa.Column("version", sa.Integer, nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.UniqueConstraint("tenant_id", "number"),
        sa.CheckConstraint("requested > 0", name="requested_positive"),
        sa.CheckConstraint(
            "disbursed >= 0 and disbursed <= coalesce(approved, 0)", name="paid_within_approved"
        ),
    )
    # the same person (NIK) receives one programme (one fiscal year) once
    op.create_index(
        "applications_one_per_person",
        "applications",
        ["tenant_id", "programme_id", "nik_index"],
        unique=True,
        postgresql_where=sa.text("nik_index is not null and status <> 'rejected'"),
    )
    op.create_index(
        "applications_idempotency",
        "applications",
        ["tenant_id", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key is not null"),
    )
    op.create_index("applications_status", "applications", ["tenant_id", "programme_id", "status"])
    op.create_table(
        "application_steps",
        sa.Column("id", sa.Uuid, primary_key=True),
        _tenant(),
        sa.Column(
            "application_id", sa.Uuid, sa.ForeignKey("applications.id"), nullable=False, index=True
        ),
        _ts("at"),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("target", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("reason", sa.String(2000)),
        sa.Column("amount", sa.BigInteger),
        sa.Column("reference", sa.String(100)),
    )
    op.create_table(
        "application_documents",
        sa.Column("id", sa.Uuid, primary_key=True),
        _tenant(),
        sa.Column(
            "application_id", sa.Uuid, sa.ForeignKey("applications.id"), nullable=False, index=True
        ),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("media_type", sa.String(60), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        _ts("at"),
    )
    for table in TABLES:
        for statement in tenant_rls_sql(table):
            op.execute(statement)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
