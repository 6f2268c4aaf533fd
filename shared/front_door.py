"""The city's front door, `/t/<slug>/`: its name and logo, the services it runs, how to report
safely, how to apply for aid, the public figures, and the officials' sign-in.

Every service serves it (create_service_app registers this blueprint), so the address that
`make run` prints works on each. A service run elsewhere is linked through `<SERVICE>_URL`
(set by the local runner; in production the services usually share one host, and relative
links are used).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from flask import Blueprint, g, render_template, request
from flask_babel import gettext as _

from shared import settings
from shared.request_context import ext

bp = Blueprint("front_door", __name__)

# the URL segment of each citizen-facing service
PATHS = {"whistleblowing": "whistleblowing", "hibah_bansos": "hibah-bansos"}


@dataclass(frozen=True)
class Door:
    service: str
    title: str
    summary: str
    url: str
    more: tuple[tuple[str, str], ...] = ()  # (label, url) of further public pages


def service_base(service: str) -> str:
    """Where `service`'s pages of this tenant start: on this app a relative path, else the
    service's configured URL (`WHISTLEBLOWING_URL`, `HIBAH_BANSOS_URL`) when there is one."""
    path = f"/t/{g.tenant.slug}/{PATHS[service]}"
    if service == ext()["service"]:
        return request.script_root + path
    other = os.environ.get(f"{settings.env_prefix(service)}_URL", "").rstrip("/")
    return f"{other}{path}" if other else path


def doors() -> list[Door]:
    tenant = g.tenant
    found = []
    if tenant.runs("whistleblowing"):
        base = service_base("whistleblowing")
        found.append(
            Door(
                "whistleblowing",
                _("Report wrongdoing safely"),
                _(
                    "Report corruption, gratuities, illegal levies or abuse of office. You may "
                    "stay anonymous: you get a receipt code instead of giving your name."
                ),
                base,
                ((_("Report statistics"), f"{base}/statistik"),),
            )
        )
    if tenant.runs("hibah_bansos"):
        base = service_base("hibah_bansos")
        found.append(
            Door(
                "hibah_bansos",
                _("Apply for grants and social aid"),
                _(
                    "Community organisations apply for grants (hibah); residents apply for social "
                    "aid (bansos). Each programme says who may apply and which documents it needs."
                ),
                base,
                ((_("Transparency: who received what"), f"{base}/transparansi"),),
            )
        )
    return found


@bp.get("/t/<tenant>/")
def home():
    return render_template("front_door.html", doors=doors()), 200, {"Cache-Control": "no-cache"}
