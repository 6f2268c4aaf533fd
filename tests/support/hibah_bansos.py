"""Hibah-bansos test data: programme codes, a valid PDF, the documents an organisation must
upload, valid unique Cimahi NIKs, request bodies for applicants and applications, and a
programme of a test's own (`add_programme`)."""

from __future__ import annotations

import itertools
import json
import random
import uuid

from sqlalchemy import text

from tests.support.pdfs import minimal_pdf

HIBAH = "HIBAH-ORMAS-2026"
BANSOS = "BANSOS-DISABILITAS-2026"
# a real one-page PDF (uploads are rewritten by shared/pdf_clean.py, which refuses a file that
# only starts like a PDF); already clean, so it is stored byte for byte
PDF = minimal_pdf()
ORG_DOCUMENTS = (
    "proposal",
    "rab",
    "ktp_pengurus",
    "rekening",
    "akta_badan_hukum",
    "domisili",
    "npwp",
)
_serials = itertools.count(random.randint(1000, 5000))


def cimahi_nik(female: bool = False) -> str:
    """A valid, unique Cimahi NIK (district 01)."""
    n = next(_serials)
    day = n % 28 + 1 + (40 if female else 0)
    return f"327701{day:02d}{n // 28 % 12 + 1:02d}{80 + n % 15:02d}{n % 9000 + 1:04d}"


def email() -> str:
    return f"{uuid.uuid4().hex[:10]}@contoh.id"


def organisation(**over) -> dict:
    body = {
        "type": "organisation",
        "email": email(),
        "password": "kata-sandi-yang-panjang",
        "name": f"Yayasan Cahaya {uuid.uuid4().hex[:6]}",
        "registration_number": f"AHU-{random.randint(10**6, 10**7)}.AH.01.04.2015",
        "legal_entity_since": "2015-03-01",
        "npwp": "01.234.567.8-421.000",
        "address": "Jl. Amir Machmud No. 1, Cimahi",
        "chairperson": "Siti Rahayu",
        "phone": "0812-2000-3000",
        "bank_account": "1234567890",
    }
    body.update(over)
    return body


def person(**over) -> dict:
    body = {
        "type": "individual",
        "email": email(),
        "password": "kata-sandi-yang-panjang",
        "nik": cimahi_nik(),
        "kk": "3277010101200001",
        "name": "Budi Santoso",
        "address": "Jl. Kolonel Masturi 5, Cimahi",
        "phone": "081234567890",
        "bank_account": f"{random.randint(10**9, 10**10)}",
        "in_social_registry": True,
    }
    body.update(over)
    return body


def application(programme=HIBAH, requested=100_000_000, **over) -> dict:
    half = requested // 2 if isinstance(requested, int) else 1
    body = {
        "programme": programme,
        "requested": requested,
        "proposal": "Pelatihan kewirausahaan pemuda di Kecamatan Cimahi Tengah.",
        "rab": [
            {"item": "Honor pelatih", "amount": half},
            {
                "item": "Bahan pelatihan",
                "amount": requested - half if isinstance(requested, int) else 1,
            },
        ],
    }
    body.update(over)
    return body


def add_programme(
    hb_owner_db,
    tenant_id,
    prefix,
    *,
    kind="hibah",
    fiscal_year=2026,
    ceiling=10**10,
    eligibility=None,
) -> str:
    """A programme of the test's own (as if configured for the tenant), so tests never share
    a ceiling."""
    code = f"{prefix}-{uuid.uuid4().hex[:6].upper()}"
    config = {
        "code": code,
        "kind": kind,
        "fiscal_year": fiscal_year,
        "name": {"id": code},
        "ceiling": ceiling,
        "opd": "BKAD",
        "required_documents": [],
        "eligibility": eligibility or {"applicant_types": ["organisation"]},
    }
    with hb_owner_db.begin() as c:
        c.execute(
            text(
                "insert into programmes (id, tenant_id, code, kind, fiscal_year, ceiling,"
                " allocated, disbursed, config) values (:id, :t, :code, :kind, :fy,"
                " :ceiling, 0, 0, cast(:config as json))"
            ),
            {
                "id": uuid.uuid4(),
                "t": tenant_id,
                "code": code,
                "kind": kind,
                "fy": fiscal_year,
                "ceiling": ceiling,
                "config": json.dumps(config),
            },
        )
    return code
