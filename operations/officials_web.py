"""A city's tenant admin manages the city's officials and sees what is missing before the
city can operate (pages and API), served by the whistleblowing service (operations/apps.py).

    GET       /t/<tenant>/admin/                                   the admin's home: checklist
    GET|POST  /t/<tenant>/admin/officials                          list; add (enrolment link)
    POST      /t/<tenant>/admin/officials/<id>/roles               change roles
    POST      /t/<tenant>/admin/officials/<id>/name                change the display name
    POST      /t/<tenant>/admin/officials/<id>/active              deactivate / reactivate
    POST      /t/<tenant>/admin/officials/<id>/reset               reset the second factor
    POST      /t/<tenant>/admin/officials/<id>/email               the address notices go to
    GET|POST  /t/<tenant>/api/v1/admin/officials                   the same as JSON
    PATCH     /t/<tenant>/api/v1/admin/officials/<id>              {"roles"?, "active"?, "email"?,
                                                                    "display_name"?}
    POST      /t/<tenant>/api/v1/admin/officials/<id>/second-factor-reset

The use cases are operations/official_admin's (the CLI uses the same ones); every change is an
audited event. An added official never gets a password chosen by the admin: a one-time link.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from operations import key_admin, official_admin, qr
from operations.replication import provisioning
from operations.replication.models import TenantConfigVersion
from services.whistleblowing import holiday_calendar
from shared.auth import official_actor, require_roles
from shared.bodies import json_body
from shared.event_types import (
    PLATFORM_OFFICIAL_ACTIVE_CHANGED,
    PLATFORM_OFFICIAL_ADDED,
    PLATFORM_OFFICIAL_RENAMED,
    PLATFORM_OFFICIAL_ROLES_CHANGED,
    PLATFORM_OFFICIAL_SECOND_FACTOR_RESET,
)
from shared.officials import OfficialError, normalise_email
from shared.problem import Refused
from shared.roles import ROLES
from shared.tenancy import today
from shared.uow import UnitOfWork
from shared.web import db, no_store, unit_of_work

bp = Blueprint("officials_web", __name__, template_folder="templates")
bp.after_request(no_store)  # enrolment links
PAGE = "/t/<tenant>/admin/officials"
API = "/t/<tenant>/api/v1/admin/officials"


def role_labels() -> dict[str, str]:
    return {
        "wbs_intake": _("Whistleblowing intake (reads and triages new reports)"),
        "wbs_investigator": _("Whistleblowing investigator"),
        "wbs_supervisor": _("Whistleblowing supervisor"),
        "identity_custodian": _("Identity custodian (keeps reporters' identities sealed)"),
        "bansos_evaluator": _("Grants: evaluator (OPD)"),
        "bansos_verifier": _("Grants: verifier (TAPD)"),
        "bansos_approver": _("Grants: approver"),
        "bansos_finance": _("Grants: finance"),
        "auditor": _("Auditor (reads the audit ledger)"),
        "tenant_admin": _("City administrator"),
    }


def _refused(exc: OfficialError) -> Refused:
    field, _sep, _reason = str(exc).partition(":")
    messages = {
        "username": _("Use 3-63 characters: a-z, 0-9, '.', '_', '-'; the name may be taken."),
        "display_name": _("At most 100 characters, without control characters."),
        "roles": _(
            "Choose at least one role. An identity custodian may not also investigate or "
            "supervise cases, and you keep your own administrator role."
        ),
        "active": _("This change is not possible for this account."),
        "official": _("No such official in this city."),
        "email": _("Enter a valid e-mail address, or leave it empty."),
    }
    status = 404 if field == "official" else 422
    return Refused(status, messages.get(field, str(exc)), field)


def _pseudonym() -> str:
    return official_actor().pseudonym


def _me() -> uuid.UUID:
    me = official_actor().official_id
    assert me is not None  # an official's actor always names them
    return me


def _enrolment_url(token: str) -> str:
    return request.url_root.rstrip("/") + provisioning.onboarding_path(g.tenant.slug, token)


# --- use cases with their events --------------------------------------------------------------


@contextmanager
def _official_change() -> Iterator[UnitOfWork]:
    """The unit of work of a change to an official, an OfficialError refused (404/422)."""
    with unit_of_work() as uw:
        try:
            yield uw
        except OfficialError as exc:
            raise _refused(exc) from None


def _announce(uw: UnitOfWork, event_type: str, official_id: uuid.UUID, **data) -> None:
    """The event of a change to official `official_id`, by the admin signed in."""
    uw.emit(
        event_type,
        f"official:{official_id}",
        _pseudonym(),
        {"official_id": str(official_id), **data},
    )


def _add(username: str, roles: list[str], display_name: str | None = None) -> tuple[uuid.UUID, str]:
    with _official_change() as uw:
        official_id, token = official_admin.enrol(g.tenant.id, username, roles, display_name)
        _announce(uw, PLATFORM_OFFICIAL_ADDED, official_id, roles=sorted(set(roles)))
    return official_id, token


def _set_email(official_id: uuid.UUID, email: str | None, *, announce: bool = True) -> None:
    """The address notices go to (services/notifications), sealed; None or "" removes it. A
    change is an event (no address in it: only whether one is set), so the tenant admins are
    told; `announce=False` for the first address of an official just added (that is told)."""
    with _official_change() as uw:
        changed = official_admin.change_email(g.tenant.id, official_id, email)
        if changed and announce:
            official_admin.email_changed(uw, official_id, email, _pseudonym())


def _set_roles(official_id: uuid.UUID, roles: list[str]) -> None:
    with _official_change() as uw:
        previous, now = official_admin.change_roles(g.tenant.id, official_id, roles, by=_me())
        _announce(
            uw, PLATFORM_OFFICIAL_ROLES_CHANGED, official_id, roles=now, previous_roles=previous
        )


def _set_display_name(official_id: uuid.UUID, display_name: str | None) -> None:
    with _official_change() as uw:
        previous, now = official_admin.change_display_name(g.tenant.id, official_id, display_name)
        if previous != now:  # the name is personal data: the event says only whether one is set
            _announce(uw, PLATFORM_OFFICIAL_RENAMED, official_id, named=now is not None)


def _set_active(official_id: uuid.UUID, active: bool) -> None:
    with _official_change() as uw:
        changed = official_admin.change_active(g.tenant.id, official_id, active, by=_me())
        if changed:
            _announce(uw, PLATFORM_OFFICIAL_ACTIVE_CHANGED, official_id, active=active)


def _reset(official_id: uuid.UUID) -> str:
    with _official_change() as uw:
        official_admin.official_of(g.tenant.id, official_id)
        token = official_admin.reset_second_factor(g.tenant.id, official_id)
        _announce(uw, PLATFORM_OFFICIAL_SECOND_FACTOR_RESET, official_id)
    return token


# --- pages -------------------------------------------------------------------------------------


def _list_page(errors: dict | None = None, values: dict | None = None, status: int = 200):
    return render_template(
        "officials/list.html",
        officials=official_admin.officials_of(g.tenant.id),
        roles=ROLES,
        labels=role_labels(),
        separated=[sorted(rule) for rule in official_admin.SEPARATED_ROLES],
        errors=errors or {},
        values=values or {"roles": []},
        me=_me(),
    ), status


def _enrolment_page(username: str, token: str, *, reset: bool = False):
    url = _enrolment_url(token)
    return render_template(
        "officials/enrolment.html",
        username=username,
        url=url,
        qr=qr.svg(url, _("QR code of the enrolment link")),
        reset=reset,
    )


@bp.get(PAGE)
@require_roles("tenant_admin")
def officials_page():
    return _list_page()


@bp.post(PAGE)
@require_roles("tenant_admin")
def add_page():
    username = request.form.get("username", "").strip().lower()
    display_name = request.form.get("display_name", "")
    roles = request.form.getlist("roles")
    email = request.form.get("email", "").strip()
    values = {"username": username, "roles": roles, "email": email}
    try:
        normalise_email(email)
        official_id, token = _add(username, roles, display_name)
        if email:
            _set_email(official_id, email, announce=False)
    except OfficialError as exc:
        return _list_page(
            {"email": str(_refused(exc))}, {**values, "display_name": display_name}, 422
        )
    except Refused as exc:
        typed = {**values, "display_name": display_name}
        return _list_page({exc.field or "username": str(exc)}, typed, exc.status)
    return _enrolment_page(username, token)


def _change_page(
    official_id: uuid.UUID,
    form: str,
    change: Callable[[], None],
    done: Callable[[official_admin.OfficialView], str],
    typed: dict | None = None,
):
    """One per-official form of the list: make the `change`; refused, the list again with the
    reason beside that official's `form` (and what was `typed`); else `done(official)` as the
    success message and back to the list."""
    try:
        change()
    except Refused as exc:
        return _list_page({f"{form}-{official_id}": str(exc)}, typed, exc.status)
    flash(done(official_admin.official_of(g.tenant.id, official_id)), "success")
    return redirect(url_for(".officials_page"), code=303)


@bp.post(f"{PAGE}/<uuid:official_id>/roles")
@require_roles("tenant_admin")
def roles_page(official_id: uuid.UUID):
    return _change_page(
        official_id,
        "roles",
        lambda: _set_roles(official_id, request.form.getlist("roles")),
        lambda o: _("Roles of %(name)s changed.", name=o.username),
    )


@bp.post(f"{PAGE}/<uuid:official_id>/email")
@require_roles("tenant_admin")
def email_page(official_id: uuid.UUID):
    email = request.form.get("email", "").strip()
    return _change_page(
        official_id,
        "email",
        lambda: _set_email(official_id, email or None),
        lambda o: (
            _("Notices for %(name)s go to the new address.", name=o.username)
            if email
            else _("%(name)s no longer receives notices by e-mail.", name=o.username)
        ),
    )


@bp.post(f"{PAGE}/<uuid:official_id>/name")
@require_roles("tenant_admin")
def name_page(official_id: uuid.UUID):
    typed = request.form.get("display_name", "")
    return _change_page(
        official_id,
        "name",
        lambda: _set_display_name(official_id, typed),
        lambda o: _(
            "Colleagues now read %(name)s for %(username)s.",
            name=o.display_name or o.username,
            username=o.username,
        ),
        {"roles": [], "names": {str(official_id): typed}},
    )


@bp.post(f"{PAGE}/<uuid:official_id>/active")
@require_roles("tenant_admin")
def active_page(official_id: uuid.UUID):
    active = request.form.get("active") == "1"
    return _change_page(
        official_id,
        "active",
        lambda: _set_active(official_id, active),
        lambda o: (
            _("%(name)s can sign in again.", name=o.username)
            if active
            else _("%(name)s can no longer sign in.", name=o.username)
        ),
    )


@bp.post(f"{PAGE}/<uuid:official_id>/reset")
@require_roles("tenant_admin")
def reset_page(official_id: uuid.UUID):
    token = _reset(official_id)
    return _enrolment_page(
        official_admin.official_of(g.tenant.id, official_id).username, token, reset=True
    )


# --- the admin's home -------------------------------------------------------------------------


def checklist() -> list[dict]:
    """What is missing before the city can operate, each with where to fix it."""
    slug, tenant = g.tenant.slug, g.tenant
    officials = [o for o in official_admin.officials_of(tenant.id) if o.active or not o.enrolled]
    holders = {role for o in officials for role in o.roles}
    items = []
    if tenant.runs("whistleblowing"):
        items.append(
            {
                "done": "wbs_intake" in holders,
                "text": _("An official who reads new reports (role: whistleblowing intake)"),
                "href": url_for(".officials_page"),
            }
        )
        items.append(
            {
                "done": "identity_custodian" in holders,
                "text": _("An identity custodian"),
                "href": url_for(".officials_page"),
            }
        )
        items.append(
            {
                "done": key_admin.custodian_status(tenant.id) is not None,
                "text": _(
                    "The identity custodian's key: the custodian creates it on their own page"
                ),
                "href": key_admin.CUSTODIAN_PAGE.format(slug=slug),
            }
        )
        items.append(
            {
                "done": holiday_calendar.coverage_warning(tenant.config, today(tenant)) is None,
                "text": _(
                    "Next year's days off, cuti bersama included: enter the decreed days in "
                    "the settings when the holidays package does not know them yet"
                ),
                "href": url_for("tenant_settings.section_page", section="holidays"),
            }
        )
    if tenant.runs("hibah_bansos"):
        items.append(
            {
                "done": bool(tenant.service_config("hibah_bansos").get("programmes")),
                "text": _("At least one grant or social aid programme"),
                "href": url_for("tenant_settings.programmes_page"),
            }
        )
    saved = db().execute(select(func.count()).select_from(TenantConfigVersion)).scalar()
    items.append(
        {
            "done": bool(saved),
            "text": _("Your own texts and settings (still those of the city you started from)"),
            "href": url_for("tenant_settings.index"),
        }
    )
    return items


@bp.get("/t/<tenant>/admin/")
@require_roles("tenant_admin")
def home():
    items = checklist()
    return render_template(
        "officials/home.html",
        items=items,
        ready=all(i["done"] for i in items),
        hosts=bool(g.tenant.config.get("replication_host")),
    )


# --- API ---------------------------------------------------------------------------------------


def _json(o: official_admin.OfficialView) -> dict:
    return {
        "official_id": str(o.id),
        "username": o.username,
        "display_name": o.display_name,
        "roles": o.roles,
        "active": o.active,
        "enrolled": o.enrolled,
        "last_sign_in": o.last_sign_in.isoformat() if o.last_sign_in else None,
        "has_email": o.has_email,
    }


def _email_of(body: dict) -> str | None:
    email = body.get("email")
    if email is not None and not isinstance(email, str):
        raise Refused(422, "an e-mail address, or null to remove it", "email")
    try:
        return normalise_email(email)
    except OfficialError as exc:
        raise _refused(exc) from None


def _roles_of(body: dict) -> list[str]:
    roles = body.get("roles")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Refused(422, "a list of roles", "roles")
    return roles


def _display_name_of(body: dict) -> str | None:
    name = body.get("display_name")
    if name is not None and not isinstance(name, str):
        raise Refused(422, "text or null", "display_name")
    return name


@bp.get(API)
@require_roles("tenant_admin")
def list_api():
    return jsonify(items=[_json(o) for o in official_admin.officials_of(g.tenant.id)])


@bp.post(API)
@require_roles("tenant_admin")
def add_api():
    body = json_body()
    body = body if isinstance(body, dict) else {}
    if not isinstance(body.get("username"), str):
        raise Refused(422, "required text", "username")
    email = _email_of(body)
    official_id, token = _add(body["username"], _roles_of(body), _display_name_of(body))
    if email:
        _set_email(official_id, email, announce=False)
    return jsonify(official_id=str(official_id), enrolment_url=_enrolment_url(token)), 201


@bp.patch(f"{API}/<uuid:official_id>")
@require_roles("tenant_admin")
def change_api(official_id: uuid.UUID):
    body = json_body()
    body = body if isinstance(body, dict) else {}
    if "active" in body and not isinstance(body["active"], bool):
        raise Refused(422, "true or false", "active")
    email = _email_of(body) if "email" in body else None
    if "display_name" in body:
        _set_display_name(official_id, _display_name_of(body))
    if "roles" in body:
        _set_roles(official_id, _roles_of(body))
    if "email" in body:
        _set_email(official_id, email)
    if "active" in body:
        _set_active(official_id, body["active"])
    try:
        return jsonify(_json(official_admin.official_of(g.tenant.id, official_id)))
    except OfficialError as exc:
        raise _refused(exc) from None


@bp.post(f"{API}/<uuid:official_id>/second-factor-reset")
@require_roles("tenant_admin")
def reset_api(official_id: uuid.UUID):
    return jsonify(enrolment_url=_enrolment_url(_reset(official_id)))
