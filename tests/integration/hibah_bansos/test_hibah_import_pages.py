"""The bansos beneficiary import as an officials' page (issue 18 item 6): the dry run shows
the good rows and every bad one with its row, column and reason in Indonesian and changes
nothing; confirming with the same file imports the good rows through the API's use case;
another file than the one previewed, or an unreadable one, is refused beside the field; only
the intake role sees the page, and another city's official gets 404."""

from __future__ import annotations

import io
import random
import re

import pytest
from sqlalchemy import text

from tests.integration.hibah_bansos.test_hibah_bansos_pages import office
from tests.support.hibah_bansos import add_programme

PAGE = "/t/cimahi/hibah-bansos/office/imports"
RULES = {
    "applicant_types": ["individual"],
    "domicile_required": True,
    "max_amount": 3_000_000,
    "social_registry_required": True,
}


def nik(rng: random.Random) -> str:
    day = rng.randint(1, 28) + rng.choice((0, 40))
    return f"327702{day:02d}{rng.randint(1, 12):02d}{rng.randint(50, 99):02d}{rng.randint(1, 9999):04d}"


def beneficiary_file(goods: int = 3) -> tuple[bytes, list[str]]:
    """A `;` file as Excel (id-ID) saves it: good rows first, then two bad ones (rows
    goods+2 and goods+3 as Excel numbers them, the header being row 1)."""
    rng = random.Random()
    niks = [nik(rng) for _ in range(goods)]
    lines = ["nik;no_kk;nama;alamat;no_hp;no_rekening;nominal"]
    lines += [
        f"{n};3277020101200001;Warga Impor {i};Jl. Kenanga {i};0812345678{i % 10};"
        f"90{rng.randint(10**7, 10**8)};Rp 1.500.000"
        for i, n in enumerate(niks)
    ]
    lines.append("32770217;3277020101200001;Pendek;Jl. A;08123456789;1234567;1.000.000")
    lines.append(f"{nik(rng)};3277020101200001;;Jl. B;08123456789;1234567;1.000.000")
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode(), niks


def submitted(hb_owner_db, code: str) -> int:
    with hb_owner_db.connect() as c:
        return c.execute(
            text(
                "select count(*) from applications a join programmes p on p.id = a.programme_id"
                " where p.code = :code"
            ),
            {"code": code},
        ).scalar_one()


def import_events(hb_owner_db, code: str) -> int:
    with hb_owner_db.connect() as c:
        return c.execute(
            text(
                "select count(*) from outbox where key = :key"
                " and payload->>'type' = 'hibah_bansos.beneficiaries.imported.v1'"
            ),
            {"key": f"cimahi:{code}"},
        ).scalar_one()


def post(client, csrf_token, raw: bytes | None, name="penerima.csv", **fields):
    data = {"csrf_token": csrf_token(client, PAGE), "action": "preview", **fields}
    if raw is not None:
        data["file"] = (io.BytesIO(raw), name)
    return client.post(PAGE, data=data, content_type="multipart/form-data")


@pytest.fixture
def programme(hb_owner_db, demo_tenants):
    return add_programme(
        hb_owner_db, demo_tenants["cimahi"].id, "TEST-IMPOR", kind="bansos", eligibility=RULES
    )


def test_dry_run_changes_nothing_and_confirm_imports_the_good_rows(
    hb_app, make_official, csrf_token, hb_owner_db, programme
):
    evaluator = office(hb_app, make_official, csrf_token, "bansos_evaluator")
    home = evaluator.get("/t/cimahi/hibah-bansos/office").get_data(as_text=True)
    assert f'href="{PAGE}">Impor</a>' in home
    form = evaluator.get(PAGE)
    assert form.status_code == 200 and "Impor penerima" in form.get_data(as_text=True)
    assert "Menu petugas" in form.get_data(as_text=True)
    assert f'href="{PAGE}" aria-current="page">Impor</a>' in form.get_data(as_text=True)

    raw, niks = beneficiary_file(3)
    preview = post(evaluator, csrf_token, raw, programme=programme)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200, page
    assert "Belum ada yang diimpor." in page and "Menu petugas" in page
    assert re.search(r'id="count-imported">3<', page) and re.search(r'id="count-rejected">2<', page)
    assert niks[0] in page and "Warga Impor 0" in page and "Rp1.500.000" in page
    # bad rows: row and column as Excel shows them, the reason in Indonesian
    assert re.search(
        r'<th scope="row" rowspan="1">5</th>\s*<td>A \(nik\)</td>\s*<td>NIK terdiri dari 16 angka</td>',
        page,
    ), page
    assert re.search(
        r'<th scope="row" rowspan="1">6</th>\s*<td>C \(nama\)</td>\s*<td>wajib diisi</td>', page
    ), page
    assert submitted(hb_owner_db, programme) == 0 and import_events(hb_owner_db, programme) == 0
    digest = re.search(r'name="digest" value="([0-9a-f]{64})"', page).group(1)

    # another file than the one previewed: refused beside the field, nothing imported
    other, _ = beneficiary_file(2)
    wrong = post(evaluator, csrf_token, other, programme=programme, digest=digest, action="confirm")
    body = wrong.get_data(as_text=True)
    assert wrong.status_code == 422
    assert 'id="file-error"' in body and "Ini bukan berkas yang Anda periksa" in body
    assert 'aria-invalid="true"' in body
    assert submitted(hb_owner_db, programme) == 0

    done = post(evaluator, csrf_token, raw, programme=programme, digest=digest, action="confirm")
    assert done.status_code == 303
    assert done.headers["Location"].endswith(f"/hibah-bansos/office/programmes/{programme}")
    dashboard = evaluator.get(done.headers["Location"]).get_data(as_text=True)
    assert "Impor selesai: 3 permohonan dibuat" in dashboard
    assert submitted(hb_owner_db, programme) == 3 and import_events(hb_owner_db, programme) == 1

    # the same file again: a preview saying every good row already has an application
    again = post(evaluator, csrf_token, raw, programme=programme).get_data(as_text=True)
    assert re.search(r'id="count-imported">0<', again) and re.search(
        r'id="count-unchanged">3<', again
    )
    assert "Tidak ada baris dari berkas ini yang akan diimpor." in again


@pytest.mark.parametrize(
    "raw, words",
    [
        (b"nik,nama\n3277021708900001,A\n", "Kepala tabel (baris 1) tidak memiliki kolom"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "buku kerja Excel lama (.xls)"),
        (b"PK\x03\x04broken", "bukan buku kerja .xlsx yang dapat dibaca"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_beside_the_field(
    hb_app, make_official, csrf_token, hb_owner_db, programme, raw, words
):
    evaluator = office(hb_app, make_official, csrf_token, "bansos_evaluator")
    resp = post(evaluator, csrf_token, raw, programme=programme)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422, page
    error = re.search(r'<span class="error-text" id="file-error">([^<]*)</span>', page)
    assert error and words in error.group(1) and "Tidak ada yang diimpor." in error.group(1), page
    assert 'aria-invalid="true"' in page and "Pilih berkas lagi" in page
    assert f'<option value="{programme}" selected>' in page  # what was chosen is kept
    assert submitted(hb_owner_db, programme) == 0


def test_missing_programme_and_file_are_named(hb_app, make_official, csrf_token):
    evaluator = office(hb_app, make_official, csrf_token, "bansos_evaluator")
    resp = post(evaluator, csrf_token, None, programme="")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'id="programme-error"' in page and 'id="file-error"' in page


def test_only_intake_imports_and_another_city_gets_404(
    hb_app, make_official, csrf_token, programme
):
    finance = office(hb_app, make_official, csrf_token, "bansos_finance")
    assert finance.get(PAGE).status_code == 403
    menu = finance.get("/t/cimahi/hibah-bansos/office").get_data(as_text=True)
    assert f'href="{PAGE}"' not in menu
    bandung = office(hb_app, make_official, csrf_token, "bansos_evaluator", slug="bandung")
    assert bandung.get(PAGE).status_code == 404
