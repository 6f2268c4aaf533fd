"""The audit ledger's operator commands, added to `replika audit` by the CLI:

- `replika audit verify --tenant T [--heads FILE] [--public-key KEY]`
- `replika audit export-heads --tenant T [--out FILE]`
- `replika audit dead-letters [--all]`
- `replika audit redrive ID`

They connect as the audit database's own role (INSERT and SELECT only) and need no other
service's settings.
"""

from __future__ import annotations

import getpass
import os

import click


def _session():
    from shared.db import service_engine, session_factory

    return session_factory(service_engine("audit"))()


@click.command("verify")
@click.option("--tenant", "slug", required=True)
@click.option(
    "--heads",
    "heads_file",
    type=click.Path(exists=True, dir_okay=False),
    help="an external list of signed heads (`replika audit export-heads`) to check against",
)
@click.option(
    "--public-key",
    help="the pinned audit public key: base64 of the raw key, a PEM, or a file with either "
    "(default: the key pinned in the --heads list)",
)
def verify_cmd(slug: str, heads_file: str | None, public_key: str | None) -> None:
    """Exit 0 when TENANT's chain and signed checkpoints are intact (and agree with the
    anchored heads and the pinned key, when given); else name what broke and exit 1."""
    from pathlib import Path

    from services.audit import anchor
    from services.audit.ledger import UnknownTenant
    from services.audit.verify import verify_tenant

    try:
        heads = anchor.parse(Path(heads_file).read_text()) if heads_file else None
        pinned = anchor.public_key_from(public_key) if public_key else None
        with _session() as session:
            report = verify_tenant(session, slug, heads, pinned)
    except UnknownTenant:
        raise click.ClickException(f"unknown tenant {slug}") from None
    except anchor.HeadsError as exc:
        raise click.ClickException(str(exc)) from None
    if report.ok:
        extra = ""
        if report.heads is not None:
            extra += f", {report.heads} anchored heads"
        if report.pinned_key:
            extra += ", pinned key"
        click.echo(f"{slug}: OK, {report.entries} entries, {report.checkpoints} checkpoints{extra}")
        return
    for p in report.problems:
        where = f" at seq {p.seq}" if p.seq else ""
        click.echo(f"{slug}: BROKEN{where}: {p.reason}", err=True)
    raise SystemExit(1)


@click.command("export-heads")
@click.option("--tenant", "slug", required=True)
@click.option("--out", type=click.Path(dir_okay=False), help="write here instead of stdout")
def export_heads_cmd(slug: str, out: str | None) -> None:
    """Print TENANT's signed heads as anchored outside the database (JSON lines, the pinned
    key first) for the auditors' own copy: `verify --heads` checks a chain against it."""
    from services.audit import anchor

    try:
        path = anchor.heads_path(slug)
        text = path.read_text() if path.exists() else ""
        heads = anchor.parse(text)
    except anchor.HeadsError as exc:
        raise click.ClickException(str(exc)) from None
    if heads.pinned_key is None:
        raise click.ClickException(f"no heads anchored for {slug} yet ({path})")
    if out:
        with open(out, "w") as f:
            f.write(text)
        click.echo(f"{slug}: {len(heads.heads)} heads written to {out}", err=True)
    else:
        click.echo(text, nl=False)


@click.command("dead-letters")
@click.option("--all", "include_settled", is_flag=True, help="also those already re-driven")
def dead_letters_cmd(include_settled: bool) -> None:
    """List the records the ledger could not chain (never their content)."""
    from services.audit import dead_letters

    with _session() as session:
        rows = dead_letters.listing(session, include_settled)
    if not rows:
        click.echo("no dead letters")
        return
    for r in rows:
        state = f"re-driven ({r.redriven})" if r.redriven else "open"
        click.echo(
            f"{r.id}\t{r.received_at.isoformat(timespec='seconds')}\t"
            f"{r.topic}[{r.partition}]@{r.offset}\t{r.reason}\t{state}\t"
            f"tenant={r.tenant or '-'}\tevent={r.event_id or '-'}\tsha256={r.record_sha256[:16]}\t"
            f"{r.detail}"
        )


@click.command("redrive")
@click.argument("dead_letter_id", type=int)
def redrive_cmd(dead_letter_id: int) -> None:
    """Check dead letter ID again (after the fix) and append it to the ledger when it passes;
    exit 1 when it is still refused."""
    from services.audit import dead_letters
    from shared.event_signing import TrustedKeys

    by = os.environ.get("REPLIKA_OPERATOR") or getpass.getuser()
    try:
        with _session() as session, session.begin():
            result = dead_letters.redrive(session, dead_letter_id, TrustedKeys(), by)
    except dead_letters.NoSuchDeadLetter:
        raise click.ClickException(f"no dead letter {dead_letter_id}") from None
    except dead_letters.AlreadyRedriven as exc:
        raise click.ClickException(str(exc)) from None
    if result.outcome == "rejected":
        click.echo(
            f"dead letter {dead_letter_id}: still refused: {result.reason}: {result.detail}",
            err=True,
        )
        raise SystemExit(1)
    click.echo(f"dead letter {dead_letter_id}: {result.outcome}")


COMMANDS = (verify_cmd, export_heads_cmd, dead_letters_cmd, redrive_cmd)
