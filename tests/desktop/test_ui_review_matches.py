"""Review page: the preview lists every record behind each number with failure reasons and fixes, and
match decisions (accept, reject/unlink, accept all exact) are stored and re-plan the preview —
nothing is written to QuickBooks or Work before Enable."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

from qbosync_desktop.desktop.ui.session import Session
from qbosync_desktop.desktop.ui.wizard.wizard import SetupWizard, WizardContext
from qbosync_desktop.store.models.onboarding import MatchProposal
from qbosync_desktop.store.models.outbox import OutboxEntry
from qbosync_desktop.store.models.runs import Run


def test_review_lists_records_and_match_decisions_replan(qtbot, configured_workspace, practice):
    session = Session(configured_workspace, schedule=False)
    wizard = SetupWizard(WizardContext(session))
    qtbot.addWidget(wizard)
    customers_before = len(practice.qbo.store.all("Customer"))
    try:
        wizard.setStartId(wizard.pageIds()[2])
        wizard.show()
        review = wizard.review_page
        qtbot.waitUntil(review.isComplete, timeout=60_000)
        assert review.error is None, review.status.text()
        counts = review.summary()
        # Every number opens into its records; failures carry the reason and what to do.
        for i in range(review.tree.topLevelItemCount()):
            top = review.tree.topLevelItem(i)
            entity = top.data(0, Qt.ItemDataRole.UserRole)
            for j in range(top.childCount()):
                group = top.child(j)
                action = group.data(0, Qt.ItemDataRole.UserRole)
                assert group.childCount() == counts[entity][action]
                if action == "fail":
                    assert all("What to do" in group.child(k).text(1) for k in range(group.childCount()))
        assert MatchProposal.select().count() == len(review.matches) > 0
        assert review.match_table.rowCount() > 0

        accepted = next(m for m in review.matches if m["state"] == "accepted")
        button = review.match_table.findChild(type(review.accept_exact_button), f"reject_{accepted['id']}")
        button.click()
        qtbot.waitUntil(lambda: MatchProposal.get_by_id(accepted["id"]).state == "rejected", timeout=20_000)
        qtbot.waitUntil(review.isComplete, timeout=60_000)
        proposed = [m for m in review.matches if m["state"] == "proposed"]
        if proposed:
            button = review.match_table.findChild(type(review.accept_exact_button), f"accept_{proposed[0]['id']}")
            button.click()
            qtbot.waitUntil(lambda: MatchProposal.get_by_id(proposed[0]["id"]).state == "accepted", timeout=20_000)
            qtbot.waitUntil(review.isComplete, timeout=60_000)
        assert Run.select().count() == 0 and OutboxEntry.select().count() == 0, "nothing was synced"
        assert len(practice.qbo.store.all("Customer")) == customers_before, "nothing was written to QuickBooks"
    finally:
        session.close()
        qtbot.waitUntil(lambda: not session.service.thread.is_alive(), timeout=30_000)


def test_pick_another_quickbooks_record_for_a_work_client(qtbot, configured_workspace, practice):
    # The test's own case, whatever the seed holds: a Work client and two QuickBooks customers that
    # both carry its name (a person can tell them apart), so the matcher has to ask which one.
    name = "Quillfeather Optometry"
    practice.work.user.add_client(name, email="desk@quillfeather.example")
    practice.qbo.user.create("Customer", {"DisplayName": f"{name} LLC",
                                          "PrimaryEmailAddr": {"Address": "office@quillfeather.example"}})
    other = practice.qbo.user.create("Customer", {"DisplayName": f"{name} Inc",
                                                  "PrimaryEmailAddr": {"Address": "front@quillfeather.example"}})
    session = Session(configured_workspace, schedule=False)
    wizard = SetupWizard(WizardContext(session))
    qtbot.addWidget(wizard)
    try:
        wizard.setStartId(wizard.pageIds()[2])
        wizard.show()
        review = wizard.review_page
        qtbot.waitUntil(review.isComplete, timeout=60_000)
        candidates = [m for m in review.matches if m["work_name"] == name and m["state"] == "proposed"]
        assert len(candidates) == 2, "both customers of that name are proposed, neither accepted"
        shown = candidates[0]
        pick = review.match_table.findChild(QComboBox, f"pick_{shown['id']}")
        assert pick is not None and pick.count() == len(candidates), "Pick another… lists the other candidates"
        alt_id = pick.itemData(1)
        assert alt_id != shown["id"]
        pick.setFocus()
        qtbot.keyClick(pick, Qt.Key.Key_Down)  # a person chooses the first other candidate
        qtbot.waitUntil(lambda: MatchProposal.get_by_id(alt_id).state == "accepted", timeout=20_000)
        assert MatchProposal.get_by_id(shown["id"]).state == "rejected", "one Work record links to one customer"
        qtbot.waitUntil(review.isComplete, timeout=60_000)
        linked = MatchProposal.get_by_id(alt_id)
        assert linked.qbo_id in (str(other["Id"]), shown["qbo_id"])
    finally:
        session.close()
        qtbot.waitUntil(lambda: not session.service.thread.is_alive(), timeout=30_000)
