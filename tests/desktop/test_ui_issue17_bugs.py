"""Issue 17: the bugs a newcomer's walk-through found, each driven through the real widgets.

Bug 7 (the CLI after ``qbosync demo``) is tests/cli/test_cli_after_demo.py; bug 2's CLI half is
tests/cli/test_cli_settings_names.py.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QScrollArea, QWizard

from qbosync_desktop.desktop.ui.integration_window import IntegrationWindow
from qbosync_desktop.desktop.ui.session import Session
from qbosync_desktop.desktop.ui.settings_form import SyncSettingsForm
from qbosync_desktop.desktop.ui.style import apply_style
from qbosync_desktop.store.models.base import utcnow
from qbosync_desktop.sync import problems as problems_mod
from qbosync_desktop.sync.rules.settings import SyncSettings


def _wheel(widget, dy: int = -120) -> None:
    from PySide6.QtGui import QWheelEvent

    pos = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, dy),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def _window(qtbot, session) -> IntegrationWindow:
    w = IntegrationWindow(session)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.company_label.text() == "Sunrise Practice Co", timeout=5000)
    return w


def _refreshed(qtbot, w) -> None:
    with qtbot.waitSignal(w.refreshed, timeout=5000):
        w.refresh()


# -- bug 1 ------------------------------------------------------------------------------------------
def test_bug1_wheel_over_an_unfocused_dropdown_scrolls_the_page_not_the_choice(qtbot, chart_of_accounts,
                                                                                  work_facts):
    apply_style(QApplication.instance())  # what the app does at start (bootstrap.Controller)
    form = SyncSettingsForm(SyncSettings(invoices=True, income_account="1", expense_account="80"),
                            load_accounts=lambda: chart_of_accounts, load_work=lambda: work_facts)
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(form)
    area.resize(760, 420)
    qtbot.addWidget(area)
    area.show()
    qtbot.waitUntil(lambda: form.expense_account.loaded and not form.loading, timeout=5000)
    bar = area.verticalScrollBar()
    assert bar.maximum() > 0, "the page must be taller than the view for this test"

    qtbot.waitUntil(lambda: len(form._concept_combos) == 2, timeout=5000)
    concept = form._concept_combos["Labor"]  # a dropdown inside the concept table inside the page
    for control, value in ((concept, concept.currentIndex),
                           (form.expense_account, form.expense_account.current_id),
                           (form.income_account, form.income_account.current_id),
                           (form.conflict_policy, form.conflict_policy.currentIndex),
                           (form.schedule_minutes, form.schedule_minutes.value),
                           (form.start_date, form.start_date.date)):
        assert not control.hasFocus()
        before, start = value(), bar.value()
        _wheel(control)
        assert value() == before, f"the wheel changed {control.objectName()}"
        assert bar.value() > start or bar.value() == bar.maximum(), "the page scrolls instead"
        bar.setValue(0)

    # A dropdown the person clicked into (focused) still takes the wheel.
    area.activateWindow()
    form.expense_account.setFocus()
    qtbot.waitUntil(form.expense_account.hasFocus, timeout=2000)
    before = form.expense_account.current_id()
    _wheel(form.expense_account, 120 if form.expense_account.currentIndex() > 1 else -120)
    assert form.expense_account.current_id() != before


# -- bug 2 ------------------------------------------------------------------------------------------
def test_bug2_account_names_survive_a_restart_without_quickbooks(qtbot, ui_workspace, chart_of_accounts):
    ui_workspace.save_settings(SyncSettings(invoices=True, income_account="1", expense_account="80", payments=True,
                                            deposit_account="4", bills=True, ap_account="33",
                                            concepts={"Labor": "8"}), accounts=chart_of_accounts)
    # "After a restart": a new session and window; QuickBooks cannot be reached (the recorded address
    # is a closed port), so the names must come from what was saved.
    session = Session(ui_workspace, schedule=False, open_url=lambda url: None)
    try:
        w = _window(qtbot, session)
        rows = w.entity_rows
        qtbot.waitUntil(lambda: "Services" in rows["Invoices"].detail.text(), timeout=5000)
        assert rows["Invoices"].detail.text() == "Income: Services · Expense: Cost of Goods Sold"
        assert rows["Payments"].detail.text() == "Deposit to: Undeposited Funds"
        assert "A/P: Accounts Payable (A/P)" in rows["Contractor bills"].detail.text()
    finally:
        session.close()
        qtbot.waitUntil(lambda: not session.service.thread.is_alive(), timeout=10_000)


# -- bug 3 ------------------------------------------------------------------------------------------
@pytest.mark.timeout(180)
def test_bug3_wizard_after_disconnect_and_reconnect_starts_from_the_saved_settings(qtbot, connected_workspace,
                                                                                   practice):
    from qbosync_desktop.desktop.ui.wizard.wizard import SetupWizard, WizardContext
    from qbosync_desktop.runtime.practice import practice_settings
    from qbosync_desktop.sync.rules.settings import account_groups

    ws = connected_workspace
    accounts = ws.qbo_client().accounts()
    suggested = practice_settings(ws)
    mine = suggested.replace(sites=False, schedule_minutes=45, conflict_policy="work", use_default_state=False,
                             payments=False)
    ws.save_settings(mine, accounts=accounts)
    ws.disconnect()  # keeps the settings (the Disconnect dialog promises so), forgets concept mappings
    session = Session(ws, practice=practice, schedule=False, open_url=lambda url: None)
    try:
        ctx = WizardContext(session, practice_mode=True, practice_factory=lambda _ws: practice)
        wizard = SetupWizard(ctx)
        qtbot.addWidget(wizard)
        ctx.start_practice()  # what "Start the practice company" runs in the background
        wizard.settings_page.initializePage()
        form = wizard.settings_page.form
        qtbot.waitUntil(lambda: form.income_account.loaded and not form.loading, timeout=30_000)
        shown = form.settings()
        assert (shown.sites, shown.schedule_minutes, shown.conflict_policy, shown.use_default_state, shown.payments) \
            == (False, 45, "work", False, False), shown
        assert shown.income_account == mine.income_account and shown.expense_account == mine.expense_account
        # The forgotten concept mappings are what the person must redo: the form says so.
        assert account_groups(accounts)["expense"]
        qtbot.waitUntil(lambda: form._work is not None and form.concepts.rowCount() > 0, timeout=30_000)
        assert not form.is_valid() and "concept" in form.reason.text().lower()
    finally:
        session.close()
        qtbot.waitUntil(lambda: not session.service.thread.is_alive(), timeout=30_000)


# -- bug 4 ------------------------------------------------------------------------------------------
def test_bug4_contractor_bills_needs_mapping_after_disconnect_forgets_the_concepts(qtbot, ui_session, ui_workspace):
    from qbosync_desktop.desktop.ui.dialogs.settings_dialog import SettingsDialog

    ui_workspace.save_settings(SyncSettings(bills=True, ap_account="33", concepts={"Labor": "8", "Travel": "7"}))
    w = _window(qtbot, ui_session)
    row = w.entity_rows["Contractor bills"]
    qtbot.waitUntil(lambda: row.on, timeout=5000)

    ui_workspace.disconnect()  # forgets the concept mappings
    _refreshed(qtbot, w)
    assert not row.on and row.icon.state == "off"
    assert "map" in row.detail.text().lower() and "concept" in row.detail.text().lower()
    assert row.action.isVisibleTo(w) and "Map" in row.action.text()
    row.action.click()
    assert isinstance(w.dialog, SettingsDialog)
    w.dialog.reject()
    ui_workspace.save_settings(SyncSettings(bills=True, ap_account="33", concepts={"Labor": "8", "Travel": "7"}))
    _refreshed(qtbot, w)
    assert row.on and not row.action.isVisibleTo(w)  # mapped again: green, no button


# -- bug 5 ------------------------------------------------------------------------------------------
@pytest.mark.timeout(180)
def test_bug5_enter_after_starting_the_practice_company_goes_forward_and_cancel_asks(qtbot, home, make_practice):
    from qbosync_desktop.desktop.ui.wizard.wizard import SetupWizard, WizardContext
    from qbosync_desktop.runtime.workspace import Workspace

    ws = Workspace.open(home)
    session = Session(ws, schedule=False, open_url=lambda url: None)
    try:
        ctx = WizardContext(session, practice_mode=True, practice_factory=lambda _ws: make_practice())
        wizard = SetupWizard(ctx)
        qtbot.addWidget(wizard)
        wizard.show()
        wizard.activateWindow()
        connect = wizard.connect_page
        connect.practice_choice.setChecked(True)
        connect.practice_button.setFocus()
        qtbot.keyClick(connect.practice_button, Qt.Key.Key_Space)  # "Start the practice company"
        qtbot.waitUntil(connect.isComplete, timeout=90_000)
        focus = QApplication.focusWidget() or wizard
        assert focus is not wizard.button(QWizard.WizardButton.CancelButton), "focus must not sit on Cancel"
        assert wizard.button(QWizard.WizardButton.NextButton).isDefault()
        qtbot.keyClick(focus, Qt.Key.Key_Return)
        assert wizard.isVisible(), "Enter must not close the wizard"
        qtbot.waitUntil(lambda: wizard.currentPage() is wizard.settings_page, timeout=5000)

        # Cancel asks first; "No" keeps the wizard, "Yes" closes it.
        wizard.button(QWizard.WizardButton.CancelButton).click()
        box = wizard.confirm_cancel
        assert isinstance(box, QMessageBox) and box.isVisible() and wizard.isVisible()
        box.button(QMessageBox.StandardButton.No).click()
        qtbot.waitUntil(lambda: not box.isVisible(), timeout=2000)
        assert wizard.isVisible()
        wizard.button(QWizard.WizardButton.CancelButton).click()
        wizard.confirm_cancel.button(QMessageBox.StandardButton.Yes).click()
        qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=2000)
    finally:
        session.close()
        qtbot.waitUntil(lambda: not session.service.thread.is_alive(), timeout=30_000)
        if session.practice is not None:
            session.practice.stop()
        ws.close()


# -- bug 6 ------------------------------------------------------------------------------------------
def test_bug6_matches_view_lists_proposals_and_accepts_off_the_gui_thread(qtbot, ui_session, ui_workspace):
    from qbosync_desktop.store.models.onboarding import MatchProposal
    from qbosync_desktop.sync.flows.base import MATCH_REVIEW_HINT

    assert "Review page" not in MATCH_REVIEW_HINT and "Matches" in MATCH_REVIEW_HINT
    one = MatchProposal.create(kind="client", work_id="w1", qbo_id="q1", work_name="Ann Lee", qbo_name="Ann M. Lee",
                               score=88, reason="Same email, similar name")
    two = MatchProposal.create(kind="vendor", work_id="c2", qbo_id="v2", work_name="Hank Rivera",
                               qbo_name="H. Rivera", score=75, reason="Similar name and phone")
    w = _window(qtbot, ui_session)
    _refreshed(qtbot, w)
    tab = w.tabs.indexOf(w.matches_page)
    assert tab >= 0 and "Matches" in w.tabs.tabText(tab) and "2" in w.tabs.tabText(tab)
    assert w.matches_table.rowCount() == 2
    assert "Ann Lee" in w.matches_table.item(0, 0).text() + w.matches_table.item(0, 1).text()
    w.tabs.setCurrentIndex(tab)

    w.accept_match(one.id)
    qtbot.waitUntil(lambda: MatchProposal.get_by_id(one.id).state == "accepted", timeout=5000)
    w.reject_match(two.id)
    qtbot.waitUntil(lambda: MatchProposal.get_by_id(two.id).state == "rejected", timeout=5000)
    qtbot.waitUntil(lambda: w.tabs.tabText(tab) == "Matches", timeout=5000)  # nothing waits any more


# -- bug 8 ------------------------------------------------------------------------------------------
def test_bug8_invoices_off_closes_their_problems_as_a_counted_skip_and_shows_the_entity_off(qtbot, ui_session,
                                                                                          ui_workspace):
    from qbosync_desktop.core import errors
    from qbosync_desktop.store.models.audit import AuditEntry
    from qbosync_desktop.store.models.problems import Problem

    on = SyncSettings(invoices=True, income_account="1", expense_account="80", payments=True, deposit_account="4")
    ui_workspace.save_settings(on)
    problems_mod.open_problem("invoice", "inv-1", errors.QboValidationError("Bad line"), run_id=None)
    problems_mod.open_problem("payment", "pay-1", errors.QboValidationError("Bad payment"), run_id=None)
    problems_mod.open_problem("client", "c-1", errors.QboValidationError("Bad client"), run_id=None)
    w = _window(qtbot, ui_session)
    _refreshed(qtbot, w)
    assert w.problems_table.rowCount() == 3

    started = utcnow()
    ui_workspace.save_settings(on.replace(invoices=False, payments=False))
    _refreshed(qtbot, w)
    assert {p["kind"] for p in problems_mod.open_problems()} == {"client"}
    assert w.problems_table.rowCount() == 1
    closed = Problem.select().where(Problem.state != "open")
    assert {(p.kind, p.work_id) for p in closed} == {("invoice", "inv-1"), ("payment", "pay-1")}
    skips = AuditEntry.select().where((AuditEntry.action == "skip") & (AuditEntry.at >= started))
    assert {(e.kind, e.work_id) for e in skips} == {("invoice", "inv-1"), ("payment", "pay-1")}
    assert all("turned off" in e.message for e in skips)
    for name in ("Invoices", "Payments"):
        row = w.entity_rows[name]
        assert not row.on and row.detail.text() == "Off", row.detail.text()
