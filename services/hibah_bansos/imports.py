"""Bulk import of bansos beneficiaries from a social-service extract (DTKS/DTSEN rows): a CSV
or an .xlsx workbook, read by `domain/beneficiary_file.py` (delimiters, encodings, Indonesian
headers and amounts, what Excel does to long numbers) and `spreadsheet.py` (XLSX).

All or nothing at the file level, row by row inside it: a file that cannot be read, or whose
header lacks a column, imports nothing; otherwise every valid row is imported (as a submitted
application, in the social registry) and every invalid row is listed with its row number and
the columns at fault, as Excel shows them. A NIK already holding an application in the
programme is left unchanged, so importing the same file again changes nothing.

Columns: nik, kk, name, address, bank_account, amount; optional phone and birth_date (checked
against the NIK); Indonesian names (nama, no_kk, alamat, no_hp, no_rekening, nominal, ...) too.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.hibah_bansos import repository, spreadsheet
from services.hibah_bansos.cases import SERVICE, new_number
from services.hibah_bansos.domain import beneficiary_file
from services.hibah_bansos.domain import nik as nik_rules
from services.hibah_bansos.models import Applicant, Application, ApplicationStep, Programme
from shared import event_types as ev
from shared.actor import Actor
from shared.crypto import FieldCipher, blind_index, keyed_hash
from shared.db import utcnow
from shared.problem import Refused
from shared.tenancy import Tenant, today
from shared.uow import UnitOfWork

COLUMNS = beneficiary_file.COLUMNS
MAX_BYTES = beneficiary_file.MAX_BYTES
MAX_ROWS = beneficiary_file.MAX_ROWS


def parse(
    raw: bytes, rules: dict, regions: list[str], on: date, sheet: str | None = None
) -> list[beneficiary_file.Row]:
    """The file's rows, judged; Refused (413/422, field `file`) if it cannot be read."""
    try:
        beneficiary_file.check_size(raw)
        if beneficiary_file.is_xlsx(raw):
            table = spreadsheet.read_xlsx(raw, sheet)
        else:
            table = beneficiary_file.read_csv(raw)
        return beneficiary_file.rows_of(table, rules, regions, on)
    except beneficiary_file.FileRefused as exc:
        raise Refused(exc.status, str(exc), "file", **exc.extra) from None


@dataclass
class Plan:
    """What an import of this file would do: the rows judged, the good ones with their NIK's
    blind index, which of those already hold an application in the programme, and the
    applicants already known by NIK."""

    programme: Programme
    parsed: list[beneficiary_file.Row]
    rejected: list[dict]
    valid: list[tuple[int, dict[str, str], str]]
    taken: set[str]
    applicants: dict[str, uuid.UUID]

    def counts(self) -> dict:
        unchanged = sum(1 for _, _, ix in self.valid if ix in self.taken)
        return {
            "programme": self.programme.code,
            "rows": len(self.parsed),
            "imported": len(self.valid) - unchanged,
            "unchanged": unchanged,
            "rejected": self.rejected,
        }


def plan(
    s: Session, tenant: Tenant, code: str, raw: bytes, sheet: str | None, *, for_update: bool
) -> Plan:
    programme = repository.programme(s, code, for_update=for_update)  # one import at a time
    if programme.kind != "bansos":
        raise Refused(409, "Beneficiary imports are for bansos programmes.", "programme")
    rules = programme.config.get("eligibility", {})
    regions = tenant.service_config(SERVICE).get("region_codes", [])
    parsed = parse(raw, rules, regions, today(tenant), sheet)
    rejected = [r.refusal() for r in parsed if not r.ok]
    valid = [
        (r.row, r.values, blind_index(s, tenant.id, "nik", r.values["nik"])) for r in parsed if r.ok
    ]
    indexes = [ix for _, _, ix in valid]
    taken: set[str] = set()
    applicants: dict[str, uuid.UUID] = {}
    for chunk in range(0, len(indexes), 1000):
        part = indexes[chunk : chunk + 1000]
        taken.update(
            ix
            for ix in s.execute(
                select(Application.nik_index).where(
                    Application.programme_id == programme.id,
                    Application.nik_index.in_(part),
                    Application.status != "rejected",
                )
            ).scalars()
            if ix is not None
        )
        applicants.update(
            (ix, applicant_id)
            for ix, applicant_id in s.execute(
                select(Applicant.nik_index, Applicant.id).where(Applicant.nik_index.in_(part))
            ).all()
            if ix is not None
        )
    return Plan(programme, parsed, rejected, valid, taken, applicants)


def dry_run(s: Session, tenant: Tenant, code: str, raw: bytes, sheet: str | None = None) -> dict:
    """What `import_beneficiaries` would answer for this file, changing nothing (a read: no
    row written, no event, no lock), plus the good rows themselves for the preview page."""
    p = plan(s, tenant, code, raw, sheet, for_update=False)
    return p.counts() | {
        "good": [
            {"row": line, "values": values, "unchanged": ix in p.taken}
            for line, values, ix in p.valid
        ],
        "digest": hashlib.sha256(raw).hexdigest(),
    }


def import_beneficiaries(
    uw: UnitOfWork, actor: Actor, code: str, raw: bytes, sheet: str | None = None
) -> dict:
    s, tenant = uw.session, uw.tenant
    p = plan(s, tenant, code, raw, sheet, for_update=True)
    programme, parsed, rejected, valid = p.programme, p.parsed, p.rejected, p.valid
    taken, applicants = p.taken, p.applicants
    imported = unchanged = 0
    now = utcnow()
    source = "XLSX" if beneficiary_file.is_xlsx(raw) else "CSV"
    for line, row, ix in valid:
        if ix in taken:
            unchanged += 1
            continue
        applicant_id = applicants.get(ix)
        if applicant_id is None:
            applicant_id = uuid.uuid4()
            personal = {k: row[k] for k in COLUMNS if k != "amount"}
            s.add(
                Applicant(
                    id=applicant_id,
                    tenant_id=tenant.id,
                    kind="individual",
                    nik_index=ix,
                    nik_region=nik_rules.region_of(row["nik"]),
                    in_social_registry=True,
                    bank_account_index=blind_index(
                        s, tenant.id, "bank_account", row["bank_account"]
                    ),
                    personal=FieldCipher(s, tenant.id, "applicants", applicant_id).encrypt_json(
                        "personal", personal
                    ),
                )
            )
        amount = int(row["amount"])
        app_id, step_id = uuid.uuid4(), uuid.uuid4()
        cipher = FieldCipher(s, tenant.id, "applications", app_id)  # RAB and reason at rest
        s.add(
            Application(
                id=app_id,
                tenant_id=tenant.id,
                number=new_number(programme.fiscal_year),
                programme_id=programme.id,
                applicant_id=applicant_id,
                status="submitted",
                requested=amount,
                nik_index=ix,
                disbursed=0,
                rab=cipher.encrypt_json("rab", [{"item": "Bantuan sosial", "amount": amount}]),
                actors={},
                proposal=b"",
                created_at=now,
                updated_at=now,
            )
        )  # no proposal text: an extract row
        s.add(
            ApplicationStep(
                id=step_id,
                tenant_id=tenant.id,
                application_id=app_id,
                source="draft",
                target="submitted",
                actor=actor.pseudonym,
                at=now,
                reason=cipher.encrypt(
                    f"steps.{step_id}.reason", f"imported from {source} row {line}"
                ),
                amount=amount,
            )
        )
        imported += 1
    s.flush()
    digest = keyed_hash(s, tenant.id, "hb-import", hashlib.sha256(raw).hexdigest())
    uw.emit(
        ev.HB_BENEFICIARIES_IMPORTED,
        subject=programme.code,
        actor=actor.pseudonym,
        data={
            "programme": programme.code,
            "import_digest": digest,
            "rows": len(parsed),
            "imported": imported,
            "unchanged": unchanged,
            "rejected": len(rejected),
        },
    )
    return {
        "programme": programme.code,
        "rows": len(parsed),
        "imported": imported,
        "unchanged": unchanged,
        "rejected": rejected,
    }
