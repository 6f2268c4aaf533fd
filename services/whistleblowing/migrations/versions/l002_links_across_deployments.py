"""agreements across deployments: the partner's transport key, and the nonces seen on signed
requests from other deployments (replay protection; operations/links/remote.py)

Revision ID: l002
Revises: l001
"""

import sqlalchemy as sa
from alembic import op

from shared.db import tenant_rls_sql

revision = "l002"
down_revision = "l001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the partner deployment's HPKE public key (ML-KEM-768 + X25519): the aid-token key is
    # sealed to it at acceptance
    op.add_column(
        "link_agreements", sa.Column("partner_transport_key", sa.LargeBinary, nullable=True)
    )
    op.create_table(
        "link_nonces",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("signer", sa.String(80), nullable=False),  # key fingerprint
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "signer", "nonce"),
    )
    op.create_index("link_nonces_seen_at", "link_nonces", ["tenant_id", "seen_at"])
    for statement in tenant_rls_sql("link_nonces"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("link_nonces")
    op.drop_column("link_agreements", "partner_transport_key")
