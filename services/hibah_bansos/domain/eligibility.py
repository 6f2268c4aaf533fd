"""Programme eligibility, evaluated from the declarative rules in the tenant's configuration
(`services.hibah_bansos.programmes[].eligibility`). Every failed rule is returned, not just
the first, so an applicant (or an official) sees all that is missing at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Facts:
    applicant_type: str  # "organisation" | "individual"
    requested: int
    nik_region: str | None = None  # 4-digit regency/city code of an individual's NIK
    legal_entity_since: date | None = None
    hibah_last_year: bool = False  # the organisation was funded the previous fiscal year
    in_social_registry: bool = False  # DTKS/DTSEN flag for bansos


def failed_rules(
    rules: dict[str, Any], facts: Facts, region_codes: list[str], today: date
) -> list[tuple[str, str]]:
    failed = []
    types = rules.get("applicant_types")
    if types and facts.applicant_type not in types:
        failed.append(("applicant_types", f"this programme is for {', '.join(types)}"))
    if rules.get("domicile_required") and (
        facts.nik_region is None
        or not any(facts.nik_region.startswith(c[:4]) for c in region_codes)
    ):
        failed.append(("domicile_required", "the applicant must be registered in this city"))
    years = rules.get("min_legal_entity_years")
    if years:
        since = facts.legal_entity_since
        if since is None or _years_between(since, today) < years:
            failed.append(
                ("min_legal_entity_years", f"the legal entity must be at least {years} years old")
            )
    if (
        rules.get("no_hibah_previous_year")
        and not rules.get("exempt_from_annual_rule")
        and facts.hibah_last_year
    ):
        failed.append(
            (
                "no_hibah_previous_year",
                "hibah is not continuous: funded last fiscal year, not eligible this year",
            )
        )
    cap = rules.get("max_amount")
    if cap is not None and facts.requested > cap:
        failed.append(("max_amount", f"at most {cap} rupiah may be requested"))
    if rules.get("social_registry_required") and not facts.in_social_registry:
        failed.append(
            ("social_registry_required", "the person must be in the social registry (DTKS/DTSEN)")
        )
    return failed


def _years_between(start: date, end: date) -> int:
    return end.year - start.year - ((end.month, end.day) < (start.month, start.day))
