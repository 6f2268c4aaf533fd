"""Move one tenant between deployments: an export bundle signed by the sending deployment and
sealed to the receiving one.

    replika instance public-key --out receiver.pub       (on the receiver; also on the sender)
    replika tenant export garut --to receiver.pub --out garut.bundle   (on the sender)
    replika tenant import garut.bundle --from sender.pub (on the receiver)

Both sides print the sender's signing-key fingerprint (`instance public-key`, `tenant export`);
the operators compare it out of band (a call, a letter), and the importer names the sender by
its public-key document (`--from`) or that fingerprint (`--signer`). A bundle signed by any
other key, or not signed, is refused before it is decrypted: the receiver's public key is
public, so a seal alone proves nothing about who made a bundle.

The bundle holds the tenant's configuration (its tenant file), every row it owns in every
service database (found by reflecting each database: every table with a `tenant_id` column,
so a new table is never forgotten; a table that is neither tenant-owned nor known to be global
stops the export), and the tenant's keys. Attachments are rows (`wb_attachments.content`,
`application_documents`), so they travel with the rows.

Keys: tenant keys (`tenant_keys`) and audit signing keys (`audit_keys`) are wrapped under the
sender's master key. Export unwraps them into the bundle; import wraps them under the
receiver's current master key. Record keys, custodian keys and every ciphertext are copied as
they are: they are wrapped by tenant keys (or the custodian's passphrase), which do not change,
so every field, identity and signature opens on the receiver.

Bundle file: one line of magic, one line of JSON header (format, version, suite, recipient key
fingerprint, signer's Ed25519 public key, time), the signer's 64-byte Ed25519 signature over
magic, header and ciphertext, then HPKE (RFC 9180; ML-KEM-768 + X25519 hybrid KEM,
HKDF-SHA256, AES-256-GCM, the suite reporter identities use) of a zip archive, with the header
bound in as HPKE `info`. Inside, `manifest.json` lists the SHA-256 and row count of every
table's data (PostgreSQL COPY text, UTC) and every other file.

Before a row is written, import checks all of it, row by row: every row ends with a newline
(COPY also loads an unterminated last line, and takes a carriage return as one), has the
manifest's columns, and carries the bundle's tenant id; officials carry only sealed TOTP
seeds. Member and total uncompressed sizes are capped from the archive's directory before any
member is read (and each read is bounded). Import refuses a slug or tenant id the receiver
already has, a bundle addressed to another deployment or signed by another, an altered bundle,
or a schema version that differs; it writes each database in one transaction and commits only
when all three are loaded. The databases with row-level security are written as the
application role (`*_DATABASE_URL`), which RLS binds, with the tenant set: a row of another
tenant fails the policy's check even if it got past the row check.

The whole bundle is built and opened in memory (attachments are size-limited rows); plaintext
keys are never written to disk.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import yaml
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from psycopg import sql
from sqlalchemy import MetaData, create_engine, pool
from sqlalchemy.engine import make_url

from operations import key_admin
from operations.replication.config_admin import load_yaml
from operations.replication.lifecycle import UnknownTenant, record, set_suspended
from services.audit import keys as audit_keys
from shared import crypto, settings
from shared.event_types import (
    PLATFORM_TENANT_EXPORTED,
    PLATFORM_TENANT_IMPORTED,
    PLATFORM_TENANT_OFFBOARDED,
)
from shared.keyring import (
    TRANSPORT_KEM,
    KeyringError,
    keyring,
    transport_key_path,
    transport_private_key,
)
from shared.officials import SEALED
from shared.tenant_config import TenantConfigError, parse

FORMAT = "replika-tenant-bundle"
VERSION = 2  # 2: signed by the sending deployment (1 was sealed only, and is refused)
MAGIC = b"REPLIKA-TENANT-BUNDLE/2\n"
SIGNATURE_BYTES = 64
SIGNING_ALG = "Ed25519"
PUBLIC_KEY_FORMAT = "replika-deployment-public-key"
SUITE_NAME = "MLKEM768-X25519/HKDF-SHA256/AES-256-GCM"
SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
INFO_PREFIX = b"replika/tenant-bundle/v1|"
MLKEM_PUBLIC_BYTES = 1184

# Tables without a tenant_id column that are known: the schema version, the audit ledger's
# dead letters (records of this deployment's stream, often of no known tenant) and the relays
# waiting for NOTIFY (this deployment's processes), not moved, and the tenants table itself
# (its row is the tenant: moved by id). Anything else stops the move.
SCHEMA_TABLES = {
    "alembic_version",
    "audit_dead_letters",
    "audit_dead_letter_redrives",
    "outbox_listeners",
}
TENANTS_TABLE = "tenants"
# Tables whose identity column is renumbered by the receiver (its own sequence); the rows keep
# their own unique ids (an outbox row keeps its event id).
RENUMBERED = {"outbox": "seq"}
# Tables kept by triggers from other tables' rows (migration h013): not carried, the
# receiver's triggers count the rows as they load; removed along with a tenant's rows.
DERIVED = {"hibah_bansos": ("programme_status_counts",)}
MOVED = "moved"  # placeholder master key id of a key row until the receiver re-wraps it
# Caps checked before anything is decompressed (the archive's directory declares the sizes;
# every read is bounded as well, so a lying directory does not get past them either).
MAX_BUNDLE_BYTES = 2 * 1024**3
MAX_MEMBER_BYTES = 512 * 1024**2
MAX_TOTAL_BYTES = 2 * 1024**3
MAX_MEMBERS = 1000
# Databases without row-level security (the audit ledger's grants are insert/select only and
# it has no tenant policies): written as the owner, guarded by the row check alone.
OWNER_WRITTEN = {"audit"}


class MoveError(Exception):
    """A refused export or import, RFC 9457 style: a short title and a detail for operators.
    Never carries personal data (only slugs, table names, counts, fingerprints)."""

    def __init__(self, title: str, detail: str) -> None:
        super().__init__(f"{title}: {detail}")
        self.title, self.detail = title, detail

    def to_problem(self) -> dict[str, Any]:
        return {"type": "about:blank", "title": self.title, "detail": self.detail}


# -- the deployment's transport key ------------------------------------------------------------


def _scalar(cursor: Any) -> Any:
    """The first column of the one row a query returns (it always returns one)."""
    row = cursor.fetchone()
    assert row is not None
    return row[0]


def _private_key(raw: bytes) -> hpke.MLKEM768X25519PrivateKey:
    return hpke.MLKEM768X25519PrivateKey(
        mlkem.MLKEM768PrivateKey.from_seed_bytes(raw[:64]),
        x25519.X25519PrivateKey.from_private_bytes(raw[64:]),
    )


def _public_raw(raw_private: bytes) -> bytes:
    m = mlkem.MLKEM768PrivateKey.from_seed_bytes(raw_private[:64])
    x = x25519.X25519PrivateKey.from_private_bytes(raw_private[64:])
    return m.public_key().public_bytes_raw() + x.public_key().public_bytes(
        s.Encoding.Raw, s.PublicFormat.Raw
    )


def _public_key(raw: bytes) -> hpke.MLKEM768X25519PublicKey:
    return hpke.MLKEM768X25519PublicKey(
        mlkem.MLKEM768PublicKey.from_public_bytes(raw[:MLKEM_PUBLIC_BYTES]),
        x25519.X25519PublicKey.from_public_bytes(raw[MLKEM_PUBLIC_BYTES:]),
    )


def fingerprint(public_raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(public_raw).hexdigest()


def deployment_public_key() -> bytes:
    """This deployment's public transport key (the private half is created on first use)."""
    return _public_raw(transport_private_key(create=True))


def signing_key_path() -> Path:
    """`<keyring stem>.signing-key.json`, next to the transport key (same 0600 rule)."""
    transport = transport_key_path()
    return transport.with_name(transport.name.replace(".transport-key.", ".signing-key."))


def signing_private_key(create: bool = True) -> Ed25519PrivateKey:
    """This deployment's Ed25519 key that signs the bundles it exports, created once (O_EXCL)
    on first use and never replaced. Back it up with the keyring."""
    path = signing_key_path()
    if not path.exists():
        if not create:
            raise MoveError(
                "No signing key here", f"{path} does not exist (`replika instance public-key`)"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = Ed25519PrivateKey.generate().private_bytes(
            s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption()
        )
        data = {
            "alg": SIGNING_ALG,
            "created": datetime.now(UTC).isoformat(),
            "private": base64.b64encode(raw).decode(),
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
    if path.stat().st_mode & 0o077:
        raise MoveError("Signing key exposed", f"{path} is readable by others; chmod 600")
    data = json.loads(path.read_text())
    if data.get("alg") != SIGNING_ALG:
        raise MoveError("Unknown signing key", f"{path}: alg {data.get('alg')!r}")
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(data["private"]))


def _raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)


def deployment_signing_key() -> bytes:
    """This deployment's raw Ed25519 public key (bundles it exports are signed with it)."""
    return _raw_public(signing_private_key(create=True))


def public_key_document(public_raw: bytes, signing_raw: bytes | None = None) -> str:
    doc: dict[str, Any] = {
        "format": PUBLIC_KEY_FORMAT,
        "version": VERSION,
        "kem": TRANSPORT_KEM,
        "fingerprint": fingerprint(public_raw),
        "public_key": base64.b64encode(public_raw).decode(),
    }
    if signing_raw is not None:
        doc.update(
            signing_alg=SIGNING_ALG,
            signing_fingerprint=fingerprint(signing_raw),
            signing_key=base64.b64encode(signing_raw).decode(),
        )
    return json.dumps(doc, indent=2) + "\n"


def _document(text: str) -> dict:
    try:
        doc = json.loads(text)
        assert doc["format"] == PUBLIC_KEY_FORMAT and doc["kem"] == TRANSPORT_KEM
        return doc
    except Exception:
        raise MoveError(
            "Not a deployment public key",
            "the file is not the output of `replika instance public-key`",
        ) from None


def read_public_key(text: str) -> bytes:
    """The raw public key of a `replika instance public-key` document (fingerprint checked)."""
    doc = _document(text)
    try:
        raw = base64.b64decode(doc["public_key"], validate=True)
        _public_key(raw)
    except Exception:
        raise MoveError(
            "Not a deployment public key",
            "the file is not the output of `replika instance public-key`",
        ) from None
    if fingerprint(raw) != doc["fingerprint"]:
        raise MoveError("Damaged public key", "the key does not match its fingerprint")
    return raw


def read_signing_fingerprint(text: str) -> str:
    """The signing-key fingerprint of a sender's `replika instance public-key` document."""
    doc = _document(text)
    try:
        assert doc["signing_alg"] == SIGNING_ALG
        raw = base64.b64decode(doc["signing_key"], validate=True)
        Ed25519PublicKey.from_public_bytes(raw)
    except Exception:
        raise MoveError(
            "No signing key in the document",
            "the sender's public-key document has no bundle signing key (`replika instance "
            "public-key` of a current version prints one)",
        ) from None
    if fingerprint(raw) != doc["signing_fingerprint"]:
        raise MoveError("Damaged public key", "the signing key does not match its fingerprint")
    return fingerprint(raw)


# -- database plans ----------------------------------------------------------------------------


@dataclass
class TablePlan:
    name: str
    columns: list[str]  # columns carried in the bundle (in COPY order)


def _psycopg_url(service: str, *, migration: bool = True) -> str:
    url = make_url(settings.database_url(service, migration=migration))
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _connect(service: str, *, as_app: bool = False) -> psycopg.Connection:
    """The owner's connection, or (`as_app`) the application role's, which row-level security
    binds (it owns nothing and is no superuser: infra/databases.py)."""
    return psycopg.connect(_psycopg_url(service, migration=not as_app), autocommit=False)


def _reflect(service: str) -> MetaData:
    engine = create_engine(settings.database_url(service, migration=True), poolclass=pool.NullPool)
    try:
        metadata = MetaData()
        metadata.reflect(bind=engine)
        return metadata
    finally:
        engine.dispose()


def _plan(service: str) -> tuple[list[TablePlan], list[str]]:
    """(tenant-owned tables in foreign-key order, problems). A problem is a table we do not
    know how to move: no tenant_id and not known to be global, or an identity column whose
    values the receiver's own sequence would clash with."""
    metadata = _reflect(service)
    plans, problems = [], []
    for table in metadata.sorted_tables:
        cols = [c.name for c in table.columns]
        if table.name in SCHEMA_TABLES or table.name in DERIVED.get(service, ()):
            continue
        if table.name == TENANTS_TABLE:
            plans.append(TablePlan(table.name, cols))
            continue
        if "tenant_id" not in cols:
            problems.append(
                f"{service}.{table.name} has no tenant_id column and is not known to be global"
            )
            continue
        generated = [
            c.name
            for c in table.columns
            if c.identity is not None
            or (
                c.server_default is not None
                and "nextval(" in str(getattr(c.server_default, "arg", ""))
            )
        ]
        skip = RENUMBERED.get(table.name)
        unknown = [c for c in generated if c != skip]
        if unknown:
            problems.append(
                f"{service}.{table.name}: generated column(s) {', '.join(unknown)} "
                "would clash on the receiver"
            )
            continue
        plans.append(TablePlan(table.name, [c for c in cols if c != skip]))
    return plans, problems


def _export_select(service: str, plan: TablePlan) -> list[sql.Composable]:
    """Column expressions for export: key material is replaced by placeholders (it travels,
    unwrapped, in keys.json)."""
    out: list[sql.Composable] = []
    for c in plan.columns:
        ident = sql.Identifier(c)
        if plan.name == "tenant_keys" and c == "master_key_id":
            out.append(
                sql.SQL("case when wrapped is null then master_key_id else {} end").format(
                    sql.Literal(MOVED)
                )
            )
        elif plan.name == "tenant_keys" and c == "wrapped":
            out.append(sql.SQL("case when wrapped is null then null else '\\x'::bytea end"))
        elif plan.name == "audit_keys" and c == "wrapped_private_key":
            out.append(sql.SQL("'\\x'::bytea"))
        elif plan.name == "audit_keys" and c == "wrapping":
            out.append(sql.Literal(MOVED))
        else:
            out.append(ident)
    return out


def _session_settings(cur) -> None:
    # one spelling of times and dates on both sides, whatever the servers' defaults are
    cur.execute("set local timezone = 'UTC'")
    cur.execute("set local datestyle = 'ISO, YMD'")
    cur.execute("set local intervalstyle = 'postgres'")
    cur.execute("set local bytea_output = 'hex'")
    cur.execute("set local extra_float_digits = 3")


def _alembic(cur) -> list[str]:
    cur.execute("select version_num from alembic_version order by version_num")
    return [r[0] for r in cur.fetchall()]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- export ------------------------------------------------------------------------------------


@dataclass
class ExportSummary:
    slug: str
    tenant_id: uuid.UUID
    rows: dict[str, int]
    recipient: str
    bundle_sha256: str
    suspended: bool
    signer: str = ""  # fingerprint of the signing key: compared out of band by the receiver


def _tenant_row(slug: str) -> tuple[uuid.UUID, dict]:
    with _connect(settings.SERVICES[0]) as conn:
        row = conn.execute("select id, config from tenants where slug = %s", (slug,)).fetchone()
    if row is None:
        raise MoveError("Unknown tenant", f"no tenant {slug} on this deployment")
    config = row[1] if isinstance(row[1], dict) else json.loads(row[1])
    return row[0], config


def _tenant_file_text(slug: str, config: dict) -> str:
    path = Path(os.environ.get("REPLIKA_TENANTS_DIR", "tenants")) / f"{slug}.yaml"
    if path.exists():
        return path.read_text()
    return yaml.safe_dump(config, allow_unicode=True, sort_keys=False)


def _unwrap_tenant_keys(cur, tenant_id: uuid.UUID) -> dict[str, str]:
    cur.execute(
        "select key_id, purpose, master_key_id, wrapped from tenant_keys "
        "where tenant_id = %s and wrapped is not null",
        (tenant_id,),
    )
    out = {}
    for key_id, purpose, master_key_id, wrapped in cur.fetchall():
        key = keyring().unwrap(
            master_key_id, bytes(wrapped), crypto._aad("tenant-key", tenant_id, purpose, key_id)
        )
        out[key_id] = base64.b64encode(key).decode()
    return out


def _unwrap_audit_keys(cur, tenant_id: uuid.UUID) -> dict[str, str]:
    cur.execute(
        "select id, wrapped_private_key, wrapping from audit_keys where tenant_id = %s",
        (tenant_id,),
    )
    out = {}
    for key_id, wrapped, wrapping in cur.fetchall():
        private = audit_keys.unwrap(bytes(wrapped), tenant_id, key_id, wrapping)
        out[str(key_id)] = base64.b64encode(
            private.private_bytes(s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption())
        ).decode()
    return out


def build_payload(slug: str) -> tuple[bytes, dict]:
    """The bundle's plaintext (a zip archive) and its manifest."""
    tenant_id, config = _tenant_row(slug)
    files: dict[str, bytes] = {"tenant.yaml": _tenant_file_text(slug, config).encode()}
    keys: dict[str, Any] = {"tenant_keys": {}, "audit_keys": {}}
    services: dict[str, Any] = {}
    plans = {svc: _plan(svc) for svc in settings.SERVICES}
    problems = [p for _, probs in plans.values() for p in probs]
    if problems:
        raise MoveError("Table not movable", "; ".join(problems))
    for service in settings.SERVICES:
        tables: dict[str, Any] = {}
        with _connect(service) as conn:
            cur = conn.cursor()
            # one consistent snapshot of the whole database
            cur.execute("set transaction isolation level repeatable read, read only")
            _session_settings(cur)
            revisions = _alembic(cur)
            for plan in plans[service][0]:
                where = "id" if plan.name == TENANTS_TABLE else "tenant_id"
                query = sql.SQL("copy (select {} from {} where {} = {}) to stdout").format(
                    sql.SQL(", ").join(_export_select(service, plan)),
                    sql.Identifier(plan.name),
                    sql.Identifier(where),
                    sql.Literal(str(tenant_id)),
                )
                buf = io.BytesIO()
                with cur.copy(query) as copy:
                    for chunk in copy:
                        buf.write(chunk)
                data = buf.getvalue()
                name = f"db/{service}/{plan.name}.copy"
                files[name] = data
                tables[plan.name] = {
                    "columns": plan.columns,
                    "rows": data.count(b"\n"),
                    "file": name,
                }
            if "tenant_keys" in tables:
                keys["tenant_keys"][service] = _unwrap_tenant_keys(cur, tenant_id)
            if "audit_keys" in tables:
                keys["audit_keys"] = _unwrap_audit_keys(cur, tenant_id)
            conn.rollback()
        services[service] = {"alembic": revisions, "tables": tables}
    files["keys.json"] = json.dumps(keys, sort_keys=True).encode()
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "tenant": {"id": str(tenant_id), "slug": slug},
        "suspended": bool(config.get("suspended")),
        "exported_at": datetime.now(UTC).isoformat(),
        "services": services,
        "files": {
            name: {"sha256": _sha(data), "bytes": len(data)} for name, data in sorted(files.items())
        },
    }
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", json.dumps(manifest, indent=1, sort_keys=True))
        for name, data in sorted(files.items()):
            z.writestr(name, data)
    return archive.getvalue(), manifest


def seal(payload: bytes, recipient_public: bytes, signer: Ed25519PrivateKey | None = None) -> bytes:
    """Encrypt `payload` to the recipient and sign the whole file with `signer` (by default
    this deployment's signing key)."""
    signer = signer or signing_private_key(create=True)
    header = json.dumps(
        {
            "format": FORMAT,
            "version": VERSION,
            "suite": SUITE_NAME,
            "recipient": fingerprint(recipient_public),
            "signer_alg": SIGNING_ALG,
            "signer_key": base64.b64encode(_raw_public(signer)).decode(),
            "created_at": datetime.now(UTC).isoformat(),
        },
        sort_keys=True,
    ).encode()
    ciphertext = SUITE.encrypt(payload, _public_key(recipient_public), info=INFO_PREFIX + header)
    signature = signer.sign(MAGIC + header + b"\n" + ciphertext)
    return MAGIC + header + b"\n" + signature + ciphertext


def export_tenant(slug: str, recipient_public: bytes, out: Path) -> ExportSummary:
    """Write the bundle of `slug` sealed to `recipient_public` to `out` (0600, never
    overwriting). Suspend the tenant first (`replika tenant suspend`) so no write lands after
    the snapshot."""
    payload, manifest = build_payload(slug)
    bundle = seal(payload, recipient_public)
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise MoveError("Bundle file exists", f"{out} exists; not overwritten") from None
    with os.fdopen(fd, "wb") as f:
        f.write(bundle)
        f.flush()
        os.fsync(f.fileno())
    rows = {
        f"{svc}.{t}": info["rows"]
        for svc, v in manifest["services"].items()
        for t, info in v["tables"].items()
        if info["rows"]
    }
    record(
        slug,
        PLATFORM_TENANT_EXPORTED,
        {"bundle_sha256": _sha(bundle), "recipient": fingerprint(recipient_public)},
    )
    return ExportSummary(
        slug,
        uuid.UUID(manifest["tenant"]["id"]),
        rows,
        fingerprint(recipient_public),
        _sha(bundle),
        bool(manifest.get("suspended")),
        fingerprint(deployment_signing_key()),
    )


# -- import ------------------------------------------------------------------------------------


@dataclass
class OpenedBundle:
    manifest: dict
    files: dict[str, bytes]

    @property
    def tenant_id(self) -> uuid.UUID:
        return uuid.UUID(self.manifest["tenant"]["id"])

    @property
    def slug(self) -> str:
        return self.manifest["tenant"]["slug"]


def _refused(detail: str) -> MoveError:
    return MoveError("Bundle refused", detail)


def open_bundle(blob: bytes, signer: str) -> OpenedBundle:
    """Check the signature (by the key of fingerprint `signer`, compared out of band),
    decrypt and check a bundle addressed to this deployment; raise MoveError otherwise.
    Nothing is written here."""
    if len(blob) > MAX_BUNDLE_BYTES:
        raise _refused(f"it is larger than {MAX_BUNDLE_BYTES} bytes")
    if not blob.startswith(MAGIC) or b"\n" not in blob[len(MAGIC) :]:
        raise MoveError(
            "Not a tenant bundle",
            "the file does not start like a signed Replika tenant bundle (format "
            f"{VERSION}; earlier, unsigned bundles are no longer accepted)",
        )
    header_bytes, rest = blob[len(MAGIC) :].split(b"\n", 1)
    try:
        header = json.loads(header_bytes)
        assert isinstance(header, dict)
    except (ValueError, AssertionError):
        raise _refused("its header is damaged") from None
    if (
        header.get("format") != FORMAT
        or header.get("version") != VERSION
        or header.get("suite") != SUITE_NAME
        or header.get("signer_alg") != SIGNING_ALG
    ):
        raise _refused("unknown bundle format, version or suite")
    try:
        signer_raw = base64.b64decode(header["signer_key"], validate=True)
        signer_key = Ed25519PublicKey.from_public_bytes(signer_raw)
    except Exception:
        raise _refused("its signer's key is damaged") from None
    if fingerprint(signer_raw) != signer:
        raise MoveError(
            "Bundle signed by another deployment",
            f"it was signed by {fingerprint(signer_raw)}, not by the expected {signer}; "
            "nothing imported (compare the fingerprint with the sender out of band)",
        )
    signature, ciphertext = rest[:SIGNATURE_BYTES], rest[SIGNATURE_BYTES:]
    try:
        signer_key.verify(signature, MAGIC + header_bytes + b"\n" + ciphertext)
    except InvalidSignature:
        raise _refused(
            "its signature does not verify: it was altered or damaged after export"
        ) from None
    try:
        private_raw = transport_private_key(create=False)
    except KeyringError as exc:
        raise MoveError("No transport key here", str(exc)) from None
    mine = fingerprint(_public_raw(private_raw))
    if header.get("recipient") != mine:
        raise MoveError(
            "Bundle addressed to another deployment",
            f"it was sealed to {header.get('recipient')}; this deployment's key is "
            f"{mine} (run `replika instance public-key` here and export again)",
        )
    try:
        payload = SUITE.decrypt(
            ciphertext, _private_key(private_raw), info=INFO_PREFIX + header_bytes
        )
    except Exception:
        raise _refused("it does not decrypt: it was altered or damaged after export") from None
    manifest, files = _read_archive(payload)
    try:
        _check_manifest(manifest, files)
    except MoveError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        raise _refused("its manifest is malformed") from None
    return OpenedBundle(manifest, files)


def _read_archive(payload: bytes) -> tuple[dict, dict[str, bytes]]:
    """The archive's manifest and files, with the sizes its directory declares capped before
    any member is decompressed, and every read bounded by its declared size."""
    try:
        z = zipfile.ZipFile(io.BytesIO(payload))
    except Exception:
        raise _refused("its archive does not open") from None
    with z:
        infos = z.infolist()
        if len(infos) > MAX_MEMBERS:
            raise _refused(f"its archive has more than {MAX_MEMBERS} files")
        total = 0
        for info in infos:
            if info.file_size > MAX_MEMBER_BYTES:
                raise _refused(
                    f"{info.filename[:100]} declares {info.file_size} bytes "
                    f"(at most {MAX_MEMBER_BYTES})"
                )
            total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise _refused(f"its files declare {total} bytes (at most {MAX_TOTAL_BYTES})")
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            raise _refused("its archive names a file twice")
        out: dict[str, bytes] = {}
        try:
            for info in infos:
                with z.open(info) as member:
                    data = member.read(info.file_size + 1)
                if len(data) != info.file_size:
                    raise _refused(f"{info.filename[:100]} is not the size its archive declares")
                out[info.filename] = data
        except MoveError:
            raise
        except Exception:
            raise _refused("its archive does not open") from None
    try:
        manifest = json.loads(out.pop("manifest.json"))
        assert isinstance(manifest, dict)
    except (KeyError, ValueError, AssertionError):
        raise _refused("its manifest is missing or malformed") from None
    return manifest, out


def _check_manifest(manifest: dict, files: dict[str, bytes]) -> None:
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise _refused("unknown manifest format")
    tenant_id = uuid.UUID(manifest["tenant"]["id"])
    if not isinstance(manifest["tenant"]["slug"], str):
        raise ValueError("slug")
    listed = manifest["files"]
    if set(listed) != set(files) or not {"tenant.yaml", "keys.json"} <= set(files):
        raise _refused("its files differ from its manifest")
    for name, info in listed.items():
        if _sha(files[name]) != info["sha256"] or len(files[name]) != info["bytes"]:
            raise _refused(f"{name} does not match its SHA-256 in the manifest")
    for service, v in manifest["services"].items():
        for table, info in v["tables"].items():
            _check_rows(f"{service}.{table}", table, info, files[info["file"]], tenant_id)


def _check_rows(where: str, table: str, info: dict, data: bytes, tenant_id: uuid.UUID) -> None:
    """Every row of a table's COPY text, one by one, before anything is written: rows end with
    a newline, there is no carriage return (COPY would take it as a row end) nor end-of-data
    marker, each row has the manifest's columns, carries this bundle's tenant id in its
    tenant column exactly as COPY TO writes it, and officials carry only sealed TOTP seeds."""
    columns = info["columns"]
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise ValueError("columns")
    key = "id" if table == TENANTS_TABLE else "tenant_id"
    if key not in columns:
        raise _refused(f"{where} has no {key} column")
    if data and not data.endswith(b"\n"):
        raise _refused(f"{where}: its last row has no end of line")
    if b"\r" in data:
        raise _refused(f"{where}: a row holds a carriage return")
    lines = data.split(b"\n")[:-1] if data else []
    if len(lines) != info["rows"]:
        raise _refused(f"{where}: row count differs from the manifest")
    at, want = columns.index(key), str(tenant_id).encode()
    seed = columns.index("totp_secret") if table == "officials" else None
    for line in lines:
        fields = line.split(b"\t")
        if len(fields) != len(columns):
            raise _refused(f"{where}: a row has other columns than the manifest")
        if fields[at] != want:
            raise _refused(f"{where} holds rows of another tenant")
        if seed is not None and not fields[seed].startswith(SEALED.encode()):
            raise _refused(
                f"{where}: a TOTP seed is not sealed (plaintext seeds are no longer accepted)"
            )


def _check_receiver(bundle: OpenedBundle, plans: dict[str, list[TablePlan]]) -> None:
    tenant_id, slug = bundle.tenant_id, bundle.slug
    tenant_file = Path(os.environ.get("REPLIKA_TENANTS_DIR", "tenants")) / f"{slug}.yaml"
    if tenant_file.exists():
        raise MoveError(
            "Tenant exists",
            f"a tenant file for {slug} already exists here ({tenant_file}); nothing imported",
        )
    for service in settings.SERVICES:
        if service not in bundle.manifest["services"]:
            raise MoveError("Bundle refused", f"it has no data for the {service} database")
        sent = bundle.manifest["services"][service]
        with _connect(service) as conn:
            cur = conn.cursor()
            here = _alembic(cur)
            if here != sent["alembic"]:
                raise MoveError(
                    "Schema versions differ",
                    f"{service}: bundle {','.join(sent['alembic'])}, this "
                    f"deployment {','.join(here)}; migrate both to the same version",
                )
            ours = {p.name: p for p in plans[service]}
            for table, info in sent["tables"].items():
                if table not in ours or ours[table].columns != info["columns"]:
                    raise MoveError(
                        "Schema differs",
                        f"{service}.{table} has other columns "
                        "here; migrate both deployments to the same version",
                    )
            missing = set(ours) - set(sent["tables"])
            if missing:
                raise MoveError(
                    "Schema differs",
                    f"{service}: the bundle has no data for {', '.join(sorted(missing))}",
                )
            cur.execute("select 1 from tenants where slug = %s or id = %s", (slug, tenant_id))
            if cur.fetchone():
                raise MoveError(
                    "Tenant exists",
                    f"{slug} (or its tenant id) is already a tenant "
                    f"of this deployment ({service}); nothing imported",
                )
            for plan in plans[service]:
                if plan.name == TENANTS_TABLE:
                    continue
                cur.execute(
                    sql.SQL("select 1 from {} where tenant_id = %s limit 1").format(
                        sql.Identifier(plan.name)
                    ),
                    (tenant_id,),
                )
                if cur.fetchone():
                    raise MoveError(
                        "Tenant exists",
                        f"this deployment already holds rows of "
                        f"tenant id {tenant_id} ({service}.{plan.name}); nothing "
                        "imported",
                    )
            conn.rollback()


def _load(cur, service: str, table: str, columns: list[str], data: bytes) -> None:
    """COPY the rows into a staging table (temporary, no policies: COPY FROM is refused on
    a table with row-level security for a role it binds), then INSERT them into the table,
    where the policy checks every row against the tenant set for this transaction."""
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    if service in OWNER_WRITTEN:
        with cur.copy(sql.SQL("copy {} ({}) from stdin").format(sql.Identifier(table), cols)) as c:
            c.write(data)
        return
    stage = sql.Identifier(f"stage_{table}")
    cur.execute(  # the columns' types only: no constraint, default or identity
        sql.SQL(
            "create temporary table {} on commit drop as select {} from {} with no data"
        ).format(stage, cols, sql.Identifier(table))
    )
    with cur.copy(sql.SQL("copy {} ({}) from stdin").format(stage, cols)) as copy:
        copy.write(data)
    cur.execute(
        sql.SQL("insert into {} ({}) select {} from {}").format(
            sql.Identifier(table), cols, cols, stage
        )
    )


def _rewrap_keys(cur, service: str, tables: set[str], tenant_id: uuid.UUID, keys: dict) -> None:
    """Wrap the bundle's tenant and audit keys under this deployment's current master key."""
    ring = keyring()
    master_id = ring.current_key_id()
    if "tenant_keys" in tables:
        wanted = keys["tenant_keys"].get(service, {})
        cur.execute(
            "select key_id, purpose from tenant_keys where tenant_id = %s and master_key_id = %s",
            (tenant_id, MOVED),
        )
        rows = cur.fetchall()
        if {k for k, _ in rows} != set(wanted):
            raise MoveError("Bundle refused", f"{service}: tenant keys and key rows differ")
        for key_id, purpose in rows:
            wrapped = ring.wrap(
                master_id,
                base64.b64decode(wanted[key_id]),
                crypto._aad("tenant-key", tenant_id, purpose, key_id),
            )
            cur.execute(
                "update tenant_keys set master_key_id = %s, wrapped = %s "
                "where tenant_id = %s and key_id = %s",
                (master_id, wrapped, tenant_id, key_id),
            )
    if "audit_keys" in tables:
        wanted = keys["audit_keys"]
        cur.execute(
            "select id from audit_keys where tenant_id = %s and wrapping = %s", (tenant_id, MOVED)
        )
        rows = [r[0] for r in cur.fetchall()]
        if {str(r) for r in rows} != set(wanted):
            raise MoveError("Bundle refused", "audit signing keys and key rows differ")
        for key_id in rows:
            private = Ed25519PrivateKey.from_private_bytes(base64.b64decode(wanted[str(key_id)]))
            wrapped, wrapping = audit_keys.wrap(private, tenant_id, key_id)
            cur.execute(
                "update audit_keys set wrapped_private_key = %s, wrapping = %s where id = %s",
                (wrapped, wrapping, key_id),
            )


def _republish_unrecorded(conns: dict[str, psycopg.Connection], tenant_id: uuid.UUID) -> int:
    """Outbox events the sender had published but its ledger had not yet recorded (the
    consumer lagged at export) are marked unpublished here, so the receiver's relay publishes
    them and its ledger records them (once: the ledger skips event ids it has)."""
    if "audit" not in conns:
        return 0
    cur = conns["audit"].cursor()
    cur.execute("select event_id from audit_ledger where tenant_id = %s", (tenant_id,))
    recorded = [r[0] for r in cur.fetchall()]
    n = 0
    for service, conn in conns.items():
        if service == "audit":
            continue
        c = conn.cursor()
        c.execute("select to_regclass('outbox') is not null")
        if not _scalar(c):
            continue
        c.execute(
            "update outbox set published_at = null where tenant_id = %s and "
            "published_at is not null and not (event_id = any(%s))",
            (tenant_id, recorded),
        )
        n += c.rowcount
        # what this deployment's relay will publish now carries this deployment's signature:
        # its ledger trusts only its own services' keys (shared/event_signing.py)
        from psycopg.types.json import Json

        from shared import event_signing

        c.execute(
            "select seq, payload from outbox where tenant_id = %s and published_at is null",
            (tenant_id,),
        )
        for seq, payload in c.fetchall():
            c.execute(
                "update outbox set payload = %s where seq = %s",
                (Json(event_signing.sign(service, payload)), seq),
            )
    return n


def _remove_tenant(service: str, plans: list[TablePlan], tenant_id: uuid.UUID) -> None:
    """Undo a committed import in one database (only when a later database failed to commit)."""
    with _connect(service) as conn:
        cur = conn.cursor()
        for plan in reversed(plans):
            where = "id" if plan.name == TENANTS_TABLE else "tenant_id"
            cur.execute(
                sql.SQL("delete from {} where {} = %s").format(
                    sql.Identifier(plan.name), sql.Identifier(where)
                ),
                (tenant_id,),
            )
        for derived in DERIVED.get(service, ()):  # after the deletes its triggers counted
            cur.execute(
                sql.SQL("delete from {} where tenant_id = %s").format(sql.Identifier(derived)),
                (tenant_id,),
            )
        conn.commit()


@dataclass
class ImportSummary:
    slug: str
    tenant_id: uuid.UUID
    rows: dict[str, int]
    tenant_file: Path
    bundle_sha256: str
    republish: int  # outbox events the sender published but its ledger had not recorded


def import_bundle(blob: bytes, signer: str) -> ImportSummary:
    """Import a bundle signed by the key of fingerprint `signer` into this deployment:
    everything or nothing."""
    bundle = open_bundle(blob, signer)
    tenant_id, slug = bundle.tenant_id, bundle.slug
    try:
        config = parse(load_yaml(bundle.files["tenant.yaml"]), f"bundle:{slug}.yaml")
    except (TenantConfigError, yaml.YAMLError) as exc:
        raise MoveError(
            "Bundle refused", f"its tenant file does not validate here: {exc}"
        ) from None
    if config.slug != slug or config.id != tenant_id:
        raise MoveError("Bundle refused", "its tenant file names another tenant")
    planned = {svc: _plan(svc) for svc in settings.SERVICES}
    problems = [p for _, probs in planned.values() for p in probs]
    if problems:
        raise MoveError("Table not movable", "; ".join(problems))
    plans = {svc: p for svc, (p, _) in planned.items()}
    _check_receiver(bundle, plans)
    keys = json.loads(bundle.files["keys.json"])
    conns: dict[str, psycopg.Connection] = {}
    rows: dict[str, int] = {}
    committed: list[str] = []
    try:
        for service in settings.SERVICES:
            # RLS-bound writes where the database has tenant policies (see OWNER_WRITTEN)
            conn = conns[service] = _connect(service, as_app=service not in OWNER_WRITTEN)
            cur = conn.cursor()
            _session_settings(cur)
            cur.execute("select set_config('app.tenant_id', %s, true)", (str(tenant_id),))
            sent = bundle.manifest["services"][service]["tables"]
            for plan in plans[service]:  # foreign-key order
                info = sent[plan.name]
                data = bundle.files[info["file"]]
                if not data:
                    continue
                _load(cur, service, plan.name, info["columns"], data)
                rows[f"{service}.{plan.name}"] = info["rows"]
            # every copied row really is this tenant's (a crafted bundle cannot reach others)
            for plan in plans[service]:
                where = "id" if plan.name == TENANTS_TABLE else "tenant_id"
                cur.execute(
                    sql.SQL("select count(*) from {} where {} = %s").format(
                        sql.Identifier(plan.name), sql.Identifier(where)
                    ),
                    (tenant_id,),
                )
                if _scalar(cur) != sent[plan.name]["rows"]:
                    raise MoveError(
                        "Bundle refused", f"{service}.{plan.name} holds rows of another tenant"
                    )
            cur.execute("select slug from tenants where id = %s", (tenant_id,))
            if [r[0] for r in cur.fetchall()] != [slug]:
                raise MoveError("Bundle refused", f"{service}: its tenant row is not {slug}")
            _rewrap_keys(cur, service, {p.name for p in plans[service]}, tenant_id, keys)
        republish = _republish_unrecorded(conns, tenant_id)
        for service in settings.SERVICES:
            conns[service].commit()
            committed.append(service)
    except BaseException as exc:
        for service, conn in conns.items():
            if service not in committed:
                conn.rollback()
        for service in committed:  # a later commit failed: take the earlier ones back
            _remove_tenant(service, plans[service], tenant_id)
        if isinstance(exc, MoveError):
            raise
        if isinstance(exc, psycopg.Error):
            raise MoveError(
                "Import failed",
                f"the database refused the data ({type(exc).__name__}); nothing imported",
            ) from exc
        if isinstance(exc, (KeyError, TypeError, ValueError)):
            raise MoveError(
                "Bundle refused", "its keys or data are malformed; nothing imported"
            ) from exc
        raise
    finally:
        for conn in conns.values():
            conn.close()
    crypto.forget_cached_keys()
    tenant_file = Path(os.environ.get("REPLIKA_TENANTS_DIR", "tenants")) / f"{slug}.yaml"
    tenant_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(tenant_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(bundle.files["tenant.yaml"])
    record(
        slug, PLATFORM_TENANT_IMPORTED, {"bundle_sha256": _sha(blob)}
    )  # continues the moved chain
    return ImportSummary(slug, tenant_id, rows, tenant_file, _sha(blob), republish)


# -- offboarding -------------------------------------------------------------------------------


def offboard(slug: str, recipient_public: bytes, out: Path) -> tuple[ExportSummary, dict]:
    """Suspend `slug`, export it to `out`, then crypto-shred its keys on this deployment."""
    if out.exists():  # before suspending anything
        raise MoveError("Bundle file exists", f"{out} exists; not overwritten")
    try:
        set_suspended(slug, True)
    except UnknownTenant:
        raise MoveError("Unknown tenant", f"no tenant {slug} on this deployment") from None
    summary = export_tenant(slug, recipient_public, out)
    # shred only once the bundle is on disk as written
    if _sha(out.read_bytes()) != summary.bundle_sha256:
        raise MoveError("Export failed", f"{out} does not read back as written; not shredded")
    shredded = key_admin.shred_tenant(summary.tenant_id)
    record(slug, PLATFORM_TENANT_OFFBOARDED, {"bundle_sha256": summary.bundle_sha256})
    return summary, shredded
