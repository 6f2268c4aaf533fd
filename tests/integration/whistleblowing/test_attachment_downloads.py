"""Stored evidence is served as a download (hostile uploads, the serving side): its checked
type, `nosniff` and a sandbox CSP, never rendered by the browser."""

from __future__ import annotations

import io

from tests.support.images import png


def test_a_downloaded_attachment_is_never_rendered_by_the_browser(
    wb, demo_tenants, official_token, make_report
):
    """Whatever got stored is served as a download, with its checked type and nosniff."""
    token = official_token(wb.application, demo_tenants["cimahi"], "wbs_supervisor")
    filed = make_report("cimahi", what="Bukti foto terlampir.")
    receipt = filed["receipt"]
    up = wb.post(
        "/t/cimahi/api/v1/inbox/attachments",
        headers={"Authorization": f"Receipt {receipt}"},
        data={"file": (io.BytesIO(png(16, 16)), "bukti.html")},
        content_type="multipart/form-data",
    )
    assert up.status_code == 201, up.get_data(as_text=True)
    case = wb.get(
        f"/t/cimahi/api/v1/reports/{filed['case_number']}", headers={"Authorization": token}
    ).json
    attachment = case["attachments"][0]
    resp = wb.get(
        f"/t/cimahi/api/v1/reports/{filed['case_number']}/attachments/{attachment['id']}",
        headers={"Authorization": token},
    )
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "image/png"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert ".html" not in resp.headers["Content-Disposition"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in resp.headers["Content-Security-Policy"]
