"""Window behaviour: every control has an accessible name, Tab reaches the main controls and key presses
alone work them (Tab to Sync now and press Space, arrows switch tabs, Space toggles a setting), geometry is
remembered in the data folder's QSettings file, closing keeps the app running (asked once without a
tray), and the app starts on the integration window once the integration is enabled."""

from __future__ import annotations

import argparse

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDateEdit,
    QHeaderView,
    QLineEdit,
    QListView,
    QSpinBox,
    QTabBar,
    QToolButton,
    QWidget,
)

from qbosync_desktop.core import appconfig
from qbosync_desktop.desktop.ui.integration_window import IntegrationWindow
from qbosync_desktop.desktop.ui.settings_form import SyncSettingsForm


def _unnamed_controls(root: QWidget) -> list[str]:
    missing = []
    for w in root.findChildren(QWidget):
        if w.objectName().startswith("qt_") or isinstance(w, (QHeaderView, QListView)):
            continue  # Qt's own parts (headers, combo pop-ups, corner buttons) are named by Qt
        if isinstance(w, QToolButton) and isinstance(w.parent(), (QTabBar, QLineEdit)):
            continue  # the tab bar's scroll arrows, a line edit's clear button
        if isinstance(w, QAbstractButton):
            if not (w.text() or w.accessibleName()):
                missing.append(f"{type(w).__name__} {w.objectName()}")
        elif isinstance(w, (QComboBox, QLineEdit, QSpinBox, QDateEdit, QAbstractItemView)):
            if w.parent() is not None and isinstance(w.parent(), (QComboBox, QSpinBox, QDateEdit)):
                continue  # the line edit inside a combo / spin box is named by its owner
            if type(w).__name__ == "QLineEdit" and isinstance(w.parent(), QAbstractItemView):
                continue
            if not w.accessibleName() and w.objectName() not in ("qt_calendar_calendarview",):
                missing.append(f"{type(w).__name__} {w.objectName()}")
    return missing


def _tab_chain(root: QWidget) -> list[QWidget]:
    chain, w = [], root.nextInFocusChain()
    while w is not root and len(chain) < 500:
        if w.isVisibleTo(root) and w.isEnabled() and w.focusPolicy() & Qt.FocusPolicy.TabFocus:
            chain.append(w)
        w = w.nextInFocusChain()
    return chain


def test_every_control_has_an_accessible_name(qtbot, ui_session, chart_of_accounts, work_facts):
    window = IntegrationWindow(ui_session)
    qtbot.addWidget(window)
    form = SyncSettingsForm(load_accounts=lambda: chart_of_accounts, load_work=lambda: work_facts)
    qtbot.addWidget(form)
    qtbot.waitUntil(lambda: form.income_account.loaded, timeout=5000)
    form.bills.setChecked(True)
    assert _unnamed_controls(window) == []
    assert _unnamed_controls(form) == []


def test_tab_reaches_the_main_controls_in_reading_order(qtbot, ui_session):
    window = IntegrationWindow(ui_session)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.company_label.text() == "Sunrise Practice Co", timeout=5000)
    chain = _tab_chain(window)
    for control in (window.disconnect_button, window.edit_button, window.sync_button, window.pause_button,
                    window.tabs.tabBar()):
        assert control in chain, control.objectName() or control.text()
    assert chain.index(window.disconnect_button) < chain.index(window.sync_button) < chain.index(window.tabs.tabBar())


def test_window_geometry_is_remembered_in_the_data_folder(qtbot, ui_session, ui_settings_file):
    window = IntegrationWindow(ui_session)
    qtbot.addWidget(window)
    window.show()
    window.resize(760, 560)
    qtbot.waitUntil(lambda: window.width() == 760, timeout=3000)
    saved = window.size()
    window.close()
    assert ui_settings_file.exists()
    again = IntegrationWindow(ui_session)
    qtbot.addWidget(again)
    assert again.size() == saved and again.width() == 760


def test_enabled_integration_starts_on_the_window_and_close_keeps_running(qtbot, ui_workspace, home):
    from qbosync_desktop.desktop.ui.bootstrap import Controller

    appconfig.set_value("tray_close_asked", True)  # asked once before: "keep running"
    appconfig.set_value("keep_running_without_tray", True)
    args = argparse.Namespace(demo=False, tray=False, home=None, debug=False)
    c = Controller(QApplication.instance(), args, workspace=ui_workspace, open_url=lambda url: None)
    try:
        assert c.wizard is None and c.integration is not None and c.integration.isVisible()
        qtbot.waitUntil(lambda: c.integration.company_label.text() == "Sunrise Practice Co", timeout=5000)
        c.integration.close()
        assert not c.integration.isVisible(), "hidden, not destroyed"
        assert c.session.service.thread.is_alive(), "the app keeps syncing in the background"
        c.tray.open_action.trigger()
        assert c.integration.isVisible()
    finally:
        c.shutdown()
        qtbot.waitUntil(lambda: not c.session.service.thread.is_alive(), timeout=30_000)


def test_tray_flag_starts_without_a_window(qtbot, ui_workspace):
    from qbosync_desktop.desktop.ui.bootstrap import Controller

    args = argparse.Namespace(demo=False, tray=True, home=None, debug=False)
    c = Controller(QApplication.instance(), args, workspace=ui_workspace, open_url=lambda url: None)
    try:
        assert c.integration is not None and not c.integration.isVisible()
        assert c.session.service.next_run is not None, "the schedule runs from the tray"
    finally:
        c.shutdown()
        qtbot.waitUntil(lambda: not c.session.service.thread.is_alive(), timeout=30_000)


def test_demo_refuses_a_folder_connected_to_a_real_company(qtbot, ui_workspace):
    from qbosync_desktop.desktop.ui.bootstrap import Controller
    from qbosync_desktop.desktop.ui.dialogs.error_dialog import ErrorDialog

    conn = ui_workspace.connection
    ui_workspace.record_connection(realm_id=conn.realm_id, company_name="Real Books LLC", environment="production",
                                   discovery_url=conn.discovery_url, client_id="real-app", redirect_uri=conn.redirect_uri,
                                   api_base=conn.api_base)
    started = []
    args = argparse.Namespace(demo=True, tray=False, home=None, debug=False)
    c = Controller(QApplication.instance(), args, workspace=ui_workspace, open_url=lambda url: None,
                   practice_factory=lambda ws: started.append(ws))
    try:
        dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, ErrorDialog) and w.isVisible()]
        ours = [d for d in dialogs if d.windowTitle() == "Practice mode needs its own folder"]
        assert len(ours) == 1 and "--home" in ours[0].hint_label.text()
        qtbot.wait(200)
        assert started == [] and c.session.practice is None, "no practice servers, no sign-in"
        assert ui_workspace.connection.company_name == "Real Books LLC"
        for d in dialogs:
            d.close()
    finally:
        c.shutdown()
        qtbot.waitUntil(lambda: not c.session.service.thread.is_alive(), timeout=30_000)


def test_app_with_an_enabled_integration_quits_cleanly(ui_workspace, home):
    """Qt 6's quit() closes every window first; the integration window must not turn that into "hide"
    (or ask a question nobody answers) — the process ends and logs it."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QBOSYNC_HOME=str(home.data_dir.parent))
    r = subprocess.run([sys.executable, "main.py", "--quit-after", "1500"], cwd=root, env=env, capture_output=True,
                       text=True, timeout=90)
    assert r.returncode == 0, r.stderr[-2000:]
    log = home.log_file.read_text()
    assert "started" in log and "stopped" in log


def _tab_to(qtbot, window: QWidget, target: QWidget, limit: int = 60) -> int:
    """Press Tab (as a person would) until ``target`` has the keyboard focus; returns the presses."""
    for presses in range(1, limit + 1):
        qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_Tab)
        if QApplication.focusWidget() is target:
            return presses
    raise AssertionError(f"{limit} presses of Tab never reached {target.objectName() or target}")


def test_keyboard_alone_reaches_and_presses_sync_now_and_switches_tabs(qtbot, ui_session):
    window = IntegrationWindow(ui_session)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    qtbot.waitUntil(lambda: window.company_label.text() == "Sunrise Practice Co", timeout=5000)
    _tab_to(qtbot, window, window.sync_button)
    with qtbot.waitSignal(window.sync_button.clicked, timeout=2000):
        qtbot.keyClick(window.sync_button, Qt.Key.Key_Space)
    assert ui_session.service.busy, "Space on the focused button started a sync"
    # The practice addresses in this workspace answer nothing: the run ends with a dialog, not a hang.
    qtbot.waitUntil(lambda: not ui_session.service.busy, timeout=60_000)
    if getattr(window, "dialog", None) is not None:
        window.dialog.close()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    _tab_to(qtbot, window, window.tabs.tabBar())
    start = window.tabs.currentIndex()
    qtbot.keyClick(window.tabs.tabBar(), Qt.Key.Key_Right)
    assert window.tabs.currentIndex() == (start + 1) % window.tabs.count(), "arrow keys switch tabs"


def test_keyboard_alone_changes_the_sync_settings(qtbot, chart_of_accounts, work_facts):
    form = SyncSettingsForm(load_accounts=lambda: chart_of_accounts, load_work=lambda: work_facts)
    qtbot.addWidget(form)
    form.show()
    form.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is form, timeout=5000)
    qtbot.waitUntil(lambda: form.income_account.loaded, timeout=5000)
    was = form.invoices.isChecked()
    _tab_to(qtbot, form, form.invoices)
    qtbot.keyClick(form.invoices, Qt.Key.Key_Space)
    assert form.invoices.isChecked() is not was, "Space toggles the focused checkbox"
    assert form.payments.isEnabled() is form.invoices.isChecked(), "the Payments rule follows at once"
