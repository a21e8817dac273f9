"""Review page (issue 15): a matched client whose fields differ can be settled on its own, with the
keyboard - "As the field groups above" (the default: QuickBooks' value for billing address, phone
and email), or one choice for every field of that client. Stored, re-planned, nothing written."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

from qbosync_desktop.desktop.ui.session import Session
from qbosync_desktop.desktop.ui.wizard.wizard import SetupWizard, WizardContext
from qbosync_desktop.store.models.runs import Run
from qbosync_desktop.sync.clients import settle
from qbosync_desktop.sync.engine import SyncEngine


def test_review_settles_one_matched_client_by_keyboard(qtbot, configured_workspace, practice):
    eng = SyncEngine(configured_workspace)
    for p in eng.matches():
        if p.kind == "client" and p.state == "proposed":
            eng.accept_match(p.id)
    customers_before = practice.qbo.store.all("Customer")
    session = Session(configured_workspace, schedule=False)
    wizard = SetupWizard(WizardContext(session))
    qtbot.addWidget(wizard)
    try:
        wizard.setStartId(wizard.pageIds()[2])
        wizard.show()
        review = wizard.review_page
        qtbot.waitUntil(review.isComplete, timeout=60_000)
        t = review.records_table
        assert t.isVisibleTo(review) and t.rowCount() >= 1
        rows = {t.item(r, 0).text(): r for r in range(t.rowCount())}
        assert "Ann Lee" in rows, list(rows)
        row = rows["Ann Lee"]
        assert "Phone: " in t.item(row, 1).text()
        (ann,) = [c for c in practice.work.store.all("clients") if c["name"] == "Ann Lee"]
        combo = t.cellWidget(row, 2)
        assert isinstance(combo, QComboBox) and combo.currentData() is None  # the field groups decide
        assert combo.focusPolicy() & Qt.FocusPolicy.TabFocus and combo.accessibleName()
        assert settle.for_record(ann["id"])["phone"] == "quickbooks"  # the groups' default

        # Keyboard: focus the choice, arrow down twice -> "Use Work's value" for every field of Ann Lee.
        combo.setFocus()
        qtbot.keyClick(combo, Qt.Key.Key_Down)
        qtbot.waitUntil(lambda: settle.record_choice(ann["id"]) == "quickbooks", timeout=20_000)
        qtbot.waitUntil(review.isComplete, timeout=60_000)
        combo = review.record_combos[ann["id"]]
        assert combo.currentData() == "quickbooks"  # re-planned, the choice shown again
        combo.setFocus()
        qtbot.keyClick(combo, Qt.Key.Key_Down)
        qtbot.waitUntil(lambda: settle.record_choice(ann["id"]) == "work", timeout=20_000)
        qtbot.waitUntil(review.isComplete, timeout=60_000)
        assert settle.for_record(ann["id"])["phone"] == "work" and settle.groups()["phone"] == "quickbooks"
        # Work's values would now go to QuickBooks: the existing customer is listed before -> after
        ct = review.changes_table
        assert any(ct.item(r, 0).text().startswith("Ann Lee") for r in range(ct.rowCount()))

        # Back to the field groups (Home = the first choice)
        combo = review.record_combos[ann["id"]]
        combo.setFocus()
        qtbot.keyClick(combo, Qt.Key.Key_Home)
        qtbot.waitUntil(lambda: ann["id"] not in settle.stored()["records"], timeout=20_000)
        qtbot.waitUntil(review.isComplete, timeout=60_000)
        assert review.record_combos[ann["id"]].currentData() is None
        assert Run.select().count() == 0
        assert practice.qbo.store.all("Customer") == customers_before, "nothing was written to QuickBooks"
    finally:
        session.close()
        qtbot.waitUntil(lambda: not session.service.thread.is_alive(), timeout=30_000)
