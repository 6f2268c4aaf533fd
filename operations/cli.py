"""`replika`: the operator's command line (migrate, tenants, officials, relay, audit, keys,
tenant moves, demo data).

Each command imports what it needs inside its own body: `replika --help` and every short
command start without loading Flask, SQLAlchemy models or Kafka (start-up time, not cycles:
nothing imports this module but the `replika` entry point).
"""

from __future__ import annotations

import click

from operations.links.cli import register as _register_links
from operations.replication.cli import register as _register_replication
from services.audit.commands import COMMANDS as AUDIT_COMMANDS


@click.group()
def main() -> None:
    """Replika operator commands. Settings come from the environment (see README)."""


@main.command()
def migrate() -> None:
    """Upgrade every service database to the newest schema."""
    from shared.migrations import upgrade_all

    upgrade_all()
    click.echo("migrated: all services")


@main.group()
def tenant() -> None:
    """Tenants (cities) as configuration files."""


@tenant.command("apply")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def tenant_apply_cmd(files: tuple[str, ...]) -> None:
    """Validate FILES and create or update each tenant in every service."""
    from pathlib import Path

    from operations import tenant_apply
    from shared.tenant_config import TenantConfigError, load_file

    try:
        configs = [load_file(Path(f)) for f in files]  # validate all before applying any
    except TenantConfigError as exc:
        raise click.ClickException(str(exc)) from None
    for config in configs:
        changed = tenant_apply.apply(config)
        state = "updated" if any(changed.values()) else "unchanged"
        click.echo(f"{config.slug}: {state}")


@tenant.command("list")
def tenant_list_cmd() -> None:
    """List the tenants of this deployment."""
    from operations import tenant_apply

    for slug, name, enabled, services in tenant_apply.list_tenants():
        click.echo(f"{slug}\t{'enabled' if enabled else 'disabled'}\t{','.join(services)}\t{name}")


@main.group()
def official() -> None:
    """Officials: per-tenant accounts (password + TOTP), in every service database."""


@official.command("add")
@click.option("--tenant", "slug", required=True, help="tenant slug, e.g. cimahi")
@click.option("--username", required=True)
@click.option("--role", "roles", multiple=True, required=True, help="repeat for several roles")
@click.option("--email", default=None, help="where notices go (stored sealed); optional")
def official_add_cmd(slug: str, username: str, roles: tuple[str, ...], email: str | None) -> None:
    """Create an official; prints the password and TOTP secret once (store them now)."""
    from operations import official_admin
    from shared.officials import OfficialError

    try:
        creds = official_admin.add(slug, username, roles, email)
    except OfficialError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"official: {creds.official_id}")
    _show_credentials(creds, slug)


def _show_credentials(creds, slug: str) -> None:
    from shared.officials import provisioning_uri

    click.echo(f"username: {creds.username}")
    click.echo(f"password: {creds.password}")
    click.echo(f"totp_secret: {creds.totp_secret}")
    click.echo(f"totp_uri: {provisioning_uri(creds.totp_secret, creds.username, slug)}")
    click.echo("These are shown only once.", err=True)


@official.command("email")
@click.option("--tenant", "slug", required=True)
@click.option("--username", required=True)
@click.option("--email", default="", help="the address notices go to; empty removes it")
def official_email_cmd(slug: str, username: str, email: str) -> None:
    """Set or remove the e-mail address an official's notices go to (stored sealed)."""
    from operations import official_admin
    from shared.officials import OfficialError

    try:
        official_admin.set_email_by_username(slug, username, email or None)
    except OfficialError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"official {username}: e-mail {'set' if email else 'removed'}")


@official.command("list")
@click.option("--tenant", "slug", required=True)
def official_list_cmd(slug: str) -> None:
    """List a tenant's officials and their roles."""
    from operations import official_admin
    from shared.officials import OfficialError

    try:
        rows = official_admin.list_officials(slug)
    except OfficialError as exc:
        raise click.ClickException(str(exc)) from None
    for username, roles, active in rows:
        click.echo(f"{username}\t{','.join(roles)}\t{'active' if active else 'inactive'}")


@official.command("deactivate")
@click.option("--tenant", "slug", required=True)
@click.option("--username", required=True)
def official_deactivate_cmd(slug: str, username: str) -> None:
    """Stop an official from signing in; tokens and sessions already issued stop at once."""
    _set_active(slug, username, False)


@official.command("activate")
@click.option("--tenant", "slug", required=True)
@click.option("--username", required=True)
def official_activate_cmd(slug: str, username: str) -> None:
    """Let a deactivated official sign in again."""
    _set_active(slug, username, True)


def _set_active(slug: str, username: str, active: bool) -> None:
    from operations import official_admin
    from shared.officials import OfficialError

    try:
        changed = official_admin.set_active(slug, username, active)
    except OfficialError as exc:
        raise click.ClickException(str(exc)) from None
    state = "active" if active else "inactive"
    click.echo(f"{username}: {state}" + ("" if changed else " (already)"))


@official.command("reset")
@click.option("--tenant", "slug", required=True)
@click.option("--username", required=True)
def official_reset_cmd(slug: str, username: str) -> None:
    """New password and TOTP seed for an official; prints them once."""
    from operations import official_admin
    from shared.officials import OfficialError

    try:
        creds = official_admin.reset_credentials(slug, username)
    except OfficialError as exc:
        raise click.ClickException(str(exc)) from None
    _show_credentials(creds, slug)


def _logging() -> None:
    from shared import logging_setup

    logging_setup.install()


def _until_signalled():
    """A stop event set by SIGTERM/SIGINT, so workers finish their round and exit cleanly.
    Called as a worker's loop starts: what start-up built is frozen out of the collector's
    way then (operations/process.py)."""
    import signal
    import threading

    from operations.process import freeze_startup_objects

    freeze_startup_objects()

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


@main.command()
@click.argument("service", type=click.Choice(["whistleblowing", "hibah_bansos"]))
@click.option(
    "--metrics-port",
    type=int,
    envvar="RELAY_METRICS_PORT",
    default=None,
    help="serve Prometheus metrics (outbox backlog and lag) on this port",
)
@click.option(
    "--batch-size", type=int, default=None, help="rows per claim [default: 1000, shared.relay]"
)
@click.option(
    "--poll-seconds",
    type=float,
    default=5.0,
    show_default=True,
    help="poll this often when no NOTIFY arrives",
)
def relay(
    service: str, metrics_port: int | None, batch_size: int | None, poll_seconds: float
) -> None:
    """Publish SERVICE's outbox to Kafka (several relays may run)."""
    from shared import relay as relay_mod
    from shared import settings
    from shared.db import service_engine

    _logging()
    if metrics_port:
        relay_mod.serve_metrics(metrics_port)
    r = relay_mod.Relay(
        service,
        service_engine(service, migration=True),
        settings.kafka_bootstrap(),
        batch_size=batch_size or relay_mod.BATCH_SIZE,
        poll_seconds=poll_seconds,
    )
    click.echo(f"relay {service}: publishing to {r.topic}", err=True)
    r.run(_until_signalled())


@main.group()
def notifications() -> None:
    """Content-free notices from the event stream (services/notifications)."""


@notifications.command("consume")
@click.option(
    "--metrics-port",
    type=int,
    envvar="NOTIFICATIONS_METRICS_PORT",
    default=None,
    help="serve Prometheus metrics (sent, failed, pending, lag) on this port",
)
def notifications_consume(metrics_port: int | None) -> None:
    """Turn events into notices and send them (consumer group "notifications")."""
    from operations import notify_recipients

    _logging()
    if metrics_port:
        from shared.relay import serve_metrics

        serve_metrics(metrics_port)
    consumer = notify_recipients.consumer_from_env()
    click.echo(
        f"notifications: consuming {', '.join(consumer.topics)}; channels: "
        f"{', '.join(consumer.channels) or 'none configured'}",
        err=True,
    )
    consumer.run(_until_signalled())


@main.group()
def audit() -> None:
    """The audit ledger: consume events, verify chains, dead letters, anchored heads."""


@audit.command("consume")
@click.option(
    "--checkpoint-every",
    type=int,
    default=100,
    show_default=True,
    envvar="AUDIT_CHECKPOINT_EVERY",
    help="sign a checkpoint every N entries",
)
@click.option(
    "--checkpoint-seconds",
    type=float,
    default=60.0,
    show_default=True,
    envvar="AUDIT_CHECKPOINT_SECONDS",
    help="and at least this often",
)
def audit_consume(checkpoint_every: int, checkpoint_seconds: float) -> None:
    """Append every service's events to the tenants' hash chains (consumer group "audit")."""
    from services.audit.consumer import AuditConsumer
    from shared import settings
    from shared.db import service_engine

    _logging()
    consumer = AuditConsumer(
        service_engine("audit"),
        settings.kafka_bootstrap(),
        checkpoint_every=checkpoint_every,
        checkpoint_seconds=checkpoint_seconds,
    )
    click.echo(f"audit: consuming {', '.join(consumer.topics)}", err=True)
    consumer.run(_until_signalled())


for _command in AUDIT_COMMANDS:  # verify, export-heads, dead-letters, redrive
    audit.add_command(_command)


@audit.command("checkpoint")
@click.option("--tenant", "slug", required=True)
def audit_checkpoint(slug: str) -> None:
    """Sign TENANT's current head now (the consumer also does this on its own)."""
    from sqlalchemy import select

    from services.audit import ledger
    from services.audit.models import TenantRow
    from shared.db import service_engine, session_factory

    with session_factory(service_engine("audit"))() as session, session.begin():
        tenant_id = session.execute(select(TenantRow.id).where(TenantRow.slug == slug)).scalar()
        if tenant_id is None:
            raise click.ClickException(f"unknown tenant {slug}")
        cp = ledger.write_checkpoint(session, tenant_id)
    click.echo(f"{slug}: signed seq {cp.seq}" if cp else f"{slug}: nothing new to sign")


@main.group()
def keys() -> None:
    """Master keys, tenant keys and the identity custodian."""


@keys.command("rotate-master")
def keys_rotate_master() -> None:
    """Add a master key, re-wrap every tenant key under it, start new data keys."""
    from operations import key_admin

    counts = key_admin.rotate_master()
    click.echo("re-wrapped tenant keys: " + ", ".join(f"{s} {n}" for s, n in counts.items()))


@keys.command("shred-tenant")
@click.argument("slug")
@click.option("--yes", is_flag=True, help="confirm: this cannot be undone")
def keys_shred_tenant(slug: str, yes: bool) -> None:
    """Destroy a tenant's keys: all its encrypted data becomes unreadable, for ever."""
    if not yes:
        raise click.ClickException("add --yes to confirm crypto-shredding " + slug)
    from operations import key_admin

    counts = key_admin.shred_tenant(key_admin.tenant_id_of(slug))
    click.echo(f"{slug}: keys destroyed: " + ", ".join(f"{s} {n}" for s, n in counts.items()))


@keys.command("init-custodian")
@click.argument("slug")
def keys_init_custodian(slug: str) -> None:
    """Where the tenant's identity custodian creates their key. The key belongs to the
    custodian: they create it on their own page, typing their own passphrase, and see the
    recovery secret once; no command chooses or prints a custodian passphrase."""
    from operations import key_admin

    status = key_admin.custodian_status(key_admin.tenant_id_of(slug))
    if status is not None:
        raise click.ClickException(
            f"{slug} already has a custodian key (fingerprint {status['fingerprint']})"
        )
    click.echo(
        f"{slug}: the identity custodian signs in and creates the key at "
        + key_admin.CUSTODIAN_PAGE.format(slug=slug)
    )


def _custodian_error(exc: Exception) -> click.ClickException:
    from shared import identity

    if isinstance(exc, identity.PassphraseThrottled):
        return click.ClickException(f"too many wrong tries; wait {exc.retry_after} s")
    if isinstance(exc, identity.WrongPassphrase):
        return click.ClickException("the passphrase is not right")
    if isinstance(exc, identity.WrongRecoverySecret):
        return click.ClickException("the recovery secret is not right")
    return click.ClickException(str(exc))


def _set_custodian_passphrase(slug: str, prompt: str, change_with, done: str) -> None:
    """Prompt for what proves the custodian (`prompt`) and the new passphrase, never shown;
    `change_with(tenant_id, proof, new)` sets it."""
    from operations import key_admin
    from shared import identity

    proof = click.prompt(prompt, hide_input=True)
    new = click.prompt("new passphrase", hide_input=True, confirmation_prompt=True)
    try:
        change_with(key_admin.tenant_id_of(slug), proof, new)
    except (
        ValueError,
        identity.NoCustodian,
        identity.WrongPassphrase,
        identity.WrongRecoverySecret,
        identity.PassphraseThrottled,
    ) as exc:
        raise _custodian_error(exc) from None
    click.echo(f"{slug}: {done}")


@keys.command("custodian-passphrase")
@click.argument("slug")
def keys_custodian_passphrase(slug: str) -> None:
    """The custodian changes their passphrase (typed at the prompt, never shown)."""
    from operations import key_admin

    _set_custodian_passphrase(
        slug,
        "current passphrase",
        key_admin.change_custodian_passphrase,
        "custodian passphrase changed",
    )


@keys.command("custodian-recover")
@click.argument("slug")
def keys_custodian_recover(slug: str) -> None:
    """The custodian sets a new passphrase with the offline recovery secret."""
    from operations import key_admin

    _set_custodian_passphrase(
        slug,
        "recovery secret",
        key_admin.recover_custodian,
        "custodian passphrase set from the recovery secret",
    )


@keys.command("authenticate-custodian")
@click.argument("slug")
@click.option("--fingerprint", required=True, help="as the custodian reads it from their page")
def keys_authenticate_custodian(slug: str, fingerprint: str) -> None:
    """Authenticate a custodian key made before this version (sealing refuses it until then),
    once its fingerprint equals the one the custodian reads on their page."""
    from operations import key_admin
    from shared import identity

    try:
        found = key_admin.authenticate_custodian(key_admin.tenant_id_of(slug), fingerprint)
    except (ValueError, identity.NoCustodian) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{slug}: custodian key {found} authenticated")


_register_replication(main, tenant)  # tenant new|suspend|resume, instance init (issue 8)
_register_links(main)  # links sync: duplicate-aid tokens between linked cities (issue 23)


# --- moving a tenant between deployments (issue 8 points 4 and 5; operations/tenant_move.py) ---


def _move_error(exc) -> click.ClickException:
    return click.ClickException(f"{exc.title}. {exc.detail}")


def _recipient(path: str) -> bytes:
    from pathlib import Path

    from operations.tenant_move import read_public_key

    return read_public_key(Path(path).read_text())


@tenant.command("export")
@click.argument("slug")
@click.option(
    "--to",
    "to",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="the receiving deployment's public key (`replika instance public-key`)",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="bundle file to write (never overwritten)",
)
def tenant_export(slug: str, to: str, out: str) -> None:
    """Export SLUG (configuration, every row of every service, attachments, ledger, keys) as a
    bundle only the receiving deployment can open. Suspend SLUG first so nothing changes after."""
    from pathlib import Path

    from operations.tenant_move import MoveError, export_tenant

    try:
        summary = export_tenant(slug, _recipient(to), Path(out))
    except MoveError as exc:
        raise _move_error(exc) from None
    click.echo(f"{slug}: exported {sum(summary.rows.values())} rows to {out}")
    click.echo(f"recipient: {summary.recipient}")
    click.echo(f"signed by: {summary.signer} (the receiver compares it out of band)")
    click.echo(f"bundle sha256: {summary.bundle_sha256} (compare it on import)")
    if not summary.suspended:
        click.echo(
            f"warning: {slug} is not suspended: changes made after this export are not "
            "in the bundle (`replika tenant suspend` first)",
            err=True,
        )


@tenant.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--from",
    "sender",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="the sending deployment's public-key document (`replika instance public-key` there)",
)
@click.option(
    "--signer",
    default=None,
    help="or the sender's signing-key fingerprint (sha256:...), as compared out of band",
)
def tenant_import(file: str, sender: str | None, signer: str | None) -> None:
    """Import a tenant bundle signed by the sending deployment and addressed to this one: all
    or nothing; refused when the bundle was altered, signed by another key, is addressed
    elsewhere, or the tenant already exists here."""
    from pathlib import Path

    from operations.tenant_move import (
        MAX_BUNDLE_BYTES,
        MoveError,
        import_bundle,
        read_signing_fingerprint,
    )

    if (sender is None) == (signer is None):
        raise click.ClickException(
            "name the sending deployment: --from its public-key document, or --signer its "
            "signing-key fingerprint (compare it with the sender out of band)"
        )
    path = Path(file)
    try:
        if signer is None:
            assert sender is not None  # exactly one of --from and --signer
            signer = read_signing_fingerprint(Path(sender).read_text())
        if path.stat().st_size > MAX_BUNDLE_BYTES:
            raise MoveError("Bundle refused", f"it is larger than {MAX_BUNDLE_BYTES} bytes")
        click.echo(f"expected signer: {signer}")
        summary = import_bundle(path.read_bytes(), signer.strip())
    except MoveError as exc:
        raise _move_error(exc) from None
    click.echo(
        f"{summary.slug}: imported {sum(summary.rows.values())} rows; tenant file "
        f"{summary.tenant_file}"
    )
    click.echo(f"bundle sha256: {summary.bundle_sha256} (must equal the one export printed)")
    if summary.republish:
        click.echo(
            f"{summary.republish} events not yet in the sender's ledger will be "
            "published here by the relay"
        )


@tenant.command("offboard")
@click.argument("slug")
@click.option(
    "--to",
    "to",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="the receiving deployment's public key",
)
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="confirm: the tenant's keys here are destroyed")
def tenant_offboard(slug: str, to: str, out: str, yes: bool) -> None:
    """Suspend SLUG, export it to OUT, then crypto-shred its keys on this deployment."""
    if not yes:
        raise click.ClickException(
            "add --yes to confirm offboarding (export, then crypto-shredding) " + slug
        )
    from pathlib import Path

    from operations.tenant_move import MoveError, offboard

    try:
        summary, shredded = offboard(slug, _recipient(to), Path(out))
    except MoveError as exc:
        raise _move_error(exc) from None
    click.echo(
        f"{slug}: exported {sum(summary.rows.values())} rows to {out} "
        f"(sha256 {summary.bundle_sha256})"
    )
    click.echo(f"{slug}: keys destroyed: " + ", ".join(f"{s} {n}" for s, n in shredded.items()))


@click.command("public-key")
@click.option(
    "--out",
    default=None,
    type=click.Path(dir_okay=False),
    help="write the key to this file instead of printing it",
)
def instance_public_key(out: str | None) -> None:
    """Print this deployment's public keys for tenant bundles: the transport key bundles are
    sealed to, and the signing key of the bundles it exports (private halves created on first
    use next to the keyring, mode 0600). Read the signing fingerprint to the other side."""
    from pathlib import Path

    from operations.tenant_move import (
        deployment_public_key,
        deployment_signing_key,
        fingerprint,
        public_key_document,
    )

    raw, signing = deployment_public_key(), deployment_signing_key()
    doc = public_key_document(raw, signing)
    if out:
        Path(out).write_text(doc)
        click.echo(f"written: {out} ({fingerprint(raw)})")
        click.echo(f"signing fingerprint: {fingerprint(signing)}")
    else:
        click.echo(doc, nl=False)


instance_group = main.commands["instance"]
assert isinstance(instance_group, click.Group)
instance_group.add_command(instance_public_key)


@main.group()
def demo() -> None:
    """Demo data for `make run` (never on the production path)."""


@demo.command("seed")
@click.option(
    "--state",
    required=True,
    type=click.Path(file_okay=False),
    help="the runner's state directory; demo-credentials.json (0600) is kept there",
)
def demo_seed(state: str) -> None:
    """Apply the demo tenants and make one official per role (credentials kept across runs)."""
    from pathlib import Path

    from operations import demo as demo_data

    demo_data.seed(Path(state))
    click.echo(f"demo: tenants seeded; accounts in {Path(state) / 'demo-credentials.json'}")


if __name__ == "__main__":
    main()
