"""The counter step of a resident without e-mail: an intake official, having seen the
person's KTP, hands over a one-time code (services/hibah_bansos/office_pages.password_reset);
setting a password with it confirms the registration (recovery.reset_password).

    code = counter_code(hb_app, csrf_token, nik)  # "ABCD-EFGH-..."
"""

from __future__ import annotations

import re

P = "/t/cimahi/hibah-bansos"


def counter_code(app, csrf_token, nik: str, *, slug: str = "cimahi") -> str:
    from tests.support.officials import page_session

    desk = app.test_client()
    page_session(app, desk, app.extensions["replika"]["tenants"].get(slug).id, "bansos_evaluator")
    path = f"/t/{slug}/hibah-bansos/office/password-reset"
    issued = desk.post(
        path,
        data={
            "csrf_token": csrf_token(desk, path),
            "nik": nik,
            "action": "issue",
            "identity_checked": "yes",
        },
    )
    assert issued.status_code == 200, issued.get_data(as_text=True)[:2000]
    groups = re.findall(r"<span>([0-9A-Z]{4})</span>", issued.get_data(as_text=True))
    assert len(groups) == 5, groups
    return "-".join(groups)
