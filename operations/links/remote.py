"""Signed HTTPS requests between deployments (agreements with a tenant of another deployment).

A deployment is named by its instance public-key document (`replika instance public-key`,
operations/tenant_move.py): an Ed25519 signing key, whose fingerprint names the deployment
(`Agreement.partner`), and an HPKE transport key (ML-KEM-768 + X25519) things are sealed to.

Every request one deployment sends another is a JSON POST signed with the sender's instance
signing key:

    Replika-Signer:    sha256:<fingerprint of the signing key>
    Replika-Timestamp: <unix seconds>
    Replika-Nonce:     <32 hex characters, fresh per request>
    Replika-Signature: base64 Ed25519 over
        "replika-link-request/v1\\n" POST \\n <path> \\n <timestamp> \\n <nonce> \\n <sha256 of body>

The path binds the receiving tenant and agreement, the body hash the content. The receiver
checks the signature against the key its side of the agreement names (for a new proposal:
the key the proposal carries, which the receiving admin compares out of band before accepting),
refuses a timestamp more than `MAX_SKEW` seconds off, and a nonce it has seen from that signer
(table `link_nonces`, kept for twice the skew): a request is taken once.

Only https URLs are accepted as a partner's base URL, except for loopback hosts (the tests and
`make run` serve plain http on 127.0.0.1).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.agreements import SeenNonce
from shared.problem import Refused

DOMAIN = b"replika-link-request/v1\n"
SEAL_INFO = b"replika/link-aid-key/v1|"
MAX_SKEW = 300  # seconds
TIMEOUT = 15.0
MAX_BODY = 4 * 1024 * 1024
H_SIGNER, H_TS, H_NONCE, H_SIG = (
    "Replika-Signer",
    "Replika-Timestamp",
    "Replika-Nonce",
    "Replika-Signature",
)
PREFIX = "/api/v1/links/remote"


class PartnerUnavailable(Refused):
    def __init__(self, detail: str) -> None:
        super().__init__(502, f"the other deployment did not take the request: {detail}")


@dataclass(frozen=True)
class Instance:
    """Another deployment, as its public-key document names it."""

    signing_key: bytes  # raw Ed25519 public key
    transport_key: bytes  # raw HPKE public key

    @property
    def id(self) -> str:
        from operations.tenant_move import fingerprint

        return fingerprint(self.signing_key)


def read_instance(document: str) -> Instance:
    """The keys of a `replika instance public-key` document; 422 naming `instance_key`."""
    from operations.tenant_move import MoveError, read_public_key, read_signing_fingerprint

    try:
        transport = read_public_key(document)
        read_signing_fingerprint(document)  # checks the signing key and its fingerprint
        signing = base64.b64decode(json.loads(document)["signing_key"], validate=True)
    except (MoveError, ValueError, KeyError, TypeError):
        raise Refused(
            422,
            "paste the other deployment's `replika instance public-key` document",
            "instance_key",
        ) from None
    return Instance(signing, transport)


def own_instance() -> Instance:
    """This deployment's keys; 409 when `replika instance public-key` has not made them (the
    web processes never create a key: the operator does, and hands the document over)."""
    from operations.tenant_move import MoveError, _public_raw, _raw_public, signing_private_key
    from shared.keyring import KeyringError, transport_private_key

    try:
        signing = _raw_public(signing_private_key(create=False))
        transport = _public_raw(transport_private_key(create=False))
    except (MoveError, KeyringError, OSError):
        raise Refused(
            409, "this deployment has no instance key yet (`replika instance public-key`)"
        ) from None
    return Instance(signing, transport)


def check_base_url(url: str) -> str:
    """A partner's base URL: https (plain http only on a loopback host); no query."""
    parsed = urllib.parse.urlsplit(url.strip())
    host = parsed.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if (
        parsed.scheme not in ("https", "http")
        or (parsed.scheme == "http" and not loopback)
        or not host
        or parsed.query
        or parsed.fragment
        or len(url) > 300
    ):
        raise Refused(422, "give the other deployment's https:// address", "partner_url")
    return urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, parsed.path.rstrip("/"), "", ""))


def _message(path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return DOMAIN + "\n".join(("POST", path, timestamp, nonce, digest)).encode()


def signed_headers(path: str, body: bytes, signer: Ed25519PrivateKey | None = None) -> dict:
    from operations.tenant_move import _raw_public, fingerprint, signing_private_key

    signer = signer or signing_private_key(create=False)
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
    signature = signer.sign(_message(path, timestamp, nonce, body))
    return {
        H_SIGNER: fingerprint(_raw_public(signer)),
        H_TS: timestamp,
        H_NONCE: nonce,
        H_SIG: base64.b64encode(signature).decode(),
    }


def check_signature(
    path: str, headers: Any, body: bytes, signing_key: bytes, now: float | None = None
) -> tuple[str, str]:
    """(signer, nonce) of a request signed by `signing_key` for `path` and `body` within
    `MAX_SKEW` of `now`; 401 otherwise. Pure: the nonce is recorded by `verify`."""
    from operations.tenant_move import fingerprint

    signer = headers.get(H_SIGNER, "")
    timestamp, nonce = headers.get(H_TS, ""), headers.get(H_NONCE, "")
    if signer != fingerprint(signing_key):
        raise Refused(401, "not signed by the deployment this agreement names")
    if not timestamp.isdigit() or not (16 <= len(nonce) <= 64) or not nonce.isalnum():
        raise Refused(401, "the request's signature headers are missing")
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > MAX_SKEW:
        raise Refused(401, "the request is too old or from the future")
    try:
        signature = base64.b64decode(headers.get(H_SIG, ""), validate=True)
        Ed25519PublicKey.from_public_bytes(signing_key).verify(
            signature, _message(path, timestamp, nonce, body)
        )
    except (InvalidSignature, ValueError):
        raise Refused(401, "the request's signature does not verify") from None
    return signer, nonce


def verify(
    session: Session,
    tenant_id: uuid.UUID,
    path: str,
    headers: Any,
    body: bytes,
    signing_key: bytes,
) -> None:
    """Refuse (401) a request not signed by `signing_key`, stale, or seen before; record its
    nonce otherwise (in `session`'s transaction: committed with what the request changes)."""
    signer, nonce = check_signature(path, headers, body, signing_key)
    cutoff = datetime.now(UTC) - timedelta(seconds=2 * MAX_SKEW)
    session.execute(
        delete(SeenNonce).where(SeenNonce.tenant_id == tenant_id, SeenNonce.seen_at < cutoff)
    )
    taken = session.execute(
        insert(SeenNonce)
        .values(tenant_id=tenant_id, signer=signer, nonce=nonce, seen_at=datetime.now(UTC))
        .on_conflict_do_nothing()
        .returning(SeenNonce.nonce)
    ).first()
    if taken is None:
        raise Refused(401, "this request was already taken (replayed)")


def post(base_url: str, path: str, payload: dict) -> dict:
    """POST `payload` signed by this deployment to `base_url + path`; its JSON answer."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    url_path = urllib.parse.urlsplit(base_url).path.rstrip("/") + path
    request = urllib.request.Request(
        base_url.rstrip("/") + path,
        data=body,
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            **signed_headers(url_path, body),
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as resp:  # noqa: S310 (checked URL)
            return json.loads(resp.read(MAX_BODY) or b"{}")
    except urllib.error.HTTPError as exc:
        raise PartnerUnavailable(f"it answered {exc.code}") from None
    except (OSError, ValueError) as exc:
        raise PartnerUnavailable(f"unreachable ({type(exc).__name__})") from None


def tenant_path(tenant: str, rest: str) -> str:
    return f"/t/{urllib.parse.quote(tenant, safe='')}{PREFIX}{rest}"


# -- the aid-token key, sealed to the proposer's transport key ----------------------------------


def seal_key(key: bytes, recipient: bytes, agreement_id: uuid.UUID) -> str:
    from operations.tenant_move import SUITE, _public_key

    sealed = SUITE.encrypt(key, _public_key(recipient), info=SEAL_INFO + str(agreement_id).encode())
    return base64.b64encode(sealed).decode()


def open_key(sealed: str, agreement_id: uuid.UUID) -> bytes:
    from operations.tenant_move import SUITE, _private_key
    from shared.keyring import transport_private_key

    try:
        key = SUITE.decrypt(
            base64.b64decode(sealed, validate=True),
            _private_key(transport_private_key(create=False)),
            info=SEAL_INFO + str(agreement_id).encode(),
        )
    except Exception:
        raise Refused(422, "the sealed key does not open here", "sealed_key") from None
    if len(key) != 32:
        raise Refused(422, "the sealed key is not an aid-token key", "sealed_key")
    return key
