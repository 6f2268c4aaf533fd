"""`replika tenant new|suspend|resume` and `replika instance init` (registered by
operations/cli.py). Like every command there, each imports what it needs in its own body, for
the command line's start-up time."""

from __future__ import annotations

import os
from pathlib import Path

import click


def default_tenants_dir() -> str:
    return os.environ.get("REPLIKA_TENANTS_DIR", "tenants")


@click.command("new")
@click.argument("slug")
@click.option("--from", "template", required=True, help="template city's slug, e.g. cimahi")
@click.option("--name", required=True, help='official name, e.g. "Pemerintah Kabupaten Garut"')
@click.option("--region-code", required=True, help="BPS region code, e.g. 32.05")
@click.option("--display-name", default=None, help="short name shown on pages")
@click.option(
    "--dir",
    "tenants_dir",
    default=default_tenants_dir,
    show_default="$REPLIKA_TENANTS_DIR or tenants",
    type=click.Path(file_okay=False),
    help="directory of tenant files",
)
def tenant_new(
    slug: str,
    template: str,
    name: str,
    region_code: str,
    display_name: str | None,
    tenants_dir: str,
) -> None:
    """Write a new tenant file SLUG.yaml copied from the template city's file (not applied:
    review it, then `replika tenant apply` it)."""
    from operations.replication.template import TenantExists, template_file, write_new_tenant
    from shared.tenant_config import TenantConfigError

    directory = Path(tenants_dir)
    try:
        path = write_new_tenant(
            directory,
            template_file(directory, template),
            template,
            slug=slug,
            name=name,
            region_code=region_code,
            display_name=display_name,
        )
    except TenantConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except TenantExists as exc:
        raise click.ClickException(
            f"{exc}: a tenant file already exists; not overwritten"
        ) from None
    click.echo(f"{slug}: written {path} (from {template}); next: replika tenant apply {path}")


def _set_suspended(slug: str, suspended: bool) -> None:
    from operations.replication.lifecycle import UnknownTenant, set_suspended

    try:
        changed = set_suspended(slug, suspended)
    except UnknownTenant:
        raise click.ClickException(f"unknown tenant {slug}") from None
    state = "suspended" if suspended else "resumed"
    click.echo(f"{slug}: {state}" if changed else f"{slug}: already {state}")


@click.command("suspend")
@click.argument("slug")
def tenant_suspend(slug: str) -> None:
    """Make SLUG read-only: pages show a notice, every write answers 503 (within seconds, no
    restart). Re-applying its tenant file without `suspended: true` resumes it."""
    _set_suspended(slug, True)


@click.command("resume")
@click.argument("slug")
def tenant_resume(slug: str) -> None:
    """End SLUG's suspension."""
    _set_suspended(slug, False)


@click.group("instance")
def instance() -> None:
    """A city's own deployment (see docs/own-instance.md)."""


@instance.command("init")
@click.option(
    "--dir",
    "directory",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="where docker-compose.yml will run",
)
@click.option("--force", is_flag=True, help="replace an existing .env (never the keyring)")
def instance_init(directory: str, force: bool) -> None:
    """Write DIR/.env (random passwords and secret key) and DIR/secrets/master-keys.json (0600)."""
    from operations.replication.instance import InstanceExists, init_instance

    try:
        written = init_instance(Path(directory), force=force)
    except InstanceExists as exc:
        raise click.ClickException(f"{exc} exists; add --force to replace .env") from None
    for path in written:
        click.echo(f"written: {path}")
    click.echo(
        "Keep both files secret and backed up: without the keyring, encrypted data cannot be read.",
        err=True,
    )


def register(main: click.Group, tenant: click.Group) -> None:
    for command in (tenant_new, tenant_suspend, tenant_resume):
        tenant.add_command(command)
    main.add_command(instance)
