"""The integration window: checks and x's, problems (retry, details, direct fix), history, activity,
disconnect and reconnect — on a real workspace database and the real sync service."""

from __future__ import annotations

import csv

import pytest

from qbosync_desktop.core import errors
from qbosync_desktop.desktop.ui.integration_window import IntegrationWindow
from qbosync_desktop.store.models.audit import AuditEntry
from qbosync_desktop.store.models.base import utcnow
from qbosync_desktop.store.models.problems import Problem
from qbosync_desktop.store.models.runs import Run
from qbosync_desktop.sync import problems as problems_mod
from qbosync_desktop.sync.rules.settings import SyncSettings


@pytest.fixture
def window(qtbot, ui_session):
    w = IntegrationWindow(ui_session)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.company_label.text() == "Sunrise Practice Co", timeout=5000)
    return w


def refreshed(qtbot, w):
    with qtbot.waitSignal(w.refreshed, timeout=5000):
        w.refresh()


def test_header_shows_company_health_and_disconnect(window):
    assert window.company_label.text() == "Sunrise Practice Co"
    assert "Sunrise Field Services" in window.work_label.text() and "Practice" in window.work_label.text()
    assert window.health_label.text() == "Connected" and window.health_label.property("state") == "connected"
    assert window.disconnect_button.isEnabled() and not window.reconnect_button.isVisibleTo(window)


def test_checks_and_xs_follow_the_settings(qtbot, window, ui_workspace):
    rows = window.entity_rows
    assert [rows[n].on for n in ("Clients", "Sites", "Invoices", "Payments", "Contractor bills")] == [
        True, False, False, False, False]
    assert rows["Clients"].icon.state == "on" and rows["Invoices"].icon.state == "off"
    assert rows["Invoices"].accessibleName() == "Invoices: Off"
    ui_workspace.save_settings(SyncSettings(invoices=True, income_account="79", expense_account="80",
                                            payments=True, deposit_account="35"))
    refreshed(qtbot, window)
    assert [rows[n].on for n in ("Clients", "Sites", "Invoices", "Payments", "Contractor bills")] == [
        True, False, True, True, False]
    assert "Income: 79" in rows["Invoices"].detail.text() and "Deposit to: 35" in rows["Payments"].detail.text()


def test_credit_notes_and_refunds_have_their_check_or_x(qtbot, window, ui_workspace):
    """Issue 14: credit notes follow Invoices; refunds follow Payments (paid from its account)."""
    rows = window.entity_rows
    assert rows["Credit notes"].icon.state == "off" and rows["Refunds"].icon.state == "off"
    ui_workspace.save_settings(SyncSettings(invoices=True, income_account="79", expense_account="80"))
    refreshed(qtbot, window)
    assert rows["Credit notes"].icon.state == "on" and rows["Refunds"].icon.state == "off"
    ui_workspace.save_settings(SyncSettings(invoices=True, income_account="79", expense_account="80",
                                            payments=True, deposit_account="35"))
    refreshed(qtbot, window)
    assert rows["Credit notes"].on and rows["Refunds"].on
    assert "paid from: 35" in rows["Refunds"].detail.text()


def _problem(kind, work_id, exc):
    return problems_mod.open_problem(kind, work_id, exc, run_id=None)


def test_problems_tab_retry_details_and_direct_fix(qtbot, window, ui_workspace):
    from qbosync_desktop.sync.rules.addresses import MissingState

    dup = _problem("client", "1042", errors.DuplicateName("“Ann Lee” is already used by a vendor.", code="6240",
                                                           intuit_tid="1-tid-xyz", details={"record": "Ann Lee"}))
    ui_workspace.save_settings(SyncSettings(use_default_state=False))
    state = _problem("client", "1043", MissingState("United States"))
    refreshed(qtbot, window)
    assert window.problems_table.rowCount() == 2 and window.tabs.tabText(0) == "Problems (2)"
    assert "Ann Lee" in window.problems_table.text(0, 1)
    # The record as a person knows it; a problem without a name falls back to the Work id.
    assert window.problems_table.text(0, 0) == "Client Ann Lee"
    assert window.problems_table.text(1, 0) == "Client 1043"
    assert "Rename" in window.problems_table.text(0, 2)
    assert window.service.state == "attention"

    window.problems_table.selectRow(0)
    assert not window.fix_button.isVisibleTo(window)
    window.details_button.click()
    details_dialog = window.dialog
    details = details_dialog.details.toPlainText()
    assert "6240" in details and "1-tid-xyz" in details
    assert "record: Client Ann Lee" in details and "work_id: 1042" in details
    details_dialog.close()

    window.problems_table.selectRow(1)
    assert window.fix_button.isVisibleTo(window) and "Use default state" in window.fix_button.text()
    window.fix_button.click()
    qtbot.waitUntil(lambda: ui_workspace.settings().use_default_state, timeout=5000)
    # The retry ran through the real engine, which cannot reach the (closed) server: a plain error.
    qtbot.waitUntil(lambda: window.dialog is not details_dialog, timeout=10_000)
    assert Problem.get_by_id(state.id).retry_requested
    assert window.dialog.windowTitle() == "Could not reach the server"
    window.dialog.close()

    window.retry_all_button.click()
    qtbot.waitUntil(lambda: not window.service.busy, timeout=10_000)
    assert Problem.get_by_id(dup.id).retry_requested


def test_history_and_activity_with_filter_and_csv_export(qtbot, window, tmp_path):
    run = Run.create(kind="initial", started_at=utcnow(), finished_at=utcnow(), state="done",
                     counts={"clients": {"created": 3, "linked": 1}}, qbo_requests=7)
    AuditEntry.create(run_id=run.id, at=utcnow(), action="create", kind="client", work_id="1", qbo_id="58",
                      message="Created customer Ann Lee")
    AuditEntry.create(run_id=run.id, at=utcnow(), action="link", kind="client", work_id="2", qbo_id="59",
                      message="Linked to existing customer Bob's Plumbing")
    AuditEntry.create(run_id=run.id, at=utcnow(), action="create", kind="invoice", work_id="9", qbo_id="130",
                      message="Created invoice 1001")
    refreshed(qtbot, window)
    assert window.history_table.rowCount() == 1
    assert window.history_table.text(0, 2) == "Finished" and "3 created" in window.history_table.text(0, 5)
    assert "Last sync:" in window.last_sync_label.text() and "finished" in window.last_sync_label.text()
    assert window.activity_table.rowCount() == 3
    window.activity_filter.setText("plumbing")
    assert window.activity_table.rowCount() == 1 and window.activity_table.text(0, 1) == "link"
    window.activity_filter.clear()
    window.activity_kind.setCurrentIndex(window.activity_kind.findData("invoice"))
    assert window.activity_table.rowCount() == 1
    out = tmp_path / "activity.csv"
    window.export_csv(str(out))
    qtbot.waitUntil(lambda: "Exported 3 rows" in window.export_status.text(), timeout=5000)
    with open(out, encoding="utf-8-sig") as fh:
        assert len(list(csv.DictReader(fh))) == 3


def test_disconnect_confirmation_says_what_stays_and_what_is_forgotten(qtbot, window, ui_workspace):
    window.disconnect_button.click()
    d = window.dialog
    text = d.text()
    assert "Stays in QuickBooks" in text and "Nothing in QuickBooks is changed or deleted" in text
    assert "Kept on this computer" in text and "Forgotten" in text
    assert "links" in text and "concept" in text and "revoked" in text
    assert d.cancel_button.isDefault(), "the safe answer is the default"
    with qtbot.waitSignal(window.disconnected, timeout=10_000):
        d.disconnect_button.click()
    assert ui_workspace.connection.state == "disconnected"
    qtbot.waitUntil(lambda: window.health_label.text() == "Not connected", timeout=5000)
    assert not window.disconnect_button.isEnabled()


def test_needs_reconnect_shows_reconnect_and_keeps_settings(qtbot, window, ui_workspace):
    ui_workspace.save_settings(SyncSettings(bills=True, ap_account="33", concepts={"Travel": "7"}))
    ui_workspace.mark_needs_reconnect()
    refreshed(qtbot, window)
    assert window.reconnect_button.isVisibleTo(window)
    assert window.health_label.property("state") == "needs_reconnect"
    assert window.service.state == "attention"
    dialog = window.open_reconnect()
    assert "kept" in " ".join(lbl.text() for lbl in dialog.findChildren(type(window.company_label)))
    dialog.reconnect_button.click()  # the saved (closed-port) server cannot be reached: a plain failure
    qtbot.waitUntil(lambda: dialog.failure is not None, timeout=15_000)
    assert "Could not reconnect" in dialog.status.text()
    assert ui_workspace.settings().concepts == {"Travel": "7"}, "a failed reconnect keeps the mappings"


def test_a_scheduled_run_that_cannot_reach_the_server_says_so_without_a_dialog(qtbot, window):
    before = window.dialog
    with qtbot.waitSignal(window.service.failed, timeout=15_000):
        window.service.sync_now()  # as the schedule does: nobody pressed a button
    qtbot.waitUntil(lambda: "last attempt stopped" in window.last_sync_label.text(), timeout=5000)
    assert "Could not reach the server" in window.last_sync_label.text()
    assert window.dialog is before, "no dialog for a passing network problem in a background run"
    with qtbot.waitSignal(window.service.failed, timeout=15_000):
        window.sync_button.click()  # a person asked: tell them
    qtbot.waitUntil(lambda: window.dialog is not before, timeout=5000)
    assert window.dialog.windowTitle() == "Could not reach the server"
    window.dialog.close()


def test_retry_keeps_the_selection_and_says_the_result_under_the_list(qtbot, window, ui_workspace):
    """Issue 17: Retry's result appeared far from the list and the selection jumped to the first row."""
    _problem("client", "2001", errors.DuplicateName("“Bo Li” is already used by a vendor.", code="6240",
                                                     details={"record": "Bo Li"}))
    second = _problem("client", "2002", errors.DuplicateName("“Cy Ng” is already used by a vendor.", code="6240",
                                                              details={"record": "Cy Ng"}))
    refreshed(qtbot, window)
    window.problems_table.selectRow(1)
    assert window.selected_problem()["id"] == second.id
    window.retry_button.click()
    assert window.problems_status.text() == "Retrying…"
    qtbot.waitUntil(lambda: not window.service.busy, timeout=10_000)
    refreshed(qtbot, window)
    assert window.selected_problem()["id"] == second.id, "the refresh after Retry kept the selected problem"
    # The ui fixture's servers are closed: the retry stops, and says so next to the list and in the status line
    assert window.problems_status.text().startswith("The retry stopped: Could not reach the server")
    assert window.status_line.text() == "Last sync stopped: Could not reach the server · 2 problems"
    if window.dialog is not None:
        window.dialog.close()


def test_a_reload_keeps_the_keyboard_focus_on_the_cause_card_button(qtbot, window, ui_workspace):
    """A reload (the tax setup or the accounts arriving, a refresh after a run) must not pull the focus
    out from under someone tabbing through the cause cards: the same cards stay, and when the causes do
    change, the focus stays on the same button of the same cause."""
    from qbosync_desktop.sync.rules.addresses import MissingState

    ui_workspace.save_settings(SyncSettings(use_default_state=False))
    for work_id in ("2001", "2002"):
        _problem("client", work_id, MissingState("United States"))
    window.show()
    refreshed(qtbot, window)
    card = window.cause_cards[0]
    fix = next(b for b in card.findChildren(type(window.sync_button)) if "Use default state" in b.text())
    fix.setFocus()
    qtbot.waitUntil(lambda: fix.hasFocus(), timeout=2000)

    refreshed(qtbot, window)  # nothing changed: the very same card and button
    assert window.cause_cards[0] is card and fix.hasFocus()

    _problem("client", "2003", MissingState("United States"))  # the cause grew: the card is rebuilt
    refreshed(qtbot, window)
    new_card = window.cause_cards[0]
    assert new_card is not card and "3 records" in new_card.accessibleName()
    new_fix = next(b for b in new_card.findChildren(type(window.sync_button)) if "Use default state" in b.text())
    qtbot.waitUntil(lambda: new_fix.hasFocus(), timeout=2000)


@pytest.mark.parametrize("size", [(900, 650), (1600, 1000)])
def test_the_window_fits_while_a_sync_shows_its_progress(qtbot, window, ui_workspace, size):
    """The layout test renders the window at rest; a run adds the progress bar, Cancel and a long
    progress line above the cause cards. Nothing may clip or scroll sideways then either."""
    from qbosync_desktop.desktop.ui.layout_check import layout_issues
    from qbosync_desktop.runtime.progress import Progress
    from qbosync_desktop.sync.rules.addresses import MissingState

    ui_workspace.save_settings(SyncSettings(use_default_state=False))
    for work_id in ("3001", "3002", "3003"):
        _problem("client", work_id, MissingState("United States"))
    _problem("client", "3004", errors.DuplicateName("“Ann Lee” is already used by a vendor.", code="6240"))
    _problem("client", "3005", errors.DuplicateName("“Bo Lee” is already used by a vendor.", code="6240"))
    refreshed(qtbot, window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    window._on_progress(Progress(run_id=7, entity="Invoices", done=12_345, total=80_000, done_overall=40_000,
                                 total_overall=151_752, counts={"invoices": {"created": 12_000, "updated": 345}},
                                 eta_seconds=754))
    qtbot.wait(50)
    assert window.progress_bar.isVisible() and window.cancel_button.isVisible()
    # Big numbers are grouped, as a person reads them
    assert window.progress_label.text().startswith("Invoices: 12,345 of 80,000 · invoices: 12,000 created, 345 updated")
    assert window.status_line.text().startswith("Syncing… 40,000 of 151,752")
    assert len(window.cause_cards) >= 2
    assert layout_issues(window) == []


def test_the_keyboard_starts_on_sync_now_not_on_disconnect(qtbot, window):
    """Disconnect comes first in Tab order (the header); a stray Space or Enter when the window opens
    must not start the one destructive dialog: the focus starts on "Sync now"."""
    from PySide6.QtWidgets import QApplication

    window.show()
    window.activateWindow()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None, timeout=5000)
    assert QApplication.focusWidget() is window.sync_button
    assert not window.disconnect_button.hasFocus()
