"""Linked cities across deployments (issue 23 items 1-2): two tenants of this deployment (A, the
stack `make test` started) and a tenant of a second deployment (B: three databases of its own,
its own keyring and tenants directory, tests/support/deployments.py). Both deployments' apps are
served over real HTTP, each in a process of its own with its own environment
(tests/support/serve_app.py); the test process acts as one deployment or the other, one at a
time (`deployment(env)`), the way the tenant-move test does.

The agreement with the other deployment is proposed, accepted and ended through signed
requests; the same NIK applying for comparable bansos in all three cities is flagged in all
three; nothing outside the city that holds the applicant (Kafka records, request bodies sent
between deployments, API bodies, logs, rows of both deployments) carries the NIK or a plain
hash of it; a replayed, re-signed or altered request is refused."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select, text

from operations import tenant_apply
from operations.cli import main
from operations.links import remote, tokens
from operations.replication.template import template_file, write_new_tenant
from services.hibah_bansos.aid_links import AidMatch
from shared.agreements import Agreement
from shared.db import service_engine, session_factory, tenant_session
from shared.event_types import (
    HB_AID_MATCH_FOUND,
    PLATFORM_LINK_ACCEPTED,
    PLATFORM_LINK_ENDED,
    PLATFORM_LINK_PROPOSED,
)
from shared.tenant_config import load_file
from tests.support import ROOT
from tests.support.deployments import (
    _create_databases,
    _drop_databases,
    deployment,
    new_deployment_files,
)
from tests.support.eventing import records_on_topic
from tests.support.hibah_bansos import cimahi_nik
from tests.support.links import (
    _admin,
    _bansos_application,
    _link,
    _name,
    _office_page,
    _outbox_types,
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """The whistleblowing app of one deployment on 127.0.0.1, in its own process."""

    def __init__(self, env: dict[str, str], log_path) -> None:
        import os

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 (closed in stop)
        full = {**os.environ, **{k: v for k, v in env.items() if not k.startswith("_")}}
        self.proc = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "tests.support.serve_app", "whistleblowing", str(self.port)],
            cwd=ROOT,
            env=full,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2):  # noqa: S310
                    break
            except (OSError, urllib.error.HTTPError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError("app did not start:\n" + log_path.read_text()) from None
                time.sleep(0.3)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


def _public_key_document(tmp_path, name: str, env: dict[str, str] | None = None) -> str:
    out = tmp_path / f"{name}.pub"
    with deployment(env):
        result = CliRunner().invoke(main, ["instance", "public-key", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out.read_text()


@pytest.fixture
def other_deployment(stack, tmp_path_factory):
    from shared.migrations import upgrade_all

    env = _create_databases(stack, "lk" + uuid.uuid4().hex[:8])
    try:
        directory = tmp_path_factory.mktemp("deployment-b")
        env.update(new_deployment_files(directory))
        tenants = directory / "tenants"
        tenants.mkdir()
        shutil.copy(ROOT / "tenants" / "cimahi.yaml", tenants / "cimahi.yaml")
        slug = f"kota-{uuid.uuid4().hex[:6]}"
        with deployment(env):
            upgrade_all()
            path = write_new_tenant(
                tenants,
                template_file(tenants, "cimahi"),
                "cimahi",
                slug=slug,
                name="Pemerintah Kota Seberang",
                region_code="32.77",
                display_name="Kota Seberang",
            )
            config = load_file(path)
            tenant_apply.apply(config)
        env["_DOCUMENT"] = _public_key_document(directory, "b", env)
        env["_SLUG"] = slug
        yield env, config
    finally:
        _drop_databases(env)


def _b_databases() -> tokens.Databases:
    return tokens.Databases(service_engine("whistleblowing"), service_engine("hibah_bansos"))


def _rows(url: str, tables: tuple[str, ...]) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            out = []
            for table in tables:
                rows = conn.execute(text(f"select * from {table}")).all()  # noqa: S608 (fixed names)
                out += [repr(tuple(r)).lower() for r in rows]
            return out
    finally:
        engine.dispose()


def _post_raw(url: str, headers: dict[str, str], body: bytes) -> int:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", **headers}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as resp:  # noqa: S310 (test server)
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_three_cities_on_two_deployments_flag_the_same_person_and_no_nik_travels(
    wb,
    wb_app,
    hb_app,
    two_cities,
    other_deployment,
    make_official,
    api_login,
    csrf_token,
    stack,
    tmp_path,
    monkeypatch,
    caplog,
):
    caplog.set_level("DEBUG")
    a, b = two_cities
    env_b, c = other_deployment
    _public_key_document(tmp_path, "a")  # this deployment's keys (the operator's step)
    sent: list[bytes] = []
    original_post = remote.post

    def recording_post(base_url, path, payload):  # what crosses between deployments
        sent.append(json.dumps(payload).lower().encode())
        return original_post(base_url, path, payload)

    monkeypatch.setattr(remote, "post", recording_post)
    server_a = Served({}, tmp_path / "a.log")
    server_b = Served(env_b, tmp_path / "b.log")
    try:
        monkeypatch.setenv("REPLIKA_PUBLIC_URL", server_a.url)
        a_admin = _admin(wb, make_official, api_login, a.slug)
        b_admin = _admin(wb, make_official, api_login, b.slug)
        _link(wb, a_admin, b_admin, a, b, scopes=("aid_tokens",))

        # A's admin proposes to C on the other deployment
        bad = wb.post(
            f"/t/{a.slug}/api/v1/links",
            json={
                "partner_url": "http://example.org",
                "partner_tenant": c.slug,
                "instance_key": "nope",
                "scopes": ["aid_tokens"],
            },
            headers=a_admin,
        )
        assert bad.status_code == 422
        assert {e["field"] for e in bad.json["errors"]} == {"partner_url", "instance_key"}
        proposed = wb.post(
            f"/t/{a.slug}/api/v1/links",
            json={
                "partner_url": server_b.url,
                "partner_tenant": c.slug,
                "instance_key": env_b["_DOCUMENT"],
                "scopes": ["aid_tokens"],
            },
            headers=a_admin,
        )
        assert proposed.status_code == 201, proposed.get_data(as_text=True)
        ac_id = proposed.json["id"]
        assert proposed.json["partner_kind"] == "instance"
        assert proposed.json["partner_name"] == "Kota Seberang"  # as the other side names it

        # C's admin, on the other deployment, sees the proposal and accepts it there
        with deployment(env_b):
            from operations.apps import whistleblowing
            from tests.support.officials import bearer

            b_app = whistleblowing()
            b_client = b_app.test_client()
            c_admin = {"Authorization": bearer(b_app, c.id, "tenant_admin")}
            incoming = b_client.get(f"/t/{c.slug}/api/v1/links/{ac_id}", headers=c_admin)
            assert incoming.status_code == 200, incoming.get_data(as_text=True)
            assert incoming.json["direction"] == "incoming"
            assert incoming.json["partner_name"] == _name(a)
            assert incoming.json["partner_url"] == server_a.url
            page = b_client.get(f"/t/{c.slug}/admin/links", headers=c_admin)
            assert incoming.json["partner"] in page.get_data(as_text=True)  # the fingerprint
            accepted = b_client.post(
                f"/t/{c.slug}/api/v1/links/{ac_id}/decision",
                json={"accept": True},
                headers=c_admin,
            )
            assert accepted.status_code == 200, accepted.get_data(as_text=True)
            assert accepted.json["status"] == "active"
        assert (
            wb.get(f"/t/{a.slug}/api/v1/links/{ac_id}", headers=a_admin).json["status"] == "active"
        )
        # both sides hold the same key (sealed to A's transport key on the way)
        with tenant_session(session_factory(service_engine("whistleblowing")), a.id) as s:
            a_row = s.scalars(select(Agreement).where(Agreement.id == uuid.UUID(ac_id))).one()
            from operations.links.agreements import aid_key

            key_a = aid_key(s, a_row)
        with deployment(env_b):
            with tenant_session(session_factory(service_engine("whistleblowing")), c.id) as s:
                c_row = s.scalars(select(Agreement).where(Agreement.id == uuid.UUID(ac_id))).one()
                assert aid_key(s, c_row) == key_a

        # the same person applies in all three cities; one other applicant only in C
        nik = cimahi_nik()
        a_number = _bansos_application(a.id, nik)
        b_number = _bansos_application(b.id, nik)
        with deployment(env_b):
            c_number = _bansos_application(c.id, nik)
            _bansos_application(c.id, cimahi_nik())

        kafka = tokens.Kafka(stack["KAFKA_BOOTSTRAP_SERVERS"])
        try:
            first = tokens.sync(tokens.Databases(*_a_engines()), kafka, a.slug)
            assert first.matched == []  # nobody has spoken to A yet
            with deployment(env_b):
                # C takes A's pushed tokens against its own; its push flags A on arrival
                from_c = tokens.sync(_b_databases(), kafka, c.slug)
                assert from_c.published == 2 and from_c.matched == [c_number]
                assert tokens.sync(_b_databases(), kafka, c.slug).matched == []  # once
            assert tokens.sync(tokens.Databases(*_a_engines()), kafka, b.slug).matched == [b_number]
            assert tokens.sync(tokens.Databases(*_a_engines()), kafka, a.slug).matched == [
                a_number
            ]  # through B's tokens; C's push flagged it for C already
        finally:
            kafka.close()

        # A: one warning per linked city; B: one; C (other deployment): one, naming A
        html = _office_page(hb_app, make_official, csrf_token, a.slug, a_number)
        warnings = re.findall(r'<p[^>]*id="aid-warning-\d">(.*?)</p>', html, re.S)
        assert len(warnings) == 2
        assert any(f"sejenis di {_name(b)}, 2026." in w for w in warnings)
        assert any("sejenis di Kota Seberang, 2026." in w for w in warnings)
        html = _office_page(hb_app, make_official, csrf_token, b.slug, b_number)
        assert f"Juga menerima bantuan sejenis di {_name(a)}, 2026." in html
        with deployment(env_b):
            with tenant_session(session_factory(service_engine("hibah_bansos")), c.id) as s:
                matches = s.scalars(select(AidMatch)).all()
                assert [(m.partner_name, m.year) for m in matches] == [(_name(a), 2026)]
            assert HB_AID_MATCH_FOUND in _outbox_types(
                env_b["HIBAH_BANSOS_MIGRATION_DATABASE_URL"], c.id
            )
            c_types = _outbox_types(env_b["WHISTLEBLOWING_MIGRATION_DATABASE_URL"], c.id)
        a_types = _outbox_types(stack["WHISTLEBLOWING_MIGRATION_DATABASE_URL"], a.id)
        for found in (a_types, c_types):  # audited on both sides
            assert PLATFORM_LINK_PROPOSED in found and PLATFORM_LINK_ACCEPTED in found

        # a request is taken once, from the key the agreement names, as signed
        path = f"/t/{a.slug}/api/v1/links/remote/{ac_id}/tokens"
        body = json.dumps({"agreement_id": ac_id, "tokens": []}).encode()
        with deployment(env_b):
            headers = remote.signed_headers(path, body)
        altered = json.dumps({"agreement_id": ac_id, "tokens": [], "x": 1}).encode()
        assert _post_raw(server_a.url + path, headers, altered) == 401
        own_signed = remote.signed_headers(path, body)  # A's own key, not the one named
        assert _post_raw(server_a.url + path, own_signed, body) == 401
        assert _post_raw(server_a.url + path, headers, body) == 200
        assert _post_raw(server_a.url + path, headers, body) == 401  # replayed
        stale = {**headers, remote.H_TS: str(int(time.time()) - 3600)}
        assert _post_raw(server_a.url + path, stale, body) == 401

        # nothing outside the city that holds the applicant carries the NIK or a plain hash
        needles = {
            nik,
            hashlib.sha256(nik.encode()).hexdigest(),
            hashlib.sha256(f"nik:{nik}".encode()).hexdigest(),
            hashlib.sha1(nik.encode()).hexdigest(),
            hashlib.md5(nik.encode()).hexdigest(),  # noqa: S324 (a needle to look for, not a use)
        }
        dumped = [
            repr(r).lower() for r in records_on_topic(tokens.topic_of(_ab_id(a, b)), "", timeout=10)
        ]
        wb_tables = ("outbox", "link_agreements", "link_nonces")
        hb_tables = ("outbox", "aid_tokens", "aid_matches")
        for urls in (stack, env_b):
            dumped += _rows(urls["WHISTLEBLOWING_MIGRATION_DATABASE_URL"], wb_tables)
            dumped += _rows(urls["HIBAH_BANSOS_MIGRATION_DATABASE_URL"], hb_tables)
        with deployment(env_b):
            dumped.append(
                b_client.get(f"/t/{c.slug}/api/v1/links", headers=c_admin)
                .get_data(as_text=True)
                .lower()
            )
        dumped.append(wb.get(f"/t/{a.slug}/api/v1/links", headers=a_admin).get_data(as_text=True))
        dumped += [s.decode() for s in sent]
        assert any('"tokens"' in s.decode() for s in sent)  # the pushes were seen
        dumped += [server_a.log_path.read_text().lower(), server_b.log_path.read_text().lower()]
        dumped.append(caplog.text.lower())
        for needle in needles:
            assert not any(needle in d for d in dumped), "a NIK or a plain hash of it leaked"
        assert not any(key_a.hex() in d for d in dumped), "the aid-token key leaked"

        # C ends it on its side; A's side ends too, and A's next round sends C nothing
        with deployment(env_b):
            ended = b_client.post(f"/t/{c.slug}/api/v1/links/{ac_id}/end", headers=c_admin)
            assert ended.status_code == 200 and ended.json["status"] == "ended"
            assert PLATFORM_LINK_ENDED in _outbox_types(
                env_b["WHISTLEBLOWING_MIGRATION_DATABASE_URL"], c.id
            )
        assert wb.get(f"/t/{a.slug}/api/v1/links/{ac_id}", headers=a_admin).json["status"] == (
            "ended"
        )
        assert PLATFORM_LINK_ENDED in _outbox_types(
            stack["WHISTLEBLOWING_MIGRATION_DATABASE_URL"], a.id
        )
        sent.clear()
        kafka = tokens.Kafka(stack["KAFKA_BOOTSTRAP_SERVERS"])
        try:
            tokens.sync(tokens.Databases(*_a_engines()), kafka, a.slug)
        finally:
            kafka.close()
        assert sent == []
    finally:
        server_a.stop()
        server_b.stop()


def _a_engines():
    return service_engine("whistleblowing"), service_engine("hibah_bansos")


def _ab_id(a, b) -> uuid.UUID:
    with tenant_session(session_factory(service_engine("whistleblowing")), a.id) as s:
        return s.scalars(select(Agreement.id).where(Agreement.partner == b.slug)).one()


def test_the_page_proposes_to_another_deployment_with_errors_beside_the_fields(
    wb_app, two_cities, csrf_token, tmp_path
):
    from tests.support.officials import page_session

    a, _b = two_cities
    _public_key_document(tmp_path, "a")
    client = wb_app.test_client()
    page_session(wb_app, client, a.id, "tenant_admin")
    page = f"/t/{a.slug}/admin/links"
    html = client.get(page).get_data(as_text=True)
    assert 'action="/t/' + a.slug + '/admin/links/remote"' in html
    assert 'id="instance_key"' in html and "sha256:" in html  # this deployment's fingerprint
    assert "<script" not in html
    bad = client.post(
        f"{page}/remote",
        data={
            "csrf_token": csrf_token(client, page),
            "partner_url": "http://example.org",
            "partner_tenant": "seberang",
            "instance_key": "not a key",
            "scopes": "aid_tokens",
        },
    )
    assert bad.status_code == 422
    body = bad.get_data(as_text=True)
    assert 'id="partner_url-error"' in body and 'id="instance_key-error"' in body
    assert "Isi alamat https:// deployment lain." in body
    assert 'value="seberang"' in body  # what was typed stays
