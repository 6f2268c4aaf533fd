"""A local fake of SP4N-LAPOR! (the national public-service complaint channel), for `make run`
and the tests. A small real HTTP server (stdlib, memory only) speaking the protocol of
`services/whistleblowing/lapor.py`; every `/v1/` call needs `Authorization: Bearer <token>`
(401 otherwise). `<agency>` is the city's agency code at LAPOR! (the tenant's slug by default).

    POST /v1/agencies/<agency>/complaints        {"text", "category", "reference"}
         Idempotency-Key: <reference>     -> 201 {"tracking_id": "LPR-...", "status": "diterima"}
                                             (the same key again: 200, the same tracking id)
    GET  /v1/agencies/<agency>/complaints/<tracking_id>/updates?after=<seq>
                                          -> 200 {"updates": [{"seq", "status", "at", "note"}]}
    GET  /v1/agencies/<agency>/wbs-referrals  -> 200 {"referrals": [{"id", "text", "where",
         "when", "received_at", "identity": {"name", "nik", "phone", "email"} | null}]}
         (corruption reports LAPOR! refuses and passes on to the city's WBS, until acknowledged)
    POST /v1/agencies/<agency>/wbs-referrals/<id>/ack {"case_number", "receipt"} -> 200
    GET  /healthz

For tests and demos (no token): `POST /_fake/complaints/<tracking_id>/updates {"status",
"note"}` adds a status update; `POST /_fake/agencies/<agency>/wbs-referrals {...}` queues a
corruption report (201 {"id"}); `GET /_fake/complaints` lists every complaint body received
(to check what left the city); `GET /_fake/acks` lists the acknowledgements.

    python -m infra.lapor_stub --port 8027 [--token T]   (or REPLIKA_LAPOR_TOKEN)
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import re
import secrets
import subprocess
import sys
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROUTE = re.compile(r"^/v1/agencies/(?P<agency>[a-z0-9-]{1,63})/(?P<rest>.+)$")


class Lapor:
    """What the fake holds: complaints by tracking id, their updates, the referral queues."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.complaints: dict[str, dict] = {}  # tracking id -> {"agency", "body", "updates"}
        self.by_key: dict[tuple[str, str], str] = {}  # (agency, Idempotency-Key) -> tracking id
        self.referrals: dict[str, dict[str, dict]] = {}  # agency -> id -> referral
        self.acks: list[dict] = []

    def file(self, agency: str, key: str | None, body: dict) -> tuple[int, dict]:
        with self.lock:
            if key and (agency, key) in self.by_key:
                return 200, {"tracking_id": self.by_key[(agency, key)], "status": "diterima"}
            tracking = "LPR-" + secrets.token_hex(5).upper()
            now = _now()
            self.complaints[tracking] = {
                "agency": agency,
                "body": body,
                "updates": [{"seq": 1, "status": "diterima", "at": now, "note": ""}],
            }
            if key:
                self.by_key[(agency, key)] = tracking
            return 201, {"tracking_id": tracking, "status": "diterima"}

    def updates(self, agency: str, tracking: str, after: int) -> list[dict] | None:
        with self.lock:
            complaint = self.complaints.get(tracking)
            if complaint is None or complaint["agency"] != agency:
                return None
            return [u for u in complaint["updates"] if u["seq"] > after]

    def add_update(self, tracking: str, status: str, note: str) -> bool:
        with self.lock:
            complaint = self.complaints.get(tracking)
            if complaint is None:
                return False
            seq = len(complaint["updates"]) + 1
            complaint["updates"].append({"seq": seq, "status": status, "at": _now(), "note": note})
            return True

    def queue_referral(self, agency: str, body: dict) -> str:
        with self.lock:
            ref = "LPR-WBS-" + secrets.token_hex(5).upper()
            self.referrals.setdefault(agency, {})[ref] = {
                "id": ref,
                "text": str(body.get("text", "")),
                "where": str(body.get("where", "")),
                "when": str(body.get("when", "")),
                "received_at": _now(),
                "identity": body.get("identity")
                if isinstance(body.get("identity"), dict)
                else None,
            }
            return ref

    def pending_referrals(self, agency: str) -> list[dict]:
        with self.lock:
            return list(self.referrals.get(agency, {}).values())

    def ack(self, agency: str, ref: str, body: dict) -> bool:
        with self.lock:
            if self.referrals.get(agency, {}).pop(ref, None) is None:
                return any(a["id"] == ref for a in self.acks)  # acknowledged before: fine
            self.acks.append({"id": ref, "agency": agency, **body})
            return True


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def handler_for(lapor: Lapor, token: str | None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "fake-sp4n-lapor"

        def log_message(self, format: str, *args: object) -> None:  # no bodies in the log
            sys.stderr.write(f"fake-lapor {self.command} {urlsplit(self.path).path}\n")

        def _json(self, status: int, body: dict) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict | None:
            try:
                length = min(int(self.headers.get("Content-Length") or 0), 64 * 1024)
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                return None
            return body if isinstance(body, dict) else None

        def _authorised(self) -> bool:
            if token and not hmac.compare_digest(
                self.headers.get("Authorization", ""), f"Bearer {token}"
            ):
                self._json(401, {"error": "unauthorized"})
                return False
            return True

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/healthz":
                return self._json(200, {"status": "ok"})
            if url.path == "/_fake/complaints":
                with lapor.lock:
                    listed = [
                        {"tracking_id": t, "agency": c["agency"], "body": c["body"]}
                        for t, c in lapor.complaints.items()
                    ]
                return self._json(200, {"complaints": listed})
            if url.path == "/_fake/acks":
                with lapor.lock:
                    return self._json(200, {"acks": list(lapor.acks)})
            match = ROUTE.match(url.path)
            if not match:
                return self._json(404, {"error": "not found"})
            if not self._authorised():
                return None
            agency, rest = match["agency"], match["rest"]
            if rest == "wbs-referrals":
                return self._json(200, {"referrals": lapor.pending_referrals(agency)})
            parts = rest.split("/")
            if len(parts) == 3 and parts[0] == "complaints" and parts[2] == "updates":
                try:
                    after = int(parse_qs(url.query).get("after", ["0"])[0])
                except ValueError:
                    return self._json(400, {"error": "after: a number"})
                found = lapor.updates(agency, parts[1], after)
                if found is None:
                    return self._json(404, {"error": "no such complaint"})
                return self._json(200, {"updates": found})
            return self._json(404, {"error": "not found"})

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            body = self._body()
            if body is None:
                return self._json(400, {"error": "expected a JSON object"})
            parts = url.path.strip("/").split("/")
            if parts[:2] == ["_fake", "complaints"] and len(parts) == 4 and parts[3] == "updates":
                ok = lapor.add_update(
                    parts[2], str(body.get("status", "")), str(body.get("note", ""))
                )
                return self._json(201 if ok else 404, {})
            if parts[:2] == ["_fake", "agencies"] and len(parts) == 4:
                return self._json(201, {"id": lapor.queue_referral(parts[2], body)})
            match = ROUTE.match(url.path)
            if not match:
                return self._json(404, {"error": "not found"})
            if not self._authorised():
                return None
            agency, rest = match["agency"], match["rest"]
            if rest == "complaints":
                if not isinstance(body.get("text"), str) or not body["text"].strip():
                    return self._json(422, {"error": "text: required"})
                status, answer = lapor.file(agency, self.headers.get("Idempotency-Key"), body)
                return self._json(status, answer)
            sub = rest.split("/")
            if len(sub) == 3 and sub[0] == "wbs-referrals" and sub[2] == "ack":
                ok = lapor.ack(agency, sub[1], body)
                return self._json(200 if ok else 404, {})
            return self._json(404, {"error": "not found"})

    return Handler


def serve(host: str, port: int, token: str | None) -> ThreadingHTTPServer:
    return ThreadingHTTPServer((host, port), handler_for(Lapor(), token))


def start(port: int, log: Path, cwd: Path, token: str) -> subprocess.Popen:
    """The fake as its own process (infra/local.py records and stops its pid)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "infra.lapor_stub", "--port", str(port)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=cwd,
        env={**os.environ, "REPLIKA_LAPOR_TOKEN": token},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.lapor_stub")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8027)
    parser.add_argument("--token", default=os.environ.get("REPLIKA_LAPOR_TOKEN") or None)
    args = parser.parse_args(argv)
    server = serve(args.host, args.port, args.token)
    print(f"fake SP4N-LAPOR! on http://{args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
