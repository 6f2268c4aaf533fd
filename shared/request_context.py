"""What a request of any service reaches through Flask's app context: the service's wiring
(`ext()`, set up by shared/web.create_service_app) and the request's tenant-scoped session
(`db()`). Kept apart from shared/web.py so that the sign-in routes (shared/auth_routes.py),
which the service factory installs, need not import the factory back."""

from __future__ import annotations

from typing import Any

from flask import current_app, g
from sqlalchemy.orm import Session

from shared.db import tenant_session


def ext() -> dict[str, Any]:
    """The service's wiring: service name, engine, sessions, tenant cache, `ServiceModels`,
    integrity hook."""
    return current_app.extensions["replika"]


def db() -> Session:
    """The request's tenant-scoped session (opened on first use, closed at teardown)."""
    if "db" not in g:
        cm = tenant_session(ext()["sessions"], g.tenant.id)
        g.db = cm.__enter__()
        g.db_cm = cm
    return g.db


def close_db(exc: BaseException | None = None) -> None:
    """`teardown_request`: close the session `db()` opened, if any."""
    cm = g.pop("db_cm", None)
    if cm is not None:
        cm.__exit__(None, None, None)
