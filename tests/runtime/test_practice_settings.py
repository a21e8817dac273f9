"""The tour's settings: on the practice company everything is on with the usual accounts and every
Work concept mapped; on a company without accounts the features needing them stay off (never a
combination the rules would refuse)."""

from __future__ import annotations

import datetime as dt

from qbosync_desktop.runtime.practice import connect_practice, practice_settings
from qbosync_desktop.runtime.workspace import Workspace
from qbosync_desktop.sync.rules.settings import account_groups, validate


def test_practice_company_gets_everything_on_with_the_usual_accounts(connected_workspace):
    ws = connected_workspace
    s = practice_settings(ws, today=dt.date(2026, 5, 1))
    names = {acct_id: name for group in account_groups(ws.qbo_client().accounts()).values()
             for acct_id, name in group.items()}
    assert (s.invoices, s.payments, s.bills, s.sites) == (True, True, True, True)
    assert (names[s.income_account], names[s.expense_account]) == ("Services", "Cost of Goods Sold")
    assert (names[s.deposit_account], names[s.ap_account]) == ("Undeposited Funds", "Accounts Payable (A/P)")
    assert {c: names[a] for c, a in s.concepts.items()} == {
        "Labor": "Subcontractors", "Materials": "Job Materials", "Travel": "Travel Expense",
        "Equipment rental": "Equipment Rental"}
    assert s.start_date == dt.date(2026, 1, 1)
    assert validate(s, ws.qbo_client().accounts(), ws.work_client().invoice_concepts()) == []


def test_a_company_without_accounts_gets_only_what_it_can_have(make_practice, home):
    practice = make_practice(qbo_seed="empty")
    ws = Workspace.open(home)
    try:
        connect_practice(ws, practice, timeout=30)
        s = practice_settings(ws)
        assert validate(s, ws.qbo_client().accounts(), ws.work_client().invoice_concepts()) == []
        ws.save_settings(s)
        groups = account_groups(ws.qbo_client().accounts())
        assert s.invoices == bool(groups["income"] and groups["expense"])
        assert s.bills == bool(groups["ap"] and groups["expense"])
    finally:
        ws.close()
