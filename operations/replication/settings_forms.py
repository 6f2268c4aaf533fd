"""The tenant's settings as forms, one page per section (city, branding, holidays, reports,
attachments, documents and rules, programmes): what each page shows, how its fields read
into the configuration, and the problems of a save in the reader's words beside the field.

A form never validates on its own: it only turns typed text into the configuration's shape
(a number that is not a number is the one thing it refuses itself) and hands the whole
configuration to `config_admin.update`, the same use case and schema as the YAML view.

Field names are the configuration's paths with dots (`services.whistleblowing.sla.feedback_days`;
rows: `services.whistleblowing.categories.2.label.id`), so a schema problem at a path lands
beside the field of that name.
"""

from __future__ import annotations

import copy
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from services.hibah_bansos.forms import rupiah_field
from services.whistleblowing.attachments import DEFAULT_TYPES, EXTENSIONS
from shared.tenant_config import SchemaProblem

Form = Mapping[str, str]


@dataclass(frozen=True)
class Field:
    path: str  # the configuration path, dot-joined (relative to the row in a Rows)
    label: Any
    kind: str = "text"  # text | int | rupiah | mb | bool | select | date | lines | years | checks
    hint: Any = ""
    required: bool = False
    choices: tuple[tuple[str, Any], ...] = ()
    maxlength: int | None = None
    default: Any = None  # shown when the setting is absent (the schema's default)


@dataclass(frozen=True)
class Rows:
    """A list of like items, one table row each; a row left empty or marked to remove is
    dropped, and `spare` empty rows let the admin add more."""

    path: str
    label: Any
    columns: tuple[Field, ...]
    hint: Any = ""
    spare: int = 2
    removable: bool = True


@dataclass(frozen=True)
class Section:
    name: str
    title: Any
    intro: Any
    items: tuple[Field | Rows, ...]
    service: str | None = None  # shown when the city runs this service
    prepare: Callable[[dict[str, Any]], None] | None = None  # shapes the config before reading


# --- reading and writing nested values ----------------------------------------------------------


def get(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def put(data: dict[str, Any], path: str, value: Any) -> None:
    """Set `path` to `value`, creating the mappings on the way; None removes the key (the
    schema's default then applies)."""
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        if isinstance(node, list) and part.isdigit() and int(part) <= len(node):
            if int(part) == len(node):
                node.append({})
            node = node[int(part)]
            continue
        nxt = node.get(part)
        if not isinstance(nxt, (dict, list)):
            if value is None:
                return
            nxt = node[part] = [] if parts_next_is_index(path, part) else {}
        node = nxt
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value


def parts_next_is_index(path: str, part: str) -> bool:
    parts = path.split(".")
    i = parts.index(part)
    return i + 1 < len(parts) and parts[i + 1].isdigit()


def _shown(value: Any, f: Field) -> Any:
    """A configured value as its form field shows it."""
    if value is None:
        return [] if f.kind == "checks" else ""
    if f.kind == "bool":
        return bool(value)
    if f.kind == "mb":
        return f"{value / 1048576:g}"
    if f.kind == "rupiah":
        return f"{value:,}".replace(",", ".")
    if f.kind == "lines":
        return "\n".join(str(v) for v in value)
    if f.kind == "years":
        return ", ".join(str(v) for v in value)
    return value


def values_of(section: Section, config: dict[str, Any]) -> dict[str, Any]:
    """Every field's shown value (rows: `<path>.count` rows, the spare ones empty)."""
    config = copy.deepcopy(config)
    if section.prepare:
        section.prepare(config)
    out: dict[str, Any] = {}
    for item in section.items:
        if isinstance(item, Rows):
            rows = get(config, item.path) or []
            out[f"{item.path}.count"] = len(rows) + item.spare
            for i, row in enumerate(rows):
                for col in item.columns:
                    out[f"{item.path}.{i}.{col.path}"] = _shown(get(row, col.path), col)
        else:
            value = get(config, item.path)
            out[item.path] = _shown(item.default if value is None else value, item)
    return out


def typed_values(section: Section, form: Any) -> dict[str, Any]:
    """What was typed, to show again beside the problems."""
    out: dict[str, Any] = {}
    for item in section.items:
        if isinstance(item, Rows):
            count = _count(form, item)
            out[f"{item.path}.count"] = count
            for i in range(count):
                out[f"{item.path}.{i}.remove"] = bool(form.get(f"{item.path}.{i}.remove"))
                for col in item.columns:
                    name = f"{item.path}.{i}.{col.path}"
                    out[name] = _typed(form, name, col)
        else:
            out[item.path] = _typed(form, item.path, item)
    return out


def _typed(form: Any, name: str, f: Field) -> Any:
    if f.kind == "bool":
        return bool(form.get(name))
    if f.kind == "checks":
        return form.getlist(name)
    return form.get(name, "")


def _count(form: Any, rows: Rows) -> int:
    raw = form.get(f"{rows.path}.count", "")
    return min(int(raw), 200) if raw.isdigit() else 0


# --- typed text into the configuration ----------------------------------------------------------


class Unreadable(ValueError):
    """A typed value the form cannot even turn into the configuration's shape."""

    def __init__(self, rule: str) -> None:
        super().__init__(rule)
        self.rule = rule


def _plain(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw or "").strip()


def _read(form: Any, name: str, f: Field) -> Any:
    if f.kind == "bool":
        return bool(form.get(name))
    if f.kind == "checks":
        return [v for v in form.getlist(name) if v] or None
    raw = _plain(form.get(name, ""))
    if f.kind == "lines":
        return [line.strip() for line in raw.splitlines() if line.strip()] or None
    if f.kind == "years":
        parts = [p for p in raw.replace(",", " ").split() if p]
        if not all(p.isdigit() for p in parts):
            raise Unreadable("integer")
        return [int(p) for p in parts] or None
    if not raw:
        return "" if f.required else None
    if f.kind == "int":
        if not raw.isdigit():
            raise Unreadable("integer")
        return int(raw)
    if f.kind == "rupiah":
        value = rupiah_field(raw.removeprefix("Rp").strip())
        if not isinstance(value, int):
            raise Unreadable("rupiah")
        return value
    if f.kind == "mb":
        try:
            mb = float(raw.replace(",", "."))
        except ValueError:
            raise Unreadable("number") from None
        if not 0 <= mb < 1e6:
            raise Unreadable("number")
        return round(mb * 1048576)
    return raw


def apply_form(
    section: Section, config: dict[str, Any], form: Any
) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """(the new configuration, problems of fields the form could not read, and the map from
    each saved row's configuration path to its form row, for the schema's problems)."""
    new = copy.deepcopy(config)
    if section.prepare:
        section.prepare(new)
    unreadable: dict[str, str] = {}
    rows_map: dict[str, str] = {}
    for item in section.items:
        if isinstance(item, Rows):
            old = get(new, item.path) or []
            kept: list[dict[str, Any]] = []
            for i in range(_count(form, item)):
                if form.get(f"{item.path}.{i}.remove"):
                    continue
                row = copy.deepcopy(old[i]) if i < len(old) and isinstance(old[i], dict) else {}
                filled = False
                for col in item.columns:
                    name = f"{item.path}.{i}.{col.path}"
                    try:
                        value = _read(form, name, col)
                    except Unreadable as exc:
                        unreadable[name] = message(SchemaProblem(name, exc.rule))
                        value = None
                    filled = filled or value not in (None, "", False, [])
                    put(row, col.path, value if value != "" else None)
                if filled:
                    rows_map[f"{item.path}.{len(kept)}"] = f"{item.path}.{i}"
                    kept.append(row)
            put(new, item.path, kept if kept or old else None)
        else:
            try:
                put(new, item.path, _read(form, item.path, item))
            except Unreadable as exc:
                unreadable[item.path] = message(SchemaProblem(item.path, exc.rule))
    return new, unreadable, rows_map


def field_of(path: str, rows_map: Mapping[str, str]) -> str:
    """The form field a configuration path ("a/b/0/c") names."""
    name = path.replace("/", ".")
    for saved, shown in sorted(rows_map.items(), key=lambda kv: -len(kv[0])):
        if name == saved or name.startswith(saved + "."):
            return shown + name[len(saved) :]
    return name


def field_names(section: Section, values: Mapping[str, Any]) -> set[str]:
    names: set[str] = set()
    for item in section.items:
        if isinstance(item, Rows):
            for i in range(int(values.get(f"{item.path}.count", 0))):
                names.update(f"{item.path}.{i}.{c.path}" for c in item.columns)
        else:
            names.add(item.path)
    return names


# --- problems in words --------------------------------------------------------------------------


def message(p: SchemaProblem) -> str:
    """A problem in the reader's language, saying what to type."""
    last = p.field.replace("/", ".").rsplit(".", 1)[-1]
    rule, limit = p.rule, p.limit
    if rule == "required" or (rule == "minLength" and limit == 1):
        return _("Required.")
    if rule in ("integer", "number") or (rule == "type" and limit == "integer"):
        return _("Type a whole number, for example 14.")
    if rule == "rupiah":
        return _("Type whole rupiah, for example 1500000 or 1.500.000.")
    if rule == "type":
        return _("This setting has the wrong form.")
    if rule == "pattern":
        if last.endswith("_color"):
            return _("Type a colour as # and six hexadecimal digits, for example #0b5394.")
        if last in ("opens", "closes", "date", "remove"):
            return _("Type a date as YYYY-MM-DD, for example 2026-08-17.")
        if last == "annual":
            return _("Type a day of the year as MM-DD, for example 06-21.")
        if last == "lpj_due":
            return _("Type a day of the year as MM-DD, for example 01-10.")
        if last == "code":
            if ".programmes." in p.field.replace("/", "."):
                return _("Capital letters A-Z, digits and '-', 2-40 characters.")
            return _("Lower-case letters a-z, digits and '_', starting with a letter.")
        if last == "email":
            return _("Type an e-mail address, for example pengaduan@cimahikota.go.id.")
        if last == "phone":
            return _("Digits, spaces, '+' and '-', for example +62 22 6654321.")
        if last == "region_code":
            return _("A BPS region code, for example 32.77.")
        return _("Use the form shown in the hint.")
    if rule in ("maxLength", "maxItems"):
        return _("At most %(limit)s.", limit=limit)
    if rule == "minimum":
        return _("At least %(limit)s.", limit=limit)
    if rule == "maximum":
        return _("At most %(limit)s.", limit=limit)
    if rule == "minItems":
        return _("At least %(limit)s.", limit=limit)
    if rule == "enum":
        return _("Choose one of: %(choices)s.", choices=", ".join(map(str, limit or [])))
    if rule == "additionalProperties":
        return _("Unknown setting: %(names)s.", names=", ".join(limit or []))
    if rule == "minProperties":
        return _("Choose at least one service.")
    if rule == "propertyNames":
        return _("Unknown name.")
    if rule == "contrast":
        return _(
            "Too light: the header needs a contrast of at least %(limit)s:1 with the white "
            "page. Choose a darker colour.",
            limit=limit,
        )
    if rule == "contrast_primary":
        return _(
            "Too close to the primary colour: the header's stripe needs a contrast of at least "
            "%(limit)s:1 with it.",
            limit=limit,
        )
    if rule == "unique":
        return _("The code %(code)s is used twice.", code=limit)
    if rule == "document":
        return _("Not among the documents of this city: %(codes)s.", codes=", ".join(limit or []))
    if rule == "closes_before_opens":
        return _("The closing date is before the opening date (%(opens)s).", opens=limit)
    if rule == "yaml":
        if limit:
            return _("This is not valid YAML (line %(line)s).", line=limit)
        return _("This is not valid YAML.")
    if rule == "mapping":
        return _("The settings must be a mapping of names to values.")
    if rule == "platform":
        return _("Set by the hosting deployment; it cannot be changed here.")
    if rule == "stale":
        return _(
            "The settings changed since you opened this page (now version %(version)s). "
            "Open the page again and repeat your change.",
            version=limit,
        )
    if rule == "logo":
        return str(limit)
    return _("This value is not accepted.")


# --- the sections -------------------------------------------------------------------------------

HEX_HINT = _l("# and six hexadecimal digits, for example #0b5394.")
DATE_HINT = _l("YYYY-MM-DD")
LABEL_ID, LABEL_EN = _l("Name (Bahasa Indonesia)"), _l("Name (English)")
MEDIA_TYPES = tuple((t, f"{t} (.{ext})") for t, ext in EXTENSIONS.items())


def _holiday_shape(config: dict[str, Any]) -> None:
    """The holidays setting in its full form (a bare list of dates is `add`)."""
    raw = config.get("holidays")
    if isinstance(raw, list):
        config["holidays"] = {"add": raw}
    elif raw is None:
        config["holidays"] = {}


SECTIONS: tuple[Section, ...] = (
    Section(
        "city",
        _l("City names and contact"),
        _l("The names citizens read on every page, and how they reach the city's team."),
        (
            Field("name", _l("Official name"), hint=_l("For example: Pemerintah Kota Cimahi."), required=True, maxlength=200),
            Field("branding.display_name", _l("Short name in the header"), hint=_l("For example: Kota Cimahi."), maxlength=100),
            Field("region_code", _l("Region code (BPS)"), hint=_l("For example: 32.77."), maxlength=16),
            Field("contact.email", _l("Contact e-mail"), maxlength=254),
            Field("contact.phone", _l("Contact telephone"), hint=_l("Digits, spaces, '+' and '-'."), maxlength=30),
            Field("contact.address", _l("Office address"), kind="lines"),
            Field("locale", _l("Language of the pages"), kind="select", choices=(("id", "Bahasa Indonesia"), ("en", "English"))),
            Field("timezone", _l("Time zone"), kind="select", choices=(("Asia/Jakarta", "WIB (Asia/Jakarta)"), ("Asia/Makassar", "WITA (Asia/Makassar)"), ("Asia/Jayapura", "WIT (Asia/Jayapura)"))),
        ),
    ),
    Section(
        "branding",
        _l("Branding"),
        _l("The header's colours and logo on every page of the city. Colours are checked for contrast: the header text is chosen black or white, whichever reads better."),
        (
            Field("branding.primary_color", _l("Primary colour (header)"), hint=HEX_HINT, maxlength=7),
            Field("branding.secondary_color", _l("Secondary colour (header stripe)"), hint=HEX_HINT, maxlength=7),
        ),
    ),
    Section(
        "holidays",
        _l("Days off"),
        _l("Working-day deadlines skip weekends, Indonesia's public holidays and the government's cuti bersama. Add the city's own days (its anniversary), and tick national days the city's offices work."),
        (
            Field("holidays.national", _l("Count Indonesia's public holidays"), kind="bool", default=True),
            Field("holidays.cuti_bersama", _l("Count the government's cuti bersama"), kind="bool", default=True),
            Rows(
                "holidays.add",
                _l("The city's own days off"),
                (
                    Field("date", _l("Date (once)"), kind="date", hint=DATE_HINT),
                    Field("annual", _l("Or every year (MM-DD)"), hint=_l("MM-DD"), maxlength=5),
                    Field("name", _l("Name"), maxlength=100),
                ),
                hint=_l("A date, or a day every year such as 06-21. Fill one of the two."),
            ),
            Field("holidays.remove", _l("National days the offices work"), kind="checks", hint=_l("Ticked days count as working days.")),
            Field("holidays.covered_years", _l("Years whose cuti bersama you entered yourself"), kind="years", hint=_l("For example: 2028. Only when the calendar does not know that year's decree yet.")),
        ),
        prepare=_holiday_shape,
    ),
    Section(
        "reports",
        _l("Whistleblowing: categories and deadlines"),
        _l("The categories a reporter chooses from, and the deadlines of the case clocks."),
        (
            Rows(
                "services.whistleblowing.categories",
                _l("Categories"),
                (
                    Field("code", _l("Code"), hint=_l("a-z, 0-9, _"), maxlength=40),
                    Field("label.id", LABEL_ID, maxlength=100),
                    Field("label.en", LABEL_EN, maxlength=100),
                ),
                hint=_l("The code is stored with each report: keep it when you rename a category."),
            ),
            Field("services.whistleblowing.sla.acknowledge_working_days", _l("Acknowledge within (working days)"), kind="int", default=7, hint=_l("1 to 60.")),
            Field("services.whistleblowing.sla.feedback_days", _l("Answer the reporter within (days)"), kind="int", default=90, hint=_l("1 to 365.")),
            Field("services.whistleblowing.sla.auto_acknowledge", _l("Acknowledge every new report automatically"), kind="bool"),
            Field("services.whistleblowing.retention_days", _l("Keep closed cases for (days)"), kind="int", default=1825, hint=_l("At least 30.")),
            Field("services.whistleblowing.identity_disclosure_approvers", _l("Approvals needed to reveal an identity"), kind="int", default=1, hint=_l("1 or 2.")),
            Field("services.whistleblowing.identity_disclosure_valid_days", _l("An approved disclosure stays valid for (days)"), kind="int", default=7, hint=_l("1 to 90.")),
        ),
        service="whistleblowing",
    ),
    Section(
        "attachments",
        _l("Whistleblowing: attachments"),
        _l("What reporters may attach. Every file is checked by its content, cleaned of metadata and never named."),
        (
            Field("services.whistleblowing.attachments.max_bytes", _l("Largest file (MB)"), kind="mb", default=10485760, hint=_l("Up to 50 MB.")),
            Field("services.whistleblowing.attachments.max_count", _l("Files per report"), kind="int", default=10, hint=_l("0 to 50.")),
            Field("services.whistleblowing.attachments.types", _l("Types accepted"), kind="checks", choices=MEDIA_TYPES, default=list(DEFAULT_TYPES)),
        ),
        service="whistleblowing",
    ),
    Section(
        "documents",
        _l("Grants and social aid: documents and rules"),
        _l("The documents applicants may be asked for (each programme picks its own), the region codes counted as domicile, and when accountability reports are due."),
        (
            Rows(
                "services.hibah_bansos.required_documents",
                _l("Documents"),
                (
                    Field("code", _l("Code"), hint=_l("a-z, 0-9, _"), maxlength=40),
                    Field("label.id", LABEL_ID, maxlength=200),
                    Field("label.en", LABEL_EN, maxlength=200),
                ),
            ),
            Field("services.hibah_bansos.region_codes", _l("NIK region prefixes counted as domicile"), kind="lines", hint=_l("One per line, 4 to 6 digits, for example 3277.")),
            Field("services.hibah_bansos.lpj_due", _l("Accountability report due (MM-DD, the year after)"), hint=_l("For example: 01-10."), maxlength=5),
        ),
        service="hibah_bansos",
    ),
)  # fmt: skip

PROGRAMME_FIELDS: tuple[Field, ...] = (
    Field("code", _l("Code"), hint=_l("Capital letters, digits and '-', for example HIBAH-ORMAS-2027."), required=True, maxlength=40),
    Field("kind", _l("Kind"), kind="select", required=True, choices=(("hibah", _l("Grant (hibah)")), ("bansos", _l("Social aid (bansos)")))),
    Field("fiscal_year", _l("Fiscal year"), kind="int", required=True),
    Field("name.id", LABEL_ID, required=True, maxlength=200),
    Field("name.en", LABEL_EN, maxlength=200),
    Field("ceiling", _l("Ceiling (pagu), rupiah"), kind="rupiah", required=True, hint=_l("For example: 1.500.000.000.")),
    Field("opd", _l("Responsible work unit (OPD)"), required=True, maxlength=200),
    Field("opens", _l("Opens on"), kind="date"),
    Field("closes", _l("Closes on"), kind="date"),
    Field("planned", _l("Budgeted in the APBD (planned)"), kind="bool", default=True),
    Field("required_documents", _l("Documents required"), kind="checks"),
    Field("eligibility.applicant_types", _l("Who may apply"), kind="checks", choices=(("organisation", _l("Organisations")), ("individual", _l("Individuals")))),
    Field("eligibility.domicile_required", _l("Applicants must live in the city (NIK region)"), kind="bool"),
    Field("eligibility.min_legal_entity_years", _l("Legal entity for at least (years)"), kind="int"),
    Field("eligibility.no_hibah_previous_year", _l("No grant in the previous year"), kind="bool"),
    Field("eligibility.exempt_from_annual_rule", _l("Exempt from the once-a-year rule"), kind="bool"),
    Field("eligibility.max_amount", _l("Largest amount per application, rupiah"), kind="rupiah"),
    Field("eligibility.social_registry_required", _l("Must be in the social registry (DTKS)"), kind="bool"),
)  # fmt: skip

BY_NAME = {s.name: s for s in SECTIONS}
