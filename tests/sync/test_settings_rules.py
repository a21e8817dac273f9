"""The seeds' settings rules, one row per rule: which combinations are refused, naming which field, saying what.

Also: the labels are the seed's words, defaults match the seed, and settings survive a save/load
round trip through the real database (with concept mappings in their own table).
"""

from __future__ import annotations

import datetime as dt

import pytest

from qbosync_desktop.core.errors import ConfigurationError
from qbosync_desktop.sync.rules.settings import LABELS, SyncSettings, account_groups, check, validate

ACCOUNTS = [
    {"Id": "1", "Name": "Services", "AccountType": "Income"},
    {"Id": "2", "Name": "Job Materials", "AccountType": "Cost of Goods Sold"},
    {"Id": "3", "Name": "Travel", "AccountType": "Expense"},
    {"Id": "4", "Name": "Checking", "AccountType": "Bank"},
    {"Id": "5", "Name": "Undeposited Funds", "AccountType": "Other Current Asset"},
    {"Id": "6", "Name": "Accounts Payable (A/P)", "AccountType": "Accounts Payable"},
    {"Id": "7", "Name": "Old Income", "AccountType": "Income", "Active": False},
    {"Id": "8", "Name": "Interest", "AccountType": "Other Income"},
]

FULL = SyncSettings(invoices=True, income_account="1", expense_account="2", payments=True, deposit_account="4",
                    bills=True, ap_account="6", concepts={"Travel": "3"})

# (case id, changes to FULL, accounts given?, concepts given, expected field, words the message must contain)
REFUSED = [
    ("clients-off-with-invoices", dict(clients=False, payments=False, deposit_account=None), False, None,
     "clients", ["“Clients” cannot be turned off while Invoices is on"]),
    ("clients-off-with-both", dict(clients=False), False, None,
     "clients", ["“Clients” cannot be turned off while Invoices and Payments are on"]),
    ("payments-without-invoices", dict(invoices=False, income_account=None, expense_account=None), False, None,
     "payments", ["“Payments” can only be on while “Invoices” is on"]),
    ("invoices-no-income", dict(income_account=None), False, None,
     "income_account", ["“Use this Income Account” is required", "an Income account"]),
    ("invoices-no-expense", dict(expense_account=None), False, None,
     "expense_account", ["“Use this Expense Account” is required", "Expense or Cost of Goods Sold"]),
    ("payments-no-deposit", dict(deposit_account=None), False, None,
     "deposit_account", ["“Deposit payments to this account” is required", "Bank or Other Current Asset"]),
    ("bills-no-ap", dict(ap_account=None), False, None,
     "ap_account", ["“Accounts Payable account for bills” is required"]),
    ("income-wrong-type", dict(income_account="3"), True, None,
     "income_account", ["must be an Income account", "account 3 is not"]),
    ("income-inactive", dict(income_account="7"), True, None, "income_account", ["account 7 is not"]),
    ("other-income-is-not-income", dict(income_account="8"), True, None, "income_account", ["account 8"]),
    ("expense-wrong-type", dict(expense_account="4"), True, None, "expense_account", ["Expense or Cost of Goods"]),
    ("deposit-wrong-type", dict(deposit_account="1"), True, None, "deposit_account", ["Bank or Other Current"]),
    ("deposit-unknown-id", dict(deposit_account="999"), True, None, "deposit_account", ["account 999 is not"]),
    ("ap-wrong-type", dict(ap_account="4"), True, None, "ap_account", ["an Accounts Payable account"]),
    ("concept-unmapped", {}, True, ["Travel", "Tools"], "concepts", ["The concept 'Tools' has no expense account"]),
    ("concept-on-income-account", dict(concepts={"Travel": "1"}), True, ["Travel"], "concepts",
     ["'Travel' is mapped to account 1"]),
    ("concept-empty-account", dict(concepts={"Travel": ""}), False, None, "concepts",
     ["The concept 'Travel' has no expense account"]),
    ("conflict-policy", dict(conflict_policy="newest"), False, None, "conflict_policy", ["not 'newest'"]),
    ("schedule-too-often", dict(schedule_minutes=4), False, None, "schedule_minutes", ["at least 5"]),
    ("schedule-not-int", dict(schedule_minutes=7.5), False, None, "schedule_minutes", ["whole number"]),
]


@pytest.mark.parametrize(("changes", "with_accounts", "concepts", "field", "words"),
                         [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_invalid_combination_is_refused_naming_the_field(changes, with_accounts, concepts, field, words):
    s = FULL.replace(**changes)
    accounts = ACCOUNTS if with_accounts else None
    issues = validate(s, accounts, concepts)
    assert [i.field for i in issues] == [field], issues
    for w in words:
        assert w in issues[0].message
    assert issues[0].hint
    with pytest.raises(ConfigurationError) as exc:
        check(s, accounts, concepts)
    assert exc.value.field == field
    assert exc.value.details["field"] == field
    assert exc.value.message == issues[0].message


ACCEPTED = [
    ("defaults", SyncSettings()),
    ("full", FULL),
    ("invoices-only", SyncSettings(invoices=True, income_account="1", expense_account="3")),
    ("expense-may-be-cogs-or-expense", FULL.replace(expense_account="3")),
    ("deposit-other-current-asset", FULL.replace(deposit_account="5")),
    ("clients-off-alone", SyncSettings(clients=False)),
    ("bills-without-invoices", SyncSettings(bills=True, ap_account="6", concepts={"Travel": "2"})),
    ("schedule-minimum", SyncSettings(schedule_minutes=5)),
    ("policies", SyncSettings(conflict_policy="quickbooks")),
]


@pytest.mark.parametrize("settings", [a[1] for a in ACCEPTED], ids=[a[0] for a in ACCEPTED])
def test_valid_settings_pass_every_check(settings):
    assert validate(settings, ACCOUNTS, ["Travel"] if settings.bills else None) == []
    check(settings, ACCOUNTS)


def test_several_broken_rules_are_all_reported_in_page_order():
    s = SyncSettings(clients=False, payments=True, schedule_minutes=1)
    assert [i.field for i in validate(s)] == ["clients", "payments", "deposit_account", "schedule_minutes"]


def test_without_accounts_only_combinations_are_checked():
    assert validate(FULL.replace(income_account="999")) == []


def test_concepts_as_objects_are_understood():
    class Concept:
        def __init__(self, name):
            self.name = name

    issues = validate(FULL, ACCOUNTS, [Concept("Travel"), {"name": "Meals"}])
    assert [i.message for i in issues] == ["The concept 'Meals' has no expense account."]
    assert issues[0].hint == "Map the concept 'Meals' to an expense account in Sync Settings."


def test_defaults_are_the_seeds():
    s = SyncSettings()
    assert (s.clients, s.use_default_state, s.invoices, s.payments, s.bills) == (True, True, False, False, False)
    assert s.sites is False and s.sites_use_client_address is True
    assert s.conflict_policy == "ask" and s.schedule_minutes == 15 and s.start_date is None
    assert s.rename_on_collision is False


def test_labels_are_the_seeds_words():
    assert LABELS["sites"] == "Create Work Sites from QuickBooks Sub-Customers during onboarding"
    assert LABELS["sites_use_client_address"] == "Use Client state/country when creating Client Sites in Work"
    assert LABELS["income_account"] == "Use this Income Account"
    assert LABELS["expense_account"] == "Use this Expense Account"
    assert LABELS["deposit_account"] == "Deposit payments to this account"
    assert LABELS["use_default_state"] == "Use default state"
    assert set(LABELS) == set(SyncSettings().to_dict())


def test_grouped_accounts_from_the_connector_are_accepted():
    grouped = {"income": [{"Id": "1", "Name": "Services"}], "expense": [{"Id": "2", "Name": "Materials"}],
               "deposit": [{"Id": "4", "Name": "Checking"}], "ap": [{"Id": "6", "Name": "A/P"}]}
    assert account_groups(grouped)["deposit"] == {"4": "Checking"}
    assert validate(FULL.replace(concepts={"Travel": "2"}), grouped) == []
    assert [i.field for i in validate(FULL.replace(income_account="2", concepts={"Travel": "2"}), grouped)] == ["income_account"]


def test_start_date_defaults_to_the_integration_date():
    enabled = dt.datetime(2026, 3, 4, 15, 0)
    assert SyncSettings().effective_start_date(enabled) == dt.date(2026, 3, 4)
    assert SyncSettings(start_date=dt.date(2025, 1, 1)).effective_start_date(enabled) == dt.date(2025, 1, 1)
    assert SyncSettings().effective_start_date(None) is None


def test_settings_round_trip_through_the_database(db):
    from qbosync_desktop.runtime.workspace import Workspace
    from qbosync_desktop.store.models.connection import ConceptMapping

    ws = Workspace(__import__("qbosync_desktop.core.paths", fromlist=["get_paths"]).get_paths())
    saved = FULL.replace(start_date=dt.date(2025, 6, 1), conflict_policy="work", schedule_minutes=30,
                         concepts={"Travel": "3", "Meals": "2"})
    ws.save_settings(saved, accounts=ACCOUNTS)
    assert ws.settings() == saved
    assert ws.concept_mappings()["Travel"].account_name == "Travel"
    ws.save_settings(saved.replace(concepts={"Meals": "2"}))
    assert [m.concept for m in ConceptMapping.select()] == ["Meals"]
    assert ws.concept_mappings()["Meals"].account_name == "Job Materials", "name kept when the Id is unchanged"


def test_an_invalid_save_changes_nothing(db):
    from qbosync_desktop.core.paths import get_paths
    from qbosync_desktop.runtime.workspace import Workspace

    ws = Workspace(get_paths())
    with pytest.raises(ConfigurationError) as exc:
        ws.save_settings(SyncSettings(payments=True, deposit_account="4"))
    assert exc.value.field == "payments"
    assert ws.settings() == SyncSettings()
