"""Review page (issue 15): existing QuickBooks records Enable would change are listed before → after;
ticking "Keep QuickBooks' value" stores the decision and re-plans (the item is then linked, not
updated), and the settle choices for matched clients are stored - nothing is written anywhere."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox

from qbosync_desktop.desktop.ui.session import Session
from qbosync_desktop.desktop.ui.wizard.wizard import SetupWizard, WizardContext
from qbosync_desktop.store.models.runs import Run
from qbosync_desktop.sync.clients import settle
from qbosync_desktop.sync.rules import keep


def test_review_lists_the_price_change_and_keeps_quickbooks_value(qtbot, configured_workspace, practice):
    # saved as the Sync Settings page saves them: with the accounts' names (the Review page below is
    # opened on its own, so it names accounts from what was saved)
    ws = configured_workspace
    ws.save_settings(ws.settings(), accounts=list(ws.qbo_client().query("Account")))
    session = Session(configured_workspace, schedule=False)
    wizard = SetupWizard(WizardContext(session))
    qtbot.addWidget(wizard)
    items_before = practice.qbo.store.all("Item")
    try:
        wizard.setStartId(wizard.pageIds()[2])
        wizard.show()
        review = wizard.review_page
        qtbot.waitUntil(review.isComplete, timeout=60_000)
        t = review.changes_table
        rows = {t.item(r, 0).text(): r for r in range(t.rowCount())}
        (label,) = [k for k in rows if k.startswith("Service Call  (item:")]
        row = rows[label]
        assert "Price: 120.00 → 89.00" in t.item(row, 1).text()  # in the words of QuickBooks' item form
        assert "Expense account: (empty) → Cost of Goods Sold" in t.item(row, 1).text()
        spec = label.split("(")[1].rstrip(")")
        box = t.cellWidget(row, 2)
        assert isinstance(box, QCheckBox) and not box.isChecked()

        box.setChecked(True)
        qtbot.waitUntil(lambda: keep.kept("item", spec.split(":")[1]), timeout=20_000)
        qtbot.waitUntil(review.isComplete, timeout=60_000)
        items = next(chs for name, chs in review.preview.phases if name == "items")
        (ch,) = [c for c in items if c.qbo_id == spec.split(":")[1]]
        assert ch.action == "link", "kept: linked without the update"

        combo = review.settle_combos["phone"]
        combo.setCurrentIndex(combo.findData("work"))
        combo.activated.emit(combo.currentIndex())
        qtbot.waitUntil(lambda: settle.groups()["phone"] == "work", timeout=20_000)
        qtbot.waitUntil(review.isComplete, timeout=60_000)
        assert Run.select().count() == 0
        assert practice.qbo.store.all("Item") == items_before, "nothing was written to QuickBooks"
    finally:
        session.close()
        qtbot.waitUntil(lambda: not session.service.thread.is_alive(), timeout=30_000)
