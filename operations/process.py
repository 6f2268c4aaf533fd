"""What every long-running process of the platform does once it has started: web workers
(operations/gunicorn_conf.py), the relays and the consumers (operations/cli.py)."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Move what start-up built (about 200,000 objects: Flask, SQLAlchemy, the schemas and
    templates, all kept for the life of the process) out of the cyclic collector's reach.
    A full collection walked all of them, about 100 ms on this 2-core machine with every
    request of the process waiting: a tail-latency spike (issue 22). Objects made later are
    collected as before; reference counting still frees frozen ones."""
    gc.collect()
    gc.freeze()
