"""Template updates in a real browser, at phone width and on a desktop: the template city's
"Terbitkan pembaruan templat" page, a replica's "Pembaruan templat" page with the diff, one
change accepted by pressing its button (no JavaScript needed); axe-core finds nothing serious
and nothing scrolls sideways (issue 23, item 5)."""

from __future__ import annotations

import pytest

from tests.integration.operations.test_template_updates import (  # noqa: F401 - fixtures
    change_template,
    cities,
    template_city,
    tenants_dir,
)


@pytest.mark.parametrize("width, height", [(390, 844), (1280, 800)])
def test_template_update_pages_in_the_browser(
    wb, live_wb, visitor, request, make_official, width, height
):
    template, replica, _other, admins = request.getfixturevalue("cities")
    change_template(wb, template, admins[template])

    host = visitor(f"template-{width}")
    host.page.set_viewport_size({"width": width, "height": height})
    host.fill_sign_in(f"{live_wb.url}/t/{template}/login", make_official(template, "tenant_admin"))
    host.page.get_by_role("button", name="Masuk").click()
    host.page.wait_for_load_state()
    host.goto(f"{live_wb.url}/t/{template}/admin/settings")
    host.page.get_by_role("link", name="Terbitkan pembaruan templat").click()
    host.page.get_by_role("heading", name="Terbitkan pembaruan templat").wait_for()
    host.seen("publish")
    host.page.get_by_role("button", name="Tandatangani dan terbitkan pembaruan ini").click()
    host.page.get_by_text("diterbitkan, ditandatangani, dan ditawarkan kepada 2 kota").wait_for()
    host.seen("published")

    city = visitor(f"replica-{width}", javascript=False)
    page = city.page
    page.set_viewport_size({"width": width, "height": height})
    city.fill_sign_in(f"{live_wb.url}/t/{replica}/login", make_official(replica, "tenant_admin"))
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_load_state()
    city.goto(f"{live_wb.url}/t/{replica}/admin/settings")
    page.get_by_role("link", name="Pembaruan templat", exact=True).click()
    page.get_by_role("heading", name="Pembaruan templat", exact=True).wait_for()
    assert page.get_by_text("Gratifikasi dan suap").count() >= 1
    city.seen("offers")
    page.get_by_role("button", name="Terima perubahan ini").first.click()
    page.get_by_text("Perubahan diterima dan disimpan sebagai versi 1.").wait_for()
    city.seen("accepted")
    page.get_by_role("button", name="Tolak").first.click()
    page.get_by_text("Perubahan ditolak: pengaturan kota Anda tetap seperti semula.").wait_for()
    city.seen("declined")
