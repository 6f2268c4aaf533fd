"""Chain heads anchored outside the audit database, and the chain checked against them.

Whoever owns the audit database can rewrite every row of it: entries, checkpoints and the
public key that verifies them. So each signed checkpoint is also appended, before its
transaction commits, to a file per tenant in a directory the database does not hold
(`REPLIKA_AUDIT_ANCHOR_DIR`, default `.local/audit-anchors/`; in production a volume of its own
that only the audit consumer writes, mounted append-only where the platform allows, and copied
to the auditors by `replika audit export-heads`):

    <dir>/<tenant slug>.heads.jsonl     one RFC 8785 JSON object per line:
    {"kind":"key", "tenant", "tenant_id", "key_id", "algorithm":"Ed25519", "public_key", "time"}
    {"kind":"head", "tenant", "tenant_id", "seq", "head_hash", "time", "key_id", "signature"}

The first line pins the tenant's audit public key: it is written once, with the file (write
then link), from the private key the consumer signs with, never from the database's copy.
Heads are signed as in services/audit/chain.py (`checkpoint_message`), so an auditor can check
a list with nothing but the pinned key.

`check_heads` compares a stored chain with such a list and a pinned key, and names what broke:
`truncated` (the chain ends before an anchored head), `rewritten` (an entry's hash is not the
anchored head's), `key swapped` (the database's public key is not the pinned one) and heads or
checkpoints not signed by the pinned key.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.audit import chain
from shared.db import utcnow
from shared.settings import project_root

log = logging.getLogger(__name__)

ALGORITHM = "Ed25519"


class HeadsError(ValueError):
    """A heads list that cannot be read (not the chain's fault: the list's)."""


def anchor_dir() -> Path:
    given = os.environ.get("REPLIKA_AUDIT_ANCHOR_DIR")
    return Path(given) if given else project_root() / ".local" / "audit-anchors"


def heads_path(slug: str) -> Path:
    return anchor_dir() / f"{slug}.heads.jsonl"


def _line(obj: dict[str, Any]) -> bytes:
    return chain.canonical(obj) + b"\n"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def key_line(slug: str, tenant_id: str, key_id: str, public_raw: bytes) -> dict[str, Any]:
    return {
        "kind": "key",
        "tenant": slug,
        "tenant_id": tenant_id,
        "key_id": key_id,
        "algorithm": ALGORITHM,
        "public_key": b64(public_raw),
        "time": chain.normalize_time(utcnow()),
    }


def head_line(slug: str, cp: chain.Checkpoint, key_id: str) -> dict[str, Any]:
    return {
        "kind": "head",
        "tenant": slug,
        "tenant_id": cp.tenant_id,
        "seq": cp.seq,
        "head_hash": cp.head_hash,
        "time": cp.time,
        "key_id": key_id,
        "signature": b64(cp.signature),
    }


def _create(path: Path, first: bytes) -> None:
    """The file with its key line, unless it exists (write-then-link: one creator wins)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        os.write(fd, first)
        os.fsync(fd)
        os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)


def append(slug: str, cp: chain.Checkpoint, key_id: str, public_raw: bytes) -> Path:
    """Append checkpoint `cp` to the tenant's heads file (created with its key pin); raises
    when it cannot be written, so the checkpoint's transaction does not commit either."""
    path = heads_path(slug)
    if not path.exists():
        _create(path, _line(key_line(slug, cp.tenant_id, key_id, public_raw)))
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, _line(head_line(slug, cp, key_id)))  # one write: lines never interleave
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


# --- reading a list ----------------------------------------------------------------------


@dataclass(frozen=True)
class Head:
    tenant_id: str
    seq: int
    head_hash: str
    time: str
    key_id: str
    signature: bytes

    def checkpoint(self) -> chain.Checkpoint:
        return chain.Checkpoint(self.tenant_id, self.seq, self.head_hash, self.time, self.signature)


@dataclass
class Heads:
    tenant_id: str | None = None
    pinned_key: bytes | None = None
    pinned_key_id: str | None = None
    heads: list[Head] = field(default_factory=list)


def parse(text: str) -> Heads:
    out = Heads()
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
            kind = obj["kind"]
            if kind == "key":
                if out.pinned_key is None:  # the first key line is the pin
                    if obj.get("algorithm") != ALGORITHM:
                        raise HeadsError(f"line {n}: not an {ALGORITHM} key")
                    out.pinned_key = base64.b64decode(obj["public_key"], validate=True)
                    out.pinned_key_id = str(obj.get("key_id"))
                    out.tenant_id = out.tenant_id or str(obj["tenant_id"])
            elif kind == "head":
                out.heads.append(
                    Head(
                        str(obj["tenant_id"]),
                        int(obj["seq"]),
                        str(obj["head_hash"]),
                        chain.normalize_time(obj["time"]),
                        str(obj.get("key_id", "")),
                        base64.b64decode(obj["signature"], validate=True),
                    )
                )
                out.tenant_id = out.tenant_id or str(obj["tenant_id"])
            else:
                raise HeadsError(f"line {n}: unknown kind {kind!r}")
        except HeadsError:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise HeadsError(f"line {n}: {type(exc).__name__}: {exc}") from None
    return out


def read_heads(slug: str) -> Heads:
    path = heads_path(slug)
    if not path.exists():
        raise HeadsError(f"no heads file {path} (no checkpoint anchored yet)")
    return parse(path.read_text())


def public_key_from(value: str) -> bytes:
    """A pinned key given on the command line: base64 of the raw 32 bytes, a PEM, or a file
    holding either."""
    text = value
    if not value.startswith("-----") and len(value) < 4096 and Path(value).is_file():
        text = Path(value).read_text()
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise HeadsError("the pinned key is not an Ed25519 public key")
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise HeadsError("the pinned key is neither base64 nor PEM") from None
    if len(raw) != 32:
        raise HeadsError("the pinned key is not 32 bytes (raw Ed25519)")
    return raw


# --- checking ------------------------------------------------------------------------------


def check_heads(
    tenant_id: str,
    entries: list[chain.Entry],
    heads: Heads | None,
    pinned: bytes,
    stored_public: bytes | None,
) -> list[chain.Problem]:
    """What does not hold between the stored chain, an external heads list and the pinned key
    (seq 0: not about one entry). The chain's own links and the database's checkpoints are
    checked by chain.verify, with the pinned key."""
    problems: list[chain.Problem] = []
    key = Ed25519PublicKey.from_public_bytes(pinned)
    if stored_public is None:
        problems.append(chain.Problem(0, "key missing: the database holds no audit public key"))
    elif stored_public != pinned:
        problems.append(
            chain.Problem(0, "key swapped: the database's audit public key is not the pinned key")
        )
    if heads is None:
        return problems
    if heads.pinned_key is not None and heads.pinned_key != pinned:
        problems.append(
            chain.Problem(0, "key swapped: the heads list pins another key than the one given")
        )
    hashes = {e.seq: e.hash for e in entries}
    last = max(hashes, default=0)
    matching, beyond = 0, 0
    for head in sorted(heads.heads, key=lambda h: h.seq):
        if head.tenant_id != tenant_id:
            problems.append(chain.Problem(head.seq, "anchored head of another tenant"))
            continue
        try:
            key.verify(head.signature, head.checkpoint().message())
        except InvalidSignature:
            problems.append(
                chain.Problem(head.seq, "anchored head is not signed by the pinned key")
            )
            continue
        if head.seq not in hashes:
            if head.seq > last:
                beyond = head.seq
            else:
                problems.append(
                    chain.Problem(head.seq, "entry missing: an anchored head names this seq")
                )
        elif hashes[head.seq] != head.head_hash:
            problems.append(
                chain.Problem(
                    head.seq,
                    "rewritten: the entry's hash is not the anchored head's (the chain matches "
                    f"the anchored heads up to seq {matching})",
                )
            )
        else:
            matching = head.seq
    if beyond:
        problems.append(
            chain.Problem(
                last + 1,
                f"truncated: an anchored head is at seq {beyond} but the chain ends at seq {last}",
            )
        )
    if not heads.heads:
        problems.append(chain.Problem(0, "the heads list holds no head"))
    return problems
