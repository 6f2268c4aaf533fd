"""Agreements between cities: the use cases (no Flask).

A tenant admin proposes an agreement to another tenant of this deployment (by its slug) or to
a tenant of another deployment (by that deployment's instance key: its public-key document,
`replika instance public-key`, whose Ed25519 signing key names it); the other side's tenant
admin accepts or declines; either side may end it. Each side keeps its own row with the same
id (shared/agreements.py) and records every step in its own audit ledger: one event per side
through that side's outbox (platform events, the whistleblowing outbox).

On one deployment both rows are written here: the partner's in a unit of work of its own
(its own tenant session, so row-level security binds it too), committed just before the
caller's (a failure between the two leaves a proposal the partner sees and can decline).

The aid-token key is made at acceptance (32 random bytes) and stored in both rows encrypted
under each row's record key (shared.crypto.FieldCipher): never in an event, a log or a body.
Across deployments the key cannot be made by one side alone without sending it: it is sealed
to the partner deployment then (left for later, see the module `web.py`).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.whistleblowing.models import OutboxRow, TenantRow
from shared.agreements import LIVE, SCOPES, TABLE, Agreement
from shared.crypto import FieldCipher
from shared.db import session_factory, tenant_session, utcnow
from shared.event_types import (
    PLATFORM_LINK_ACCEPTED,
    PLATFORM_LINK_DECLINED,
    PLATFORM_LINK_ENDED,
    PLATFORM_LINK_PROPOSED,
)
from shared.problem import Refused
from shared.tenancy import Tenant
from shared.uow import UnitOfWork

EVENT_SERVICE = "whistleblowing"
AID_KEY_FIELD = "aid_key"


@dataclass(frozen=True)
class Proposal:
    partner: str  # a tenant slug of this deployment
    scopes: tuple[str, ...]


def parse_proposal(body: Any) -> Proposal:
    """A proposal from a JSON body or a form: {"partner": slug, "scopes": [...]}; 422 naming
    the field otherwise."""
    if not isinstance(body, dict):
        raise Refused(422, "the body must be an object", "partner")
    errors = []
    partner = body.get("partner")
    if not isinstance(partner, str) or not (2 <= len(partner.strip()) <= 63):
        errors.append({"field": "partner", "reason": "name the other city by its slug"})
        partner = ""
    scopes = body.get("scopes")
    if isinstance(scopes, str):
        scopes = [scopes]
    if (
        not isinstance(scopes, list)
        or not scopes
        or not all(isinstance(s, str) and s in SCOPES for s in scopes)
    ):
        errors.append({"field": "scopes", "reason": f"one or more of {', '.join(SCOPES)}"})
        scopes = []
    if errors:
        raise Refused(422, "the proposal is not valid", errors[0]["field"], errors=errors)
    return Proposal(partner.strip().lower(), tuple(sorted(set(scopes))))


def _tenant_named(session: Session, slug: str) -> Tenant | None:
    row = session.scalars(select(TenantRow).where(TenantRow.slug == slug)).one_or_none()
    if row is None or not row.enabled:
        return None
    return Tenant(id=row.id, slug=row.slug, config=row.config)


def _event_data(row: Agreement) -> dict[str, Any]:
    return {
        "agreement_id": str(row.id),
        "partner": row.partner,
        "partner_kind": row.partner_kind,
        "direction": row.direction,
        "scopes": list(row.scopes),
    }


def _emit(uw: UnitOfWork, type_: str, row: Agreement, actor: str) -> None:
    uw.emit(type_, f"agreement:{row.id}", actor, _event_data(row))


def _on_partner_side(uw: UnitOfWork, partner: Tenant, change: Callable[[UnitOfWork], None]) -> None:
    """Run `change` in a unit of work of the partner tenant (same database, its own tenant
    session and transaction), committed now."""
    factory = session_factory(uw.session.get_bind())  # type: ignore[arg-type]
    with tenant_session(factory, partner.id) as session:
        partner_uw = UnitOfWork(session, partner, EVENT_SERVICE, OutboxRow)
        try:
            change(partner_uw)
            partner_uw.commit()
        except BaseException:
            partner_uw.rollback()
            raise


def get(session: Session, agreement_id: uuid.UUID, *, for_update: bool = False) -> Agreement:
    query = select(Agreement).where(Agreement.id == agreement_id)
    if for_update:
        query = query.with_for_update()
    row = session.scalars(query).one_or_none()
    if row is None:
        raise Refused(404, "no such agreement")
    return row


def list_all(session: Session) -> list[Agreement]:
    return list(session.scalars(select(Agreement).order_by(Agreement.created_at.desc())))


def propose(uw: UnitOfWork, actor: str, proposal: Proposal) -> Agreement:
    """An agreement proposed to another tenant of this deployment."""
    tenant = uw.tenant
    if proposal.partner == tenant.slug:
        raise Refused(422, "a city cannot link to itself", "partner")
    partner = _tenant_named(uw.session, proposal.partner)
    if partner is None:
        raise Refused(422, "no such city on this deployment", "partner")
    live = uw.session.scalars(
        select(Agreement).where(Agreement.partner == partner.slug, Agreement.status.in_(LIVE))
    ).first()
    if live is not None:
        raise Refused(409, "an agreement with this city is already proposed or active", "partner")
    agreement_id, now = uuid.uuid4(), utcnow()
    own = Agreement(
        tenant_id=tenant.id,
        id=agreement_id,
        partner=partner.slug,
        partner_kind="tenant",
        partner_name=partner.display_name,
        direction="outgoing",
        status="proposed",
        scopes=list(proposal.scopes),
        proposed_by=actor,
        created_at=now,
    )

    def mirror(puw: UnitOfWork) -> None:
        theirs = Agreement(
            tenant_id=partner.id,
            id=agreement_id,
            partner=tenant.slug,
            partner_kind="tenant",
            partner_name=tenant.display_name,
            direction="incoming",
            status="proposed",
            scopes=list(proposal.scopes),
            proposed_by=actor,
            created_at=now,
        )
        puw.session.add(theirs)
        _emit(puw, PLATFORM_LINK_PROPOSED, theirs, actor)

    _on_partner_side(uw, partner, mirror)
    uw.session.add(own)
    _emit(uw, PLATFORM_LINK_PROPOSED, own, actor)
    return own


def _partner_row(puw: UnitOfWork, agreement_id: uuid.UUID) -> Agreement:
    return get(puw.session, agreement_id, for_update=True)


def _partner_of(uw: UnitOfWork, row: Agreement) -> Tenant:
    partner = _tenant_named(uw.session, row.partner)
    if partner is None:
        raise Refused(409, "the other city is no longer on this deployment")
    return partner


def _store_key(session: Session, row: Agreement, key: bytes) -> None:
    row.aid_key = FieldCipher(session, row.tenant_id, TABLE, row.id).encrypt(AID_KEY_FIELD, key)


def aid_key(session: Session, row: Agreement) -> bytes:
    """The agreement's aid-token key, decrypted (operations/links/tokens.py only)."""
    if row.aid_key is None:
        raise Refused(409, "this agreement has no aid-token key")
    return FieldCipher(session, row.tenant_id, TABLE, row.id).decrypt(AID_KEY_FIELD, row.aid_key)


def decide(uw: UnitOfWork, actor: str, agreement_id: uuid.UUID, accept: bool) -> Agreement:
    """The receiving city's admin accepts or declines a proposal; recorded on both sides."""
    row = get(uw.session, agreement_id, for_update=True)
    if row.direction != "incoming":
        raise Refused(403, "only the city that received the proposal decides it")
    if row.status != "proposed":
        raise Refused(409, f"the agreement is {row.status}, not proposed")
    now = utcnow()
    status = "active" if accept else "declined"
    key = secrets.token_bytes(32) if accept and "aid_tokens" in row.scopes else None
    type_ = PLATFORM_LINK_ACCEPTED if accept else PLATFORM_LINK_DECLINED

    def apply(session: Session, target: Agreement, when: datetime) -> None:
        target.status, target.decided_by, target.decided_at = status, actor, when
        if key is not None:
            _store_key(session, target, key)

    def mirror(puw: UnitOfWork) -> None:
        theirs = _partner_row(puw, agreement_id)
        if theirs.status != "proposed":
            raise Refused(409, f"the other city's side is {theirs.status}")
        apply(puw.session, theirs, now)
        _emit(puw, type_, theirs, actor)

    if row.partner_kind == "tenant":
        _on_partner_side(uw, _partner_of(uw, row), mirror)
    else:
        raise Refused(501, "agreements with other deployments are decided there")
    apply(uw.session, row, now)
    _emit(uw, type_, row, actor)
    return row


def end(uw: UnitOfWork, actor: str, agreement_id: uuid.UUID) -> Agreement:
    """Either side ends a proposed or active agreement; recorded on both sides. The aid-token
    key is dropped on both: tokens made under it can no longer be made or matched."""
    row = get(uw.session, agreement_id, for_update=True)
    if row.status not in LIVE:
        raise Refused(409, f"the agreement is already {row.status}")
    now = utcnow()

    def apply(target: Agreement) -> None:
        target.status, target.ended_by, target.ended_at, target.aid_key = "ended", actor, now, None

    def mirror(puw: UnitOfWork) -> None:
        theirs = _partner_row(puw, agreement_id)
        if theirs.status in LIVE:
            apply(theirs)
            _emit(puw, PLATFORM_LINK_ENDED, theirs, actor)

    if row.partner_kind == "tenant":
        partner = _tenant_named(uw.session, row.partner)
        if partner is not None:
            _on_partner_side(uw, partner, mirror)
    apply(row)
    _emit(uw, PLATFORM_LINK_ENDED, row, actor)
    return row


def public_view(row: Agreement) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "partner": row.partner,
        "partner_kind": row.partner_kind,
        "partner_name": row.partner_name,
        "direction": row.direction,
        "status": row.status,
        "scopes": list(row.scopes),
        "created_at": row.created_at.isoformat(),
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
        "ended_at": row.ended_at.isoformat() if row.ended_at else None,
    }
