"""The officials' workspace of the whistleblowing service (issue 18): where sign-in lands, the
home's counts and menu, the case list's search, and case pages that offer each role only the
steps the lifecycle lets it take."""

from __future__ import annotations

import re

import pyotp

from services.whistleblowing.domain import access, lifecycle
from tests.integration.whistleblowing.test_whistleblowing_pages import file_by_page
from tests.support.whistleblowing import P, addr

CASE_RE = re.compile(r"WBS-\d{4}-[0-9A-HJKMNP-TV-Z]{8}")


def signed_in(app, make_official, csrf_token, *roles):
    """A client signed in through the page as a new official with `roles`; the sign-in's
    answer kept as `client.landing`."""
    client = app.test_client()
    creds = make_official("cimahi", *roles)
    resp = client.post(
        "/t/cimahi/login",
        environ_base=addr(),
        data={
            "csrf_token": csrf_token(client, "/t/cimahi/login"),
            "username": creds.username,
            "password": creds.password,
            "otp": pyotp.TOTP(creds.totp_secret).now(),
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    client.landing, client.creds = resp, creds
    return client


def token_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def new_case(wb_app, csrf_token) -> str:
    resp, _ = file_by_page(wb_app.test_client(), csrf_token)
    return CASE_RE.search(resp.get_data(as_text=True)).group(0)


def offered_steps(html: str) -> set[str]:
    return set(re.findall(r'<input type="hidden" name="to" value="(\w+)">', html))


def test_sign_in_lands_on_the_home_with_the_menu_of_the_roles(wb_app, make_official, csrf_token):
    case = new_case(wb_app, csrf_token)
    intake = signed_in(wb_app, make_official, csrf_token, "wbs_intake")
    assert intake.landing.headers["Location"].endswith(f"{P}/office")
    home = intake.get(f"{P}/office").get_data(as_text=True)
    assert "Yang menunggu Anda" in home and "Pengaduan baru untuk dikonfirmasi" in home
    assert f'href="{P}/cases?status=received"' in home  # one click to the new cases
    assert "Menu petugas" in home and ">Kasus</a>" in home and ">Keluar</button>" in home
    assert "Permintaan identitas" not in home  # not a custodian
    listing = intake.get(f"{P}/cases?status=received").get_data(as_text=True)
    assert case in listing

    custodian = signed_in(wb_app, make_official, csrf_token, "identity_custodian")
    menu = custodian.get(f"{P}/office").get_data(as_text=True)
    assert f'href="{P}/identity-requests"' in menu and f'href="{P}/custodian"' in menu
    assert ">Kasus</a>" not in menu
    assert custodian.get(f"{P}/identity-requests").status_code == 200

    public = wb_app.test_client().get(P).get_data(as_text=True)
    assert "Masuk petugas" in public and 'href="/t/cimahi/login"' in public


def test_the_case_list_finds_a_case_by_its_number_and_shows_handler_and_days(
    wb_app, make_official, csrf_token
):
    case, other = new_case(wb_app, csrf_token), new_case(wb_app, csrf_token)
    intake = signed_in(wb_app, make_official, csrf_token, "wbs_intake")
    found = intake.get(f"{P}/cases?q={case.lower()}").get_data(as_text=True)
    assert case in found and other not in found and "1 pengaduan" in found.lower()
    assert "Belum ditugaskan" in found and "hari lagi" in found
    assert f'value="{case.lower()}"' in found  # the search stays in the form
    none = intake.get(f"{P}/cases?q=WBS-%25").get_data(as_text=True)  # a wildcard is text
    assert "Tidak ada pengaduan." in none


def test_assigning_names_the_handler_and_messages_name_the_colleague(
    wb_app, make_official, csrf_token
):
    case = new_case(wb_app, csrf_token)
    intake = signed_in(wb_app, make_official, csrf_token, "wbs_intake")
    investigator = signed_in(wb_app, make_official, csrf_token, "wbs_investigator")
    page = intake.get(f"{P}/cases/{case}").get_data(as_text=True)
    token = token_of(page)
    assert (
        intake.post(
            f"{P}/cases/{case}/transitions", data={"csrf_token": token, "to": "acknowledged"}
        ).status_code
        == 303
    )
    done = intake.get(f"{P}/cases/{case}").get_data(as_text=True)
    assert "Penerimaan dikonfirmasi" in done and "Tersimpan." not in done
    resp = intake.post(
        f"{P}/cases/{case}/assignments",
        data={"csrf_token": token, "official_id": str(investigator.creds.official_id)},
    )
    assert resp.status_code == 303
    page = intake.get(f"{P}/cases/{case}").get_data(as_text=True)
    name = investigator.creds.username
    assert f"Kasus ditugaskan kepada {name}." in page
    assert f'<dd id="assignee">{name}</dd>' in page
    # the reporter's first history entry and files are the reporter's, not "Anda"
    assert "Pelapor" in page and "· Anda" not in page
    assert "kB" in page and re.search(rf"{case}-[0-9a-f-]{{36}}\.jpg", page)

    mine = investigator.get(f"{P}/cases?mine=1").get_data(as_text=True)
    assert case in mine
    sent = investigator.post(
        f"{P}/cases/{case}/messages",
        data={"csrf_token": token_of(mine), "body": "Mohon kirim kuitansi."},
    )
    assert sent.status_code == 303
    colleague = intake.get(f"{P}/cases/{case}").get_data(as_text=True)
    assert f"Pemeriksa ({name})" in colleague and "Pesan terkirim kepada pelapor." not in colleague
    assert "Pesan terkirim kepada pelapor." in investigator.get(f"{P}/cases/{case}").get_data(
        as_text=True
    )


def _expected(status: str, outcome: str | None, roles: frozenset[str]) -> set[str]:
    """The steps the domain lets `roles` take, checked by `lifecycle.decide` itself."""
    out = set()
    for target in lifecycle.Status:
        try:
            lifecycle.decide(status, outcome, target.value, roles=roles)
        except (lifecycle.IllegalTransition, lifecycle.TransitionNotPermitted):
            continue
        except lifecycle.InvalidDecision:
            pass  # a legal step for these roles; the form asks for its details
        out.add(target.value)
    return out


def test_every_role_sees_only_the_steps_it_may_take_in_every_status(
    wb_app, make_official, csrf_token
):
    boss = signed_in(wb_app, make_official, csrf_token, *access.HANDLERS)
    roles = {
        "wbs_intake": signed_in(wb_app, make_official, csrf_token, "wbs_intake"),
        "wbs_investigator": signed_in(wb_app, make_official, csrf_token, "wbs_investigator"),
        "wbs_supervisor": signed_in(wb_app, make_official, csrf_token, "wbs_supervisor"),
    }
    paths = [
        [("acknowledged", {}), ("triaged", {"outcome": "accepted"}), ("investigating", {}),
         ("concluded", {"outcome": "substantiated", "reason": "Terbukti."}), ("archived", {})],
        [("acknowledged", {}), ("triaged", {"outcome": "not_wbs_matter", "reason": "Bukan WBS."}),
         ("archived", {})],
    ]  # fmt: skip
    seen = set()
    for path in paths:
        case = new_case(wb_app, csrf_token)
        token = token_of(boss.get(f"{P}/cases/{case}").get_data(as_text=True))
        inv = roles["wbs_investigator"].creds.official_id
        boss.post(f"{P}/cases/{case}/assignments", data={"csrf_token": token, "official_id": inv})
        state: tuple[str, str | None] = ("received", None)
        for target, extra in [(None, {}), *path]:
            if target is not None:
                r = boss.post(
                    f"{P}/cases/{case}/transitions",
                    data={"csrf_token": token, "to": target, **extra},
                )
                assert r.status_code == 303
                state = (target, extra.get("outcome", state[1]))
            for role, client in roles.items():
                html = client.get(f"{P}/cases/{case}").get_data(as_text=True)
                want = _expected(state[0], state[1], frozenset({role}))
                assert offered_steps(html) == want, (role, state)
                assign_form = "/assignments" in html
                assert assign_form == (
                    access.holds({role}, access.ASSIGNERS) and not lifecycle.is_closed(state[0])
                ), (role, state)
                seen.add((role, state))
    assert {status for _, (status, _) in seen} == {s.value for s in lifecycle.Status}
    assert ("wbs_supervisor", ("triaged", "not_wbs_matter")) in seen
