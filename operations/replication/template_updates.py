"""Templates that keep cities aligned (issue 23, item 5).

A template city (the tenant a replica was copied from) publishes **signed updates** of its
template: report categories, programmes (with their kind: hibah or bansos), required documents,
texts and the attachments' types. An update is a document of the template items that changed
since its previous update (`{"path", "old", "new"}` each), signed with the deployment's Ed25519
key (`operations/tenant_move.signing_private_key`, the key that signs tenant bundles).

A replica (a follower of the template city: recorded on both sides when it is provisioned from
it, or by `follow`; on another deployment by `follow_remote`) receives the signed document as
an **offer**: the signature is checked on receipt (by a key this deployment trusts: its own, or
one listed in `REPLIKA_TEMPLATE_SIGNERS`), and so is its origin: only the template city the
replica follows (its own `template_following` row, signed by that city's deployment) is
accepted. A tampered, foreign or other city's document is refused (422) and stores nothing. The
replica's admin can stop following and follow again (`set_following`, audited:
`platform.template.unfollowed.v1` / `.followed.v1`). The offer's items are the diff
against the replica's own settings at receipt (old: the replica's value, new: the template's);
what the replica already has is not offered. Nothing changes in a replica without its admin:
each item is accepted (saved through `config_admin.update`, the one save; a security setting
still waits for a second admin) or declined. An item whose setting the replica changed after
the offer arrived is not applied (409): the city's own later edit wins over an old offer, and
a newer update for the same setting supersedes the older item.

Across deployments the same signed document travels as a file (the `bundle` of an update);
the replica's admin posts it, and the same receipt checks it.

Events: `platform.template.published.v1` (template city), `platform.template.offered.v1`,
`.accepted.v1`, `.declined.v1` (replica): ids, setting paths and digests, never values.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import JSON, Boolean, Integer, String, Text, Uuid, func, select
from sqlalchemy.orm import Mapped, mapped_column

from operations.replication.models import Base
from shared.db import TenantOwned, utcnow
from shared.event_types import (
    PLATFORM_TEMPLATE_ACCEPTED,
    PLATFORM_TEMPLATE_DECLINED,
    PLATFORM_TEMPLATE_FOLLOWED,
    PLATFORM_TEMPLATE_OFFERED,
    PLATFORM_TEMPLATE_PUBLISHED,
    PLATFORM_TEMPLATE_UNFOLLOWED,
)
from shared.problem import Refused
from shared.uow import UnitOfWork

FORMAT = "replika-template-update"
VERSION = 1
SIGNED_PREFIX = b"replika template update v1\n"
SIGNERS_ENV = "REPLIKA_TEMPLATE_SIGNERS"

# Lists of items keyed by their code: one template item per code.
LIST_PATHS = (
    "services/whistleblowing/categories",
    "services/hibah_bansos/required_documents",
    "services/hibah_bansos/programmes",
)
# Settings offered as one value each.
VALUE_PATHS = ("services/whistleblowing/attachments/types",)
TEXTS = "texts"  # texts/<lang>/<key>


# --- tables (migration t001) --------------------------------------------------------------------


class TemplateUpdate(TenantOwned, Base):
    """An update published by the template city (its tenant_id)."""

    __tablename__ = "template_updates"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    seq: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict] = mapped_column(JSON)
    signature: Mapped[str] = mapped_column(Text)  # base64 Ed25519 over SIGNED_PREFIX + document
    signer: Mapped[str] = mapped_column(String(80))  # sha256:<fingerprint of the public key>
    snapshot: Mapped[dict] = mapped_column(JSON)  # every template item as published
    published_by: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)


class TemplateFollower(TenantOwned, Base):
    """A replica of the template city (tenant_id: the template city)."""

    __tablename__ = "template_followers"
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    follower_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    follower_slug: Mapped[str] = mapped_column(String(63))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TemplateFollowing(TenantOwned, Base):
    """The template city a replica follows (tenant_id: the replica; migration t002): its own
    record, so a received update is checked against it on either deployment."""

    __tablename__ = "template_following"
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    template: Mapped[str] = mapped_column(String(63))
    template_tenant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # None: elsewhere
    signer: Mapped[str | None] = mapped_column(String(80))  # None: this deployment's key
    active: Mapped[bool] = mapped_column(Boolean)
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class TemplateOffer(TenantOwned, Base):
    """A signed update received by a replica (its tenant_id), with its items:
    [{"path", "kind", "old", "new", "status", "decided_by", "decided_at", "version",
    "pending_id"}]; status offered|accepted|proposed|declined|superseded."""

    __tablename__ = "template_offers"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    update_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    template: Mapped[str] = mapped_column(String(63))
    seq: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict] = mapped_column(JSON)
    signature: Mapped[str] = mapped_column(Text)
    signer: Mapped[str] = mapped_column(String(80))
    items: Mapped[list[dict]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- template items (pure) ----------------------------------------------------------------------


def _node(config: dict[str, Any], path: str) -> Any:
    node: Any = config
    for key in path.split("/"):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def items_of(config: dict[str, Any]) -> dict[str, Any]:
    """Every template item of `config` by its path (`services/whistleblowing/categories/korupsi`,
    `texts/id/<key>`, `services/whistleblowing/attachments/types`)."""
    out: dict[str, Any] = {}
    for path in LIST_PATHS:
        for item in _node(config, path) or []:
            if isinstance(item, dict) and isinstance(item.get("code"), str):
                out[f"{path}/{item['code']}"] = item
    for path in VALUE_PATHS:
        value = _node(config, path)
        if value is not None:
            out[path] = value
    for lang, texts in (config.get(TEXTS) or {}).items():
        for key, text in (texts or {}).items():
            out[f"{TEXTS}/{lang}/{key}"] = text
    return out


def item_value(config: dict[str, Any], path: str) -> Any:
    return items_of(config).get(path)


def applies_to(config: dict[str, Any], path: str) -> bool:
    """Whether the replica has the part of the settings `path` is in (a city that does not
    run grants and aid is offered none of their items)."""
    if path.startswith("services/"):
        return isinstance(_node(config, "/".join(path.split("/")[:2])), dict)
    return True


def with_item(config: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `config` with the item at `path` set to `value` (None: taken out)."""
    new = copy.deepcopy(config)
    for prefix in LIST_PATHS:
        if path.startswith(prefix + "/"):
            code = path[len(prefix) + 1 :]
            *parents, last = prefix.split("/")
            node = new
            for key in parents:
                node = node.setdefault(key, {})
            items = list(node.get(last) or [])
            at = next((i for i, it in enumerate(items) if it.get("code") == code), None)
            if value is None:
                if at is not None:
                    items.pop(at)
            elif at is None:
                items.append(copy.deepcopy(value))
            else:
                items[at] = copy.deepcopy(value)
            node[last] = items
            return new
    *parents, last = path.split("/")
    node = new
    for key in parents:
        node = node.setdefault(key, {})
    if value is None:
        node.pop(last, None)
    else:
        node[last] = copy.deepcopy(value)
    if path.startswith(TEXTS + "/") and not node:
        new[TEXTS].pop(parents[1], None)
        if not new[TEXTS]:
            new.pop(TEXTS)
    return new


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """[{"path", "old", "new"}] of the items that differ (None: absent), by path."""
    return [
        {"path": p, "old": old.get(p), "new": new.get(p)}
        for p in sorted(set(old) | set(new))
        if old.get(p) != new.get(p)
    ]


def kind_of(old: Any, new: Any) -> str:
    return "added" if old is None else "removed" if new is None else "changed"


# --- signing ------------------------------------------------------------------------------------


def canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def document_digest(document: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(document)).hexdigest()


def _signing_key():
    from operations import tenant_move  # the deployment's key that signs its bundles

    return tenant_move.signing_private_key(create=True)


def _fingerprint(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def own_signer() -> str:
    from operations import tenant_move

    return _fingerprint(tenant_move.deployment_signing_key())


def trusted_signers() -> set[str]:
    """This deployment's own key, and the keys of other deployments whose template updates its
    operator trusts (`REPLIKA_TEMPLATE_SIGNERS`: comma-separated `sha256:` fingerprints, as
    `replika instance public-key` prints them)."""
    others = {s.strip() for s in os.environ.get(SIGNERS_ENV, "").split(",") if s.strip()}
    return {own_signer(), *others}


def sign(document: dict[str, Any]) -> dict[str, Any]:
    """The bundle: the document, its signature and the signer's public key."""
    from cryptography.hazmat.primitives import serialization as s

    key = _signing_key()
    raw = key.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)
    return {
        "document": document,
        "signature": base64.b64encode(key.sign(SIGNED_PREFIX + canonical(document))).decode(),
        "signer_key": base64.b64encode(raw).decode(),
        "signer": _fingerprint(raw),
    }


TAMPERED = (
    "The template update's signature does not match its content: it was altered after the "
    "template city signed it. Nothing was changed; ask the template city for the update again."
)


def verify(bundle: Any) -> tuple[dict[str, Any], str, str]:
    """(document, signature, signer fingerprint) of a bundle whose signature checks by a key
    this deployment trusts; otherwise Refused (422), naming what is wrong."""
    if not isinstance(bundle, dict) or not isinstance(bundle.get("document"), dict):
        raise Refused(422, "Not a template update: a document is required.", "document")
    try:
        raw = base64.b64decode(str(bundle.get("signer_key", "")), validate=True)
        signature = base64.b64decode(str(bundle.get("signature", "")), validate=True)
        key = Ed25519PublicKey.from_public_bytes(raw)
    except Exception:
        raise Refused(422, "The template update carries no valid signature.", "signature") from None
    signer = _fingerprint(raw)
    if signer not in trusted_signers():
        raise Refused(
            422,
            f"The template update is signed by a key this deployment does not trust ({signer}). "
            "Nothing was changed.",
            "signer",
        )
    document = bundle["document"]
    try:
        key.verify(signature, SIGNED_PREFIX + canonical(document))
    except InvalidSignature:
        raise Refused(422, TAMPERED, "signature") from None
    if document.get("format") != FORMAT or document.get("version") != VERSION:
        raise Refused(422, "Not a template update of a known format.", "document")
    changes = document.get("changes")
    if not isinstance(changes, list) or not all(
        isinstance(c, dict) and isinstance(c.get("path"), str) for c in changes
    ):
        raise Refused(422, "The template update lists no changes.", "document")
    return document, base64.b64encode(signature).decode(), signer


# --- the template city --------------------------------------------------------------------------


def latest(session) -> TemplateUpdate | None:
    return session.execute(
        select(TemplateUpdate).order_by(TemplateUpdate.seq.desc()).limit(1)
    ).scalar()


def published(session) -> list[TemplateUpdate]:
    return list(
        session.execute(select(TemplateUpdate).order_by(TemplateUpdate.seq.desc())).scalars()
    )


def followers(session) -> list[TemplateFollower]:
    return list(
        session.execute(select(TemplateFollower).order_by(TemplateFollower.follower_slug)).scalars()
    )


def draft(session, tenant) -> list[dict[str, Any]]:
    """What an update published now would carry: the items changed since the last update (all
    of them before the first)."""
    from operations.replication import config_admin

    last = latest(session)
    now = items_of(config_admin.current(session, tenant).config)
    return diff(last.snapshot if last else {}, now)


def publish(uow: UnitOfWork, actor: str) -> TemplateUpdate:
    """Sign and record the next update of the uow's (template) city; the caller commits, then
    `deliver`s it to the followers."""
    from operations.replication import config_admin

    session, tenant = uow.session, uow.tenant
    session.execute(select(func.pg_advisory_xact_lock(_lock_key(tenant.id))))
    last = latest(session)
    snapshot = items_of(config_admin.current(session, tenant).config)
    changes = diff(last.snapshot if last else {}, snapshot)
    if not changes:
        raise Refused(
            409,
            "Nothing to publish: the template is as its last update published it.",
            "changes",
        )
    update_id = uuid.uuid4()
    seq = (last.seq if last else 0) + 1
    document = {
        "format": FORMAT,
        "version": VERSION,
        "update_id": str(update_id),
        "template": tenant.slug,
        "template_tenant_id": str(tenant.id),
        "seq": seq,
        "published_at": utcnow().isoformat(),
        "changes": changes,
    }
    bundle = sign(document)
    row = TemplateUpdate(
        id=update_id,
        tenant_id=tenant.id,
        seq=seq,
        document=document,
        signature=bundle["signature"],
        signer=bundle["signer"],
        snapshot=snapshot,
        published_by=actor,
    )
    session.add(row)
    uow.emit(
        PLATFORM_TEMPLATE_PUBLISHED,
        f"template:{tenant.id}",
        actor,
        {
            "tenant_id": str(tenant.id),
            "slug": tenant.slug,
            "update_id": str(update_id),
            "seq": seq,
            "digest": document_digest(document),
            "signer": bundle["signer"],
            "paths": [c["path"] for c in changes],
            "followers": len(followers(session)),
        },
    )
    return row


def bundle_of(row: TemplateUpdate) -> dict[str, Any]:
    """The signed update as it travels (a file between deployments)."""
    from operations import tenant_move

    return {
        "document": row.document,
        "signature": row.signature,
        "signer_key": base64.b64encode(tenant_move.deployment_signing_key()).decode(),
        "signer": row.signer,
    }


def _lock_key(tenant_id: uuid.UUID) -> int:
    return int.from_bytes(
        hashlib.sha256(b"template-update:" + tenant_id.bytes).digest()[:8], "big", signed=True
    )


# --- delivery on this deployment ----------------------------------------------------------------


def _tenant_row(slug: str):
    from operations.service_models import models_of
    from shared.db import service_engine, session_factory

    model = models_of("whistleblowing").TenantRow
    with session_factory(service_engine("whistleblowing", migration=True))() as session:
        row = session.execute(select(model).where(model.slug == slug)).scalar_one_or_none()
        if row is None:
            raise Refused(404, f"No tenant {slug!r} on this deployment.", "slug")
        session.expunge(row)
        return row


def _set_follower(template_id: uuid.UUID, replica_id: uuid.UUID, replica_slug: str,
                  on: bool) -> None:  # fmt: skip
    """The template city's side (its own transaction, in its tenant session): `replica` in its
    list of followers, or not."""
    from shared.db import service_engine, session_factory, tenant_session

    factory = session_factory(service_engine("whistleblowing"))
    with tenant_session(factory, template_id) as session:
        row = session.get(TemplateFollower, (template_id, replica_id))
        if on and row is None:
            session.add(
                TemplateFollower(
                    tenant_id=template_id, follower_id=replica_id, follower_slug=replica_slug
                )
            )
        elif not on and row is not None:
            session.delete(row)
        session.commit()


def follow(template_slug: str, replica_slug: str, actor: str = "system") -> None:
    """Record `replica_slug` as a follower of `template_slug`, on both sides (idempotent): it
    is then offered the template city's updates, and accepts them from that city only."""
    from operations.service_models import models_of  # noqa: F401 - models loaded for the engine
    from shared.db import service_engine, session_factory, tenant_session

    template, replica = _tenant_row(template_slug), _tenant_row(replica_slug)
    _set_follower(template.id, replica.id, replica.slug, True)
    factory = session_factory(service_engine("whistleblowing"))
    with tenant_session(factory, replica.id) as session:
        row = session.get(TemplateFollowing, replica.id)
        if row is None:
            row = TemplateFollowing(tenant_id=replica.id)
            session.add(row)
        row.template, row.template_tenant_id, row.signer = template.slug, template.id, None
        row.active, row.changed_by, row.changed_at = True, actor, utcnow()
        session.commit()


def following(session) -> TemplateFollowing | None:
    """Whom the session's (replica) city follows, active or stopped; None: no template city."""
    return session.execute(select(TemplateFollowing)).scalar_one_or_none()


def _following_event(uow: UnitOfWork, row: TemplateFollowing, type_: str, actor: str) -> None:
    uow.emit(
        type_,
        f"template-following:{uow.tenant.id}",
        actor,
        {
            "tenant_id": str(uow.tenant.id),
            "slug": uow.tenant.slug,
            "template": row.template,
            "template_tenant_id": str(row.template_tenant_id) if row.template_tenant_id else None,
            "signer": row.signer or own_signer(),
        },
    )


def set_following(uow: UnitOfWork, active: bool, actor: str) -> TemplateFollowing:
    """The replica's admin stops following its template city (its updates are refused from
    then on; what was received stays) or follows it again. On this deployment the template
    city's list of followers follows suit, so it offers its updates (or not)."""
    row = following(uow.session)
    if row is None:
        raise Refused(404, "This city follows no template city.", "template")
    if row.active == active:
        raise Refused(
            409,
            "This city already follows its template city."
            if active
            else "This city already stopped following its template city.",
            "active",
        )
    row.active, row.changed_by, row.changed_at = active, actor, utcnow()
    _following_event(
        uow, row, PLATFORM_TEMPLATE_FOLLOWED if active else PLATFORM_TEMPLATE_UNFOLLOWED, actor
    )
    if row.template_tenant_id is not None:
        _set_follower(row.template_tenant_id, uow.tenant.id, uow.tenant.slug, active)
    return row


def follow_remote(uow: UnitOfWork, template: str, signer: str, actor: str) -> TemplateFollowing:
    """The replica follows a template city on another deployment, named by its slug and the
    fingerprint of that deployment's key (which this deployment must trust): updates are then
    received (posted as signed files) from that city only."""
    if signer not in trusted_signers() or signer == own_signer():
        raise Refused(
            422,
            f"The key {signer} is not one of the other deployments this deployment trusts "
            f"({SIGNERS_ENV}).",
            "signer",
        )
    if template == uow.tenant.slug:
        raise Refused(422, "A city does not follow its own template.", "template")
    row = following(uow.session)
    if row is None:
        row = TemplateFollowing(tenant_id=uow.tenant.id)
        uow.session.add(row)
    elif row.template_tenant_id is not None:
        _set_follower(row.template_tenant_id, uow.tenant.id, uow.tenant.slug, False)
    row.template, row.template_tenant_id, row.signer = template, None, signer
    row.active, row.changed_by, row.changed_at = True, actor, utcnow()
    _following_event(uow, row, PLATFORM_TEMPLATE_FOLLOWED, actor)
    return row


def check_from_followed(session, document: dict[str, Any], template: str, signer: str) -> None:
    """Refused (422, naming why; nothing is stored) unless the update comes from the template
    city this city follows, signed by the key of the deployment that city is on."""
    row = following(session)
    if row is None:
        raise Refused(
            422,
            f"This city follows no template city, so the update from {template} was refused. "
            "Nothing was stored.",
            "template",
        )
    if not row.active:
        raise Refused(
            422,
            f"This city stopped following the template of {row.template}, so the update from "
            f"{template} was refused. Nothing was stored; follow it again to receive updates.",
            "template",
        )
    same_city = template == row.template and (
        row.template_tenant_id is None
        or str(document.get("template_tenant_id")) == str(row.template_tenant_id)
    )
    if not same_city:
        raise Refused(
            422,
            f"This city follows the template of {row.template}, not of {template}: the update "
            "was refused. Nothing was stored.",
            "template",
        )
    if signer != (row.signer or own_signer()):
        raise Refused(
            422,
            f"The update is signed by {signer}, not by the deployment {row.template} is on. "
            "Nothing was stored.",
            "signer",
        )


@dataclass(frozen=True)
class Delivered:
    slug: str
    offer_id: str | None  # None: delivery failed (`problem` says why)
    items: int = 0
    problem: str | None = None


def deliver(bundle: dict[str, Any], to: list[TemplateFollower]) -> list[Delivered]:
    """Offer a published update to each follower on this deployment, each in a transaction of
    its own (the replica's: its offer and its `offered` event together); one failing does not
    stop the others, and delivering again is refused as already received."""
    from operations.service_models import models_of
    from shared.db import service_engine, session_factory, tenant_session
    from shared.tenancy import Tenant

    out = []
    factory = session_factory(service_engine("whistleblowing"))
    for f in to:
        row = _tenant_row(f.follower_slug)
        tenant = Tenant(id=row.id, slug=row.slug, config=row.config)
        with tenant_session(factory, tenant.id) as session:
            uow = UnitOfWork(
                session, tenant, "whistleblowing", models_of("whistleblowing").OutboxRow
            )
            try:
                offer = receive(uow, bundle, "system")
                uow.commit()
            except Refused as exc:
                uow.rollback()
                out.append(Delivered(f.follower_slug, None, problem=str(exc)))
                continue
            out.append(Delivered(f.follower_slug, str(offer.id), len(offer.items)))
    return out


# --- the replica --------------------------------------------------------------------------------


def offers(session) -> list[TemplateOffer]:
    return list(
        session.execute(
            select(TemplateOffer).order_by(TemplateOffer.seq.desc(), TemplateOffer.received_at)
        ).scalars()
    )


def receive(uow: UnitOfWork, bundle: Any, actor: str) -> TemplateOffer:
    """Check a signed update and keep it as an offer of the uow's (replica) city: the items
    whose template value differs from the city's own, old (the city's) → new (the template's).
    A newer update's item supersedes an older one still offered for the same setting."""
    from operations.replication import config_admin

    document, signature, signer = verify(bundle)
    session, tenant = uow.session, uow.tenant
    try:
        update_id = uuid.UUID(str(document.get("update_id")))
        seq = int(document["seq"])
        template = str(document["template"])
    except (KeyError, TypeError, ValueError):
        raise Refused(422, "The template update names no update.", "document") from None
    if template == tenant.slug:
        raise Refused(422, "A city does not receive its own template updates.", "template")
    check_from_followed(session, document, template, signer)
    session.execute(select(func.pg_advisory_xact_lock(_lock_key(tenant.id))))
    if session.execute(
        select(TemplateOffer.id).where(TemplateOffer.update_id == update_id)
    ).first():
        raise Refused(409, "This template update was already received.", "update_id")
    config = config_admin.current(session, tenant).config
    mine = items_of(config)
    items = []
    for change in document["changes"]:
        path, new = change["path"], change.get("new")
        if not applies_to(config, path) or mine.get(path) == new:
            continue  # not this city's part, or it already has it
        old = mine.get(path)
        items.append({"path": path, "kind": kind_of(old, new), "old": old, "new": new,
                      "status": "offered"})  # fmt: skip
    paths = {i["path"] for i in items}
    for earlier in offers(session):
        if earlier.template != template or earlier.seq >= seq:
            continue
        if any(i["status"] == "offered" and i["path"] in paths for i in earlier.items):
            earlier.items = [
                {**i, "status": "superseded"}
                if i["status"] == "offered" and i["path"] in paths
                else i
                for i in earlier.items
            ]
    offer = TemplateOffer(
        id=uuid.uuid4(),
        tenant_id=tenant.id,
        update_id=update_id,
        template=template,
        seq=seq,
        document=document,
        signature=signature,
        signer=signer,
        items=items,
    )
    session.add(offer)
    uow.emit(
        PLATFORM_TEMPLATE_OFFERED,
        f"template-offer:{offer.id}",
        actor,
        {
            "tenant_id": str(tenant.id),
            "slug": tenant.slug,
            "offer_id": str(offer.id),
            "update_id": str(update_id),
            "template": template,
            "seq": seq,
            "digest": document_digest(document),
            "signer": signer,
            "paths": sorted(paths),
        },
    )
    return offer


def settled(session, offer: TemplateOffer) -> list[dict[str, Any]]:
    """The offer's items as they stand: an item accepted while a security setting waited for a
    second admin ("proposed") is "accepted" once that admin approved the change (with the
    version it was saved as), "rejected" when they rejected it."""
    from operations.replication.models import TenantConfigPending

    out = []
    for item in offer.items:
        if item["status"] == "proposed" and item.get("pending_id"):
            row = session.get(TenantConfigPending, uuid.UUID(item["pending_id"]))
            if row is not None and row.status == "approved":
                item = {**item, "status": "accepted", "version": row.version,
                        "decided_at": row.decided_at.isoformat() if row.decided_at else None}  # fmt: skip
            elif row is not None and row.status == "rejected":
                item = {**item, "status": "rejected"}
        out.append(item)
    return out


def _offer_item(session, offer_id: str, index: int) -> tuple[TemplateOffer, dict[str, Any]]:
    try:
        key = uuid.UUID(str(offer_id))
    except ValueError:
        raise Refused(404, "No such template offer.") from None
    offer = session.get(TemplateOffer, key, with_for_update=True)
    if offer is None or not 0 <= index < len(offer.items):
        raise Refused(404, "No such template offer.")
    item = offer.items[index]
    if item["status"] != "offered":
        raise Refused(409, f"This change was already {item['status']}.", "status")
    return offer, item


def _decided(offer: TemplateOffer, index: int, **values: Any) -> None:
    items = [dict(i) for i in offer.items]
    items[index].update(values, decided_at=utcnow().isoformat())
    offer.items = items  # a new list: the JSON column is written


@dataclass(frozen=True)
class Accepted:
    status: str  # accepted|proposed
    version: int
    pending_id: str | None = None


def accept(uow: UnitOfWork, offer_id: str, index: int, actor: str) -> Accepted:
    """The replica's admin takes one offered change: saved through the one settings save
    (`config_admin.update`; a security setting waits for a second admin). Refused (409) when
    the city changed that setting after the offer arrived: its own edit is kept."""
    from operations.replication import config_admin

    offer, item = _offer_item(uow.session, offer_id, index)
    cur = config_admin.current(uow.session, uow.tenant)
    if item_value(cur.config, item["path"]) != item["old"]:
        raise Refused(
            409,
            "Your city changed this setting after the template update was offered; the offer "
            "no longer applies and your setting is kept. Decline it, or edit the setting "
            "yourself.",
            "path",
        )
    new = with_item(cur.config, item["path"], item["new"])
    uow.emit(
        PLATFORM_TEMPLATE_ACCEPTED,
        f"template-offer:{offer.id}",
        actor,
        {
            "tenant_id": str(uow.tenant.id),
            "slug": uow.tenant.slug,
            "offer_id": str(offer.id),
            "update_id": str(offer.update_id),
            "template": offer.template,
            "path": item["path"],
            "base_version": cur.version,
        },
    )
    # decided in the same transaction as the save (update commits it)
    _decided(offer, index, status="accepted", decided_by=actor)
    saved = config_admin.update(uow, new, cur.version, actor)
    if isinstance(saved, config_admin.Proposed):
        _decided(offer, index, status="proposed", decided_by=actor, pending_id=saved.id)
        result = Accepted("proposed", saved.saved.version if saved.saved else cur.version, saved.id)
    else:
        _decided(offer, index, status="accepted", decided_by=actor, version=saved.version)
        result = Accepted("accepted", saved.version)
    uow.commit()
    return result


def decline(uow: UnitOfWork, offer_id: str, index: int, actor: str) -> None:
    offer, item = _offer_item(uow.session, offer_id, index)
    _decided(offer, index, status="declined", decided_by=actor)
    uow.emit(
        PLATFORM_TEMPLATE_DECLINED,
        f"template-offer:{offer.id}",
        actor,
        {
            "tenant_id": str(uow.tenant.id),
            "slug": uow.tenant.slug,
            "offer_id": str(offer.id),
            "update_id": str(offer.update_id),
            "template": offer.template,
            "path": item["path"],
        },
    )
