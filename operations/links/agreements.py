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

Across deployments (partner_kind `instance`, the partner named by its instance public-key
document, its base URL and its tenant slug there) each deployment writes its own row and each
step travels as a request signed by the instance key (operations/links/remote.py): the
proposal carries the proposer's public keys; the accepting side makes the aid-token key and
sends it sealed (HPKE) to the proposer's transport key; the proposer checks that decisions,
ends and tokens are signed by the key its admin named. A step's request is sent before the
caller's transaction commits: if the other deployment does not take it, nothing changes here
(502). Ending is the exception: it always ends here, and tells the other side if it can.
"""

from __future__ import annotations

import base64
import logging
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

log = logging.getLogger(__name__)

EVENT_SERVICE = "whistleblowing"
AID_KEY_FIELD = "aid_key"


@dataclass(frozen=True)
class Proposal:
    partner: str  # a tenant slug of this deployment
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class RemoteProposal:
    partner_url: str  # the other deployment's base URL
    partner_tenant: str  # the tenant's slug there
    instance_key: str  # its `replika instance public-key` document
    scopes: tuple[str, ...]


def parse_remote_proposal(body: Any) -> RemoteProposal:
    """{"partner_url", "partner_tenant", "instance_key", "scopes"}; 422 naming the field."""
    from operations.links import remote

    if not isinstance(body, dict):
        raise Refused(422, "the body must be an object", "partner_url")
    errors = []
    url = body.get("partner_url")
    try:
        url = remote.check_base_url(url if isinstance(url, str) else "")
    except Refused as exc:
        errors.append({"field": "partner_url", "reason": str(exc)})
        url = ""
    slug = body.get("partner_tenant")
    if not isinstance(slug, str) or not (2 <= len(slug.strip()) <= 63):
        errors.append({"field": "partner_tenant", "reason": "the city's slug there"})
        slug = ""
    document = body.get("instance_key")
    try:
        remote.read_instance(document if isinstance(document, str) else "")
    except Refused as exc:
        errors.append({"field": "instance_key", "reason": str(exc)})
    try:
        scopes = parse_proposal({"partner": "xx", "scopes": body.get("scopes")}).scopes
    except Refused as exc:
        errors += exc.errors or []
        scopes = ()
    if errors:
        raise Refused(422, "the proposal is not valid", errors[0]["field"], errors=errors)
    return RemoteProposal(url, slug.strip().lower(), str(document), scopes)


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
        _tell_partner(
            row,
            "decision",
            {
                "accept": accept,
                "sealed_key": remote_seal(key, row) if key is not None else None,
            },
        )
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
    else:
        from operations.links.remote import PartnerUnavailable

        try:
            _tell_partner(row, "end", {})
        except PartnerUnavailable as exc:
            # ending never waits for the other side: its requests are refused from now on
            log.warning("links: agreement %s ended here; the other side not told: %s", row.id, exc)
    apply(row)
    _emit(uw, PLATFORM_LINK_ENDED, row, actor)
    return row


# -- across deployments ------------------------------------------------------------------------


def _tell_partner(row: Agreement, step: str, payload: dict[str, Any]) -> dict[str, Any]:
    from operations.links import remote

    assert row.partner_url and row.partner_tenant
    return remote.post(
        row.partner_url,
        remote.tenant_path(row.partner_tenant, f"/{row.id}/{step}"),
        {"agreement_id": str(row.id), **payload},
    )


def remote_seal(key: bytes, row: Agreement) -> str:
    from operations.links import remote

    if row.partner_transport_key is None:
        raise Refused(409, "the other deployment's transport key is not known")
    return remote.seal_key(key, row.partner_transport_key, row.id)


def propose_remote(uw: UnitOfWork, actor: str, proposal: RemoteProposal, own_url: str) -> Agreement:
    """An agreement proposed to a tenant of another deployment: sent there, signed, now."""
    from operations.links import remote

    partner = remote.read_instance(proposal.instance_key)
    own = remote.own_instance()
    if partner.id == own.id:
        raise Refused(
            422, "this is this deployment's own key: link to its city by slug", "instance_key"
        )
    live = uw.session.scalars(
        select(Agreement).where(Agreement.partner == partner.id, Agreement.status.in_(LIVE))
    ).all()
    if any(r.partner_tenant == proposal.partner_tenant for r in live):
        raise Refused(
            409, "an agreement with this city is already proposed or active", "partner_tenant"
        )
    if live:
        # one live agreement per partner key (index link_agreements_live_partner)
        raise Refused(
            409, "an agreement with that deployment is already proposed or active", "instance_key"
        )
    tenant = uw.tenant
    row = Agreement(
        tenant_id=tenant.id,
        id=uuid.uuid4(),
        partner=partner.id,
        partner_kind="instance",
        partner_tenant=proposal.partner_tenant,
        partner_url=proposal.partner_url,
        partner_signing_key=partner.signing_key,
        partner_transport_key=partner.transport_key,
        partner_name=proposal.partner_tenant,  # until the other side answers with its name
        direction="outgoing",
        status="proposed",
        scopes=list(proposal.scopes),
        proposed_by=actor,
        created_at=utcnow(),
    )
    answer = remote.post(
        proposal.partner_url,
        remote.tenant_path(proposal.partner_tenant, "/proposals"),
        {
            "agreement_id": str(row.id),
            "tenant": tenant.slug,
            "name": tenant.display_name,
            "url": own_url,
            "scopes": list(proposal.scopes),
            "signing_key": base64.b64encode(own.signing_key).decode(),
            "transport_key": base64.b64encode(own.transport_key).decode(),
        },
    )
    name = answer.get("name") if isinstance(answer, dict) else None
    if isinstance(name, str) and 0 < len(name) <= 200:
        row.partner_name = name
    uw.session.add(row)
    _emit(uw, PLATFORM_LINK_PROPOSED, row, actor)
    return row


def _remote_actor(slug: str, instance_id: str) -> str:
    """Who acted on the other deployment, as recorded here: its city and key (no person)."""
    return f"{slug[:50]}@{instance_id.removeprefix('sha256:')[:16]}"


def _text(body: dict[str, Any], name: str, longest: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not (1 <= len(value.strip()) <= longest):
        raise Refused(422, f"{name} is missing", name)
    return value.strip()


def receive_proposal(uw: UnitOfWork, path: str, headers: Any, raw: bytes, body: Any) -> Agreement:
    """A proposal from a tenant of another deployment, signed by the key it carries. Kept as
    an incoming proposal; this city's admin compares the key's fingerprint out of band before
    accepting (the page shows it)."""
    from operations.links import remote

    if not isinstance(body, dict):
        raise Refused(422, "the body must be an object")
    try:
        signing = base64.b64decode(_text(body, "signing_key", 100), validate=True)
        transport = base64.b64decode(_text(body, "transport_key", 2000), validate=True)
        agreement_id = uuid.UUID(_text(body, "agreement_id", 36))
    except ValueError:
        raise Refused(422, "the proposal's keys or id are not valid") from None
    remote.verify(uw.session, uw.tenant.id, path, headers, raw, signing)
    partner = remote.Instance(signing, transport)
    url = remote.check_base_url(_text(body, "url", 300))
    scopes = parse_proposal({"partner": "xx", "scopes": body.get("scopes")}).scopes
    slug, name = _text(body, "tenant", 63), _text(body, "name", 200)
    if uw.session.scalars(
        select(Agreement).where(Agreement.partner == partner.id, Agreement.status.in_(LIVE))
    ).first():
        raise Refused(409, "an agreement with that deployment is already proposed or active")
    if uw.session.get(Agreement, (uw.tenant.id, agreement_id)) is not None:
        raise Refused(409, "this agreement is known here already")
    row = Agreement(
        tenant_id=uw.tenant.id,
        id=agreement_id,
        partner=partner.id,
        partner_kind="instance",
        partner_tenant=slug,
        partner_url=url,
        partner_signing_key=signing,
        partner_transport_key=transport,
        partner_name=name,
        direction="incoming",
        status="proposed",
        scopes=list(scopes),
        proposed_by=_remote_actor(slug, partner.id),
        created_at=utcnow(),
    )
    uw.session.add(row)
    _emit(uw, PLATFORM_LINK_PROPOSED, row, "system")  # who: the row's proposed_by
    return row


def remote_row(
    uw: UnitOfWork, agreement_id: uuid.UUID, path: str, headers: Any, raw: bytes
) -> Agreement:
    from operations.links import remote

    row = uw.session.scalars(
        select(Agreement).where(Agreement.id == agreement_id).with_for_update()
    ).one_or_none()
    if row is None or row.partner_kind != "instance" or row.partner_signing_key is None:
        raise Refused(404, "no such agreement")
    remote.verify(uw.session, uw.tenant.id, path, headers, raw, row.partner_signing_key)
    return row


def receive_decision(
    uw: UnitOfWork, agreement_id: uuid.UUID, path: str, headers: Any, raw: bytes, body: Any
) -> Agreement:
    """The other deployment's admin accepted or declined this city's proposal; an acceptance
    sharing aid tokens carries the key, sealed to this deployment's transport key."""
    from operations.links import remote

    row = remote_row(uw, agreement_id, path, headers, raw)
    accept = body.get("accept") if isinstance(body, dict) else None
    if not isinstance(accept, bool):
        raise Refused(422, "say whether the agreement is accepted", "accept")
    if row.direction != "outgoing" or row.status != "proposed":
        raise Refused(409, f"the agreement is {row.status} here")
    actor = _remote_actor(row.partner_tenant or "", row.partner)
    row.status, row.decided_by, row.decided_at = (
        ("active" if accept else "declined"),
        actor,
        utcnow(),
    )
    if accept and "aid_tokens" in row.scopes:
        sealed = body.get("sealed_key")
        if not isinstance(sealed, str):
            raise Refused(422, "the aid-token key is missing", "sealed_key")
        _store_key(uw.session, row, remote.open_key(sealed, row.id))
    _emit(uw, PLATFORM_LINK_ACCEPTED if accept else PLATFORM_LINK_DECLINED, row, "system")
    return row


def receive_end(
    uw: UnitOfWork, agreement_id: uuid.UUID, path: str, headers: Any, raw: bytes
) -> Agreement:
    row = remote_row(uw, agreement_id, path, headers, raw)
    if row.status in LIVE:
        actor = _remote_actor(row.partner_tenant or "", row.partner)
        row.status, row.ended_by, row.ended_at, row.aid_key = "ended", actor, utcnow(), None
        _emit(uw, PLATFORM_LINK_ENDED, row, "system")  # who: the row's ended_by
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
        "partner_tenant": row.partner_tenant,
        "partner_url": row.partner_url,
        "created_at": row.created_at.isoformat(),
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
        "ended_at": row.ended_at.isoformat() if row.ended_at else None,
    }
