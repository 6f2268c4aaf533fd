"""applicants: numbers as ASCII digits, blind indexes over the normalised value (issue 16, item 2)

`str.isdigit()` took fullwidth and Arabic-Indic digits, and the blind index was taken over the
raw string: one NIK written three ways was three people. Every applicant's NIK, KK, bank
account and phone are made ASCII (NFKC, spaces and dashes dropped; a value that is still no
number is left as it is), their personal record is sealed again and the NIK and bank-account
indexes are taken again; applications copy their applicant's NIK index.

Duplicates found on the way (two applicants whose NIKs are one after normalising) cannot both
hold the index: the older keeps it, the newer keeps its old index, and only their number is
logged (never an id or a value), for the officials to merge them at the counter.

Revision ID: h004
Revises: h003
"""

import logging

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "h004"
down_revision = "h003"
branch_labels = None
depends_on = "k001"

log = logging.getLogger("alembic.runtime.migration")

NUMBERS = {"nik": False, "kk": False, "bank_account": False, "phone": True}  # keep_plus


def _ascii(value, keep_plus: bool):
    from shared.plain_text import NotDigits, ascii_digits

    if not isinstance(value, str):
        return value
    try:
        return ascii_digits(value, keep_plus=keep_plus)
    except NotDigits:
        return value


def upgrade() -> None:
    rows = (
        op.get_bind()
        .execute(
            sa.text(
                "select id, tenant_id, personal, nik_index, bank_account_index "
                "from applicants order by created_at, id"
            )
        )
        .all()
    )
    if not rows:
        return
    from shared.crypto import FieldCipher, blind_index

    session = Session(bind=op.get_bind())
    held: set[tuple[object, str]] = {(r.tenant_id, r.nik_index) for r in rows if r.nik_index}
    reindexed = duplicates = 0
    for r in rows:
        cipher = FieldCipher(session, r.tenant_id, "applicants", r.id)
        personal = cipher.decrypt_json("personal", r.personal)
        clean = {k: _ascii(v, NUMBERS[k]) if k in NUMBERS else v for k, v in personal.items()}
        nik_index = r.nik_index
        if r.nik_index and clean.get("nik"):
            wanted = blind_index(session, r.tenant_id, "nik", clean["nik"])
            if wanted != r.nik_index:
                if (r.tenant_id, wanted) in held:
                    duplicates += 1  # the older applicant holds it; this one keeps its own
                else:
                    held.discard((r.tenant_id, r.nik_index))
                    held.add((r.tenant_id, wanted))
                    nik_index = wanted
        bank_index = r.bank_account_index
        if clean.get("bank_account"):
            bank_index = blind_index(session, r.tenant_id, "bank_account", clean["bank_account"])
        if clean == personal and nik_index == r.nik_index and bank_index == r.bank_account_index:
            continue
        session.execute(
            sa.text(
                "update applicants set personal = :p, nik_index = :n, bank_account_index = :b "
                "where id = :i"
            ),
            {
                "p": cipher.encrypt_json("personal", clean),
                "n": nik_index,
                "b": bank_index,
                "i": r.id,
            },
        )
        reindexed += 1
    session.execute(
        sa.text(
            "update applications a set nik_index = p.nik_index from applicants p "
            "where p.id = a.applicant_id and p.nik_index is not null "
            "and a.nik_index is distinct from p.nik_index"
        )
    )
    session.flush()
    log.warning(
        "h004: %d applicants normalised and re-indexed; %d duplicate NIKs found",
        reindexed,
        duplicates,
    )


def downgrade() -> None:
    pass  # the ASCII form is the one form: nothing to undo
