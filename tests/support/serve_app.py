"""`python -m tests.support.serve_app SERVICE PORT`: one composition root (operations/apps.py)
behind werkzeug's threaded server on 127.0.0.1:PORT, in a process of its own, so that a test can
serve a deployment over real HTTP with that deployment's environment (databases, keyring) while
the test process itself acts as another deployment."""

from __future__ import annotations

import sys

from werkzeug.serving import make_server


def main() -> None:
    from operations import apps

    service, port = sys.argv[1], int(sys.argv[2])
    app = getattr(apps, service)()
    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


if __name__ == "__main__":
    main()
