"""HTML forms to the API's request shapes, and refusals back to messages beside the fields.

The pages validate nothing themselves: a form becomes the same dict a JSON client would send,
the same pydantic models (schemas.py) and use cases (cases.py) judge it, and their
errors, which name fields, are turned here into texts in the page's language.
"""

from __future__ import annotations

import re
import unicodedata

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from services.hibah_bansos.domain import workflow
from services.hibah_bansos.views import rupiah
from shared.problem import Problem, Refused
from shared.separation import SeparationOfDutiesViolation

RAB_START_ROWS = 3  # rows of a new budget plan; "Tambah baris" adds more
LPJ_ROWS = 5
_DIGITS = re.compile(r"^[0-9]{1,16}$")
_GROUPED = re.compile(r"^[0-9]{1,3}(\.[0-9]{3}){1,5}$")


def rupiah_field(raw: str | None):
    """A form's amount as integer rupiah; None when left empty; otherwise the text itself, which
    the strict schema then refuses naming the field. Digits only, or grouped by dots the
    Indonesian way (12.500.000, as the pages print amounts); "1.5", "1,5" or "1e6" are not
    whole rupiah. NFKC first: fullwidth digits are the ASCII ones; other scripts' digits are
    refused like text."""
    value = unicodedata.normalize("NFKC", raw or "").strip()
    if not value:
        return None
    if _DIGITS.match(value):
        return int(value)
    if _GROUPED.match(value):
        return int(value.replace(".", ""))
    return value


def _text(form, name: str) -> str | None:
    value = (form.get(name) or "").strip()
    return value or None


def _lines(form, prefix: str, rows: int) -> tuple[list[dict], list[int]]:
    """Filled rows of a fixed-size table (no JavaScript to add rows) and their row numbers."""
    lines, used = [], []
    for i in range(rows):
        item, amount = (
            (form.get(f"{prefix}_{i}_item") or "").strip(),
            (form.get(f"{prefix}_{i}_amount") or "").strip(),
        )
        if item or amount:
            line = {"item": item}
            if (parsed := rupiah_field(amount)) is not None:
                line["amount"] = parsed
            lines.append(line)
            used.append(i)
    return lines, used


RAB_FIELDS = ("item", "volume", "unit", "unit_price", "amount")
RAB_MAX_ROWS = 200  # as many as the API takes (schemas.ApplicationIn)


def rab_rows(form) -> list[dict[str, str]]:
    """The budget-plan rows as typed (strings), in order: as many as the form rendered
    (`rab_rows`), or up to the last row any field of which was sent."""
    try:
        count = min(int(form.get("rab_rows") or 0), RAB_MAX_ROWS)
    except ValueError:
        count = 0
    sent = [
        int(m.group(1))
        for key in form
        if (m := re.fullmatch(r"rab_([0-9]{1,3})_[a-z_]+", key)) and int(m.group(1)) < RAB_MAX_ROWS
    ]
    count = max([count, *(i + 1 for i in sent)])
    return [{f: (form.get(f"rab_{i}_{f}") or "").strip() for f in RAB_FIELDS} for i in range(count)]


def rab_edit(form) -> list[dict[str, str]] | None:
    """ "Tambah baris" (add a row) or "Hapus" (remove row i) without JavaScript: the rows to
    show again with what was typed, or None when the form was sent to be saved."""
    action = form.get("rab_action") or ""
    rows = rab_rows(form)
    if action == "add":
        return [*rows, dict.fromkeys(RAB_FIELDS, "")][:RAB_MAX_ROWS]
    if action.startswith("remove:") and action[7:].isdigit():
        i = int(action[7:])
        rows = [r for n, r in enumerate(rows) if n != i]
        return rows or [dict.fromkeys(RAB_FIELDS, "")]
    if action == "recount":
        return rows
    return None


def rab_rows_of(lines: list[dict], minimum: int = 1) -> list[dict[str, str]]:
    """Stored budget lines as form rows (a returned application's edit form)."""
    rows = [
        {
            "item": ln["item"],
            "volume": "" if ln.get("volume") is None else str(ln["volume"]),
            "unit": ln.get("unit") or "",
            "unit_price": "" if ln.get("unit_price") is None else str(ln["unit_price"]),
            "amount": "" if ln.get("volume") is not None else str(ln["amount"]),
        }
        for ln in lines
    ]
    while len(rows) < minimum:
        rows.append(dict.fromkeys(RAB_FIELDS, ""))
    return rows


def _whole(raw: str) -> int | None:
    value = rupiah_field(raw)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def rab_summary(rows: list[dict[str, str]], requested_raw: str | None) -> dict:
    """The running total shown under the table: each row's total (volume x unit price, or
    the total typed on a row without them), their sum, and the difference from the
    requested amount (None when the amount cannot be read yet)."""
    totals: list[int | None] = []
    for r in rows:
        volume, price = _whole(r["volume"]), _whole(r["unit_price"])
        if volume is not None and price is not None:
            totals.append(volume * price)
        elif not r["volume"] and not r["unit_price"]:
            totals.append(_whole(r["amount"]))
        else:
            totals.append(None)
    total = sum(t for t in totals if t)
    requested = _whole(requested_raw or "")
    return {
        "line_totals": totals,
        "total": total,
        "requested": requested,
        "difference": None if requested is None else requested - total,
    }


def application_body(form, programme: str) -> tuple[dict, list[int]]:
    """The API's request shape; the row each RAB line came from, for errors beside it."""
    body: dict = {"programme": programme, "proposal": (form.get("proposal") or "").strip()}
    if (requested := rupiah_field(form.get("requested"))) is not None:
        body["requested"] = requested
    lines, used = [], []
    for i, r in enumerate(rab_rows(form)):
        if not any(r.values()):
            continue
        line: dict = {"item": r["item"]}
        for name in ("volume", "unit_price", "amount"):
            if (value := rupiah_field(r[name])) is not None:
                line[name] = value
        if r["unit"]:
            line["unit"] = r["unit"]
        lines.append(line)
        used.append(i)
    body["rab"] = lines
    return body, used


def lpj_body(form) -> tuple[dict, list[int]]:
    """The LPJ form as the API's LpjIn: one row per budget-plan line (its actual spending;
    nothing or 0 when nothing was spent on it) or free rows, and the return of the unspent
    balance when its fields are filled."""
    body: dict = {"summary": (form.get("summary") or "").strip()}
    try:
        rows = min(max(int(form.get("lpj_rows") or 0), LPJ_ROWS), 200)
    except ValueError:
        rows = LPJ_ROWS
    lines, used = _lines(form, "lpj", rows)
    for line, i in zip(lines, used, strict=True):
        if (rab_line := (form.get(f"lpj_{i}_rab_line") or "").strip()).isdigit():
            line["rab_line"] = int(rab_line)
    kept = [
        (ln, i)
        for ln, i in zip(lines, used, strict=True)
        if not ("rab_line" in ln and ln.get("amount") in (0, None))
    ]
    body["lines"], used = [ln for ln, _ in kept], [i for _, i in kept]
    refund = {
        "amount": rupiah_field(form.get("refund_amount")),
        "date": _text(form, "refund_date"),
        "reference": _text(form, "refund_reference"),
    }
    if any(v is not None for v in refund.values()):
        body["refund"] = {k: v for k, v in refund.items() if v is not None}
    return body, used


def refund_body(form) -> dict:
    return {
        k: v
        for k, v in {
            "amount": rupiah_field(form.get("refund_amount")),
            "date": _text(form, "refund_date"),
            "reference": _text(form, "refund_reference"),
        }.items()
        if v is not None
    }


ORGANISATION_FIELDS = (
    "email",
    "password",
    "name",
    "registration_number",
    "legal_entity_since",
    "npwp",
    "address",
    "chairperson",
    "phone",
    "bank_account",
)
INDIVIDUAL_FIELDS = ("email", "password", "nik", "kk", "name", "address", "phone", "bank_account")


def applicant_body(form, kind: str) -> dict:
    names = ORGANISATION_FIELDS if kind == "organisation" else INDIVIDUAL_FIELDS
    body = {"type": kind}
    for name in names:
        value = form.get(name) or ""
        value = value if name == "password" else value.strip()
        if value:
            body[name] = value
    return body


def transition_body(form) -> dict:
    body = {"to": (form.get("to") or "").strip()}
    for name in ("reason", "reference", "date"):
        if (value := _text(form, name)) is not None:
            body[name] = value
    if (amount := rupiah_field(form.get("amount"))) is not None:
        body["amount"] = amount
    return body


# --- refusals -> messages ---------------------------------------------------------------------

AMOUNT = _l("Enter a whole number of rupiah, digits only (for example 12500000).")
ELIGIBILITY = {
    "applicant_types": _l("This programme is not open to this type of applicant."),
    "domicile_required": _l("The applicant must be registered in this city."),
    "min_legal_entity_years": _l("The legal entity is not old enough for this programme."),
    "no_hibah_previous_year": _l(
        "The organisation received a grant last fiscal year; grants "
        "are not given two years running."
    ),
    "max_amount": _l("The requested amount is above this programme's maximum."),
    "social_registry_required": _l(
        "The social registry (DTKS/DTSEN) does not list you: ask an official to verify you "
        "instead of submitting."
    ),
}
INPUT = {
    "email": _l("Enter a valid e-mail address."),
    "password": _l("Use a password of at least 12 characters."),
    "phone": _l("Enter a phone number: digits, spaces or dashes."),
    "bank_account": _l("Enter the bank account number: digits, spaces or dashes."),
    "npwp": _l("Enter the NPWP tax number: 15 digits, with dots or dashes."),
    "legal_entity_since": _l("Enter a date that is not in the future."),
    "date": _l("Enter a date."),
    "proposal": _l("Describe the proposal in at least 10 characters."),
    "nik": _l("This NIK is not valid: 16 digits with a real region code and birth date."),
    "kk": _l("A family card (KK) number has 16 digits."),
    "to": _l("Choose the next step."),
    "reason": _l("Give a reason."),
    "reference": _l("Give the number of the decree, agreement, receipt or transfer."),
}
CONFLICT = {
    "email": _l("An account with this e-mail address exists; sign in instead."),
    "registration_number": _l("This legal entity already has an account in this city."),
    "nik": _l(
        "This NIK is already registered, or already has an application in this "
        "programme this fiscal year."
    ),
    "programme": _l("This programme is not open for applications."),
    "status": _l(
        "Documents can be added only to a draft or to an application returned for revision."
    ),
    "remove": _l(
        "Documents can be removed only from a draft or an application returned for revision."
    ),
}


def _message(field: str, reason: str, status: int, labels: dict[str, str]) -> str:
    parts = field.split(".")
    head, last = parts[0], parts[-1]
    if head == "eligibility":
        return str(ELIGIBILITY.get(last, reason))
    if head == "documents" and len(parts) == 2:
        return _(
            "Required document missing: %(document)s.", document=labels.get(parts[1], parts[1])
        )
    if field == "rab":
        return _("The budget lines (RAB) must add up to the requested amount.")
    if head == "refund" and reason.startswith("nothing is unspent"):
        return _("Nothing is unspent: there is no balance to return.")
    if head == "refund" and reason.startswith("the unspent balance is"):
        return _("Return the whole unspent balance shown above.")
    if head == "refund" and last == "date" and "future" in reason:
        return _("The date of the return cannot be in the future.")
    if head == "rab" and last == "amount" and reason.startswith("volume x unit price"):
        return _("This total is not volume × unit price: leave it empty and it is computed.")
    if head == "rab" and last == "volume":
        return _("Enter how many units: a whole number, digits only.")
    if last in ("requested", "amount", "unit_price") and status == 422:
        return str(AMOUNT)
    if field == "file" or last == "file":
        return {
            413: _("The file is too large (at most 10 MB)."),
            415: _("Upload a PDF, JPEG or PNG file."),
        }.get(status, _("The file is empty."))
    if status == 409 and field in CONFLICT:
        return str(CONFLICT[field])
    if last in INPUT:
        return str(INPUT[last])
    if last in ("item", "unit", "name", "address", "chairperson", "registration_number", "summary"):
        return _("Fill in this field.")
    return reason


def field_errors(
    exc: Exception,
    *,
    rows: dict[str, list[int]] | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, str]:
    """{field: message} for a refusal. `rows` maps a list field (rab, lines) to the form row
    each list item came from, so "rab.0.amount" lands beside the row the user filled;
    `labels` names document types."""
    if isinstance(exc, Problem):
        raw, status = exc.errors or [{"field": "(body)", "reason": exc.detail or ""}], exc.status
    elif isinstance(exc, Refused):
        raw = exc.errors or [{"field": "(form)", "reason": str(exc)}]
        status = exc.status
    else:
        raw, status = [{"field": "(form)", "reason": str(exc)}], 422
    out: dict[str, str] = {}
    for e in raw:
        field = e["field"]
        parts = field.split(".")
        if (
            rows
            and parts[0] in rows
            and len(parts) > 1
            and parts[1].isdigit()
            and int(parts[1]) < len(rows[parts[0]])
        ):
            parts[1] = str(rows[parts[0]][int(parts[1])])
            field = ".".join(parts)
        if status == 409 and isinstance(exc, Refused) and "ceiling" in exc.extra:
            out.setdefault(
                field,
                _(
                    "The programme ceiling (pagu) would be exceeded: %(left)s remains.",
                    left=rupiah(exc.extra.get("remaining")),
                ),
            )
        else:
            out.setdefault(field, _message(field, e.get("reason", ""), status, labels or {}))
    return out


def workflow_errors(exc: Exception) -> dict[str, str]:
    """{field: message} for a refused workflow step (officials' transition form)."""
    if isinstance(exc, SeparationOfDutiesViolation):
        return {
            "(form)": _(
                "You did an earlier step of this application; another official "
                "must do this one (separation of duties)."
            )
        }
    if isinstance(exc, workflow.IllegalTransition):
        return {"to": _("This step is not allowed from the current status.")}
    if isinstance(exc, workflow.NotYourStep):
        return {"to": _("Your role does not allow this step.")}
    if isinstance(exc, workflow.WorkflowError):
        field = exc.field or "(form)"
        if str(exc).startswith("Moving to"):  # check_fields: a field this step needs is empty
            return {field: str(NEEDED.get(field, INPUT.get(field, exc)))}
        if field == "amount":  # an amount rule of the step (check_amount)
            return {
                "amount": _(
                    "The amount is more than this step allows: at most the "
                    "requested amount, and in all disbursements at most the "
                    "approved amount."
                )
            }
        return {field: str(exc)}
    return field_errors(exc)


NEEDED = {
    "amount": _l("This step needs an amount in whole rupiah."),
    "reason": _l("Give a reason."),
    "reference": INPUT["reference"],
    "date": _l("This step needs a date."),
}


LABELS = {
    "requested": _l("Requested amount (whole rupiah)"),
    "proposal": _l("Proposal"),
    "rab": _l("Budget plan (RAB)"),
    "lines": _l("Accountability report (LPJ)"),
    "refund": _l("Return of the unspent balance"),
    "email": _l("E-mail"),
    "password": _l("Password"),
    "password_confirm": _l("Password again"),
    "name": _l("Name"),
    "registration_number": _l("Legal-entity registration number (AHU)"),
    "legal_entity_since": _l("Legal entity registered on"),
    "npwp": _l("NPWP tax number"),
    "chairperson": _l("Chairperson"),
    "address": _l("Address"),
    "phone": _l("Phone"),
    "bank_account": _l("Bank account number"),
    "nik": _l("NIK (16 digits)"),
    "kk": _l("Family card number (KK, 16 digits)"),
    "amount": _l("Amount (whole rupiah)"),
    "reason": _l("Reason or consideration"),
    "reference": _l("Reference number"),
    "date": _l("Date"),
    "to": _l("Move to"),
    "file": _l("Document"),
    "summary": _l("Summary of the activity"),
    "eligibility": _l("Eligibility"),
    "code": _l("Document"),
    "reset_code": _l("Reset code"),
    "identity_checked": _l("Identity check"),
}


def field_label(field: str, documents: dict[str, str]) -> str:
    """The name of a form field in the error summary ("" when the message says it all)."""
    parts = field.split(".")
    if parts[0] == "rab" and len(parts) > 1 and parts[1].isdigit():
        return _("Budget plan (RAB) line %(n)s", n=int(parts[1]) + 1)
    if parts[0] == "lines" and len(parts) > 1 and parts[1].isdigit():
        return _("LPJ line %(n)s", n=int(parts[1]) + 1)
    if parts[0] == "documents" and len(parts) > 2:
        return documents.get(parts[1], parts[1])
    if parts[0] == "documents":
        return ""  # "Required document missing: <name>" names it already
    return str(LABELS.get(parts[0], ""))
