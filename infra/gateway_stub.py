"""A local stub of a WhatsApp/SMS gateway for `make run` and the tests: it takes the webhook
calls of the notifications consumer's gateway channel (services/notifications/channels.py)
and writes each as a JSON file, sending nothing on.

    POST /   {"to": "...", "text": "..."}, Idempotency-Key, Authorization: Bearer <token>
    GET  /healthz
    python -m infra.gateway_stub --port 8026 --dir .local/messages [--token T]

A file is named after the call's Idempotency-Key, so a repeated call replaces it (the dedupe a
real provider does with the same header). A wrong token is answered 401.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def serve(host: str, port: int, folder: Path, token: str | None) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt: str, *args: object) -> None:  # no addresses in the log
            pass

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._answer(200 if self.path == "/healthz" else 404, {})

        def do_POST(self) -> None:
            given = self.headers.get("Authorization", "")
            if token and not hmac.compare_digest(given, f"Bearer {token}"):
                self._answer(401, {"error": "unauthorized"})
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length))
                assert isinstance(body, dict) and body.get("to") and body.get("text")
            except (ValueError, AssertionError):
                self._answer(400, {"error": "expected JSON with to and text"})
                return
            key = self.headers.get("Idempotency-Key") or str(time.time_ns())
            name = hashlib.sha256(key.encode()).hexdigest()[:32] + ".json"
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".{name}.{os.getpid()}.tmp"
            tmp.write_text(json.dumps({"idempotency_key": key, **body}, ensure_ascii=False))
            tmp.replace(folder / name)
            self._answer(202, {"accepted": True})

    return ThreadingHTTPServer((host, port), Handler)


def start(port: int, folder: Path, log: Path, cwd: Path, token: str) -> subprocess.Popen:
    """The stub as its own process (infra/local.py records and stops its pid)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "infra.gateway_stub", "--port", str(port), "--dir", str(folder)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=cwd,
        env={**os.environ, "REPLIKA_GATEWAY_TOKEN": token},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.gateway_stub")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8026)
    parser.add_argument("--dir", default=".local/messages")
    args = parser.parse_args(argv)
    token = os.environ.get("REPLIKA_GATEWAY_TOKEN") or None
    server = serve(args.host, args.port, Path(args.dir), token)
    print(f"gateway stub on http://{args.host}:{args.port}, writing {args.dir}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
