"""Who acts in a use case: the one `Actor` of both services (no Flask here).

Use cases and domain rules receive an `Actor`, never a request: a reporter or applicant acts
under a fixed pseudonym, an official under `official:<hmac>` with the roles held in the tenant.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

REPORTER_KIND, APPLICANT_KIND, OFFICIAL_KIND, SYSTEM_KIND = (
    "reporter",
    "applicant",
    "official",
    "system",
)


@dataclass(frozen=True)
class Actor:
    kind: str  # REPORTER_KIND | APPLICANT_KIND | OFFICIAL_KIND | SYSTEM_KIND
    pseudonym: str  # for events: "reporter", "applicant", "system" or "official:<hmac>"
    official_id: uuid.UUID | None = None
    applicant_id: uuid.UUID | None = None
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_official(self) -> bool:
        return self.kind == OFFICIAL_KIND


REPORTER = Actor(REPORTER_KIND, REPORTER_KIND)
SYSTEM = Actor(SYSTEM_KIND, SYSTEM_KIND)


def applicant(applicant_id: uuid.UUID) -> Actor:
    return Actor(APPLICANT_KIND, APPLICANT_KIND, applicant_id=applicant_id)
