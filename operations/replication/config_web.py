"""HTTP side of tenant configuration editing (thin handlers over config_admin), served by the
whistleblowing service for every tenant (plugged in by operations/apps.py); `tenant_admin`
only.

    GET  /t/<tenant>/api/v1/admin/config            {"version", "digest", "config"}; ETag
    PUT  /t/<tenant>/api/v1/admin/config            {"version", "config"} (or If-Match) -> saved;
                                                    202 when security settings wait for a second admin
    GET  /t/<tenant>/api/v1/admin/config/versions   saved versions, newest first
    GET  /t/<tenant>/api/v1/admin/config/pending    security changes awaiting a second admin
    POST /t/<tenant>/api/v1/admin/config/pending/<id>/approve   (another tenant admin) -> saved
    POST /t/<tenant>/api/v1/admin/config/pending/<id>/reject    (another tenant admin) -> 204
    GET|POST /t/<tenant>/admin/config               the same as a page (YAML text area)
"""

from __future__ import annotations

import yaml
from flask import (
    Blueprint,
    Response,
    g,
    jsonify,
    render_template,
    request,
)

from operations.replication import config_admin, settings_web
from operations.replication.portal import invalid
from operations.replication.settings_forms import message
from operations.replication.settings_web import save_settings
from shared.auth import require_roles
from shared.bodies import json_body
from shared.problem import Refused
from shared.tenant_config import SchemaProblem
from shared.web import db, no_store

bp = Blueprint("tenant_config", __name__, template_folder="templates")
bp.after_request(no_store)
API = "/t/<tenant>/api/v1/admin/config"


def _body(cur: config_admin.Current) -> Response:
    resp = jsonify(version=cur.version, digest=cur.digest, config=cur.config)
    resp.headers["ETag"] = f'"{cur.version}"'
    return resp


@bp.get(API)
@require_roles("tenant_admin")
def show():
    return _body(config_admin.current(db(), g.tenant))


@bp.put(API)
@require_roles("tenant_admin")
def save():
    body = json_body()
    if not isinstance(body, dict) or not isinstance(body.get("config"), dict):
        raise invalid([{"field": "config", "reason": "an object is required"}])
    version = body.get("version")
    if version is None and request.headers.get("If-Match", "").strip('"').isdigit():
        version = int(request.headers["If-Match"].strip('"'))
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise invalid([{"field": "version", "reason": "a whole number (from GET)"}])
    saved = save_settings(body["config"], version)
    if isinstance(saved, config_admin.Proposed):
        now = saved.saved or config_admin.current(db(), g.tenant)
        resp = jsonify(
            status="pending",
            pending_id=saved.id,
            changes=saved.changes,
            version=now.version,
            digest=now.digest,
        )
        resp.status_code = 202
        resp.headers["ETag"] = f'"{now.version}"'
        resp.headers["Location"] = f"{request.path}/pending"
        return resp
    return _body(saved)


def _pending_json(p) -> dict:
    return {
        "id": str(p.id),
        "changes": p.changes,
        "base_version": p.base_version,
        "proposed_by": p.proposed_by,
        "proposed_at": p.proposed_at.isoformat(),
    }


@bp.get(f"{API}/pending")
@require_roles("tenant_admin")
def pending():
    return jsonify(
        items=[_pending_json(p) for p in config_admin.pending(db())],
        tenant_admins=settings_web.tenant_admin_count(),
    )


@bp.post(f"{API}/pending/<pending_id>/approve")
@require_roles("tenant_admin")
def approve(pending_id: str):
    return _body(settings_web.approve_pending(pending_id))


@bp.post(f"{API}/pending/<pending_id>/reject")
@require_roles("tenant_admin")
def reject(pending_id: str):
    settings_web.reject_pending(pending_id)
    return Response(status=204)


@bp.get(f"{API}/versions")
@require_roles("tenant_admin")
def versions():
    return jsonify(
        items=[
            {
                "version": v.version,
                "digest": v.digest,
                "changed": v.changed,
                "created_by": v.created_by,
                "created_at": v.created_at.isoformat(),
            }
            for v in config_admin.history(db())
        ]
    )


@bp.route("/t/<tenant>/admin/config", methods=["GET", "POST"])
@require_roles("tenant_admin")
def page():
    cur = config_admin.current(db(), g.tenant)
    text = yaml.safe_dump(cur.config, allow_unicode=True, sort_keys=False)
    errors, saved, status = [], False, 200
    if request.method == "POST":
        text = request.form.get("config", "")
        version = request.form.get("version", "")
        try:
            if not version.isdigit():  # a stale form
                raise config_admin.refused([("version", "missing", "stale", cur.version)])
            saved_or_proposed = save_settings(config_admin.parse_yaml(text), int(version))
            if isinstance(saved_or_proposed, config_admin.Proposed):
                return settings_web.proposed_redirect()
            cur = saved_or_proposed
            text = yaml.safe_dump(cur.config, allow_unicode=True, sort_keys=False)
            saved = True
        except Refused as exc:
            status = exc.status
            details = getattr(exc, "details", None) or [
                SchemaProblem(e["field"], "") for e in exc.errors
            ]
            errors = [{"field": d.field, "reason": message(d)} for d in details]
    return render_template(
        "replication/tenant_config.html",
        text=text,
        current=cur,
        errors=errors,
        saved=saved,
        history=settings_web.versions(),
    ), status
