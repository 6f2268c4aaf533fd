"""Template updates over HTTP (thin handlers over template_updates), served by the whistleblowing
service beside the settings pages; `tenant_admin` only.

Template city ("Terbitkan pembaruan templat"):
    GET   /t/<tenant>/admin/settings/template                      what an update would carry, updates, followers
    POST  /t/<tenant>/admin/settings/template/publish              sign, record, offer to followers
    GET   /t/<tenant>/api/v1/admin/template                        {"changes", "followers", "updates"}
    POST  /t/<tenant>/api/v1/admin/template/updates                publish -> 201 {"update_id", "seq", "changes", "delivered", "bundle"}
    GET   /t/<tenant>/api/v1/admin/template/updates/<id>/bundle    the signed update (a file for another deployment)
Replica ("Pembaruan templat"):
    GET   /t/<tenant>/admin/settings/template-updates              offers as a diff, per item accept/decline
    POST  /t/<tenant>/admin/settings/template-updates/<offer>/<n>/accept|decline
    GET   /t/<tenant>/api/v1/admin/template-offers                 offers with their items
    POST  /t/<tenant>/api/v1/admin/template-offers                 receive a signed update (bundle) -> 201
    POST  /t/<tenant>/api/v1/admin/template-offers/<offer>/items/<n>/accept|decline
Either ("Mengikuti templat"):
    GET   /t/<tenant>/admin/settings/template-following            whom this city follows; its followers
    POST  /t/<tenant>/admin/settings/template-following/stop|follow stop following / follow again
    GET   /t/<tenant>/api/v1/admin/template-following              {"following", "followers"}
    POST  /t/<tenant>/api/v1/admin/template-following              {"active": bool} or, for a city on
                                                                    another deployment, {"template", "signer"}
"""

from __future__ import annotations

from typing import Any

import yaml
from flask import Blueprint, Response, abort, flash, g, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _

from operations.replication import template_updates as tu
from operations.replication.settings_web import _local_time, _setting_labels
from shared.auth import official_actor, require_roles
from shared.bodies import json_body
from shared.i18n import label
from shared.problem import Refused
from shared.request_context import ext
from shared.web import db, no_store, unit_of_work

bp = Blueprint("template_updates", __name__, template_folder="templates")
bp.after_request(no_store)
PAGE = "/t/<tenant>/admin/settings"
API = "/t/<tenant>/api/v1/admin"


# --- use cases as the handlers run them -----------------------------------------------------------


def publish_and_offer() -> tuple[tu.TemplateUpdate, list[tu.Delivered]]:
    with unit_of_work() as uw:
        row = tu.publish(uw, official_actor().pseudonym)
    return row, tu.deliver(tu.bundle_of(row), tu.followers(db()))


def receive(bundle: Any) -> tu.TemplateOffer:
    with unit_of_work() as uw:
        return tu.receive(uw, bundle, official_actor().pseudonym)


def accept(offer_id: str, index: int) -> tu.Accepted:
    with unit_of_work() as uw:
        done = tu.accept(uw, offer_id, index, official_actor().pseudonym)
    ext()["tenants"].clear()  # this process sees the new settings at once
    return done


def decline(offer_id: str, index: int) -> None:
    with unit_of_work() as uw:
        tu.decline(uw, offer_id, index, official_actor().pseudonym)


def set_following(active: bool) -> tu.TemplateFollowing:
    with unit_of_work() as uw:
        return tu.set_following(uw, active, official_actor().pseudonym)


def follow_remote(template: str, signer: str) -> tu.TemplateFollowing:
    with unit_of_work() as uw:
        return tu.follow_remote(uw, template, signer, official_actor().pseudonym)


# --- showing items ------------------------------------------------------------------------------

SECTION_LABELS = {
    "services/whistleblowing/categories": "Report category",
    "services/hibah_bansos/required_documents": "Required document",
    "services/hibah_bansos/programmes": "Programme",
    "texts": "Text",
}


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, dict):
        return yaml.safe_dump(
            value, default_flow_style=True, allow_unicode=True, width=10_000
        ).strip()
    return str(value)


def _name(path: str, value: Any) -> str:
    """ "Kategori laporan: Gratifikasi (gratifikasi)" for a person, the path for the rest."""
    for prefix, what in SECTION_LABELS.items():
        if path.startswith(prefix + "/"):
            code = path[len(prefix) + 1 :]
            shown = value.get("label") or value.get("name") if isinstance(value, dict) else None
            title = label(shown) if shown else ""
            return f"{_(what)}: {title} ({code})" if title else f"{_(what)}: {code}"
    return _setting_labels().get(path, path)


def _fields(old: Any, new: Any) -> list[dict[str, str]]:
    """For a changed item: each of its fields that differs, old → new."""
    if old is None and isinstance(new, dict):
        old = {}  # added: each of its fields, from nothing
    if new is None and isinstance(old, dict):
        new = {}  # removed
    if not isinstance(old, dict) or not isinstance(new, dict):
        return [{"field": "", "old": _shown(old), "new": _shown(new)}]
    return [
        {"field": str(k), "old": _shown(old.get(k)), "new": _shown(new.get(k))}
        for k in sorted(set(old) | set(new), key=str)
        if old.get(k) != new.get(k)
    ]


def _item_view(path: str, old: Any, new: Any, **extra: Any) -> dict[str, Any]:
    return {
        "path": path,
        "name": _name(path, new if new is not None else old),
        "kind": tu.kind_of(old, new),
        "fields": _fields(old, new),
        **extra,
    }


def _offer_view(o: tu.TemplateOffer) -> dict[str, Any]:
    return {
        "id": str(o.id),
        "template": o.template,
        "seq": o.seq,
        "at": _local_time(o.received_at),
        "signer": o.signer,
        "entries": [
            _item_view(i["path"], i["old"], i["new"], index=n, status=i["status"])
            for n, i in enumerate(tu.settled(db(), o))
        ],
    }


def _item_json(i: dict[str, Any], n: int) -> dict[str, Any]:
    return {"index": n, **{k: i.get(k) for k in ("path", "kind", "old", "new", "status")},
            **{k: i[k] for k in ("decided_by", "decided_at", "version", "pending_id") if k in i}}  # fmt: skip


def _offer_json(o: tu.TemplateOffer) -> dict[str, Any]:
    return {
        "id": str(o.id),
        "update_id": str(o.update_id),
        "template": o.template,
        "seq": o.seq,
        "signer": o.signer,
        "received_at": o.received_at.isoformat(),
        "items": [_item_json(i, n) for n, i in enumerate(tu.settled(db(), o))],
    }


def _update_json(u: tu.TemplateUpdate) -> dict[str, Any]:
    return {
        "id": str(u.id),
        "seq": u.seq,
        "signer": u.signer,
        "digest": tu.document_digest(u.document),
        "published_at": u.published_at.isoformat(),
        "changes": u.document["changes"],
    }


# --- template city: pages -----------------------------------------------------------------------


@bp.get(f"{PAGE}/template")
@require_roles("tenant_admin")
def publish_page():
    return render_template(
        "replication/template_publish.html",
        changes=[_item_view(c["path"], c["old"], c["new"]) for c in tu.draft(db(), g.tenant)],
        followers=tu.followers(db()),
        updates=[
            {
                "seq": u.seq,
                "at": _local_time(u.published_at),
                "n": len(u.document["changes"]),
                "id": str(u.id),
            }  # fmt: skip
            for u in tu.published(db())
        ],
    )


@bp.post(f"{PAGE}/template/publish")
@require_roles("tenant_admin")
def publish_post():
    try:
        row, delivered = publish_and_offer()
    except Refused as exc:
        if exc.status != 409:
            raise
        flash(_("Nothing to publish: the template is as its last update published it."), "error")
        return redirect(url_for(".publish_page"), code=303)
    ok = [d for d in delivered if d.offer_id]
    flash(
        _(
            "Template update %(seq)s published, signed and offered to %(n)s cities.",
            seq=row.seq,
            n=len(ok),
        ),
        "success",
    )
    for d in delivered:
        if not d.offer_id:
            flash(_("Not offered to %(slug)s: %(why)s", slug=d.slug, why=d.problem), "error")
    return redirect(url_for(".publish_page"), code=303)


# --- template city: API -------------------------------------------------------------------------


@bp.get(f"{API}/template")
@require_roles("tenant_admin")
def draft_api():
    return jsonify(
        changes=tu.draft(db(), g.tenant),
        followers=[f.follower_slug for f in tu.followers(db())],
        updates=[_update_json(u) for u in tu.published(db())],
    )


@bp.post(f"{API}/template/updates")
@require_roles("tenant_admin")
def publish_api():
    row, delivered = publish_and_offer()
    resp = jsonify(
        update_id=str(row.id),
        seq=row.seq,
        changes=row.document["changes"],
        delivered=[
            {"slug": d.slug, "offer_id": d.offer_id, "items": d.items, "problem": d.problem}
            for d in delivered
        ],
        bundle=tu.bundle_of(row),
    )
    resp.status_code = 201
    return resp


@bp.get(f"{API}/template/updates/<update_id>/bundle")
@require_roles("tenant_admin")
def bundle_api(update_id: str):
    row = next((u for u in tu.published(db()) if str(u.id) == update_id), None)
    if row is None:
        raise Refused(404, "No such template update.")
    resp = jsonify(tu.bundle_of(row))
    resp.headers["Content-Disposition"] = (
        f'attachment; filename="{g.tenant.slug}-template-{row.seq}.json"'
    )
    return resp


# --- replica: pages -----------------------------------------------------------------------------


@bp.get(f"{PAGE}/template-updates")
@require_roles("tenant_admin")
def offers_page():
    return render_template(
        "replication/template_offers.html", offers=[_offer_view(o) for o in tu.offers(db())]
    )


def _index(n: str) -> int:
    if not n.isdigit():
        abort(404)
    return int(n)


@bp.post(f"{PAGE}/template-updates/<offer_id>/<n>/accept")
@require_roles("tenant_admin")
def accept_post(offer_id: str, n: str):
    try:
        done = accept(offer_id, _index(n))
    except Refused as exc:
        if exc.status == 404:
            abort(404)
        flash(_refusal_text(exc), "error")
        return redirect(url_for(".offers_page"), code=303)
    if done.status == "proposed":
        flash(
            _("Accepted: this security setting now waits for a second admin's approval."),
            "success",
        )
    else:
        flash(
            _("Change accepted and saved as version %(version)s.", version=done.version),
            "success",
        )
    return redirect(url_for(".offers_page"), code=303)


@bp.post(f"{PAGE}/template-updates/<offer_id>/<n>/decline")
@require_roles("tenant_admin")
def decline_post(offer_id: str, n: str):
    try:
        decline(offer_id, _index(n))
    except Refused as exc:
        if exc.status == 404:
            abort(404)
        flash(_refusal_text(exc), "error")
        return redirect(url_for(".offers_page"), code=303)
    flash(_("Change declined: your city's setting stays as it is."), "success")
    return redirect(url_for(".offers_page"), code=303)


def _refusal_text(exc: Refused) -> str:
    if exc.status == 409 and getattr(exc, "field", None) == "path":
        return _(
            "Your city changed this setting after the update was offered: the offer no longer "
            "applies and your setting is kept. Decline it, or edit the setting yourself."
        )
    if exc.status == 409:
        return _("This change was already decided.")
    errors = getattr(exc, "errors", None) or []
    detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors) or str(exc)
    return _("This change cannot be saved in your settings: %(why)s", why=detail)


# --- replica: API -------------------------------------------------------------------------------


@bp.get(f"{API}/template-offers")
@require_roles("tenant_admin")
def offers_api():
    return jsonify(items=[_offer_json(o) for o in tu.offers(db())])


@bp.post(f"{API}/template-offers")
@require_roles("tenant_admin")
def receive_api():
    offer = receive(json_body())
    resp = jsonify(_offer_json(offer))
    resp.status_code = 201
    return resp


@bp.post(f"{API}/template-offers/<offer_id>/items/<n>/accept")
@require_roles("tenant_admin")
def accept_api(offer_id: str, n: str):
    done = accept(offer_id, _index(n))
    resp = jsonify(status=done.status, version=done.version, pending_id=done.pending_id)
    resp.status_code = 202 if done.status == "proposed" else 200
    return resp


@bp.post(f"{API}/template-offers/<offer_id>/items/<n>/decline")
@require_roles("tenant_admin")
def decline_api(offer_id: str, n: str):
    decline(offer_id, _index(n))
    return Response(status=204)


# --- either side: following ---------------------------------------------------------------------


def _following_json(row: tu.TemplateFollowing | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "template": row.template,
        "template_tenant_id": str(row.template_tenant_id) if row.template_tenant_id else None,
        "signer": row.signer or tu.own_signer(),
        "same_deployment": row.template_tenant_id is not None,
        "active": row.active,
        "changed_by": row.changed_by,
        "changed_at": row.changed_at.isoformat(),
    }


@bp.get(f"{PAGE}/template-following")
@require_roles("tenant_admin")
def following_page():
    row = tu.following(db())
    return render_template(
        "replication/template_following.html",
        following=row,
        since=_local_time(row.changed_at) if row else None,
        followers=[
            {"slug": f.follower_slug, "since": _local_time(f.created_at)}
            for f in tu.followers(db())
        ],
    )


def _following_post(active: bool):
    try:
        set_following(active)
    except Refused as exc:
        if exc.status == 404:
            abort(404)
        flash(str(exc), "error")
        return redirect(url_for(".following_page"), code=303)
    if active:
        flash(_("Your city follows its template city again: its updates are offered."), "success")
    else:
        flash(
            _(
                "Your city stopped following its template city: its updates are refused. "
                "Nothing you received or accepted changes."
            ),
            "success",
        )
    return redirect(url_for(".following_page"), code=303)


@bp.post(f"{PAGE}/template-following/stop")
@require_roles("tenant_admin")
def stop_following_post():
    return _following_post(False)


@bp.post(f"{PAGE}/template-following/follow")
@require_roles("tenant_admin")
def follow_again_post():
    return _following_post(True)


@bp.get(f"{API}/template-following")
@require_roles("tenant_admin")
def following_api():
    return jsonify(
        following=_following_json(tu.following(db())),
        followers=[
            {"slug": f.follower_slug, "since": f.created_at.isoformat()} for f in tu.followers(db())
        ],
    )


@bp.post(f"{API}/template-following")
@require_roles("tenant_admin")
def set_following_api():
    body = json_body()
    if not isinstance(body, dict):
        body = {}
    if isinstance(body.get("active"), bool) and set(body) == {"active"}:
        row = set_following(body["active"])
    elif isinstance(body.get("template"), str) and isinstance(body.get("signer"), str):
        row = follow_remote(body["template"].strip(), body["signer"].strip())
    else:
        raise Refused(
            422,
            'Send {"active": true|false}, or {"template", "signer"} to follow a city on '
            "another deployment.",
            "active",
        )
    return jsonify(following=_following_json(row))


# --- OpenAPI ------------------------------------------------------------------------------------


def openapi_paths() -> dict[str, Any]:
    """The paths above, for the whistleblowing app's `/openapi.json` (operations/apps.py)."""
    from shared.openapi import OFFICIAL, UUID, operation

    admin = "tenant_admin"
    bundle = {
        "type": "object",
        "required": ["document", "signature", "signer_key"],
        "properties": {
            "document": {"type": "object", "description": "the update: template, seq, changes"},
            "signature": {"type": "string", "description": "base64 Ed25519 signature"},
            "signer_key": {"type": "string", "description": "base64 raw Ed25519 public key"},
            "signer": {"type": "string", "description": "sha256: fingerprint of signer_key"},
        },
    }
    offer = {"name": "offer_id", "in": "path", "required": True, "schema": UUID}
    update = {"name": "update_id", "in": "path", "required": True, "schema": UUID}
    index = {"name": "n", "in": "path", "required": True, "schema": {"type": "string"}}
    p = "/t/{tenant}/api/v1/admin"
    return {
        f"{p}/template": {
            "get": operation(
                f"The template's changes since its last update, its followers and updates "
                f"({admin})",
                security=OFFICIAL,
                errors=(403, 404),
            )
        },
        f"{p}/template/updates": {
            "post": operation(
                f"Sign and publish the next template update, offered to every follower on "
                f"this deployment; answers the signed bundle (409: nothing changed) ({admin})",
                security=OFFICIAL,
                ok="201",
                errors=(403, 404, 409),
            )
        },
        f"{p}/template/updates/{{update_id}}/bundle": {
            "get": operation(
                f"A published update as a signed file, for a replica on another deployment "
                f"({admin})",
                security=OFFICIAL,
                params=[update],
                errors=(403, 404),
            )
        },
        f"{p}/template-offers": {
            "get": operation(
                f"Template updates offered to this city, item by item: old → new and status "
                f"({admin})",
                security=OFFICIAL,
                errors=(403, 404),
            ),
            "post": operation(
                f"Receive a signed template update (a bundle from another deployment); 422 "
                f"when its signature does not check or its signer is not trusted ({admin})",
                security=OFFICIAL,
                body=bundle,
                ok="201",
                errors=(403, 404, 409, 422),
            ),
        },
        f"{p}/template-offers/{{offer_id}}/items/{{n}}/accept": {
            "post": operation(
                f"Accept one offered change: saved as the next version (202 when a security "
                f"setting waits for a second admin; 409 when this city changed the setting "
                f"since the offer) ({admin})",
                security=OFFICIAL,
                params=[offer, index],
                errors=(403, 404, 409, 422),
            )
        },
        f"{p}/template-following": {
            "get": operation(
                f"Whom this city follows (its template city: updates are accepted from it "
                f"only) and the cities following this city's template ({admin})",
                security=OFFICIAL,
                errors=(403, 404),
            ),
            "post": operation(
                f'Stop following the template city or follow it again ({{"active": bool}}), '
                f'or follow a city on another deployment ({{"template", "signer"}}: the '
                f"fingerprint of a deployment key this deployment trusts); audited ({admin})",
                security=OFFICIAL,
                body={
                    "type": "object",
                    "properties": {
                        "active": {"type": "boolean"},
                        "template": {"type": "string"},
                        "signer": {"type": "string", "description": "sha256: fingerprint"},
                    },
                },
                errors=(403, 404, 409, 422),
            ),
        },
        f"{p}/template-offers/{{offer_id}}/items/{{n}}/decline": {
            "post": operation(
                f"Decline one offered change: nothing changes ({admin})",
                security=OFFICIAL,
                params=[offer, index],
                ok="204",
                errors=(403, 404, 409),
            )
        },
    }
