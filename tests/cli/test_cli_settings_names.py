"""Issue 17, bug 2 (CLI half): ``qbosync settings show`` names the chosen accounts (saved with the
settings, so it works without QuickBooks) and keeps its ``[key]`` column aligned."""

from __future__ import annotations

from qbosync_desktop.cli import main as cli
from qbosync_desktop.sync.rules.settings import SyncSettings

CHART = {
    "income": [{"Id": "1", "Name": "Services", "AccountType": "Income"}],
    "expense": [{"Id": "80", "Name": "Cost of Goods Sold", "AccountType": "Cost of Goods Sold"},
                {"Id": "8", "Name": "Subcontractors", "AccountType": "Expense"}],
    "deposit": [{"Id": "4", "Name": "Undeposited Funds", "AccountType": "Other Current Asset"}],
    "ap": [{"Id": "33", "Name": "Accounts Payable (A/P)", "AccountType": "Accounts Payable"}],
}


def test_settings_show_names_accounts_and_aligns_the_key_column(capsys, home):
    from qbosync_desktop.runtime.workspace import Workspace

    with Workspace.open(home) as ws:
        ws.save_settings(SyncSettings(invoices=True, income_account="1", expense_account="80", payments=True,
                                      deposit_account="4", bills=True, ap_account="33",
                                      concepts={"Labor": "8"}), accounts=CHART)
    assert cli.main(["settings", "show"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip()]
    by_key = {ln[ln.rindex("[") + 1:-1]: ln for ln in lines}
    assert "Services" in by_key["income_account"] and "Cost of Goods Sold" in by_key["expense_account"]
    assert "Undeposited Funds" in by_key["deposit_account"] and "Accounts Payable (A/P)" in by_key["ap_account"]
    assert "Labor" in by_key["concepts"] and "Subcontractors" in by_key["concepts"]
    assert len({ln.rindex("[") for ln in lines}) == 1, "\n".join(lines)
