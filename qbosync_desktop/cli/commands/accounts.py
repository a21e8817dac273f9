"""``qbosync accounts [--json]``: the company's accounts the settings can use, grouped as the rules want.

Groups (QBO_API_NOTES "Account"): income (Income), expense (Expense, Cost of Goods Sold), deposit
(Bank, Other Current Asset), ap (Accounts Payable). Each account with its Id and Name, which is
what ``qbosync settings set income_account=...`` accepts.
"""

from __future__ import annotations

import argparse

from qbosync_desktop.cli.common import add_json, workspace
from qbosync_desktop.cli.output import print_json
from qbosync_desktop.sync.rules.settings import ACCOUNT_GROUP_LABELS, ACCOUNT_GROUPS

GROUP_TITLES = {"income": "Income", "expense": "Expense", "deposit": "Deposit", "ap": "Accounts Payable"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("accounts", help="list the QuickBooks accounts: income / expense / deposit / ap")
    add_json(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with workspace() as ws:
        ws.require_qbo()
        grouped = ws.qbo_client().accounts()
    out = {
        group: sorted(
            ({"id": str(a["Id"]), "name": a.get("Name"), "type": a.get("AccountType")} for a in grouped.get(group, ())),
            key=lambda a: (str(a["name"]).casefold(), a["id"]),
        )
        for group in ACCOUNT_GROUPS
    }
    if args.json:
        print_json(out)
        return 0
    for group, accounts in out.items():
        print(f"{GROUP_TITLES[group]} ({ACCOUNT_GROUP_LABELS[group].split(' ', 1)[1]}):")
        for a in accounts:
            print(f"  {a['id']:>6}  {a['name']}")
        if not accounts:
            print("  (none)")
    return 0
