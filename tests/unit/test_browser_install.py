"""infra.browser: how Chromium is found or installed (apt-get faked here; the real install runs
in the browser tests' `chromium_path` fixture)."""

from __future__ import annotations

import pytest

from infra import browser


@pytest.fixture
def fake_machine(monkeypatch):
    """No Chromium yet; apt-get recorded instead of run; `installed` flips on install."""
    state = {"calls": [], "installed": False, "lists": False, "fail_first_install": False}

    def apt(*args, env):
        assert env["DEBIAN_FRONTEND"] == "noninteractive"
        state["calls"].append(args[0])
        if args[0] == "update":
            state["lists"] = True
        elif state["fail_first_install"] and state["calls"].count("install") == 1:
            raise browser.ChromiumUnavailable("404 Not Found")
        else:
            state["installed"] = True

    monkeypatch.delenv("REPLIKA_CHROMIUM", raising=False)
    monkeypatch.setattr(browser, "_apt", apt)
    monkeypatch.setattr(browser, "_apt_lists_present", lambda: state["lists"])
    monkeypatch.setattr(
        browser, "find_chromium", lambda: "/usr/bin/chromium" if state["installed"] else None
    )
    monkeypatch.setattr(browser.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(browser.os, "geteuid", lambda: 0)
    return state


def test_an_installed_chromium_is_used_as_it_is(fake_machine):
    fake_machine["installed"] = True
    assert browser.ensure_chromium() == "/usr/bin/chromium"
    assert fake_machine["calls"] == []


def test_root_without_package_lists_updates_them_then_installs(fake_machine):
    assert browser.ensure_chromium() == "/usr/bin/chromium"
    assert fake_machine["calls"] == ["update", "install"]


def test_stale_package_lists_are_refreshed_once_and_the_install_retried(fake_machine):
    fake_machine.update(lists=True, fail_first_install=True)
    assert browser.ensure_chromium() == "/usr/bin/chromium"
    assert fake_machine["calls"] == ["install", "update", "install"]


def test_without_root_it_says_how_to_install_instead(fake_machine, monkeypatch):
    monkeypatch.setattr(browser.os, "geteuid", lambda: 1000)
    with pytest.raises(browser.ChromiumUnavailable, match="apt-get install -y"):
        browser.ensure_chromium()
    assert fake_machine["calls"] == []
