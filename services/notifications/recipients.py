"""The recipients port: who is to be told, and at which address, asked of the other services.

The notifications consumer holds no officials, applicants or cases of its own, and services do
not import each other: the adapter that reads each service's database lives in the composition
root (operations/notify_recipients.py). Recipients are named by pseudonymous references in
the notifications table (`official:<uuid>`, ...); an address is asked for only to send, and
is never stored here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Contact:
    kind: str  # "email" | "phone"
    address: str
    language: str = "id"


@dataclass(frozen=True)
class Skip:
    """No notice for this recipient, and why (recorded, never retried)."""

    reason: str  # "no_contact" | "opted_out" | "inactive" | "unknown" | "not_wired"


@dataclass(frozen=True)
class City:
    id: uuid.UUID
    slug: str
    name: str  # the tenant's public display name
    language: str
    templates: dict[str, Any] = field(default_factory=dict)  # notifications.templates
    rate_per_minute: int | None = None  # notifications.rate_per_minute
    timezone: str = "Asia/Jakarta"
    digest_at: str | None = None  # notifications.digest_at, local "HH:MM" (default 07:00)
    lpj_notice_working_days: int | None = None  # notifications.lpj_notice_working_days


class Recipients(Protocol):
    def city(self, slug: str) -> City | None:
        """The tenant of an event (events name it by slug): its id, public name, language and
        notification settings; None: no such tenant."""
        ...

    def city_by_id(self, tenant_id: uuid.UUID) -> City | None:
        """The same, by the tenant's id (when sending)."""
        ...

    def officials_with_role(self, tenant_id: uuid.UUID, role: str) -> list[uuid.UUID]:
        """Active officials of the tenant holding `role`."""
        ...

    def assignee_of_case(self, tenant_id: uuid.UUID, report_id: uuid.UUID) -> uuid.UUID | None: ...

    def requester_of_identity_request(
        self, tenant_id: uuid.UUID, request_id: uuid.UUID
    ) -> uuid.UUID | None: ...

    def official_contact(
        self, tenant_id: uuid.UUID, official_id: uuid.UUID, kind: str
    ) -> Contact | Skip:
        """The official's sealed e-mail, opened; Skip when none, inactive, or opted out of
        notices of `kind`."""
        ...

    def applicant_contact(self, tenant_id: uuid.UUID, application_id: uuid.UUID) -> Contact | Skip:
        """The contact on the record of the application's applicant."""
        ...

    def reporter_contact(self, tenant_id: uuid.UUID, report_id: uuid.UUID) -> Contact | Skip:
        """The contact a reporter chose to leave for "ada balasan baru" notices."""
        ...

    def reporter_home(
        self, tenant_id: uuid.UUID, report_id: uuid.UUID
    ) -> tuple[uuid.UUID, uuid.UUID] | None:
        """Where the reporter of case `report_id` holds their receipt and contact, when the
        case came by referral from a linked city: (that tenant's id, its original case id);
        None for a case filed here."""
        ...

    def city_contact(self, tenant_id: uuid.UUID, request_id: uuid.UUID) -> Contact | Skip:
        """The contact of the city that asked for replication request `request_id` of host
        tenant `tenant_id`."""
        ...
