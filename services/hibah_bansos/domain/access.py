"""Who may do what with an application: the role sets, declared once.

The workflow's edges, the use cases, the API and the officials' pages all read them from this
module. Role sets are tuples so that a 403 names them in a stable order. Every hibah-bansos
official of the tenant sees every application of it (no assignment, unlike whistleblowing);
applicants see their own only (repository.own_application).
"""

from __future__ import annotations

EVALUATOR = "bansos_evaluator"  # OPD: evaluates, returns or rejects, closes after the LPJ
VERIFIER = "bansos_verifier"  # TAPD: verifies against budget priorities
APPROVER = "bansos_approver"  # the mayor's decree and the grant agreement (NPHD)
FINANCE = "bansos_finance"  # disbursements (SP2D)
AUDITOR = "auditor"  # looks, takes no step

MOVERS = (EVALUATOR, VERIFIER, APPROVER, FINANCE)  # the roles that take a workflow step
OFFICIALS = (*MOVERS, AUDITOR)  # the roles that see applications, programmes and exports
# The roles that read applicants' personal data (NIK, KK, bank account, phone, address), the
# proposal and the uploaded documents: those who work the application. The auditor gets a
# redacted detail (ids, amounts, states, history) and no documents.
PERSONAL_DATA = MOVERS
# The OPD's evaluator also does the intake: enters applications and registers people on
# someone's behalf (confirming their social-registry entry) and imports beneficiary lists.
INTAKE = EVALUATOR
