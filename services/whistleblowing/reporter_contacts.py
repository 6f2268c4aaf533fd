"""Reporters' contacts for "ada balasan baru" notices: kept sealed, read by one path, shredded.

A reporter may give an e-mail address or an Indonesian mobile number when filing or later from
the inbox (`domain/contact.py` reads it). It is stored in `wb_reporter_contacts` as a
ciphertext under the tenant's data key (`shared.crypto.FieldCipher`, bound to the row), and:

- officials never see it: no view of a case, no list, no export, no API answer of theirs
  reads this table; the reporter's own inbox shows it masked;
- no event carries it, nor even whether there is one (the notifications consumer asks
  `contact_for_case` when a handler writes, see README "Notices to the reporter");
- `forget` destroys it: the row's record key is shredded (backups of the ciphertext die too)
  and the row deleted. That happens when the reporter withdraws it in the inbox, when the case
  is archived (no reply can come after that), and with the case at retention expiry.

`contact_for_case` is the notifications consumer's only read path. Like every query here it is
tenant-scoped: it filters on the tenant itself (the consumer's session may not be a tenant
session), and a tenant session adds the same filter again (shared/db.py; RLS underneath).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.whistleblowing.domain.contact import Contact, masked
from services.whistleblowing.models import ReporterContactRow
from shared.crypto import FieldCipher
from shared.db import utcnow

TABLE = "wb_reporter_contacts"
FIELD = "address"


@dataclass(frozen=True)
class ReporterContact:
    kind: str  # "email" | "phone" (E.164, +62…)
    address: str


def _id(value: uuid.UUID | str) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _row(
    session: Session, tenant_id: uuid.UUID, case_id: uuid.UUID, *, for_update: bool = False
) -> ReporterContactRow | None:
    query = select(ReporterContactRow).where(
        ReporterContactRow.tenant_id == tenant_id, ReporterContactRow.report_id == case_id
    )
    if for_update:
        query = query.with_for_update()
    return session.execute(query).scalars().first()


def contact_for_case(
    session: Session, tenant_id: uuid.UUID | str, case_id: uuid.UUID | str
) -> ReporterContact | None:
    """The contact the reporter of case `case_id` (the report's id, `report_id` in events)
    chose to give, opened; None when there is none (or it was forgotten)."""
    tenant, case = _id(tenant_id), _id(case_id)
    row = _row(session, tenant, case)
    if row is None:
        return None
    address = FieldCipher(session, tenant, TABLE, row.id).decrypt_text(FIELD, row.address)
    return ReporterContact(row.kind, address)


def keep(
    session: Session, tenant_id: uuid.UUID, case_id: uuid.UUID, contact: Contact
) -> ReporterContactRow:
    """Store `contact` sealed for the case, replacing (and shredding) any earlier one."""
    forget(session, tenant_id, case_id)
    row = ReporterContactRow(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        report_id=case_id,
        kind=contact.kind,
        created_at=utcnow(),
    )
    row.address = FieldCipher(session, tenant_id, TABLE, row.id).encrypt(FIELD, contact.address)
    session.add(row)
    session.flush()
    return row


def forget(session: Session, tenant_id: uuid.UUID | str, case_id: uuid.UUID | str) -> bool:
    """Crypto-shred the case's contact: its record key is destroyed, then its row deleted.
    True if there was one."""
    tenant, case = _id(tenant_id), _id(case_id)
    row = _row(session, tenant, case, for_update=True)
    if row is None:
        return False
    FieldCipher(session, tenant, TABLE, row.id).shred()
    session.delete(row)
    session.flush()  # a contact given again in the same transaction must not meet this row
    return True


def masked_for_reporter(
    session: Session, tenant_id: uuid.UUID, case_id: uuid.UUID
) -> dict[str, str] | None:
    """What the reporter's own inbox shows: the kind and a masked address; None if none."""
    found = contact_for_case(session, tenant_id, case_id)
    if found is None:
        return None
    return {"kind": found.kind, "masked": masked(Contact(found.kind, found.address))}
