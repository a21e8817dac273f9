"""Account pickers for real charts of accounts: type to filter (any part of the name), grouped under
the QuickBooks account type, a half-typed search never becomes the value; and a missing account is
marked at the field itself (message under it, red border) with "Show me" in the bar that stays in view."""

from __future__ import annotations

from PySide6.QtCore import Qt

from qbosync_desktop.desktop.ui.settings_form import IssueBar, SyncSettingsForm
from qbosync_desktop.desktop.ui.widgets.account_combo import AccountCombo
from qbosync_desktop.sync.rules.settings import SyncSettings

NAMES = {"1": "Advertising", "2": "Bank Charges", "3": "Cost of Goods Sold", "4": "Travel Expense",
         "5": "Meals", "6": "Office Supplies", "7": "Subcontractors", "8": "Job Materials", "9": "Fuel"}
TYPES = {k: ("Cost of Goods Sold" if k in ("3", "7", "8") else "Expense") for k in NAMES}


def test_picker_groups_by_type_and_filters_as_you_type(qtbot):
    combo = AccountCombo("Expense account")
    qtbot.addWidget(combo)
    combo.set_accounts(NAMES, TYPES)
    texts = [combo.itemText(i) for i in range(combo.count())]
    assert texts[:2] == ["Choose an account…", "Cost of Goods Sold"]
    heading = combo.model().item(1)
    assert not heading.isEnabled() and not heading.isSelectable() and combo.itemData(1) is None
    assert texts.index("Expense") > texts.index("Subcontractors")  # the other type's heading after the first group
    assert combo.isEditable() and combo.lineEdit().accessibleName() == "Expense account"

    completer = combo.completer()
    assert completer.filterMode() == Qt.MatchFlag.MatchContains
    completer.setCompletionPrefix("expen")
    matches = [completer.completionModel().index(i, 0).data() for i in range(completer.completionCount())]
    assert matches == ["Travel Expense"]

    combo.setEditText("Travel expense")
    combo.lineEdit().editingFinished.emit()
    assert combo.current_id() == "4"
    combo.setEditText("Trav")  # half typed: the choice stays, the text goes back
    combo.lineEdit().editingFinished.emit()
    assert combo.current_id() == "4" and combo.currentText() == "Travel Expense"


def test_short_lists_have_no_headings(qtbot):
    combo = AccountCombo("Deposit account")
    qtbot.addWidget(combo)
    combo.set_accounts({"35": "Undeposited Funds", "4": "Checking"}, {"35": "OtherCurrentAsset", "4": "Bank"})
    assert [combo.itemData(i) for i in range(combo.count())] == [None, "4", "35"]


def test_missing_account_is_marked_at_the_field(qtbot, chart_of_accounts, work_facts):
    form = SyncSettingsForm(SyncSettings(invoices=True, income_account="79", expense_account=None),
                            load_accounts=lambda: chart_of_accounts, load_work=lambda: work_facts)
    bar = IssueBar(form)
    qtbot.addWidget(form)
    qtbot.addWidget(bar)
    qtbot.waitUntil(lambda: form.expense_account.loaded and not form.loading, timeout=5000)
    error = form._errors["expense_account"]
    assert not error.isHidden() and "Expense" in error.text()
    assert form.expense_account.property("invalid") is True and not form.income_account.property("invalid")
    assert not bar.isHidden() and "Expense" in bar.label.text() and bar.show_button.text() == "Show me"
    assert not form.reason.isVisibleTo(form), "the bar, always in view, says it instead"
    form.expense_account.select_id(next(iter(form._accounts["expense"])))
    assert error.isHidden() and not form.expense_account.property("invalid") and bar.isHidden()
