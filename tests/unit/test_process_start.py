"""Every long-running process freezes what its start-up built (operations/process.py), so a
full cyclic collection does not walk the app's ~200,000 permanent objects mid-request; every
way the web services are started loads the gunicorn settings that do it."""

from __future__ import annotations

import gc

import yaml

from infra.local import web_argv
from operations import gunicorn_conf
from tests.support import ROOT

CONFIG = "python:operations.gunicorn_conf"


def test_a_gunicorn_worker_freezes_its_start_up_objects():
    gc.unfreeze()
    try:
        assert gc.get_freeze_count() == 0
        gunicorn_conf.post_worker_init(worker=None)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


def test_every_way_of_starting_a_web_service_loads_the_shared_gunicorn_settings():
    argv = web_argv("whistleblowing", "127.0.0.1", 8000)
    assert argv[argv.index("--config") + 1] == CONFIG
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name in ("whistleblowing", "hibah_bansos", "audit"):
        command = compose["services"][name]["command"]
        assert command[command.index("--config") + 1] == CONFIG, name
    assert f'"--config", "{CONFIG}"' in (ROOT / "Dockerfile").read_text()
