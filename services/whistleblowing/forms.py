"""Form parsing of the pages: HTML form fields to the API's bodies (validated by `schemas`).

The pages call the same use cases as the API with the same schemas: a form is only another
way to write the JSON body. Labels here name the form's fields in refusals.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage, MultiDict

from services.whistleblowing import schemas

PERSON_ROWS = 3  # rows for reported persons on the report form


MODES = ("anonymous", "confidential")


def mode_of(form: MultiDict[str, str]) -> str:
    """The reporter's choice: anonymous, or confidential (identity sealed). A form without the
    radio choice (an older page, a script) is confidential only if it gives an identity."""
    mode = form.get("mode", "")
    if mode in MODES:
        return mode
    given = any(form.get(f"identity_{k}", "").strip() for k in ("name", "nik", "phone", "email"))
    return "confidential" if given else "anonymous"


def report_body(form: MultiDict[str, str]) -> dict[str, Any]:
    """The report form as a `schemas.ReportIn` body (empty person rows left out; the identity
    only when the reporter chose confidential: an anonymous choice never sends it)."""
    persons = []
    for i in range(PERSON_ROWS):
        p = {k: form.get(f"person_{i}_{k}", "").strip() for k in ("name", "position", "work_unit")}
        if any(p.values()):
            persons.append(p)
    identity = {
        k: v
        for k in ("name", "nik", "phone", "email")
        if (v := form.get(f"identity_{k}", "").strip())
    }
    body: dict[str, Any] = {
        "category": form.get("category", ""),
        "what": form.get("what", ""),
        "reported_persons": persons,
        "where": form.get("where", ""),
        "when": form.get("when", ""),
        "how_known": form.get("how_known", ""),
    }
    if mode_of(form) == "confidential":
        body["identity"] = identity  # empty: refused as a missing name, beside the field
    if contact := form.get("notify_contact", "").strip():
        body["notify_contact"] = contact  # optional, in either mode; sealed apart (README)
    return body


def uploads(files: MultiDict[str, FileStorage], name: str = "files") -> list[bytes]:
    """The chosen files' bytes (empty file inputs skipped; the client's file names ignored)."""
    return [data for f in files.getlist(name) if (data := f.read())]


def parse(model: type[schemas.S], form: MultiDict[str, str], names: tuple[str, ...]) -> schemas.S:
    """The named fields of a form (blank ones left out) validated as `model`."""
    return schemas.parse(model, {f: v for f in names if (v := form.get(f, "").strip())})


def decision(form: MultiDict[str, str]) -> schemas.DecisionIn:
    """A custodian's decision; the passphrase as typed (never stripped)."""
    passphrase = form.get("passphrase")
    body = {
        "decision": form.get("decision", ""),
        **({"passphrase": passphrase} if passphrase else {}),
    }
    return schemas.parse(schemas.DecisionIn, body)


def field_label(field: str) -> str:
    """The report form's name for a field that a refusal names (`reported_persons.0.name`)."""
    head = field.split(".")[0]
    labels = {
        "category": _("Category"),
        "what": _("What happened"),
        "reported_persons": _("Who is reported"),
        "where": _("Where"),
        "when": _("When"),
        "how_known": _("How do you know"),
        "identity": _("Your identity"),
        "file": _("Evidence files"),
        "notify_contact": _("Contact for new-reply notices"),
    }
    return labels.get(head, head)


def field_id(field: str) -> str:
    """The form control a refusal's field names (`reported_persons.0.name` → `person_0_name`)."""
    parts = field.split(".")
    if parts[0] == "reported_persons" and len(parts) >= 3 and parts[1].isdigit():
        return f"person_{parts[1]}_{parts[2]}"
    if parts[0] == "reported_persons":
        return "person_0_name"
    if parts[0] == "identity":
        return f"identity_{parts[1]}" if len(parts) > 1 else "identity_name"
    return {"file": "files", "(body)": "what"}.get(parts[0], parts[0])


def field_reason(field: str, limits: dict[str, Any]) -> str:
    """Why a field was refused, in words a person can act on (the API's reasons are English
    and technical; the page says what to write instead)."""
    reasons = {
        "category": _("Choose the kind of wrongdoing."),
        "what": _("Describe what happened in at least 10 characters (at most 10,000)."),
        "where": _("At most 500 characters."),
        "when": _("At most 200 characters."),
        "how_known": _("At most 2,000 characters."),
        "person_name": _("At most 200 characters; write at least a name or a position."),
        "identity_name": _("Write your name, or choose to report anonymously."),
        "identity_nik": _("A NIK has exactly 16 digits."),
        "identity_phone": _("Write a phone number of 6 to 20 digits, for example 0812 3456 7890."),
        "identity_email": _("Write an e-mail address such as nama@contoh.id."),
        "identity": _("This city cannot take identities yet: choose to report anonymously."),
        "notify_contact": contact_reason(),
        "files": _(
            "Evidence files: %(types)s only, at most %(count)s files of %(size)s each.",
            types=limits["types"],
            count=limits["count"],
            size=limits["size"],
        ),
    }
    control = field_id(field)
    if control.startswith("person_"):
        return reasons["person_name"]
    if field == "identity":
        return reasons["identity"]
    return reasons.get(control, _("Check this field."))


def contact_reason() -> str:
    """Why a notice contact was refused (the report form and the inbox say the same)."""
    return _(
        "Write an e-mail address such as nama@contoh.id, or an Indonesian mobile number "
        "such as 0812 3456 7890 or +62 812 3456 7890; or leave it empty."
    )


def form_errors(fields: list[str], limits: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Refused fields as {control id: {"label", "reason"}}, in form order, one per control."""
    errors: dict[str, dict[str, str]] = {}
    for field in fields:
        control = field_id(field)
        errors.setdefault(
            control, {"label": field_label(field), "reason": field_reason(field, limits)}
        )
    return errors


def category_explanations() -> dict[str, str]:
    """One sentence per usual category code (a tenant's own codes show their label alone)."""
    return {
        "korupsi": _("Public money or property taken or misused for someone's own gain."),
        "gratifikasi": _("Gifts, money or favours given to an official because of their office."),
        "pungutan_liar": _("Payments demanded for a service that should be free or cost less."),
        "penyalahgunaan_wewenang": _(
            "An official using their authority for a purpose it was not given for."
        ),
        "benturan_kepentingan": _(
            "An official deciding on something in which they or their family have an interest."
        ),
        "pelanggaran_disiplin_asn": _(
            "A civil servant breaking the rules of conduct: absence, misuse of office hours, "
            "and the like."
        ),
    }
