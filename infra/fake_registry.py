"""A local fake of the social registry (DTKS/DTSEN), for `make run` and the tests.

A small real HTTP server (stdlib, no framework) speaking the protocol of
`services/hibah_bansos/social_registry.py`:

    POST /v1/check      {"nik": "..."}  -> {"listed": bool, "period": "YYYY-MM", "record": {...}}
    POST /_fake/people  {"nik": "...", "period": "YYYY-MM"?}  -> 201 (tests and demos add people)
    GET  /healthz       -> 200

Like the real registry it sends more than Replika keeps (a `record` with a household id and
a welfare decile): the client must drop it. The people it holds are the demo NIKs in
`infra/fake_registry_people.json` plus whatever was added since it started (memory only).

    python -m infra.fake_registry --port 8009
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PEOPLE_FILE = Path(__file__).with_name("fake_registry_people.json")
DEFAULT_PERIOD = "2026-03"
NIK = re.compile(r"^[0-9]{16}$")


class Registry:
    def __init__(self, people: dict[str, str] | None = None) -> None:
        self.people: dict[str, str] = dict(people or {})  # NIK -> data period
        self.lock = threading.Lock()

    def add(self, nik: str, period: str = DEFAULT_PERIOD) -> None:
        with self.lock:
            self.people[nik] = period

    def answer(self, nik: str) -> dict:
        with self.lock:
            period = self.people.get(nik)
        if period is None:
            return {"listed": False, "period": DEFAULT_PERIOD}
        return {
            "listed": True,
            "period": period,
            # what a registry record holds and Replika must not keep
            "record": {"household_id": "HH-" + nik[-6:], "welfare_decile": 2},
        }


def load_people(path: Path = PEOPLE_FILE) -> dict[str, str]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return {p["nik"]: p.get("period", DEFAULT_PERIOD) for p in data.get("people", [])}


def handler_for(registry: Registry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "fake-social-registry"

        def log_message(self, format: str, *args: object) -> None:  # NIKs are in bodies only
            sys.stderr.write(f"fake-registry {self.command} {self.path}\n")

        def _json(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict | None:
            try:
                length = min(int(self.headers.get("Content-Length") or 0), 4096)
                body = json.loads(self.rfile.read(length) or b"null")
            except ValueError:
                return None
            return body if isinstance(body, dict) else None

        def do_GET(self) -> None:
            if self.path == "/healthz":
                self._json(200, {"status": "ok"})
            else:
                self._json(404, {"error": "not found"})

        def do_POST(self) -> None:
            body = self._body()
            nik = body.get("nik") if body else None
            if not isinstance(nik, str) or not NIK.match(nik):
                self._json(400, {"error": "nik: 16 digits"})
            elif self.path == "/v1/check":
                self._json(200, registry.answer(nik))
            elif self.path == "/_fake/people":
                registry.add(nik, str((body or {}).get("period") or DEFAULT_PERIOD))
                self._json(201, {"added": True})
            else:
                self._json(404, {"error": "not found"})

    return Handler


def serve(host: str, port: int, registry: Registry) -> ThreadingHTTPServer:
    return ThreadingHTTPServer((host, port), handler_for(registry))


def start(port: int, log: Path, cwd: Path) -> subprocess.Popen:
    """The fake as its own process (for infra/local.py, which records and stops its pid)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "infra.fake_registry", "--port", str(port)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=cwd,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.fake_registry")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8009)
    args = parser.parse_args(argv)
    server = serve(args.host, args.port, Registry(load_people()))
    print(f"fake social registry on http://{args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
