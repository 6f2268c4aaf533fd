"""`replika links sync [--every SECONDS]` (registered by operations/cli.py): each enabled
tenant's round of duplicate-aid tokens (operations/links/tokens.py). Run it every half minute
or so (`--every 30`), beside the relays, so that a match is flagged on both cities within a
minute; it is idempotent, and several may run (inserts ignore what is there)."""

from __future__ import annotations

import logging

import click

log = logging.getLogger(__name__)


@click.group()
def links() -> None:
    """Linked cities: agreements between cities and the duplicate-aid check."""


@links.command("sync")
@click.option("--every", "every", type=float, default=None, help="repeat every SECONDS")
def links_sync(every: float | None) -> None:
    """Publish each city's aid tokens, take in its linked cities', flag the matches."""
    from sqlalchemy import select

    from operations.links import tokens
    from services.whistleblowing.models import TenantRow
    from shared import logging_setup
    from shared.db import service_engine, session_factory

    logging_setup.install()
    db = tokens.Databases(service_engine("whistleblowing"), service_engine("hibah_bansos"))
    kafka = tokens.Kafka()
    stop = None
    if every:
        from operations.cli import _until_signalled

        stop = _until_signalled()
    try:
        while True:
            with session_factory(db.whistleblowing)() as s:
                slugs = list(s.scalars(select(TenantRow.slug).where(TenantRow.enabled)))
            for slug in slugs:
                try:
                    result = tokens.sync(db, kafka, slug)
                except Exception:
                    log.exception("links: sync of %s failed; the others go on", slug)
                    continue
                if result.published or result.matched or result.rejected:
                    click.echo(
                        f"{slug}: {result.published} published, {result.received} received, "
                        f"{result.rejected} dropped, {len(result.matched)} flagged"
                    )
            if not every or (stop is not None and stop.wait(every)):
                break
    finally:
        kafka.close()


def register(main: click.Group) -> None:
    main.add_command(links)
