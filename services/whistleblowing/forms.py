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


def report_body(form: MultiDict[str, str]) -> dict[str, Any]:
    """The report form as a `schemas.ReportIn` body (empty person rows and identity left out)."""
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
    if identity:
        body["identity"] = identity
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
    }
    return labels.get(head, head)
