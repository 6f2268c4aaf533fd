"""Who may do what on Kafka: the SASL users of Replika's principals and their ACLs.

Applied idempotently by provisioning (`make run`, `make test`, the compose `provision` step)
through the admin principal, a super user bootstrapped when the broker was formatted:

- `relay-<service>`: WRITE and DESCRIBE on `<service>.events` only; `relay-hibah_bansos` also
  CREATE, WRITE, READ and DESCRIBE on the linked cities' token topics (`links.aid.*`) and
  READ on their consumer groups (`links.aid.<slug>`);
- `audit-consumer`: READ and DESCRIBE on every events topic, READ on the consumer group "audit";
- `notifications`: READ and DESCRIBE on every events topic, READ on the group "notifications";
- `health`: no ACL at all (it can authenticate and ask for cluster metadata: readiness checks);
- anything else is refused by the broker (`allow.everyone.if.no.acl.found=false`).

Passwords are set (upserted) on every run, so a rotated secret takes effect at the next deploy.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.topics import topic_for
from shared.settings import KAFKA_ROLES

AUDIT_GROUP = "audit"
NOTIFICATIONS_GROUP = "notifications"
SOURCE_SERVICES = ("whistleblowing", "hibah_bansos")


@dataclass(frozen=True)
class Grant:
    role: str
    resource: str  # "topic" or "group"
    name: str
    operations: tuple[str, ...]
    pattern: str = "LITERAL"  # or PREFIXED: every topic whose name starts with `name`


# Duplicate-aid tokens between linked cities (operations/links/tokens.py): one topic per
# agreement, `links.aid.<agreement id>`, made, written and read by the hibah_bansos side
LINK_TOPIC_PREFIX = "links.aid."


def grants() -> list[Grant]:
    out = [
        Grant(f"relay-{s}", "topic", topic_for(s), ("WRITE", "DESCRIBE")) for s in SOURCE_SERVICES
    ]
    out += [
        Grant("audit-consumer", "topic", topic_for(s), ("READ", "DESCRIBE"))
        for s in SOURCE_SERVICES
    ]
    out.append(Grant("audit-consumer", "group", AUDIT_GROUP, ("READ",)))
    out += [
        Grant("notifications", "topic", topic_for(s), ("READ", "DESCRIBE")) for s in SOURCE_SERVICES
    ]
    out.append(Grant("notifications", "group", NOTIFICATIONS_GROUP, ("READ",)))
    out.append(
        Grant(
            "relay-hibah_bansos",
            "topic",
            LINK_TOPIC_PREFIX,
            ("CREATE", "WRITE", "READ", "DESCRIBE"),
            "PREFIXED",
        )
    )
    # each city reads them as the group `links.aid.<slug>` (its offsets kept between rounds)
    out.append(Grant("relay-hibah_bansos", "group", LINK_TOPIC_PREFIX, ("READ",), "PREFIXED"))
    return out


def principal(role: str) -> str:
    return f"User:{KAFKA_ROLES[role]}"


def acls() -> list:
    from kafka.admin import (
        ACL,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePattern,
        ResourceType,
    )

    types = {"topic": ResourceType.TOPIC, "group": ResourceType.GROUP}
    return [
        ACL(
            principal=principal(g.role),
            host="*",
            operation=ACLOperation[op],
            permission_type=ACLPermissionType.ALLOW,
            resource_pattern=ResourcePattern(
                types[g.resource], g.name, ACLResourcePatternType[g.pattern]
            ),
        )
        for g in grants()
        for op in g.operations
    ]


def ensure_access(admin_config: dict, passwords: dict[str, str]) -> list[str]:
    """Upsert the SCRAM-SHA-512 credential of every role in `passwords` (the admin excepted:
    it was bootstrapped with the broker) and create every ACL of `grants()`. Returns the
    ACLs created now, as text (empty when all existed). Raises on any refusal."""
    from kafka import KafkaAdminClient
    from kafka.admin import ACLFilter, UserScramCredentialUpsertion

    admin = KafkaAdminClient(**admin_config, request_timeout_ms=15000)
    try:
        upserts = [
            UserScramCredentialUpsertion(KAFKA_ROLES[role], "SCRAM-SHA-512", password)
            for role, password in sorted(passwords.items())
            if role != "admin"
        ]
        if upserts:
            errors = {u: e for u, e in admin.alter_user_scram_credentials(upserts).items() if e}
            if errors:
                raise RuntimeError(f"Kafka refused SCRAM credentials: {errors}")
        wanted = acls()
        existing = set()
        for acl in wanted:
            found, _ = admin.describe_acls(
                ACLFilter(
                    acl.principal,
                    acl.host,
                    acl.operation,
                    acl.permission_type,
                    acl.resource_pattern,
                )
            )
            existing.update(found)
        missing = [a for a in wanted if a not in existing]
        if missing:
            result = admin.create_acls(missing)
            if result["failed"]:
                raise RuntimeError(f"Kafka refused ACLs: {result['failed']}")
        return [
            f"{a.principal} {a.operation.name} {a.resource_pattern.resource_type.name.lower()} "
            f"{a.resource_pattern.resource_name}"
            for a in missing
        ]
    finally:
        admin.close()
