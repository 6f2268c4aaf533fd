"""Moving a tenant to another deployment (sealed export bundle, import, offboarding with
crypto-shredding on the sender) on real PostgreSQL.

The sender is the stack `make test` started. The receiver is a second deployment in the same
PostgreSQL server: three new databases with other names (the same roles: migrations grant to
them by name), its own keyring and tenants directory, selected by environment variables the
way every component reads its settings. Both run in this process, one at a time.
"""

from __future__ import annotations

import io
import os
import uuid
from unittest import mock

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url

from operations.cli import main
from shared.db import service_engine
from shared.settings import SERVICES
from tests.support.deployments import (
    _create_databases,
    _drop_databases,
    deployment,
    new_deployment_files,
)
from tests.support.eventing import consumer, emit, fresh_tenant, in_thread, relay, wait_until
from tests.support.pdfs import minimal_pdf

IDENTITY = {
    "name": "Rina Pelapor",
    "nik": "3277014502900011",
    "phone": "+62 811 2222 4444",
    "email": "rina@example.org",
}
WHAT = "Pungutan liar pada pengurusan izin usaha di kecamatan."
PDF = minimal_pdf()  # a real PDF, already clean: stored (and moved) byte for byte


def cli(*args: str, env: dict[str, str] | None = None):
    with deployment(env):
        return CliRunner().invoke(main, list(args))


def bearer(app, tenant, *roles) -> dict[str, str]:
    from tests.support.officials import bearer as official_bearer

    return {"Authorization": official_bearer(app, tenant.id, *roles)}


# -- the receiving deployment --------------------------------------------------------------


@pytest.fixture(scope="module")
def receiver(stack, tmp_path_factory):
    from shared.migrations import upgrade_all

    env = _create_databases(stack, "mv" + uuid.uuid4().hex[:8])
    try:
        env.update(new_deployment_files(tmp_path_factory.mktemp("receiver")))
        with deployment(env):
            upgrade_all()
        result = cli(
            "instance",
            "public-key",
            "--out",
            str(tmp_path_factory.mktemp("keys") / "receiver.pub"),
            env=env,
        )
        assert result.exit_code == 0, result.output
        env["_PUBLIC_KEY"] = result.output.split("written: ", 1)[1].split(" (", 1)[0]
        yield env
    finally:
        _drop_databases(env)


def receiver_rows(env, tenant_id: uuid.UUID) -> dict[str, int]:
    """Rows of `tenant_id` in every receiver database (tenants row and tenant-owned tables)."""
    counts = {}
    with deployment(env):
        from operations.tenant_move import _connect

        for svc in SERVICES:
            with _connect(svc) as conn:
                tables = [
                    r[0]
                    for r in conn.execute(
                        "select table_name from information_schema.columns where "
                        "table_schema = 'public' and column_name = 'tenant_id'"
                    )
                ]
                n = conn.execute(
                    "select count(*) from tenants where id = %s", (tenant_id,)
                ).fetchone()[0]
                for t in tables:
                    n += conn.execute(
                        sql.SQL("select count(*) from {} where tenant_id = %s").format(
                            sql.Identifier(t)
                        ),
                        (tenant_id,),
                    ).fetchone()[0]
                counts[svc] = n
    return counts


# -- a tenant with a report, an application and a ledger on the sender ------------------------


def ledger(tenant_id) -> list:
    from shared.db import service_engine

    with service_engine("audit", migration=True).connect() as conn:
        return conn.execute(
            text(
                "select seq, event_id, prev_hash, hash from audit_ledger "
                "where tenant_id = :t order by seq"
            ),
            {"t": tenant_id},
        ).all()


def outbox_count(tenant_id) -> int:
    from shared.db import service_engine

    n = 0
    for svc in ("whistleblowing", "hibah_bansos"):
        with service_engine(svc, migration=True).connect() as conn:
            n += conn.execute(
                text("select count(*) from outbox where tenant_id = :t"), {"t": tenant_id}
            ).scalar()
    return n


def file_report(wb, tenant) -> dict:
    base = f"/t/{tenant.slug}/api/v1"
    filed = wb.post(
        f"{base}/reports", json={"category": "korupsi", "what": WHAT, "identity": IDENTITY}
    )
    assert filed.status_code == 201, filed.get_data(as_text=True)
    filed = filed.json
    att = wb.post(
        f"{base}/inbox/attachments",
        headers={"Authorization": f"Receipt {filed['receipt']}"},
        data={"file": (io.BytesIO(PDF), "bukti.pdf")},
        content_type="multipart/form-data",
    )
    assert att.status_code == 201, att.get_data(as_text=True)
    return {"case": filed["case_number"], "attachment": att.json["id"]}


def views(wb, hb, tenant, case, attachment, number) -> dict:
    base = f"/t/{tenant.slug}/api/v1"
    sup = bearer(wb.application, tenant, "wbs_supervisor")
    report = wb.get(f"{base}/reports/{case}", headers=sup)
    assert report.status_code == 200, report.get_data(as_text=True)
    blob = wb.get(f"{base}/reports/{case}/attachments/{attachment}", headers=sup)
    assert blob.status_code == 200, blob.get_data(as_text=True)
    app = hb.get(
        f"{base}/applications/{number}", headers=bearer(hb.application, tenant, "bansos_evaluator")
    )
    assert app.status_code == 200, app.get_data(as_text=True)
    return {"report": report.json, "attachment": blob.data, "application": app.json}


def open_identity(tenant, case: str, passphrase: str) -> dict:
    from shared import identity
    from shared.db import service_engine, session_factory, tenant_session

    factory = session_factory(service_engine("whistleblowing"))
    with tenant_session(factory, tenant.id) as s:
        row = s.execute(
            text("select id, sealed_identity from wb_reports where case_number = :c"), {"c": case}
        ).one()
        return identity.open_identity(s, tenant.id, row.id, row.sealed_identity, passphrase)


@pytest.fixture(scope="module")
def sender_pub(stack, tmp_path_factory) -> str:
    """The sending deployment's public-key document (its signing key is what imports trust)."""
    path = tmp_path_factory.mktemp("sender-keys") / "sender.pub"
    result = cli("instance", "public-key", "--out", str(path))
    assert result.exit_code == 0, result.output
    assert "signing fingerprint: sha256:" in result.output
    return str(path)


@pytest.fixture(scope="module")
def sender(
    stack,
    sender_pub,
    demo_tenants,
    wb_app,
    hb_app,
    custodian_passphrase,
    receiver,
    tmp_path_factory,
    make_application,
):
    tenant = fresh_tenant("mv")
    passphrase = custodian_passphrase(tenant)
    wb, hb = wb_app.test_client(), hb_app.test_client()
    filed = file_report(wb, tenant)
    number = make_application(tenant).number

    expected = outbox_count(tenant.id)
    assert expected >= 3
    with (
        in_thread(relay("whistleblowing"), "relay-wb"),
        in_thread(relay("hibah_bansos"), "relay-hb"),
        in_thread(consumer(checkpoint_every=2), "audit"),
    ):
        wait_until(lambda: len(ledger(tenant.id)) >= expected, 90, "the ledger")
    cp = cli("audit", "checkpoint", "--tenant", tenant.slug)
    assert cp.exit_code == 0, cp.output
    verified = cli("audit", "verify", "--tenant", tenant.slug)
    assert verified.exit_code == 0, verified.output

    seen = views(wb, hb, tenant, filed["case"], filed["attachment"], number)
    assert seen["report"]["report"]["what"] == WHAT and seen["attachment"] == PDF
    out = tmp_path_factory.mktemp("bundles") / f"{tenant.slug}.bundle"
    exported = cli(
        "tenant", "export", tenant.slug, "--to", receiver["_PUBLIC_KEY"], "--out", str(out)
    )
    assert exported.exit_code == 0, exported.output
    assert out.stat().st_mode & 0o077 == 0
    with service_engine("whistleblowing", migration=True).connect() as conn:  # audited
        [audited] = (
            conn.execute(
                text(
                    "select payload from outbox where tenant_id = :t and type = "
                    "'platform.tenant.exported.v1'"
                ),
                {"t": tenant.id},
            )
            .scalars()
            .all()
        )
    assert audited["data"]["bundle_sha256"] == exported.output.split("bundle sha256: ")[1].split()[
        0
    ] and audited["data"]["recipient"].startswith("sha256:")
    return {
        "tenant": tenant,
        "passphrase": passphrase,
        "case": filed["case"],
        "attachment": filed["attachment"],
        "number": number,
        "views": seen,
        "bundle": out,
        "sha256": exported.output.split("bundle sha256: ")[1].split()[0],
        "ledger": ledger(tenant.id),
        "verified": verified.output,
        "pub": sender_pub,
    }


# -- refusals first: they must leave the receiver untouched -----------------------------------


def test_a_bundle_with_one_flipped_byte_imports_nothing(sender, receiver, tmp_path):
    blob = sender["bundle"].read_bytes()
    for where in (len(blob) // 2, len(blob) - 1, blob.index(b"sha256:") + 10):
        bad = bytearray(blob)
        bad[where] ^= 0x01
        path = tmp_path / f"flipped-{where}.bundle"
        path.write_bytes(bytes(bad))
        result = cli("tenant", "import", str(path), "--from", sender["pub"], env=receiver)
        assert result.exit_code == 1, result.output
        assert (
            "altered or damaged" in result.output
            or "addressed to another deployment" in result.output
        ), result.output
    assert receiver_rows(receiver, sender["tenant"].id) == {s: 0 for s in SERVICES}
    assert not os.path.exists(
        os.path.join(receiver["REPLIKA_TENANTS_DIR"], f"{sender['tenant'].slug}.yaml")
    )


def test_a_bundle_addressed_to_another_deployment_is_refused(sender, receiver, tmp_path):
    other = new_deployment_files(tmp_path / "other")
    key = tmp_path / "other.pub"
    assert cli("instance", "public-key", "--out", str(key), env=other).exit_code == 0
    out = tmp_path / "elsewhere.bundle"
    exported = cli("tenant", "export", sender["tenant"].slug, "--to", str(key), "--out", str(out))
    assert exported.exit_code == 0, exported.output
    result = cli("tenant", "import", str(out), "--from", sender["pub"], env=receiver)
    assert result.exit_code == 1
    assert "addressed to another deployment" in result.output, result.output
    assert receiver_rows(receiver, sender["tenant"].id) == {s: 0 for s in SERVICES}


def test_export_never_overwrites_and_needs_a_real_public_key(sender, receiver, tmp_path):
    again = cli(
        "tenant",
        "export",
        sender["tenant"].slug,
        "--to",
        receiver["_PUBLIC_KEY"],
        "--out",
        str(sender["bundle"]),
    )
    assert again.exit_code == 1 and "not overwritten" in again.output
    junk = tmp_path / "junk.pub"
    junk.write_text('{"format": "something else"}')
    bad = cli(
        "tenant",
        "export",
        sender["tenant"].slug,
        "--to",
        str(junk),
        "--out",
        str(tmp_path / "x.bundle"),
    )
    assert bad.exit_code == 1 and "Not a deployment public key" in bad.output


def test_a_table_not_known_to_be_tenant_owned_or_global_stops_the_import(sender, receiver):
    url = receiver["WHISTLEBLOWING_MIGRATION_DATABASE_URL"]
    with psycopg.connect(
        make_url(url).set(drivername="postgresql").render_as_string(False), autocommit=True
    ) as conn:
        conn.execute("create table stray_notes (id integer primary key, note text)")
        try:
            result = cli(
                "tenant", "import", str(sender["bundle"]), "--from", sender["pub"], env=receiver
            )
        finally:
            conn.execute("drop table stray_notes")
    assert result.exit_code == 1
    assert "Table not movable" in result.output and "stray_notes" in result.output
    assert receiver_rows(receiver, sender["tenant"].id) == {s: 0 for s in SERVICES}


def _resealed(sender, receiver, path, change, signer=None) -> str:
    """A bundle made by someone who holds the receiver's public key and a signing key (by
    default the sender's own, as an insider would: only the checks inside can tell): the
    sender's payload, changed by `change(files, manifest)`, sealed and signed again. Returns
    the import's output."""
    import json
    import zipfile

    from operations import tenant_move

    payload, _ = tenant_move.build_payload(sender["tenant"].slug)
    with zipfile.ZipFile(io.BytesIO(payload)) as z:
        files = {n: z.read(n) for n in z.namelist()}
    manifest = json.loads(files.pop("manifest.json"))
    change(files, manifest)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("manifest.json", json.dumps(manifest))
        for name, data in files.items():
            z.writestr(name, data)
    public = tenant_move.read_public_key(open(receiver["_PUBLIC_KEY"]).read())
    path.write_bytes(tenant_move.seal(out.getvalue(), public, signer))
    result = cli("tenant", "import", str(path), "--from", sender["pub"], env=receiver)
    assert result.exit_code == 1, result.output
    return result.output


def _nothing_of(receiver, *tenant_ids) -> None:
    for tenant_id in tenant_ids:
        assert receiver_rows(receiver, tenant_id) == {s: 0 for s in SERVICES}


def test_a_bundle_signed_by_any_other_key_or_unsigned_is_refused(
    sender, receiver, demo_tenants, tmp_path
):
    """Anyone can seal to the receiver's public key: only the sender's signature counts."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    output = _resealed(
        sender,
        receiver,
        tmp_path / "forged.bundle",
        lambda f, m: None,
        Ed25519PrivateKey.generate(),
    )
    assert "Bundle signed by another deployment" in output, output
    # the fingerprint given by hand is compared the same way
    wrong = cli(
        "tenant",
        "import",
        str(sender["bundle"]),
        "--signer",
        "sha256:" + "0" * 64,
        env=receiver,
    )
    assert wrong.exit_code == 1 and "signed by another deployment" in wrong.output
    nobody = cli("tenant", "import", str(sender["bundle"]), env=receiver)
    assert nobody.exit_code == 1 and "name the sending deployment" in nobody.output
    # a bundle of the earlier, unsigned format
    blob = sender["bundle"].read_bytes()
    old = tmp_path / "unsigned.bundle"
    old.write_bytes(blob.replace(b"REPLIKA-TENANT-BUNDLE/2", b"REPLIKA-TENANT-BUNDLE/1", 1))
    refused = cli("tenant", "import", str(old), "--from", sender["pub"], env=receiver)
    assert refused.exit_code == 1 and "unsigned bundles are no longer accepted" in refused.output
    _nothing_of(receiver, sender["tenant"].id)


def _officials_row(columns: list[str], tenant_id, **values) -> bytes:
    fields = {c: "\\N" for c in columns}
    fields.update(id=str(uuid.uuid4()), tenant_id=str(tenant_id), **values)
    return "\t".join(fields[c] for c in columns).encode()


def test_a_foreign_officials_row_without_a_newline_and_counted_as_no_row_writes_nothing(
    sender, receiver, demo_tenants, tmp_path
):
    """The reviewed attack: one `officials` row of another tenant (tenant_admin and
    identity_custodian), no trailing newline, `rows` unchanged: COPY would load it."""
    import hashlib

    officials = "db/whistleblowing/officials.copy"
    cimahi = demo_tenants["cimahi"].id

    def crafted(newline: bool, tenant_id, seed: str):
        def change(files, manifest):
            info = manifest["services"]["whistleblowing"]["tables"]["officials"]
            row = _officials_row(
                info["columns"],
                tenant_id,
                username="penyusup",
                roles='["tenant_admin", "identity_custodian"]',
                totp_secret=seed,
                active="t",
            )
            files[officials] += row + (b"\n" if newline else b"")
            info["rows"] = files[officials].count(b"\n")  # 0 more for the unterminated row
            manifest["files"][officials]["sha256"] = hashlib.sha256(files[officials]).hexdigest()
            manifest["files"][officials]["bytes"] = len(files[officials])

        return change

    out = _resealed(sender, receiver, tmp_path / "a.bundle", crafted(False, cimahi, "v1:x"))
    assert "officials: its last row has no end of line" in out, out
    out = _resealed(sender, receiver, tmp_path / "b.bundle", crafted(True, cimahi, "v1:x"))
    assert "whistleblowing.officials holds rows of another tenant" in out, out
    own = sender["tenant"].id
    out = _resealed(sender, receiver, tmp_path / "c.bundle", crafted(True, own, "JBSWY3DPEHPK3PXP"))
    assert "plaintext seeds are no longer accepted" in out, out

    reports = "db/whistleblowing/wb_reports.copy"

    def carriage_return(files, manifest):  # COPY takes a lone CR as the end of a row too
        files[reports] = files[reports].replace(b"\n", b"\r", 1)
        manifest["files"][reports]["sha256"] = hashlib.sha256(files[reports]).hexdigest()

    out = _resealed(sender, receiver, tmp_path / "d.bundle", carriage_return)
    assert "carriage return" in out or "no end of line" in out or "row count" in out, out
    _nothing_of(receiver, own, cimahi)


def test_the_database_itself_refuses_a_foreign_row_the_checks_missed(
    sender, receiver, demo_tenants, tmp_path
):
    """The import writes as the application role, which row-level security binds, with the
    tenant set: with the row check switched off, a foreign row still fails the policy."""
    import hashlib

    from operations import tenant_move

    attachments = "db/whistleblowing/wb_attachments.copy"

    def other_tenant(files, manifest):
        files[attachments] = files[attachments].replace(
            str(sender["tenant"].id).encode(), str(demo_tenants["cimahi"].id).encode()
        )
        manifest["files"][attachments]["sha256"] = hashlib.sha256(files[attachments]).hexdigest()

    with mock.patch.object(tenant_move, "_check_rows", lambda *a: None):
        output = _resealed(sender, receiver, tmp_path / "rls.bundle", other_tenant)
        assert "the database refused the data" in output, output
        with deployment(receiver), pytest.raises(tenant_move.MoveError) as refused:
            tenant_move.import_bundle(
                (tmp_path / "rls.bundle").read_bytes(),
                tenant_move.read_signing_fingerprint(open(sender["pub"]).read()),
            )
    # refused by the policy (insufficient_privilege), before any constraint or trigger
    assert isinstance(refused.value.__cause__, psycopg.errors.InsufficientPrivilege)
    assert "row-level security" in str(refused.value.__cause__)
    _nothing_of(receiver, sender["tenant"].id, demo_tenants["cimahi"].id)


def test_a_small_bundle_declaring_a_huge_member_is_refused_without_reading_it(
    sender, receiver, tmp_path
):
    import json
    import tracemalloc
    import zipfile

    from operations import tenant_move

    huge = 64 * 1024 * 1024
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", json.dumps({"format": tenant_move.FORMAT}))
        with z.open("db/whistleblowing/officials.copy", "w") as member:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(huge // len(chunk)):
                member.write(chunk)
    payload = out.getvalue()
    assert len(payload) < 1024 * 1024  # a small bundle
    public = tenant_move.read_public_key(open(receiver["_PUBLIC_KEY"]).read())
    path = tmp_path / "bomb.bundle"
    path.write_bytes(tenant_move.seal(payload, public))
    with mock.patch.object(tenant_move, "MAX_MEMBER_BYTES", 8 * 1024 * 1024):
        tracemalloc.start()
        try:
            result = cli("tenant", "import", str(path), "--from", sender["pub"], env=receiver)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result.exit_code == 1 and f"declares {huge} bytes" in result.output, result.output
    assert peak < 16 * 1024 * 1024, peak  # the member was never decompressed
    with mock.patch.object(tenant_move, "MAX_TOTAL_BYTES", 32 * 1024 * 1024):
        result = cli("tenant", "import", str(path), "--from", sender["pub"], env=receiver)
    assert result.exit_code == 1 and "its files declare" in result.output, result.output


def test_sealed_bundles_that_disagree_with_their_manifest_or_reach_other_tenants_are_refused(
    sender, receiver, demo_tenants, tmp_path
):
    import hashlib

    reports = "db/whistleblowing/wb_reports.copy"
    attachments = "db/whistleblowing/wb_attachments.copy"

    def edit_data(files, manifest):
        files[reports] = files[reports].replace(b"korupsi", b"lainnya")

    assert "wb_reports.copy does not match its SHA-256" in _resealed(
        sender, receiver, tmp_path / "edited.bundle", edit_data
    )

    def other_tenant(files, manifest):  # digests recomputed: only the row check can tell
        files[attachments] = files[attachments].replace(
            str(sender["tenant"].id).encode(), str(demo_tenants["cimahi"].id).encode()
        )
        manifest["files"][attachments]["sha256"] = hashlib.sha256(files[attachments]).hexdigest()

    output = _resealed(sender, receiver, tmp_path / "crafted.bundle", other_tenant)
    assert "wb_attachments holds rows of another tenant" in output, output
    assert receiver_rows(receiver, sender["tenant"].id) == {s: 0 for s in SERVICES}
    assert receiver_rows(receiver, demo_tenants["cimahi"].id) == {s: 0 for s in SERVICES}


# -- the move itself ---------------------------------------------------------------------------


def test_the_moved_tenant_works_on_the_receiver_and_its_chain_continues(sender, receiver):
    tenant, slug = sender["tenant"], sender["tenant"].slug
    result = cli("tenant", "import", str(sender["bundle"]), "--from", sender["pub"], env=receiver)
    assert result.exit_code == 0, result.output
    assert f"bundle sha256: {sender['sha256']}" in result.output
    assert "not yet in the sender's ledger" not in result.output  # the ledger had them all
    assert os.path.exists(os.path.join(receiver["REPLIKA_TENANTS_DIR"], f"{slug}.yaml"))
    with deployment(receiver):
        from shared.db import service_engine as receiver_engine

        with receiver_engine("whistleblowing", migration=True).connect() as conn:
            types = conn.execute(
                text("select type from outbox where tenant_id = :t and published_at is null"),
                {"t": tenant.id},
            ).scalars()
            assert "platform.tenant.imported.v1" in set(types)

    with deployment(receiver):
        from operations.apps import hibah_bansos as hb_create
        from operations.apps import whistleblowing as wb_create
        from shared.db import service_engine
        from shared.keyring import keyring

        wb_app, hb_app = wb_create(), hb_create()
        wb_app.config.update(TESTING=True)
        hb_app.config.update(TESTING=True)
        # the receiver's own databases, and its own master key wraps the tenant's keys
        assert wb_app.extensions["replika"]["engine"].url.database.startswith("replika_mv")
        current = keyring().current_key_id()
        for svc in ("whistleblowing", "hibah_bansos"):
            with service_engine(svc, migration=True).connect() as conn:
                masters = set(
                    conn.execute(
                        text(
                            "select master_key_id from tenant_keys where tenant_id = :t and "
                            "wrapped is not null"
                        ),
                        {"t": tenant.id},
                    ).scalars()
                )
            assert masters == {current}, svc
        with service_engine("audit", migration=True).connect() as conn:
            assert (
                conn.execute(
                    text("select wrapping from audit_keys where tenant_id = :t"), {"t": tenant.id}
                ).scalar()
                == f"keyring:{current}"
            )

        seen = views(
            wb_app.test_client(),
            hb_app.test_client(),
            tenant,
            sender["case"],
            sender["attachment"],
            sender["number"],
        )
        assert seen["report"] == sender["views"]["report"]
        assert seen["attachment"] == PDF
        assert seen["application"] == sender["views"]["application"]
        assert open_identity(tenant, sender["case"], sender["passphrase"]) == IDENTITY

    verified = cli("audit", "verify", "--tenant", slug, env=receiver)
    assert verified.exit_code == 0, verified.output
    assert verified.output == sender["verified"]  # same entries, same signed checkpoints

    # a new event on the receiver: its outbox, then the ledger append the consumer does
    with deployment(receiver):
        from services.audit import ledger as audit_ledger
        from shared.db import service_engine, session_factory

        [event_id] = emit("whistleblowing", tenant, [("WBS-MOVED", "after-move")])
        with service_engine("whistleblowing", migration=True).connect() as conn:
            payload = conn.execute(
                text("select payload from outbox where event_id = :e"), {"e": event_id}
            ).scalar_one()
        with session_factory(service_engine("audit"))() as s, s.begin():
            assert audit_ledger.append_events(s, [payload]).appended == 1
        with service_engine("audit", migration=True).connect() as conn:
            rows = conn.execute(
                text(
                    "select seq, event_id, prev_hash, hash from audit_ledger "
                    "where tenant_id = :t order by seq"
                ),
                {"t": tenant.id},
            ).all()
    before = sender["ledger"]
    assert [tuple(r) for r in rows[:-1]] == [tuple(r) for r in before]
    assert rows[-1].seq == before[-1].seq + 1 and rows[-1].prev_hash == before[-1].hash
    assert rows[-1].event_id == event_id
    again = cli("audit", "verify", "--tenant", slug, env=receiver)
    assert again.exit_code == 0 and f"OK, {len(before) + 1} entries" in again.output

    twice = cli("tenant", "import", str(sender["bundle"]), "--from", sender["pub"], env=receiver)
    assert twice.exit_code == 1 and "Tenant exists" in twice.output, twice.output


# -- offboarding -------------------------------------------------------------------------------


def test_offboarding_exports_then_shreds_so_nothing_opens_on_the_sender(
    stack, demo_tenants, wb_app, hb_app, custodian_passphrase, receiver, sender_pub, tmp_path
):
    from shared import crypto, identity
    from shared.db import service_engine, session_factory, tenant_session

    tenant = fresh_tenant("ob")
    passphrase = custodian_passphrase(tenant)
    filed = file_report(wb_app.test_client(), tenant)
    # a relay published these events but the consumer had not recorded them yet
    with service_engine("whistleblowing", migration=True).begin() as conn:
        lagging = conn.execute(
            text("update outbox set published_at = now() where tenant_id = :t"), {"t": tenant.id}
        ).rowcount
    assert lagging >= 1
    out = tmp_path / "offboarded.bundle"
    refused = cli(
        "tenant", "offboard", tenant.slug, "--to", receiver["_PUBLIC_KEY"], "--out", str(out)
    )
    assert refused.exit_code == 1 and "--yes" in refused.output and not out.exists()
    assert open_identity(tenant, filed["case"], passphrase) == IDENTITY

    done = cli(
        "tenant",
        "offboard",
        tenant.slug,
        "--to",
        receiver["_PUBLIC_KEY"],
        "--out",
        str(out),
        "--yes",
    )
    assert done.exit_code == 0, done.output
    assert "keys destroyed" in done.output
    factory = session_factory(service_engine("whistleblowing"))
    with tenant_session(factory, tenant.id) as s:
        row = s.execute(
            text("select id, content from wb_reports where case_number = :c"), {"c": filed["case"]}
        ).one()
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt_field(s, tenant.id, "wb_reports", row.id, "content", row.content)
    with pytest.raises(identity.NoCustodian):
        open_identity(tenant, filed["case"], passphrase)

    # the bundle was made before the keys went: it opens on the receiver
    imported = cli("tenant", "import", str(out), "--from", sender_pub, env=receiver)
    assert imported.exit_code == 0, imported.output
    assert f"{lagging} events not yet in the sender's ledger" in imported.output
    with deployment(receiver):
        with service_engine("whistleblowing", migration=True).connect() as conn:
            assert (
                conn.execute(
                    text(
                        "select count(*) from outbox where tenant_id = :t and "
                        "published_at is not null"
                    ),
                    {"t": tenant.id},
                ).scalar()
                == 0
            )
        with tenant_session(session_factory(service_engine("whistleblowing")), tenant.id) as s:
            row = s.execute(
                text("select id, content from wb_reports where case_number = :c"),
                {"c": filed["case"]},
            ).one()
            content = crypto.decrypt_field(
                s, tenant.id, "wb_reports", row.id, "content", row.content
            )
        assert WHAT in content.decode()
        assert open_identity(tenant, filed["case"], passphrase) == IDENTITY
        # it arrives suspended (read-only), as it left; `replika tenant resume` ends that
        resumed = cli("tenant", "resume", tenant.slug)
        assert resumed.exit_code == 0, resumed.output
