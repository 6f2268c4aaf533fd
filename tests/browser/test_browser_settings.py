"""A city admin's settings forms in a real browser, at phone width and on a desktop: the
sections are reached from the settings page, a wrong value is named beside its field in
Indonesian with what was typed kept, and axe-core finds nothing serious on the forms."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("width, height", [(390, 844), (1280, 800)])
def test_settings_forms_in_the_browser(live_wb, visitor, make_official, width, height):
    admin = visitor(f"admin-{width}")
    page = admin.page
    page.set_viewport_size({"width": width, "height": height})
    admin.fill_sign_in(f"{live_wb.url}/t/cimahi/login", make_official("cimahi", "tenant_admin"))
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_load_state()
    admin.goto(f"{live_wb.url}/t/cimahi/admin/settings")
    admin.seen("settings")
    page.get_by_role("link", name="Pengaduan: kategori dan tenggat").click()
    page.get_by_role("heading", name="Pengaduan: kategori dan tenggat").wait_for()
    admin.seen("reports-form")
    field = page.get_by_label("Jawab pelapor dalam (hari)")
    field.fill("sembilan puluh")
    page.get_by_role("button", name="Simpan").click()
    page.get_by_text("Belum tersimpan. Mohon perbaiki:").wait_for()
    assert page.get_by_label("Jawab pelapor dalam (hari)").input_value() == "sembilan puluh"
    beside = page.locator("#services\\.whistleblowing\\.sla\\.feedback_days-error")
    assert beside.inner_text() == "Isi dengan bilangan bulat, misalnya 14."
    admin.seen("reports-error")
    # nothing scrolls sideways outside the tables' own boxes
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, overflow
    admin.goto(f"{live_wb.url}/t/cimahi/admin/settings/programmes")
    admin.seen("programmes")
    page.get_by_role("link", name="Tambah program").click()
    page.get_by_role("heading", name="Program baru").wait_for()
    admin.seen("programme-form")
