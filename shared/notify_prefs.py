"""An official's notification preferences page, the same in every service:

    GET|POST /t/<tenant>/<service's office path>/notifikasi

It lists the kinds of notice this service's officials receive (services/notifications) and
keeps the ones turned off in the official's own row of this service's database
(`officials.notify_opt_outs`), where the notifications consumer reads them. The composition
root (operations/apps.py) registers it with the kinds of the service, since shared code
imports no service.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from shared.auth import official_actor, require_roles
from shared.roles import ROLES
from shared.web import no_store, unit_of_work

# What each kind of notice tells, as an official reads it on the page.
LABELS: dict[str, Any] = {
    "wbs_new_case": _l("A new report waits in the intake queue"),
    "wbs_assigned": _l("A report was assigned to me"),
    "wbs_reporter_message": _l("The reporter wrote on a report I handle"),
    "wbs_identity_request": _l("An identity request waits for a custodian's decision"),
    "wbs_identity_approved": _l("My identity request was approved"),
    "security_setting_changed": _l("A security-relevant setting of the city changed"),
    "official_contact_changed": _l("An official's notification e-mail address changed"),
    "hb_aid_match": _l("A bansos application is also on a linked city's list"),
    "digest": _l("A daily digest of my overdue and due-soon reports"),
}


def blueprint(name: str, path: str, official_model: type, kinds: Iterable[str]) -> Blueprint:
    """The page at `path` (e.g. "/t/<tenant>/whistleblowing/office/notifikasi") for the
    service whose officials are rows of `official_model`, offering `kinds`."""
    bp = Blueprint(name, __name__)
    bp.after_request(no_store)
    offered = [k for k in kinds if k in LABELS]

    def row_of(session):
        official_id = official_actor().official_id
        return session.get(official_model, official_id) if official_id else None

    @bp.route(path, methods=["GET", "POST"])
    @require_roles(*ROLES)
    def preferences():
        with unit_of_work() as uw:
            row = row_of(uw.session)
            if row is None:  # a token of an official this database does not hold
                return render_template("notifications/preferences.html", kinds=[], off=set()), 404
            if request.method == "POST":
                wanted = set(request.form.getlist("kinds"))
                others = [k for k in (row.notify_opt_outs or []) if k not in offered]
                row.notify_opt_outs = sorted({*others, *(k for k in offered if k not in wanted)})
            off = set(row.notify_opt_outs or [])
            has_email = bool(row.email)
        if request.method == "POST":
            flash(_("Your notification preferences were saved."), "success")
            return redirect(url_for(f"{name}.preferences"), 303)
        return render_template(
            "notifications/preferences.html",
            kinds=[(k, LABELS[k]) for k in offered],
            off=off,
            has_email=has_email,
        )

    return bp
