"""Where an official's notices go and which they get: the tenant admin sets the sealed e-mail
(API and page), the official turns kinds off on their preferences page, and the recipients
adapter the consumer uses honours both."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import text

from tests.support.whistleblowing import addr, sign_in

ADMIN_API = "/t/cimahi/api/v1/admin/officials"
PREFS = "/t/cimahi/whistleblowing/office/notifikasi"


def contact(official_id, kind: str):
    from operations.notify_recipients import ServiceRecipients

    city = ServiceRecipients().city("cimahi")
    assert city is not None
    return ServiceRecipients().official_contact(city.id, official_id, kind)


def stored_email(official_id) -> bytes | None:
    from shared.db import service_engine

    with service_engine("whistleblowing", migration=True).connect() as conn:
        return conn.execute(
            text("select email from officials where id = :i"), {"i": official_id}
        ).scalar_one()


def test_a_tenant_admin_sets_an_official_s_e_mail_sealed_and_never_listed(
    wb, demo_tenants, official_token, make_official
):
    from services.notifications.recipients import Contact, Skip

    admin = {
        "Authorization": official_token(wb.application, demo_tenants["cimahi"], "tenant_admin")
    }
    creds = make_official("cimahi", "wbs_intake")
    address = f"intake-{uuid.uuid4().hex[:6]}@cimahi.go.id"
    bad = wb.patch(
        f"{ADMIN_API}/{creds.official_id}", json={"email": "not an address"}, headers=admin
    )
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "email"
    done = wb.patch(f"{ADMIN_API}/{creds.official_id}", json={"email": address}, headers=admin)
    assert done.status_code == 200 and done.json["has_email"] is True
    listed = wb.get(ADMIN_API, headers=admin).get_data(as_text=True)
    assert address not in listed  # the list says whether, never what
    sealed = stored_email(creds.official_id)
    assert sealed and address.encode() not in sealed
    assert contact(creds.official_id, "wbs_new_case") == Contact("email", address)
    removed = wb.patch(f"{ADMIN_API}/{creds.official_id}", json={"email": None}, headers=admin)
    assert removed.json["has_email"] is False
    assert contact(creds.official_id, "wbs_new_case") == Skip("no_contact")


def test_the_officials_page_adds_an_official_with_an_e_mail(
    wb_app, demo_tenants, make_official, csrf_token
):
    client = wb_app.test_client()
    sign_in(client, make_official, csrf_token, "tenant_admin")
    page = "/t/cimahi/admin/officials"
    html = client.get(page).get_data(as_text=True)
    assert 'id="email"' in html and "E-mail untuk pemberitahuan" in html
    username = f"p-{uuid.uuid4().hex[:10]}"
    wrong = client.post(
        page,
        data={
            "csrf_token": csrf_token(client, page),
            "username": username,
            "roles": ["wbs_intake"],
            "email": "x@",
        },
        environ_base=addr(),
    )
    assert wrong.status_code == 422
    assert 'id="email-error"' in wrong.get_data(as_text=True)  # beside the field
    added = client.post(
        page,
        data={
            "csrf_token": csrf_token(client, page),
            "username": username,
            "roles": ["wbs_intake"],
            "email": f"{username}@cimahi.go.id",
        },
        environ_base=addr(),
    )
    assert added.status_code == 200
    from operations import official_admin

    [view] = [
        o for o in official_admin.officials_of(demo_tenants["cimahi"].id) if o.username == username
    ]
    assert view.has_email


def test_an_official_turns_a_kind_of_notice_off_on_the_preferences_page(
    wb_app, demo_tenants, make_official, csrf_token
):
    from operations import official_admin
    from services.notifications.recipients import Contact, Skip

    client = wb_app.test_client()
    creds = sign_in(client, make_official, csrf_token, "wbs_intake")
    address = f"{creds.username}@cimahi.go.id"
    official_admin.change_email(demo_tenants["cimahi"].id, creds.official_id, address)
    page = client.get(PREFS)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Notifikasi" in html
    assert re.search(r'name="kinds" value="wbs_new_case" checked', html)
    saved = client.post(
        PREFS,
        data={"csrf_token": csrf_token(client, PREFS), "kinds": ["wbs_assigned"]},
        environ_base=addr(),
    )
    assert saved.status_code == 303
    html = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert not re.search(r'value="wbs_new_case" checked', html)
    assert re.search(r'value="wbs_assigned" checked', html)
    assert contact(creds.official_id, "wbs_new_case") == Skip("opted_out")
    assert contact(creds.official_id, "wbs_assigned") == Contact("email", address)


def test_the_preferences_page_is_for_signed_in_officials_only(wb):
    assert wb.get(PREFS).status_code in (302, 401)
