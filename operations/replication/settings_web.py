"""The tenant's settings as forms (thin handlers over settings_forms and config_admin), served
by the whistleblowing service beside the YAML view; `tenant_admin` only.

    GET       /t/<tenant>/admin/settings                         sections, versions (who, what, when)
    GET|POST  /t/<tenant>/admin/settings/<section>               one section's form
    GET       /t/<tenant>/admin/settings/programmes              grant and aid programmes
    GET|POST  /t/<tenant>/admin/settings/programmes/new          add a programme
    GET|POST  /t/<tenant>/admin/settings/programmes/<code>       edit one
    POST      /t/<tenant>/admin/settings/programmes/<code>/close close it (yesterday, city time)
    POST      /t/<tenant>/admin/settings/branding/logo           upload (or remove) the logo
    GET       /t/<tenant>/admin/settings/pending                 security changes awaiting a second admin
    POST      /t/<tenant>/admin/settings/pending/<id>/approve    a second tenant admin approves
    POST      /t/<tenant>/admin/settings/pending/<id>/reject     ... or rejects

Every save goes through `config_admin.update`, the use case of the YAML view and the API:
one schema, one set of rules, one version per save. A save that changes a security-relevant
setting (`config_admin.SECURITY_PATHS`) waits on the pending page for a second tenant admin.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import select

from operations.replication import config_admin, settings_forms
from operations.replication.settings_forms import Section
from operations.service_models import models_of
from services.whistleblowing import holiday_calendar
from services.whistleblowing.attachments import AttachmentRejected, Policy, inspect
from shared.auth import Principal, official_actor, require_roles
from shared.officials import name_of
from shared.problem import Refused
from shared.request_context import ext
from shared.tenancy import today
from shared.web import db, no_store, unit_of_work

bp = Blueprint("tenant_settings", __name__, template_folder="templates")
bp.after_request(no_store)
PAGE = "/t/<tenant>/admin/settings"
LOGO_MAX_BYTES = 200 * 1024
LOGO_TYPES = ("image/png", "image/jpeg")
LOGO_PATH = "/t/{slug}/branding/logo"


def save_settings(new: Any, version: int) -> config_admin.Current | config_admin.Proposed:
    """The one save of every settings page, form or YAML, and of the API."""
    with unit_of_work() as uw:
        saved = config_admin.update(uw, new, version, official_actor().pseudonym)
    ext()["tenants"].clear()  # this process sees it at once
    return saved


def approve_pending(pending_id: str) -> config_admin.Current:
    with unit_of_work() as uw:
        saved = config_admin.approve(uw, pending_id, official_actor().pseudonym)
    ext()["tenants"].clear()
    return saved


def reject_pending(pending_id: str) -> None:
    with unit_of_work() as uw:
        config_admin.reject(uw, pending_id, official_actor().pseudonym)


def proposed_redirect():
    """After a save that waits for a second admin: say so, on the page that lists it."""
    flash(
        _("Proposed: the change to security settings is waiting for a second admin's approval."),
        "success",
    )
    return redirect(url_for("tenant_settings.pending_page"), code=303)


# --- who changed what ---------------------------------------------------------------------------


def _names_by_pseudonym() -> dict[str, str]:
    model = models_of("whistleblowing").OfficialRow
    return {
        Principal(o.id, g.tenant.id, o.username, frozenset()).pseudonym: name_of(o)
        for o in db().execute(select(model)).scalars()
    }


def _changed_paths(old: Any, new: Any, prefix: str = "", depth: int = 3) -> list[str]:
    """The settings that differ, named down to `depth` levels (`services.whistleblowing.sla`)."""
    if not isinstance(old, dict) or not isinstance(new, dict) or depth == 0:
        return [prefix] if old != new and prefix else []
    out: list[str] = []
    for key in sorted(set(old) | set(new), key=str):
        if key in ("logo_data",):
            continue
        out += _changed_paths(
            old.get(key), new.get(key), f"{prefix}.{key}" if prefix else str(key), depth - 1
        )
    if old.get("logo_data") != new.get("logo_data"):
        out.append(f"{prefix}.logo" if prefix else "logo")
    return out


ZONE_NAMES = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}


def _local_time(t: datetime) -> str:
    """ "2 Des 2026 08.15 WIB": the city's zone, named."""
    local = t.astimezone(ZoneInfo(g.tenant.timezone))
    zone = ZONE_NAMES.get(g.tenant.timezone, g.tenant.timezone)
    return f"{format_datetime(local, 'd MMM y HH.mm', rebase=False)} {zone}"


def versions(limit: int = 20) -> list[dict[str, Any]]:
    """Saved versions, newest first: who (their display name, else the pseudonym), when, and
    which settings changed."""
    names = _names_by_pseudonym()
    rows = config_admin.history(db())
    out = []
    for i, v in enumerate(rows[:limit]):
        before = rows[i + 1].config if i + 1 < len(rows) else None
        out.append(
            {
                "version": v.version,
                "created_at": v.created_at,
                "at": _local_time(v.created_at),
                "by": names.get(v.created_by, v.created_by),
                "changed": _changed_paths(before, v.config) if before else list(v.changed),
            }
        )
    return out


# --- problems beside fields ---------------------------------------------------------------------


def placed(
    exc: Refused, names: set[str], rows_map: dict[str, str]
) -> tuple[dict[str, str], list[str]]:
    """A refused save's problems by form field; those no field of the page names, apart."""
    details = getattr(exc, "details", None) or [
        config_admin.SchemaProblem(e["field"], "") for e in exc.errors
    ]
    errors: dict[str, str] = {}
    unplaced: list[str] = []
    for d in details:
        name = settings_forms.field_of(d.field, rows_map)
        text = settings_forms.message(d)
        if name in names:
            errors.setdefault(name, text)
        else:
            unplaced.append(f"{name}: {text}" if d.field not in ("version", "config") else text)
    return errors, unplaced


def _section_or_404(name: str) -> Section:
    section = settings_forms.BY_NAME.get(name)
    if section is None or (section.service and not g.tenant.runs(section.service)):
        abort(404)
    return section


def _sections() -> list[Section]:
    return [s for s in settings_forms.SECTIONS if not s.service or g.tenant.runs(s.service)]


def _choices(section: Section, config: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Choices that come from the configuration itself."""
    out: dict[str, list[tuple[str, str]]] = {}
    if section.name == "holidays":
        this_year = today(g.tenant).year
        national = {**holiday_calendar.settings(config), "add": [], "remove": []}
        plain = {**config, "holidays": national}
        out["holidays.remove"] = [
            (d.isoformat(), f"{d.isoformat()} · {name}")
            for year in (this_year, this_year + 1)
            for d, name in holiday_calendar.days_off(plain, year).items()
        ]
    return out


def _keep_other_removals(new: dict[str, Any], old: dict[str, Any], shown: list[str]) -> None:
    """Days removed in years the page does not show stay removed."""
    before = holiday_calendar.settings(old)["remove"]
    kept = [d.isoformat() for d in before if d.isoformat() not in shown]
    holidays = new.setdefault("holidays", {})
    chosen = holidays.get("remove") or []
    holidays["remove"] = sorted(set(kept) | set(chosen))


# --- pages --------------------------------------------------------------------------------------


@bp.get(PAGE)
@require_roles("tenant_admin")
def index():
    cur = config_admin.current(db(), g.tenant)
    return render_template(
        "replication/settings_index.html",
        sections=_sections(),
        runs_hibah=g.tenant.runs("hibah_bansos"),
        current=cur,
        history=versions(),
        pending=len(config_admin.pending(db())),
    )


def _render(section: Section, cur, values, errors=None, unplaced=None, status=200, **extra):
    return render_template(
        "replication/settings_section.html",
        section=section,
        current=cur,
        values=values,
        errors=errors or {},
        unplaced=unplaced or [],
        choices=_choices(section, cur.config),
        logo=section.name == "branding",
        **extra,
    ), status


def _save_form(section: Section, cur, *, done: str, back: str, extra: dict | None = None):
    """Read the posted form into the configuration, save it, or show what to correct."""
    version = request.form.get("version", "")
    new, unreadable, rows_map = settings_forms.apply_form(section, cur.config, request.form)
    if section.name == "holidays":
        shown = [v for v, _label in _choices(section, cur.config)["holidays.remove"]]
        _keep_other_removals(new, cur.config, shown)
    typed = settings_forms.typed_values(section, request.form)
    if unreadable:
        return _render(section, cur, typed, unreadable, status=422, **(extra or {}))
    try:
        if not version.isdigit():
            raise config_admin.SettingsRefused(
                409, "stale form", [config_admin.SchemaProblem("version", "stale", cur.version)]
            )
        saved = save_settings(new, int(version))
    except Refused as exc:
        errors, unplaced = placed(exc, settings_forms.field_names(section, typed), rows_map)
        if exc.status == 409:
            cur = config_admin.current(db(), g.tenant)
        return _render(section, cur, typed, errors, unplaced, exc.status, **(extra or {}))
    if isinstance(saved, config_admin.Proposed):
        return proposed_redirect()
    if saved.version == cur.version:
        flash(_("Nothing changed: the settings are as they were."), "success")
    else:
        flash(
            _("%(what)s saved as version %(version)s.", what=done, version=saved.version), "success"
        )
    return redirect(back, code=303)


@bp.route(f"{PAGE}/<section>", methods=["GET", "POST"])
@require_roles("tenant_admin")
def section_page(section: str):
    sec = _section_or_404(section)
    cur = config_admin.current(db(), g.tenant)
    if request.method == "POST":
        return _save_form(
            sec, cur, done=str(sec.title), back=url_for(".section_page", section=section)
        )
    return _render(sec, cur, settings_forms.values_of(sec, cur.config))


# --- programmes ---------------------------------------------------------------------------------


def _programmes(config: dict[str, Any]) -> list[dict[str, Any]]:
    return list(config.get("services", {}).get("hibah_bansos", {}).get("programmes", []))


def _programme_section(index: int, *, new: bool) -> Section:
    """The programme form; an existing programme keeps its code (applications name it)."""
    prefix = f"services.hibah_bansos.programmes.{index}."
    fields = tuple(
        dataclasses.replace(f, path=prefix + f.path)
        for f in settings_forms.PROGRAMME_FIELDS
        if new or f.path != "code"
    )
    return Section("programme", _("Programme"), "", fields, service="hibah_bansos")


def _document_choices(config: dict[str, Any]) -> list[tuple[str, str]]:
    docs = config.get("services", {}).get("hibah_bansos", {}).get("required_documents", [])
    return [(d["code"], d["label"].get("id", d["code"])) for d in docs]


def _is_open(p: dict[str, Any], on: date) -> bool:
    return (not p.get("opens") or p["opens"] <= on.isoformat()) and (
        not p.get("closes") or on.isoformat() <= p["closes"]
    )


@bp.get(f"{PAGE}/programmes")
@require_roles("tenant_admin")
def programmes_page():
    if not g.tenant.runs("hibah_bansos"):
        abort(404)
    cur = config_admin.current(db(), g.tenant)
    on = today(g.tenant)
    return render_template(
        "replication/settings_programmes.html",
        current=cur,
        programmes=[(p, _is_open(p, on)) for p in _programmes(cur.config)],
    )


def _programme_form(index: int, cur, *, new: bool):
    sec = _programme_section(index, new=new)
    code = _programmes(cur.config)[index]["code"] if not new else None
    back = url_for(".programmes_page")
    extra = {
        "programme_new": new,
        "choices_extra": {
            f"services.hibah_bansos.programmes.{index}.required_documents": _document_choices(
                cur.config
            )
        },
        "action": request.path,
        "programme_code": code,
    }
    if request.method == "POST":
        typed_code = request.form.get(f"services.hibah_bansos.programmes.{index}.code", "")
        done = _("Programme %(code)s", code=code or typed_code)
        return _save_form(sec, cur, done=done, back=back, extra=extra)
    values = settings_forms.values_of(sec, cur.config)
    if new:
        values[f"services.hibah_bansos.programmes.{index}.planned"] = True
        values[f"services.hibah_bansos.programmes.{index}.fiscal_year"] = today(g.tenant).year + 1
    return _render(sec, cur, values, **extra)


@bp.route(f"{PAGE}/programmes/new", methods=["GET", "POST"])
@require_roles("tenant_admin")
def programme_new():
    if not g.tenant.runs("hibah_bansos"):
        abort(404)
    cur = config_admin.current(db(), g.tenant)
    return _programme_form(len(_programmes(cur.config)), cur, new=True)


def _index_of(code: str, config: dict[str, Any]) -> int:
    for i, p in enumerate(_programmes(config)):
        if p["code"] == code:
            return i
    abort(404)


@bp.route(f"{PAGE}/programmes/<code>", methods=["GET", "POST"])
@require_roles("tenant_admin")
def programme_edit(code: str):
    if not g.tenant.runs("hibah_bansos"):
        abort(404)
    cur = config_admin.current(db(), g.tenant)
    return _programme_form(_index_of(code, cur.config), cur, new=False)


@bp.post(f"{PAGE}/programmes/<code>/close")
@require_roles("tenant_admin")
def programme_close(code: str):
    if not g.tenant.runs("hibah_bansos"):
        abort(404)
    cur = config_admin.current(db(), g.tenant)
    index = _index_of(code, cur.config)
    new = copy.deepcopy(cur.config)
    programme = new["services"]["hibah_bansos"]["programmes"][index]
    last = (today(g.tenant) - timedelta(days=1)).isoformat()
    if not programme.get("closes") or programme["closes"] > last:
        programme["closes"] = last
    if programme.get("opens") and programme["opens"] > programme["closes"]:
        programme["opens"] = programme["closes"]
    version = request.form.get("version", "")
    try:
        saved = save_settings(new, int(version) if version.isdigit() else -1)
    except Refused as exc:
        _errors, unplaced = placed(exc, set(), {})
        for text in unplaced:
            flash(text, "error")
        return redirect(url_for(".programmes_page"), code=303)
    if isinstance(saved, config_admin.Proposed):
        return proposed_redirect()
    flash(
        _(
            "Programme %(code)s is closed: no new applications from today (version %(version)s).",
            code=code,
            version=saved.version,
        ),
        "success",
    )
    return redirect(url_for(".programmes_page"), code=303)


# --- the logo -----------------------------------------------------------------------------------


@bp.post(f"{PAGE}/branding/logo")
@require_roles("tenant_admin")
def logo_upload():
    """The logo, checked like an attachment (type from its bytes, re-encoded from its pixels,
    no metadata), kept in the settings themselves so every service shows it."""
    sec = _section_or_404("branding")
    cur = config_admin.current(db(), g.tenant)
    new = copy.deepcopy(cur.config)
    branding = new.setdefault("branding", {})
    if request.form.get("remove"):
        for key in ("logo", "logo_data", "logo_type"):
            branding.pop(key, None)
    else:
        upload = request.files.get("logo")
        data = upload.read(LOGO_MAX_BYTES + 1) if upload else b""
        problem = None
        if not data:
            problem = _("Choose an image file (PNG or JPEG).")
        else:
            try:
                clean = inspect(
                    data, Policy(max_bytes=LOGO_MAX_BYTES, max_count=1, types=LOGO_TYPES)
                )
            except AttachmentRejected:
                problem = _(
                    "The logo must be a PNG or JPEG image of at most %(kb)s kB. Pick the file again.",
                    kb=LOGO_MAX_BYTES // 1024,
                )
        if problem:
            values = settings_forms.values_of(sec, cur.config)
            return _render(sec, cur, values, {"logo": problem}, status=422)
        branding["logo"] = LOGO_PATH.format(slug=g.tenant.slug)
        branding["logo_type"] = clean.media_type
        branding["logo_data"] = base64.b64encode(clean.data).decode()
    version = request.form.get("version", "")
    try:
        saved = save_settings(new, int(version) if version.isdigit() else -1)
    except Refused as exc:
        errors, unplaced = placed(exc, {"logo"}, {})
        values = settings_forms.values_of(sec, cur.config)
        return _render(sec, cur, values, errors or {"logo": "; ".join(unplaced)}, status=exc.status)
    if isinstance(saved, config_admin.Proposed):
        return proposed_redirect()
    flash(_("Logo saved as version %(version)s.", version=saved.version), "success")
    return redirect(url_for(".section_page", section="branding"), code=303)


# --- security settings: a second tenant admin decides ------------------------------------------


def tenant_admin_count() -> int:
    model = models_of("whistleblowing").OfficialRow
    return sum(
        1 for o in db().execute(select(model)).scalars() if o.active and "tenant_admin" in o.roles
    )


def _setting_labels() -> dict[str, str]:
    """ "services/whistleblowing/attachments/types" → the label its form shows."""
    return {
        f.path.replace(".", "/"): str(f.label)
        for sec in settings_forms.SECTIONS
        for f in sec.items
        if isinstance(f, settings_forms.Field)
    }


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)


def pending_changes() -> list[dict[str, Any]]:
    names, labels = _names_by_pseudonym(), _setting_labels()
    me = official_actor().pseudonym
    return [
        {
            "id": str(p.id),
            "by": names.get(p.proposed_by, p.proposed_by),
            "at": _local_time(p.proposed_at),
            "mine": p.proposed_by == me,
            "changes": [
                {
                    "path": c["path"],
                    "label": labels.get(c["path"], c["path"]),
                    "old": _shown(c["old"]),
                    "new": _shown(c["new"]),
                }
                for c in p.changes
            ],
        }
        for p in config_admin.pending(db())
    ]


@bp.get(f"{PAGE}/pending")
@require_roles("tenant_admin")
def pending_page():
    return render_template(
        "replication/settings_pending.html",
        pending=pending_changes(),
        admins=tenant_admin_count(),
    )


def _decide(pending_id: str, decide) -> Any:
    try:
        decide(pending_id)
    except Refused as exc:
        if exc.status == 404:
            abort(404)
        if exc.status == 403:
            flash(_("You proposed this change: a second admin must approve or reject it."), "error")
        elif exc.status == 409:
            flash(
                _("This change can no longer be applied: reject it and propose it again."), "error"
            )
        else:
            _errors, unplaced = placed(exc, set(), {})
            for text in unplaced or [str(exc)]:
                flash(text, "error")
        return redirect(url_for(".pending_page"), code=303)
    return None


@bp.post(f"{PAGE}/pending/<pending_id>/approve")
@require_roles("tenant_admin")
def pending_approve(pending_id: str):
    if (refused := _decide(pending_id, approve_pending)) is not None:
        return refused
    flash(_("Change approved and saved."), "success")
    return redirect(url_for(".pending_page"), code=303)


@bp.post(f"{PAGE}/pending/<pending_id>/reject")
@require_roles("tenant_admin")
def pending_reject(pending_id: str):
    if (refused := _decide(pending_id, reject_pending)) is not None:
        return refused
    flash(_("Change rejected: nothing was applied."), "success")
    return redirect(url_for(".pending_page"), code=303)
