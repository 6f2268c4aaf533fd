"""The one pagination rule, tenant-local today and the localized config label."""

import uuid
from datetime import UTC, datetime

import pytest

from shared.i18n import label
from shared.pagination import Page
from shared.problem import Refused
from shared.tenancy import Tenant, today


def test_page_from_args_takes_defaults_and_bounds():
    assert Page.from_args({}, 20, 100) == Page(1, 20)
    page = Page.from_args({"page": "3", "per_page": "50"}, 20, 100)
    assert (page.number, page.size, page.offset) == (3, 50, 100)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"page": "0"}, "page"),
        ({"page": "x"}, "page"),
        ({"per_page": "101"}, "per_page"),
        ({"per_page": "0"}, "per_page"),
        ({"per_page": "\uff15"}, "per_page"),  # a fullwidth 5 is no ASCII digit
    ],
)
def test_page_refuses_what_is_not_a_whole_number_in_range(args, field):
    with pytest.raises(Refused) as refused:
        Page.from_args(args, 20, 100)
    assert refused.value.status == 422
    assert [e["field"] for e in refused.value.errors] == [field]


def test_today_is_decided_in_the_tenants_zone():
    new_year_utc = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)  # 23:00 WIB, 01:00 WIT next day
    jakarta = Tenant(uuid.uuid4(), "a", {"timezone": "Asia/Jakarta"})
    jayapura = Tenant(uuid.uuid4(), "b", {"timezone": "Asia/Jayapura"})
    assert today(jakarta, new_year_utc).isoformat() == "2026-12-31"
    assert today(jayapura, new_year_utc).isoformat() == "2027-01-01"


def test_label_falls_back_to_indonesian_then_any():
    assert label({"id": "Korupsi", "en": "Corruption"}) == "Korupsi"  # no request: Indonesian
    assert label({"en": "Corruption"}) == "Corruption"
    assert label(None, "x") == "x"
    assert label("Teks") == "Teks"
