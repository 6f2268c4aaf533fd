"""`replika`: the operator's command line (migrate, tenants, relay, audit)."""
from __future__ import annotations

import click


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
    from shared import tenant_apply
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
    from shared import tenant_apply
    for slug, name, enabled, services in tenant_apply.list_tenants():
        click.echo(f"{slug}\t{'enabled' if enabled else 'disabled'}\t{','.join(services)}\t{name}")


@main.group()
def official() -> None:
    """Officials: per-tenant accounts (password + TOTP), in every service database."""


@official.command("add")
@click.option("--tenant", "slug", required=True, help="tenant slug, e.g. cimahi")
@click.option("--username", required=True)
@click.option("--role", "roles", multiple=True, required=True, help="repeat for several roles")
def official_add_cmd(slug: str, username: str, roles: tuple[str, ...]) -> None:
    """Create an official; prints the password and TOTP secret once (store them now)."""
    from shared import official_admin
    from shared.officials import OfficialError, provisioning_uri
    try:
        creds = official_admin.add(slug, username, roles)
    except OfficialError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"official: {creds.official_id}")
    click.echo(f"username: {creds.username}")
    click.echo(f"password: {creds.password}")
    click.echo(f"totp_secret: {creds.totp_secret}")
    click.echo(f"totp_uri: {provisioning_uri(creds.totp_secret, creds.username, slug)}")
    click.echo("These are shown only once.", err=True)


@official.command("list")
@click.option("--tenant", "slug", required=True)
def official_list_cmd(slug: str) -> None:
    """List a tenant's officials and their roles."""
    from shared import official_admin
    from shared.officials import OfficialError
    try:
        rows = official_admin.list_officials(slug)
    except OfficialError as exc:
        raise click.ClickException(str(exc)) from None
    for username, roles, active in rows:
        click.echo(f"{username}\t{','.join(roles)}\t{'active' if active else 'inactive'}")


if __name__ == "__main__":
    main()
