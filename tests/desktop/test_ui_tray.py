"""Tray: icon per service state, a live status line, Sync now / Pause-Resume / Open / Quit, notifications."""

from __future__ import annotations

from qbosync_desktop.desktop.ui.tray import Tray
from qbosync_desktop.sync.engine import RunSummary


def test_tray_icon_follows_service_state_and_menu_actions_work(qtbot, ui_session):
    service = ui_session.service
    tray = Tray(service)
    assert tray.icon_name == "tray-idle" and tray.status_text == "Up to date"
    assert [a.text() for a in tray.menu.actions() if not a.isSeparator()] == [
        "Up to date", "Sync now", "Pause", "Open QBO Sync", "Start at login", "Quit"]

    tray.pause_action.trigger()
    assert service.paused and tray.pause_action.text() == "Resume" and tray.status_text == "Scheduled syncs paused"
    tray.pause_action.trigger()
    assert not service.paused and tray.pause_action.text() == "Pause"

    with qtbot.waitSignal(tray.open_requested, timeout=1000):
        tray.open_action.trigger()
    with qtbot.waitSignal(tray.quit_requested, timeout=1000):
        tray.quit_action.trigger()

    service.set_attention(True)
    assert tray.icon_name == "tray-attention" and tray.status_text == "Needs attention"
    service.set_attention(False)

    # Sync now runs the real engine on the worker thread; the tray shows "syncing" meanwhile.
    states = []
    service.state_changed.connect(states.append)
    with qtbot.waitSignal(service.failed, timeout=10_000):  # the offline workspace cannot reach QuickBooks
        tray.sync_action.trigger()
    assert "syncing" in states and tray.icon_name != "tray-syncing"


def test_notifications_only_for_new_problems_and_reconnect(qtbot, ui_session):
    from qbosync_desktop.core.errors import NeedsReconnect

    tray = Tray(ui_session.service)
    seen = []
    tray.notified.connect(lambda title, message: seen.append(title))
    tray._on_finished(RunSummary(None, "done", "incremental", open_problems=0))
    tray._on_finished(RunSummary(None, "done", "incremental", open_problems=2))
    tray._on_finished(RunSummary(None, "done", "incremental", open_problems=2))  # the same old problems: no new notification
    tray._on_finished(RunSummary(None, "done", "incremental", open_problems=3))
    assert seen == ["Sync finished with problems", "Sync finished with problems"]
    tray._on_reconnect(NeedsReconnect())
    assert seen[-1] == "QuickBooks needs to be reconnected"
