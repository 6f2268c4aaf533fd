"""Master keys: the root of envelope encryption.

A `KeyringProvider` wraps and unwraps tenant data keys; nothing else ever sees a master key.
The embedded default, `FileKeyring`, reads a 0600 JSON file (`REPLIKA_MASTER_KEY_FILE`):

    {"current": "mk-20261122-1a2b", "keys": {"mk-20261122-1a2b": "<base64 32 bytes>"}}

A KMS or Vault backend implements the same three methods. The file is re-read when it changes,
so `replika keys rotate-master` takes effect in running services without a restart.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class KeyringError(RuntimeError):
    pass


class KeyringProvider(Protocol):
    def current_key_id(self) -> str: ...
    def wrap(self, key_id: str, plaintext: bytes, aad: bytes) -> bytes: ...
    def unwrap(self, key_id: str, blob: bytes, aad: bytes) -> bytes: ...


def new_key_id() -> str:
    return f"mk-{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"


def write_keyring_file(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def create_keyring_file(path: Path) -> bool:
    """Create the keyring file unless it exists; True when this call created it.

    Processes starting at once (gunicorn workers, relays) must agree on one master key: a
    check-then-write would let each write its own, and tenant keys wrapped under a losing key
    never open again. The complete file is written under a unique name and hard-linked into
    place, which fails if the path exists: exactly one creator wins, and no reader ever sees
    a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(new_keyring_data(), f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            return False  # another process won: everyone uses its file
    finally:
        tmp.unlink(missing_ok=True)


def new_keyring_data() -> dict:
    key_id = new_key_id()
    return {
        "current": key_id,
        "keys": {key_id: base64.b64encode(AESGCM.generate_key(256)).decode()},
    }


class FileKeyring:
    def __init__(self, path: Path, create: bool = True) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._data: dict = {}
        if not path.exists():
            if not create:
                raise KeyringError(f"keyring file {path} does not exist")
            create_keyring_file(path)

    def _load(self) -> dict:
        with self._lock:
            st = self.path.stat()
            if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise KeyringError(f"keyring file {self.path} is readable by others; chmod 600")
            if self._mtime != st.st_mtime:
                self._data = json.loads(self.path.read_text())
                self._mtime = st.st_mtime
            return self._data

    def _key(self, key_id: str) -> bytes:
        keys = self._load()["keys"]
        if key_id not in keys:
            raise KeyringError(f"master key {key_id} is not in the keyring")
        return base64.b64decode(keys[key_id])

    def current_key_id(self) -> str:
        return self._load()["current"]

    def wrap(self, key_id: str, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + AESGCM(self._key(key_id)).encrypt(nonce, plaintext, aad)

    def unwrap(self, key_id: str, blob: bytes, aad: bytes) -> bytes:
        return AESGCM(self._key(key_id)).decrypt(blob[:12], blob[12:], aad)

    def add_key(self) -> str:
        """Add a fresh master key and make it current (old keys stay for unwrapping)."""
        data = json.loads(json.dumps(self._load()))
        key_id = new_key_id()
        data["keys"][key_id] = base64.b64encode(AESGCM.generate_key(256)).decode()
        data["current"] = key_id
        write_keyring_file(self.path, data)
        return key_id


_keyrings: dict[str, FileKeyring] = {}


def keyring() -> FileKeyring:
    path = os.environ.get("REPLIKA_MASTER_KEY_FILE")
    if not path:
        raise KeyringError("REPLIKA_MASTER_KEY_FILE is not set")
    if path not in _keyrings:
        _keyrings[path] = FileKeyring(Path(path))
    return _keyrings[path]


# -- the deployment's transport key (tenant move bundles, operations/tenant_move.py) --------------
#
# A deployment receives tenant bundles sealed to its public key (HPKE, ML-KEM-768 + X25519, as
# reporter identities). The private half lives next to the keyring, in its own 0600 file with
# the same permission check: `<keyring stem>.transport-key.json`. It is a separate file so that
# creating it can never race with `replika keys rotate-master` rewriting the keyring. Back it up
# with the keyring. It is created once (O_EXCL) and never replaced.

TRANSPORT_KEM = "MLKEM768-X25519"


def transport_key_path(keyring_path: Path | None = None) -> Path:
    if keyring_path is None:
        path = os.environ.get("REPLIKA_MASTER_KEY_FILE")
        if not path:
            raise KeyringError("REPLIKA_MASTER_KEY_FILE is not set")
        keyring_path = Path(path)
    return keyring_path.with_name(keyring_path.stem + ".transport-key.json")


def _new_transport_private() -> bytes:
    from cryptography.hazmat.primitives import serialization as s
    from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

    seed = os.urandom(64)
    mlkem.MLKEM768PrivateKey.from_seed_bytes(seed)  # fails here, not later, if unsupported
    x = x25519.X25519PrivateKey.generate().private_bytes(
        s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption()
    )
    return seed + x


def transport_private_key(create: bool = True) -> bytes:
    """The raw private transport key (64-byte ML-KEM seed + 32-byte X25519 key) of this
    deployment, created on first use when `create`."""
    path = transport_key_path()
    if not path.exists():
        if not create:
            raise KeyringError(
                f"transport key file {path} does not exist "
                "(`replika instance public-key` creates it)"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "kem": TRANSPORT_KEM,
            "created": datetime.now(UTC).isoformat(),
            "private": base64.b64encode(_new_transport_private()).decode(),
        }
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: use theirs
        else:
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, indent=2)
                f.flush()
                os.fsync(f.fileno())
    st = path.stat()
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyringError(f"transport key file {path} is readable by others; chmod 600")
    data = json.loads(path.read_text())
    if data.get("kem") != TRANSPORT_KEM:
        raise KeyringError(f"transport key file {path}: unknown kem {data.get('kem')!r}")
    return base64.b64decode(data["private"])
