"""The whole first run by keyboard alone, as a screen-reader or keyboard user does it: Connect (the
practice company) → Sync Settings → Review → Enable → fix a grouped problem → Sync now → read the
status line (in the window and in the tray). Tab, arrow keys, Space and Enter only: no click, no
direct call of a slot. Real practice servers, OAuth, engine and database."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget


@pytest.fixture
def controller(make_controller):
    return make_controller(demo=False)


def key(k: Qt.Key, window: QWidget) -> None:
    QTest.keyClick(QApplication.focusWidget() or window, k)


def tab_to(target: QWidget, window: QWidget, limit: int = 250) -> None:
    """Press Tab until ``target`` has the keyboard focus (fails if Tab never reaches it)."""
    for _ in range(limit):
        if QApplication.focusWidget() is target:
            return
        key(Qt.Key.Key_Tab, window)
    assert QApplication.focusWidget() is target, f"Tab never reaches {target.accessibleName() or target}"


@pytest.mark.timeout(420)
def test_first_run_by_keyboard_alone(qtbot, controller):
    wizard = controller.wizard
    wizard.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None, timeout=5000)
    connect = wizard.connect_page

    # Connect: the practice company (arrow key in the radio group, Space on its button)
    tab_to(connect.real_choice, wizard)
    key(Qt.Key.Key_Down, wizard)
    assert connect.practice_choice.isChecked()
    tab_to(connect.practice_button, wizard)
    key(Qt.Key.Key_Space, wizard)
    qtbot.waitUntil(connect.isComplete, timeout=60_000)
    key(Qt.Key.Key_Return, wizard)  # Enter goes forward wherever the focus is (never "start again")

    # Sync Settings: turn "Use default state" off (so three clients fail on a missing state), Enter
    page = wizard.settings_page
    qtbot.waitUntil(lambda: wizard.currentPage() is page and page.form is not None
                    and page.form.income_account.loaded and not page.form.loading, timeout=60_000)
    form = page.form
    tab_to(form.use_default_state, wizard)
    key(Qt.Key.Key_Space, wizard)
    assert not form.use_default_state.isChecked() and form.is_valid()
    key(Qt.Key.Key_Return, wizard)

    # Review: Enter is Enable Integration
    review = wizard.review_page
    qtbot.waitUntil(lambda: wizard.currentPage() is review and review.isComplete(), timeout=120_000)
    key(Qt.Key.Key_Return, wizard)

    # Enable: the first sync runs and lands on the integration window
    qtbot.waitUntil(lambda: controller.integration is not None and controller.integration.isVisible(),
                    timeout=300_000)
    window = controller.integration
    window.activateWindow()
    # ... and at rest: no run or check going on and no reload in flight, whose render would replace the
    # cause cards (and the button picked below) while Tab walks towards it (seen on a loaded machine).
    qtbot.waitUntil(lambda: any(g.fix is not None for g in window.groups) and not controller.session.service.busy
                    and not window._refreshing, timeout=30_000)
    group = next(g for g in window.groups if g.fix is not None)
    assert group.count >= 1 and "Use default state" in group.action
    card = next(c for c in window.cause_cards if c.property("cause") == group.key)
    fix_button = next(b for b in card.findChildren(type(window.sync_button)) if b.text() == group.action)
    assert window.status_line.text().startswith(f"{len(window.snapshot.problems)} problems")

    # Fix the grouped problem: one key press fixes every record of the cause
    tab_to(fix_button, window)
    key(Qt.Key.Key_Space, window)
    qtbot.waitUntil(lambda: controller.workspace.settings().use_default_state
                    and not any(g.key == group.key for g in window.groups) and not window.service.busy,
                    timeout=120_000)
    assert not any(p.get("code") == "missing_state" for p in window.snapshot.problems)

    # Sync now, by keyboard: visible progress, then the result next to it
    runs_before = len(window.snapshot.runs)
    tab_to(window.sync_button, window)
    key(Qt.Key.Key_Space, window)
    qtbot.waitUntil(lambda: len(window.snapshot.runs) > runs_before and not window.service.busy
                    and window.progress_label.text().startswith("Sync finished"), timeout=120_000)

    # Read the status line: here, and the same words in the tray's tooltip and menu
    line = window.status_line.text()
    assert "synced just now" in line or "seconds ago" in line
    assert line.startswith(f"{len(window.snapshot.problems)} problems")
    assert controller.tray.status_text == line and line in controller.tray.tray.toolTip()
    controller.tray.update_menu()
    assert controller.tray.status_action.text() == line
