"""applications and application_steps: free text encrypted at rest (issue 16, item 7)

`application_steps.reason`, `applications.rab` and `applications.lpj` were plaintext (a
rejection reason in a disability programme is health data). Each becomes a ciphertext under
its application's record key (shared.crypto.FieldCipher, table "applications"; a step's reason
as field `steps.<step id>.reason`), and `applications.lpj_spent` keeps the one LPJ figure the
budget reads in the clear. Existing rows are encrypted here.

Revision ID: h005
Revises: h004
"""

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "h005"
down_revision = "h004"
branch_labels = None
depends_on = "k001"


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    op.add_column("applications", sa.Column("rab_sealed", sa.LargeBinary))
    op.add_column("applications", sa.Column("lpj_sealed", sa.LargeBinary))
    op.add_column("applications", sa.Column("lpj_spent", sa.BigInteger))
    op.add_column("application_steps", sa.Column("reason_sealed", sa.LargeBinary))
    bind = op.get_bind()
    apps = bind.execute(sa.text("select id, tenant_id, rab, lpj from applications")).all()
    steps = bind.execute(
        sa.text(
            "select s.id, s.application_id, a.tenant_id, s.reason from application_steps s "
            "join applications a on a.id = s.application_id where s.reason is not null"
        )
    ).all()
    if apps or steps:
        from shared.crypto import FieldCipher

        session = Session(bind=bind)
        for a in apps:
            cipher = FieldCipher(session, a.tenant_id, "applications", a.id)
            lpj = _json(a.lpj)
            session.execute(
                sa.text(
                    "update applications set rab_sealed = :r, lpj_sealed = :l, lpj_spent = :s "
                    "where id = :i"
                ),
                {
                    "r": cipher.encrypt_json("rab", _json(a.rab) or []),
                    "l": cipher.encrypt_json("lpj", lpj) if lpj else None,
                    "s": (lpj or {}).get("spent"),
                    "i": a.id,
                },
            )
        for st in steps:
            cipher = FieldCipher(session, st.tenant_id, "applications", st.application_id)
            session.execute(
                sa.text("update application_steps set reason_sealed = :r where id = :i"),
                {"r": cipher.encrypt(f"steps.{st.id}.reason", st.reason), "i": st.id},
            )
        session.flush()
    op.drop_column("applications", "rab")
    op.drop_column("applications", "lpj")
    op.drop_column("application_steps", "reason")
    op.alter_column("applications", "rab_sealed", new_column_name="rab", nullable=False)
    op.alter_column("applications", "lpj_sealed", new_column_name="lpj")
    op.alter_column("application_steps", "reason_sealed", new_column_name="reason")


def downgrade() -> None:
    raise NotImplementedError("the plaintext is not written back; restore a backup instead")
