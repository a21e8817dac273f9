"""The Sync Settings form follows the seed: labels, defaults, dependencies, required accounts, reasons."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from PySide6.QtCore import QDate, Qt

from qbosync_desktop.core.errors import ConnectionProblem
from qbosync_desktop.desktop.ui.settings_form import NO_START_DATE, SyncSettingsForm
from qbosync_desktop.sync.rules.settings import LABELS, SyncSettings


@pytest.fixture
def form(qtbot, chart_of_accounts, work_facts):
    f = SyncSettingsForm(load_accounts=lambda: chart_of_accounts, load_work=lambda: work_facts)
    qtbot.addWidget(f)
    qtbot.waitUntil(lambda: not f.loading and f.income_account.loaded, timeout=5000)
    return f


def test_seed_labels_and_defaults(form):
    assert form.clients.text() == "Clients" and form.clients.isChecked()
    assert form.use_default_state.text() == "Use default state" and form.use_default_state.isChecked()
    assert form.sites.text() == LABELS["sites"] == "Create Work Sites from QuickBooks Sub-Customers during onboarding"
    assert not form.sites.isChecked()
    assert form.sites_use_client_address.text() == "Use Client state/country when creating Client Sites in Work"
    assert form.invoices.text() == "Invoices" and not form.invoices.isChecked()
    assert form.payments.text() == "Payments" and not form.payments.isChecked()
    assert not form.payments.isEnabled(), "Payments is only active once Invoices is selected"
    assert form.bills.text() == "Contractor bills" and not form.bills.isChecked()
    assert form.start_date.date() == NO_START_DATE
    assert form.schedule_minutes.value() == 15
    assert form.settings() == SyncSettings(), "the untouched form is exactly the default settings"
    assert form.is_valid()


def test_default_state_from_work_is_shown(form):
    assert "TX" in form.default_state_label.text()


def test_clients_cannot_be_unchecked_while_invoices_or_payments(form):
    form.invoices.setChecked(True)
    assert form.clients.isChecked() and not form.clients.isEnabled()
    assert "Invoices or Payments" in form.clients.toolTip()
    form.invoices.setChecked(False)
    assert form.clients.isEnabled() and form.clients.toolTip() == ""
    form.clients.setChecked(False)
    assert form.is_valid()
    form.invoices.setChecked(True)
    assert form.clients.isChecked(), "checking Invoices brings Clients back on"


def test_payments_follow_invoices(form):
    form.invoices.setChecked(True)
    assert form.payments.isEnabled()
    form.payments.setChecked(True)
    form.invoices.setChecked(False)
    assert not form.payments.isChecked() and not form.payments.isEnabled()
    assert "Invoices" in form.payments.toolTip()


def test_invoices_require_income_and_expense_accounts_with_reason(qtbot, form):
    reasons = []
    form.validity_changed.connect(lambda ok, why: reasons.append((ok, why)))
    form.invoices.setChecked(True)
    assert not form.is_valid()
    assert reasons[-1][0] is False and "Use this Income Account" in reasons[-1][1]
    assert form.reason.isVisibleTo(form) and "Income" in form.reason.text()
    assert [form.income_account.itemText(i) for i in range(form.income_account.count())] == [
        "Choose an account…", "Sales of Product Income", "Services"]
    form.income_account.select_id("79")
    assert "Use this Expense Account" in form.reason_text()
    form.expense_account.select_id("80")
    assert form.is_valid() and reasons[-1] == (True, "")
    s = form.settings()
    assert (s.invoices, s.income_account, s.expense_account) == (True, "79", "80")


def test_payments_require_a_deposit_account(form):
    form.invoices.setChecked(True)
    form.income_account.select_id("1")
    form.expense_account.select_id("7")
    form.payments.setChecked(True)
    assert "Deposit payments to this account" in form.reason_text()
    assert [form.deposit_account.itemData(i) for i in range(form.deposit_account.count())] == [None, "35", "4"]
    form.deposit_account.select_id("35")
    assert form.is_valid()


def test_bills_require_ap_account_and_every_concept_mapped(form):
    form.bills.setChecked(True)
    assert form.concepts.rowCount() == 2, "one row per Work invoice concept"
    assert "Accounts Payable" in form.reason_text()
    form.ap_account.select_id("33")
    assert "concept 'Labor'" in form.reason_text()
    form._concept_combos["Labor"].select_id("8")
    form._concept_combos["Travel"].select_id("7")
    assert form.is_valid()
    assert form.settings().concepts == {"Labor": "8", "Travel": "7"}


def test_schedule_below_five_minutes_is_refused_in_words(form):
    form.schedule_minutes.setValue(2)
    assert not form.is_valid() and "at least 5" in form.reason_text()


def test_existing_settings_are_shown_once_accounts_arrive(qtbot, chart_of_accounts, work_facts):
    gate = threading.Event()

    def slow_accounts():
        gate.wait(5)
        return chart_of_accounts

    saved = SyncSettings(invoices=True, income_account="1", expense_account="7", payments=True,
                         deposit_account="4", conflict_policy="work", schedule_minutes=30,
                         start_date=dt.date(2026, 1, 1))
    f = SyncSettingsForm(saved, load_accounts=slow_accounts, load_work=lambda: work_facts)
    qtbot.addWidget(f)
    assert not f.income_account.isEnabled() and f.income_account.currentText() == "Loading accounts…"
    assert "still loading" in f.reason_text()
    gate.set()
    qtbot.waitUntil(lambda: f.income_account.loaded, timeout=5000)
    assert f.income_account.currentText() == "Services" and f.deposit_account.currentText() == "Undeposited Funds"
    assert f.start_date.date() == QDate(2026, 1, 1)
    assert f.settings() == saved and f.is_valid()


def test_account_load_failure_offers_retry(qtbot, chart_of_accounts):
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionProblem("QuickBooks did not answer.")
        return chart_of_accounts

    f = SyncSettingsForm(load_accounts=flaky)
    qtbot.addWidget(f)
    qtbot.waitUntil(lambda: f.retry_button.isVisibleTo(f), timeout=5000)
    assert "could not be loaded" in f.accounts_status.text() and "did not answer" in f.accounts_status.text()
    f.invoices.setChecked(True)
    assert "could not be loaded" in f.reason_text()
    qtbot.mouseClick(f.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: f.income_account.loaded, timeout=5000)
    assert not f.retry_button.isVisibleTo(f) and len(calls) == 2
