"""Gunicorn settings shared by every web service (`--config python:operations.gunicorn_conf`:
infra/local.web_argv for `make run` and the bench, docker-compose, the Dockerfile)."""

from __future__ import annotations

from operations.process import freeze_startup_objects


def post_worker_init(worker) -> None:
    """Each worker has loaded its app (no preload: the factory runs in the worker)."""
    freeze_startup_objects()
