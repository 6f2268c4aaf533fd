"""The roles an official can hold in a tenant (no Flask here, so domain code can import it)."""

from __future__ import annotations

ROLES = (
    "wbs_intake",
    "wbs_investigator",
    "wbs_supervisor",
    "identity_custodian",
    "bansos_evaluator",  # OPD (regional work unit) evaluator
    "bansos_verifier",  # TAPD (regional government budget team)
    "bansos_approver",
    "bansos_finance",
    "auditor",
    "tenant_admin",
)
