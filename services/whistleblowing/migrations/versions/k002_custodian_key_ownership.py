"""custodian key: authenticated public key, passphrase changes appended, no UPDATE by the app

- `custodian_keys.public_key_mac`: HMAC under the tenant's hash key over tenant id and public
  key (shared/identity.py); sealing refuses a key without a valid one. Rows made before this
  revision have none: `replika keys authenticate-custodian` adds it after the custodian has
  compared the fingerprint.
- `custodian_passphrase_wraps`: each passphrase change (or recovery) appends a wrap; the
  newest wins. The key row is never rewritten.
- Every role but the owner loses UPDATE and DELETE on both tables (the application role keeps
  SELECT and INSERT): with the application's database access alone, nobody swaps the key.

Revision ID: k002
Revises: k001
"""

import sqlalchemy as sa
from alembic import op

from shared.db import tenant_rls_sql

revision = "k002"
down_revision = "k001"
branch_labels = None
depends_on = None

TABLES = ("custodian_keys", "custodian_passphrase_wraps")


def _revoke_writes() -> None:
    """UPDATE and DELETE revoked from every grantee but the owner (whatever its name)."""
    op.execute(
        """
        do $$
        declare r record;
        begin
          for r in
            select distinct grantee, table_name from information_schema.role_table_grants
            where table_schema = 'public'
              and table_name in ('custodian_keys', 'custodian_passphrase_wraps')
              and privilege_type in ('UPDATE', 'DELETE', 'TRUNCATE')
              and grantee <> current_user
          loop
            execute format('revoke update, delete, truncate on %I from %I',
                           r.table_name, r.grantee);
          end loop;
        end $$
        """
    )


def upgrade() -> None:
    op.add_column("custodian_keys", sa.Column("public_key_mac", sa.String(64), nullable=True))
    op.create_table(
        "custodian_passphrase_wraps",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("passphrase_salt", sa.LargeBinary, nullable=False),
        sa.Column("wrapped_by_passphrase", sa.LargeBinary, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("tenant_id", "version"),
    )
    for statement in tenant_rls_sql("custodian_passphrase_wraps"):
        op.execute(statement)
    _revoke_writes()


def downgrade() -> None:
    op.drop_table("custodian_passphrase_wraps")
    op.drop_column("custodian_keys", "public_key_mac")
