"""A full wizard run in practice mode — Connect → Sync Settings → Review → Enable — to a connected,
enabled integration and the integration window, on the real practice servers, OAuth, engine and DB."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QWizard

from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.runs import Run


@pytest.fixture
def controller(make_controller):
    return make_controller(demo=True)


@pytest.mark.timeout(240)
def test_practice_wizard_run_lands_on_an_enabled_integration(qtbot, controller):
    wizard = controller.wizard
    assert wizard is not None and wizard.isVisible()
    connect = wizard.connect_page
    assert connect.practice_choice.isChecked(), "--demo chooses the practice company"
    qtbot.waitUntil(connect.isComplete, timeout=60_000)
    assert "connected to" in connect.qbo_status.text() and "connected to" in connect.work_status.text()
    assert controller.workspace.connection.state == "connected"

    wizard.next()
    page = wizard.settings_page
    assert wizard.currentPage() is page
    qtbot.waitUntil(lambda: page.form is not None and page.form.income_account.loaded and not page.form.loading,
                    timeout=30_000)
    form = page.form
    assert form.invoices.isChecked() and not form.clients.isEnabled(), "practice suggests everything on"
    # Next follows the rules: break one, the reason shows and Next is disabled; fix it, Next is back.
    form.income_account.select_id(None)
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    assert "Use this Income Account" in form.reason.text()
    form.income_account.setCurrentIndex(1)
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()

    wizard.next()  # saves in the background, then moves on by itself
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.review_page, timeout=15_000)
    assert controller.workspace.settings().invoices
    review = wizard.review_page
    assert wizard.button(QWizard.WizardButton.NextButton).text() == "Enable Integration"
    qtbot.waitUntil(review.isComplete, timeout=60_000)
    assert review.error is None, review.status.text()
    planned = review.summary()
    assert planned.get("clients", {}).get("create", 0) + planned.get("clients", {}).get("link", 0) > 0
    assert review.tree.topLevelItemCount() >= 3
    if review.accept_exact_button.isEnabled():
        review.accept_exact_button.click()
        qtbot.waitUntil(review.isComplete, timeout=60_000)

    with qtbot.waitSignal(wizard.completed, timeout=180_000):
        wizard.next()
        enable = wizard.enable_page
        assert wizard.currentPage() is enable
        qtbot.waitUntil(lambda: enable.summary is not None or enable.failure is not None, timeout=170_000)
        assert enable.failure is None, enable.result_label.text()
    summary = enable.summary
    assert summary.state == "done"
    shown = enable.counts()
    for entity, outcomes in summary.counts.items():
        for outcome in ("created", "linked", "failed"):
            assert shown[entity][outcome] == outcomes.get(outcome, 0)

    ws = controller.workspace
    assert ws.enabled and ws.connection.onboarding_done_at is not None or qtbot.waitUntil(
        lambda: ws.connection.onboarding_done_at is not None, timeout=5000) is None
    assert Link.select().where(Link.kind == "client").count() > 0
    assert Run.select().where(Run.kind == "initial", Run.state == "done").count() == 1

    window = controller.integration
    assert window is not None and window.isVisible()
    qtbot.waitUntil(lambda: window.company_label.text() not in ("", "QuickBooks"), timeout=10_000)
    assert window.health_label.text() == "Connected"
    assert all(window.entity_rows[n].on for n in ("Clients", "Invoices", "Payments", "Contractor bills"))
    qtbot.waitUntil(lambda: window.snapshot.last_run is not None, timeout=10_000)
    assert window.history_table.rowCount() == 1
    assert controller.session.service.next_run is not None, "the schedule starts once enabled"
