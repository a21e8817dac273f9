"""The "Start at login" menu switch: shows the OS entry's real state and adds/removes it off the GUI thread."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMenu

from qbosync_desktop.core.errors import ConfigurationError
from qbosync_desktop.desktop.ui.start_at_login import StartAtLoginAction
from qbosync_desktop.runtime import autostart


@pytest.fixture
def xdg(tmp_path, monkeypatch):
    config = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    return config


@pytest.fixture
def switch(qtbot):
    """The switch as the app uses it: inside a menu, which owns it and lives for the whole test."""
    menu = QMenu()
    qtbot.addWidget(menu)

    def make() -> StartAtLoginAction:
        action = StartAtLoginAction(menu)
        menu.addAction(action)
        return action

    yield make


def _entries(xdg):
    return sorted((xdg / "autostart").glob("*.desktop"))


def test_switch_reflects_and_changes_the_os_entry(qtbot, xdg, switch):
    autostart.set_enabled(True)  # e.g. turned on earlier from the CLI
    action = switch()
    qtbot.waitUntil(lambda: action.status is not None, timeout=5000)
    assert action.isCheckable() and action.isChecked() and action.text() == "Start at login"

    with qtbot.waitSignal(action.written, timeout=5000) as off:
        action.trigger()
    assert off.args[0].enabled is False and not action.isChecked() and _entries(xdg) == []

    with qtbot.waitSignal(action.written, timeout=5000) as on:
        action.trigger()
    assert on.args[0].enabled and on.args[0].current and action.isChecked() and len(_entries(xdg)) == 1
    assert action.isEnabled()


def test_an_entry_removed_outside_the_app_shows_unchecked_after_refresh(qtbot, xdg, switch):
    autostart.set_enabled(True)
    action = switch()
    qtbot.waitUntil(lambda: action.isChecked(), timeout=5000)
    for entry in _entries(xdg):
        entry.unlink()  # the admin removed it in their desktop's "Startup Applications"
    action.refresh()
    qtbot.waitUntil(lambda: not action.isChecked(), timeout=5000)


def test_a_failed_write_reports_the_error_and_shows_the_real_state(qtbot, xdg, switch):
    xdg.mkdir(parents=True)
    (xdg / "autostart").write_text("a file where the folder should be")
    action = switch()
    qtbot.waitUntil(lambda: action.status is not None and action.isEnabled(), timeout=5000)
    with qtbot.waitSignal(action.write_failed, timeout=5000) as failed:
        action.trigger()
    assert isinstance(failed.args[0], ConfigurationError) and "start-at-login" in failed.args[0].message
    qtbot.waitUntil(lambda: action.isEnabled() and not action.isChecked(), timeout=5000)
