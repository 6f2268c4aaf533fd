"""Bulk import of bansos beneficiaries from a social-service CSV extract (DTKS/DTSEN rows).

All or nothing at the file level, row by row inside it: a file that is not a readable CSV
with the expected header imports nothing; otherwise every valid row is imported (as a
submitted application, in the social registry) and every invalid row is listed with its line
and reason. A NIK already holding an application in the programme is left unchanged, so
importing the same file again changes nothing.

Columns: nik, kk, name, address, phone, bank_account, amount (integer rupiah).
"""

from __future__ import annotations

import csv
import hashlib
import io
import uuid

from sqlalchemy import select

from services.hibah_bansos import programmes, protect
from services.hibah_bansos.applications import SERVICE, Actor, Refused, new_number, today_utc
from services.hibah_bansos.domain import eligibility
from services.hibah_bansos.domain import nik as nik_rules
from services.hibah_bansos.models import Applicant, Application, ApplicationStep
from shared.db import utcnow

COLUMNS = ("nik", "kk", "name", "address", "phone", "bank_account", "amount")
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000


def parse(raw: bytes) -> list[tuple[int, dict[str, str] | None, str | None]]:
    """[(line, row or None, reason if the row is bad)]; Refused(422) if the file is malformed."""
    if not raw.strip():
        raise Refused(422, "The file is empty.", "file")
    if len(raw) > MAX_BYTES:
        raise Refused(413, "The file is larger than 20 MB.", "file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Refused(422, "The file is not UTF-8 text; nothing was imported.", "file") from None
    if "\x00" in text:
        raise Refused(422, "The file is not a CSV text file; nothing was imported.", "file")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise Refused(
                422,
                f"The header lacks column(s) {', '.join(missing)}; nothing was imported.",
                "file",
                expected_columns=list(COLUMNS),
            )
        out = []
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(out) >= MAX_ROWS:
                raise Refused(413, f"More than {MAX_ROWS} rows; nothing was imported.", "file")
            if len(values) != len(header):
                out.append((line, None, f"expected {len(header)} fields, found {len(values)}"))
                continue
            out.append((line, {h: v.strip() for h, v in zip(header, values, strict=True)}, None))
    except csv.Error as exc:
        raise Refused(
            422, f"The file is not a valid CSV ({exc}); nothing was imported.", "file"
        ) from None
    return out


def row_problems(row: dict[str, str], rules: dict, regions: list[str], today) -> list[str]:
    problems = [f"nik: {p}" for p in nik_rules.nik_problems(row["nik"], today)]
    problems += [f"kk: {p}" for p in nik_rules.kk_problems(row["kk"])]
    for f in ("name", "address"):
        if not row[f]:
            problems.append(f"{f}: required")
    if not row["bank_account"].replace("-", "").replace(" ", "").isdigit():
        problems.append("bank_account: digits only")
    amount = row["amount"]
    if not (amount.isascii() and amount.isdigit()) or int(amount) <= 0:
        problems.append("amount: a whole, positive number of rupiah (no decimals, no separators)")
    elif not problems:
        facts = eligibility.Facts(
            "individual",
            int(amount),
            nik_region=nik_rules.region_of(row["nik"]),
            in_social_registry=True,
        )
        problems += [
            f"eligibility.{r}: {why}"
            for r, why in eligibility.failed_rules(rules, facts, regions, today)
        ]
    return problems


def import_beneficiaries(uw, actor: Actor, code: str, raw: bytes) -> dict:
    s, tenant = uw.session, uw.tenant
    programmes.ensure_synced(s, tenant)
    programme = programmes.by_code(s, code, for_update=True)  # one import at a time
    if programme is None:
        raise Refused(404, "No such programme.")
    if programme.kind != "bansos":
        raise Refused(409, "Beneficiary imports are for bansos programmes.", "programme")
    parsed = parse(raw)
    rules = programme.config.get("eligibility", {})
    regions = tenant.service_config(SERVICE).get("region_codes", [])
    today = today_utc()
    rejected, valid, first_line = [], [], {}
    for line, row, reason in parsed:
        if row is None:
            rejected.append({"line": line, "reason": reason})
            continue
        problems = row_problems(row, rules, regions, today)
        if not problems and row["nik"] in first_line:
            problems = [f"nik: the same NIK as line {first_line[row['nik']]}"]
        if problems:
            rejected.append({"line": line, "reason": "; ".join(problems)})
            continue
        first_line[row["nik"]] = line
        valid.append((line, row, protect.blind_index(s, tenant.id, "nik", row["nik"])))
    indexes = [ix for _, _, ix in valid]
    taken = set()
    applicants = {}
    for chunk in range(0, len(indexes), 1000):
        part = indexes[chunk : chunk + 1000]
        taken |= set(
            s.execute(
                select(Application.nik_index).where(
                    Application.programme_id == programme.id,
                    Application.nik_index.in_(part),
                    Application.status != "rejected",
                )
            ).scalars()
        )
        applicants.update(
            dict(
                s.execute(
                    select(Applicant.nik_index, Applicant.id).where(Applicant.nik_index.in_(part))
                ).all()
            )
        )
    imported = unchanged = 0
    now = utcnow()
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
                    bank_account_index=protect.blind_index(
                        s, tenant.id, "bank_account", row["bank_account"]
                    ),
                    personal=protect.encrypt_json(
                        s, tenant.id, "applicants", applicant_id, "personal", personal
                    ),
                )
            )
        amount = int(row["amount"])
        app_id = uuid.uuid4()
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
                rab=[{"item": "Bantuan sosial", "amount": amount}],
                actors={},
                proposal=b"",
                created_at=now,
                updated_at=now,
            )
        )  # no proposal text: an extract row
        s.add(
            ApplicationStep(
                tenant_id=tenant.id,
                application_id=app_id,
                source="draft",
                target="submitted",
                actor=actor.pseudonym,
                at=now,
                reason=f"imported from CSV line {line}",
                amount=amount,
            )
        )
        imported += 1
    s.flush()
    digest = protect.keyed_hash(s, tenant.id, "hb-import", hashlib.sha256(raw).hexdigest())
    uw.emit(
        "hibah_bansos.beneficiaries.imported.v1",
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
