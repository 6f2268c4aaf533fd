"""The officials' import page for bansos beneficiaries: upload a CSV or .xlsx file, see the
dry run (the rows that would be imported, the rows that would not with their row, column and
reason as Excel shows them), then confirm.

The dry run (`imports.dry_run`) is a read: nothing is written, no event is emitted. The file
is not kept between the preview and the confirmation: the confirmation asks for the same file
again and carries the preview's SHA-256 digest, so what is imported is exactly the file that
was previewed (another file is refused beside the field, and previewed in turn). The confirmed
import is the API's use case (`imports.import_beneficiaries`), for the same role (intake).
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from services.hibah_bansos import imports, office_pages, repository
from services.hibah_bansos.domain.access import INTAKE
from services.hibah_bansos.import_reasons import file_reason, row_reason
from services.hibah_bansos.views import programme_name
from shared.auth import official_actor, require_roles
from shared.problem import Refused
from shared.request_context import db
from shared.web import no_store, unit_of_work

bp = Blueprint("hb_import", __name__)
bp.after_request(no_store)
bp.context_processor(office_pages._office_menu)  # the officials' menu, as on every office page
PAGE = "/t/<tenant>/hibah-bansos/office/imports"
PREVIEW_GOOD_ROWS = 50  # the preview shows the first good rows; every bad row is listed
PREVIEW_BAD_ROWS = 1000


def _programmes() -> list[tuple[str, str]]:
    return [(p.code, programme_name(p)) for p in repository.programmes(db()) if p.kind == "bansos"]


def _form_page(form: dict, errors: dict[str, str], status: int = 200):
    return render_template(
        "hibah_bansos/office/imports.html",
        programmes=_programmes(),
        form=form,
        errors=errors,
        max_mb=imports.MAX_BYTES // (1024 * 1024),
        max_rows=imports.MAX_ROWS,
    ), status


def _uploaded() -> tuple[bytes | None, str]:
    file = request.files.get("file")
    if file is None or not file.filename:
        return None, ""
    return file.read(imports.MAX_BYTES + 1), file.filename


def _file_error(exc: Refused) -> str:
    return _("%(reason)s Nothing was imported.", reason=file_reason(str(exc)))


@bp.get(PAGE)
@require_roles(INTAKE)
def page():
    return _form_page({}, {})


@bp.post(PAGE)
@require_roles(INTAKE)
def upload():
    form = {k: (request.form.get(k) or "").strip() for k in ("programme", "sheet", "digest")}
    codes = {code for code, _name in _programmes()}
    errors: dict[str, str] = {}
    if form["programme"] not in codes:
        errors["programme"] = _("Choose the bansos programme the beneficiaries are for.")
    raw, filename = _uploaded()
    if raw is None:
        errors["file"] = _("Choose the CSV or .xlsx file to import.")
    if errors:
        return _form_page(form, errors, 422)
    assert raw is not None
    sheet = form["sheet"] or None
    try:
        preview = imports.dry_run(db(), g.tenant, form["programme"], raw, sheet)
    except Refused as exc:
        if exc.field == "file":
            return _form_page(form, {"file": _file_error(exc)}, exc.status)
        raise
    if request.form.get("action") == "confirm":
        if form["digest"] != preview["digest"]:
            # another file than the one previewed: its own preview, and the reason
            return _preview_page(
                form | {"digest": ""},
                preview,
                filename,
                {"file": _("This is not the file you previewed. Check its preview below.")},
                422,
            )
        with unit_of_work() as uw:
            result = imports.import_beneficiaries(
                uw, official_actor(), form["programme"], raw, sheet
            )
        flash(
            _(
                "Import done: %(imported)s applications created, %(unchanged)s rows already had "
                "one (unchanged), %(rejected)s rows not imported.",
                imported=result["imported"],
                unchanged=result["unchanged"],
                rejected=len(result["rejected"]),
            ),
            "success",
        )
        return redirect(url_for("hb_office.dashboard", code=form["programme"]), code=303)
    return _preview_page(form, preview, filename, {})


def _preview_page(form: dict, preview: dict, filename: str, errors: dict, status: int = 200):
    bad = [
        {
            "row": r["row"],
            "problems": [
                {
                    "column": p["column"] or "",
                    "header": p["header"] or "",
                    "reason": row_reason(p["reason"]),
                }
                for p in r["problems"]
            ],
        }
        for r in preview["rejected"][:PREVIEW_BAD_ROWS]
    ]
    return render_template(
        "hibah_bansos/office/import_preview.html",
        programme=dict(_programmes()).get(form["programme"], form["programme"]),
        form=form,
        preview=preview,
        good=preview["good"][:PREVIEW_GOOD_ROWS],
        bad=bad,
        filename=filename,
        errors=errors,
    ), status
