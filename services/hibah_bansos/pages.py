"""Server-rendered public pages of the hibah-bansos service (no JavaScript needed)."""
from __future__ import annotations

from flask import Blueprint, g, render_template
from flask_babel import get_locale, lazy_gettext as _l

from services.hibah_bansos import programmes, transparency as public
from shared.web import db

bp = Blueprint("hb_pages", __name__)
BASE = "/t/<tenant>/hibah-bansos"


def rupiah(value: int | None) -> str:
    """Integer rupiah the Indonesian way: Rp12.500.000 (dots group thousands, no decimals)."""
    return "Rp" + f"{int(value or 0):,}".replace(",", ".")


# The public states of a funded application, as officials name them.
STATUS_LABELS = {"approved": _l("Approved"), "agreement_signed": _l("Agreement signed"),
                 "disbursed": _l("Disbursed"), "reported": _l("Reported"), "closed": _l("Closed")}


@bp.app_context_processor
def _helpers() -> dict:
    return {"rupiah": rupiah, "status_label": lambda status: STATUS_LABELS.get(status, status)}


@bp.get(f"{BASE}/transparansi")
def transparency():
    s = db()
    programmes.ensure_synced(s, g.tenant)
    report = public.public_report(s, str(get_locale() or g.tenant.locale))
    return render_template("hibah_bansos/transparency.html", report=report)
