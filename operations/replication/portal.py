"""The replication portal's rules (no Flask): catalogue, request validation, decisions.

A regional government asks the hosting city for a replica of its applications; the hosting
city's `tenant_admin` approves or rejects with a reason. Handlers parse input and call these
functions inside `with unit_of_work() as uw:`, which commits. What the rules refuse is a
`shared.problem.Refused`, answered by the service's one refusal handler.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from operations.replication.models import ReplicationRequest
from operations.replication.template import REGION_CODE_RE, SLUG_RE, slug_from_region_name
from shared import crypto
from shared.db import utcnow
from shared.event_types import (
    PLATFORM_REPLICATION_APPROVED,
    PLATFORM_REPLICATION_REJECTED,
    PLATFORM_REPLICATION_REQUESTED,
)
from shared.problem import Refused

APPLICATIONS: dict[str, dict[str, dict[str, str]]] = {
    "whistleblowing": {
        "name": {"id": "Whistleblowing System (WBS)", "en": "Whistleblowing system"},
        "description": {
            "id": "Warga dan ASN melaporkan korupsi, pungutan liar, dan penyalahgunaan wewenang, "
            "boleh tanpa nama; Inspektorat menelaah, menyelidiki, dan menjawab. Identitas "
            "pelapor disegel untuk kustodian identitas.",
            "en": "Citizens and civil servants report corruption, extortion and abuse of office, "
            "anonymously if they wish; the Inspectorate triages, investigates and answers. "
            "Reporters' identities are sealed to an identity custodian.",
        },
    },
    "hibah_bansos": {
        "name": {"id": "Hibah dan Bantuan Sosial", "en": "Grants and social aid"},
        "description": {
            "id": "Organisasi dan warga mengajukan hibah dan bansos dari APBD; OPD mengevaluasi, "
            "TAPD memverifikasi, lalu persetujuan, NPHD, pencairan, dan LPJ, dengan "
            "kendali pagu anggaran.",
            "en": "Organisations and citizens apply for regional grants and social aid; work "
            "units evaluate, the budget team verifies, then approval, agreement, "
            "disbursement and accountability report, within the budget ceilings.",
        },
    },
}
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
LIVE_STATUSES = ("pending", "approved", "provisioned")
# A request nobody decided within this time expires: its slug is free again, and it can no
# longer be approved (the hosting city's admin decides on fresh requests only).
PENDING_TTL = timedelta(days=30)
# Slugs that name the platform's own paths or roles, never a city.
RESERVED_SLUGS = frozenset(
    {
        "admin", "api", "app", "apps", "assets", "auth", "default", "docs", "health",
        "healthz", "host", "login", "logout", "metrics", "new", "null", "onboarding",
        "openapi", "platform", "public", "ready", "readyz", "replika", "replication", "root",
        "static", "status", "system", "t", "tenant", "tenants", "test", "www",
    }
)  # fmt: skip


def expired(req: ReplicationRequest, now: datetime | None = None) -> bool:
    return req.status == "pending" and req.created_at <= (now or utcnow()) - PENDING_TTL


def invalid(errors: list[dict[str, str]]) -> Refused:
    """422 naming every wrong field at once (detail "Invalid field(s): a, b", as every API)."""
    fields = ", ".join(e["field"] for e in errors)
    return Refused(422, f"Invalid field(s): {fields}", errors=errors)


@dataclass(frozen=True)
class RequestForm:
    region_name: str
    region_code: str
    slug: str
    contact_name: str
    contact_email: str
    applications: tuple[str, ...]
    agreement_number: str
    agreement_date: date
    template: str


def catalogue(templates: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What the hosting deployment offers: the applications, and the cities to start from."""
    return {
        "applications": [{"code": code, **entry} for code, entry in APPLICATIONS.items()],
        "templates": [
            {
                "slug": slug,
                "name": data.get("name"),
                "applications": sorted(data.get("services", {})),
            }
            for slug, data in sorted(templates.items())
        ],
    }


def _text(body: dict, field: str, errors: list, max_len: int) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        errors.append({"field": field, "reason": "required text"})
        return ""
    if len(value.strip()) > max_len:
        errors.append({"field": field, "reason": f"at most {max_len} characters"})
    return value.strip()


def parse_request(body: Any, templates: dict[str, dict[str, Any]], today: date) -> RequestForm:
    """Validate a request body; raises Refused(422) naming every wrong field at once (as
    `errors` on the exception)."""
    body = body if isinstance(body, dict) else {}
    errors: list[dict[str, str]] = []
    region_name = _text(body, "region_name", errors, 200)
    region_code = _text(body, "region_code", errors, 16)
    if region_code and not REGION_CODE_RE.match(region_code):
        errors.append(
            {
                "field": "region_code",
                "reason": "a BPS region code: 2 digits, then up to 3 groups '.NN' (32.05)",
            }
        )
    slug = body.get("slug") or slug_from_region_name(region_name)
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        errors.append({"field": "slug", "reason": "lower-case letters, digits and '-', 2-63"})
    elif slug in RESERVED_SLUGS:
        errors.append({"field": "slug", "reason": "reserved by the platform; choose another"})
    contact_name = _text(body, "contact_name", errors, 200)
    contact_email = _text(body, "contact_email", errors, 254)
    if contact_email and not EMAIL_RE.match(contact_email):
        errors.append({"field": "contact_email", "reason": "not an e-mail address"})
    apps = body.get("applications")
    if (
        not isinstance(apps, list)
        or not apps
        or len(set(map(str, apps))) != len(apps)
        or not set(apps) <= set(APPLICATIONS)
    ):
        errors.append(
            {
                "field": "applications",
                "reason": f"a non-empty list of distinct items of {sorted(APPLICATIONS)}",
            }
        )
        apps = []
    agreement_number = _text(body, "agreement_number", errors, 100)
    agreement_date = None
    try:
        agreement_date = date.fromisoformat(str(body.get("agreement_date")))
        if agreement_date > today:
            errors.append({"field": "agreement_date", "reason": "in the future"})
    except ValueError:
        errors.append({"field": "agreement_date", "reason": "a date, YYYY-MM-DD"})
    template = body.get("template")
    if template not in templates:
        errors.append({"field": "template", "reason": f"one of {sorted(templates)}"})
    elif not set(apps) <= set(templates[template].get("services", {})):
        errors.append(
            {
                "field": "template",
                "reason": "this template city does not run every application asked for",
            }
        )
    if errors:
        raise invalid(errors)
    return RequestForm(
        region_name,
        region_code,
        slug,
        contact_name,
        contact_email,
        tuple(sorted(apps)),
        agreement_number,
        agreement_date,
        template,
    )


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def submit(uow, form: RequestForm, existing_slugs: set[str]) -> ReplicationRequest:
    """Record a pending request of the hosting tenant (uow's tenant); the caller commits."""
    session, host = uow.session, uow.tenant
    if form.slug in existing_slugs or form.slug in RESERVED_SLUGS:
        raise Refused(409, "a tenant with this slug already exists", "slug")
    live = session.execute(
        select(ReplicationRequest)
        .where(
            ReplicationRequest.new_slug == form.slug, ReplicationRequest.status.in_(LIVE_STATUSES)
        )
        .with_for_update()
    ).scalar_one_or_none()
    if live is not None and expired(live):
        # nobody decided it in time: it is closed, and the slug may be asked for again
        live.status, live.decided_at = "rejected", utcnow()
        live.decision_reason, live.decided_by = "expired: not decided in time", "system"
        session.flush()
    elif live is not None:
        raise Refused(409, "a request for this slug is already under way", "slug")
    req = ReplicationRequest(
        id=uuid.uuid4(),
        status="pending",
        new_slug=form.slug,
        region_name=form.region_name,
        region_code=form.region_code,
        applications=list(form.applications),
        agreement_number=form.agreement_number,
        agreement_date=form.agreement_date,
        template=form.template,
        steps=[],
    )
    req.contact = crypto.encrypt_field(
        session,
        host.id,
        ReplicationRequest.__tablename__,
        req.id,
        "contact",
        json.dumps({"name": form.contact_name, "email": form.contact_email}),
    )
    session.add(req)
    uow.emit(
        PLATFORM_REPLICATION_REQUESTED,
        f"replication:{req.id}",
        "applicant",
        {
            "request_id": str(req.id),
            "new_slug": req.new_slug,
            "region_code": req.region_code,
            "applications": req.applications,
            "template": req.template,
            "agreement_digest": digest(f"{req.agreement_number}|{req.agreement_date}"),
        },
    )
    return req


def contact_of(session, req: ReplicationRequest) -> dict[str, str]:
    return json.loads(
        crypto.decrypt_field(
            session, req.tenant_id, req.__tablename__, req.id, "contact", req.contact
        )
    )


def get_request(session, request_id: uuid.UUID, *, for_update: bool = False) -> ReplicationRequest:
    query = select(ReplicationRequest).where(ReplicationRequest.id == request_id)
    if for_update:
        query = query.with_for_update()
    req = session.execute(query).scalar_one_or_none()
    if req is None:
        raise Refused(404, "no such replication request")
    return req


def list_requests(session, status: str | None = None) -> list[ReplicationRequest]:
    query = select(ReplicationRequest).order_by(ReplicationRequest.created_at.desc())
    if status:
        query = query.where(ReplicationRequest.status == status)
    return list(session.execute(query).scalars())


def decide(
    uow, request_id: uuid.UUID, approve: bool, reason: str, actor: str
) -> ReplicationRequest:
    """Approve or reject a pending request (a reason is required to reject); caller commits."""
    reason = (reason or "").strip()
    if not approve and not reason:
        raise Refused(422, "give the reason for rejecting", "reason")
    if len(reason) > 2000:
        raise Refused(422, "at most 2000 characters", "reason")
    req = get_request(uow.session, request_id, for_update=True)
    if req.status != "pending":
        raise Refused(409, f"the request was already decided ({req.status})")
    if expired(req):
        raise Refused(
            409,
            f"the request expired: it was not decided within {PENDING_TTL.days} days; "
            "the city may ask again",
        )
    req.status = "approved" if approve else "rejected"
    req.decision_reason, req.decided_by, req.decided_at = reason or None, actor, utcnow()
    data = {"request_id": str(req.id), "new_slug": req.new_slug}
    if reason:
        data["reason_digest"] = digest(reason)
    uow.emit(
        PLATFORM_REPLICATION_APPROVED if approve else PLATFORM_REPLICATION_REJECTED,
        f"replication:{req.id}",
        actor,
        data,
    )
    return req


def public_view(req: ReplicationRequest) -> dict[str, Any]:
    return {
        "request_id": str(req.id),
        "status": req.status,
        "expired": expired(req),
        "slug": req.new_slug,
        "region_name": req.region_name,
        "region_code": req.region_code,
        "applications": req.applications,
        "template": req.template,
        "agreement": {"number": req.agreement_number, "date": req.agreement_date.isoformat()},
        "decision_reason": req.decision_reason,
        "steps": req.steps,
        "created_at": req.created_at.isoformat(),
        "decided_at": req.decided_at.isoformat() if req.decided_at else None,
        "provisioned_at": req.provisioned_at.isoformat() if req.provisioned_at else None,
    }
