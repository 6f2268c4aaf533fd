"""officials: room for the sealed TOTP seed (an AES-GCM ciphertext, base64, instead of base32)

Existing plain seeds keep working and are sealed at the official's next sign-in.

Revision ID: a002
Revises: a001
"""

import sqlalchemy as sa
from alembic import op

revision = "a002"
down_revision = "a001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("officials", "totp_secret", type_=sa.Text, existing_nullable=False)


def downgrade() -> None:
    op.alter_column("officials", "totp_secret", type_=sa.String(64), existing_nullable=False)
