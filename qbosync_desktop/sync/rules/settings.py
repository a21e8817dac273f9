"""The sync settings and the seeds' rules about them, made precise. Pure Python (the UI reuses it).

The Work seed fixes the shape of the settings page: Clients on by default and required for Invoices
and Payments ("a Client match is required for Invoices and Payments to sync"), Payments only active
when Invoices is selected, a required Income and Expense account when Invoices is on, a required
deposit account for Payments. The contractor seed adds bills: an Accounts Payable account and every
invoice concept mapped once to an expense account. The issue adds the start date, the conflict
policy, the schedule and "rename on name collision".

:func:`validate` returns *every* issue (the settings page marks each field at once); :func:`check`
raises the first one as a :class:`ConfigurationError` naming the field (the CLI's exit code 3).
The labels in :data:`LABELS` are the seed's own words so the UI, the CLI and the messages agree.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from qbosync_desktop.core.errors import ConfigurationError

ASK = "ask"
WORK_WINS = "work"
QUICKBOOKS_WINS = "quickbooks"
CONFLICT_POLICIES = (ASK, WORK_WINS, QUICKBOOKS_WINS)
CONFLICT_POLICY_LABELS = {ASK: "Ask me", WORK_WINS: "Work wins", QUICKBOOKS_WINS: "QuickBooks wins"}

MIN_SCHEDULE_MINUTES = 5
DEFAULT_SCHEDULE_MINUTES = 15

#: The seed's labels (and ours where the seed is silent), keyed by SyncSettings field name.
LABELS: dict[str, str] = {
    "clients": "Clients",
    "use_default_state": "Use default state",
    "sites": "Create Work Sites from QuickBooks Sub-Customers during onboarding",
    "sites_use_client_address": "Use Client state/country when creating Client Sites in Work",
    "invoices": "Invoices",
    "income_account": "Use this Income Account",
    "expense_account": "Use this Expense Account",
    "payments": "Payments",
    "deposit_account": "Deposit payments to this account",
    "bills": "Contractor bills",
    "ap_account": "Accounts Payable account for bills",
    "concepts": "Expense account for each invoice concept",
    "conflict_policy": "When a client changed in both places",
    "start_date": "Sync invoices dated from",
    "schedule_minutes": "Sync every (minutes)",
    "rename_on_collision": "Rename on name collision",
    "tax_amounts": "Tax amounts",
    "tax_codes": "QuickBooks tax code for each Work tax rate",
}

#: "Tax amounts" (issue 14): send the tax Work charged (the default), or let QuickBooks calculate it.
TAX_AS_CHARGED = "work"
TAX_QBO_CALCULATES = "quickbooks"
TAX_MODES = (TAX_AS_CHARGED, TAX_QBO_CALCULATES)
TAX_MODE_LABELS = {TAX_AS_CHARGED: "As charged in Work", TAX_QBO_CALCULATES: "Let QuickBooks calculate"}
TAX_MODE_HELP = ("“As charged in Work” sends each invoice's tax as Work charged it, so QuickBooks shows what the "
                 "customer was billed. “Let QuickBooks calculate” lets QuickBooks work out the tax itself; an "
                 "invoice whose QuickBooks total then differs from Work's is listed as a problem.")
#: The tax-code mapping's key for invoice lines Work charged no tax on (a company with tax codes
#: needs a code on every line: usually "Exempt" or "Zero-rated").
NOT_TAXABLE = "not-taxable"
NOT_TAXABLE_LABEL = "Lines without tax"

#: Switches (on/off) in display order; the others are values.
SWITCHES = ("clients", "use_default_state", "sites", "sites_use_client_address", "invoices", "payments", "bills",
            "rename_on_collision")

#: Which QBO account types each account setting accepts (QBO_API_NOTES "Account").
ACCOUNT_GROUPS: dict[str, tuple[str, ...]] = {
    "income": ("Income",),
    "expense": ("Expense", "Cost of Goods Sold"),
    "deposit": ("Bank", "Other Current Asset"),
    "ap": ("Accounts Payable",),
}
ACCOUNT_GROUP_LABELS = {
    "income": "an Income account",
    "expense": "an Expense or Cost of Goods Sold account",
    "deposit": "a Bank or Other Current Asset account",
    "ap": "an Accounts Payable account",
}
#: Account setting → the group its account must belong to. Concept mappings use "expense".
ACCOUNT_FIELDS: dict[str, str] = {
    "income_account": "income",
    "expense_account": "expense",
    "deposit_account": "deposit",
    "ap_account": "ap",
}


@dataclass
class SyncSettings:
    """What syncs and how. Account fields hold QuickBooks account Ids (strings)."""

    clients: bool = True
    use_default_state: bool = True
    sites: bool = False
    sites_use_client_address: bool = True
    invoices: bool = False
    income_account: str | None = None
    expense_account: str | None = None
    payments: bool = False
    deposit_account: str | None = None
    bills: bool = False
    ap_account: str | None = None
    concepts: dict[str, str] = field(default_factory=dict)
    conflict_policy: str = ASK
    start_date: dt.date | None = None
    schedule_minutes: int = DEFAULT_SCHEDULE_MINUTES
    rename_on_collision: bool = False
    tax_amounts: str = TAX_AS_CHARGED
    #: Work tax rate id (or :data:`NOT_TAXABLE`) → QuickBooks TaxCode Id; companies outside the US only
    tax_codes: dict[str, str] = field(default_factory=dict)

    def replace(self, **changes: Any) -> SyncSettings:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (dates as ISO strings); the stable shape of ``qbosync settings show --json``."""
        data = dataclasses.asdict(self)
        data["start_date"] = self.start_date.isoformat() if self.start_date else None
        data["concepts"] = dict(sorted(self.concepts.items()))
        data["tax_codes"] = dict(sorted(self.tax_codes.items()))
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SyncSettings:
        """Inverse of :meth:`to_dict`; unknown keys are ignored (a newer app's settings stay readable)."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        start = values.get("start_date")
        if isinstance(start, str):
            values["start_date"] = dt.date.fromisoformat(start)
        for key in ("concepts", "tax_codes"):
            if key in values:
                values[key] = dict(values[key] or {})
        return cls(**values)

    def effective_start_date(self, integration_date: dt.date | dt.datetime | None) -> dt.date | None:
        """Invoices sync from the integration date on (the seed), unless the user picked a start date."""
        if self.start_date is not None:
            return self.start_date
        if isinstance(integration_date, dt.datetime):
            return integration_date.date()
        return integration_date


@dataclass(frozen=True)
class TaxSetup:
    """What the tax-code mapping is checked against: the company's country, its tax codes (Id →
    name; None when not read) and Work's active tax rates (id → name)."""

    country: str
    rates: dict[str, str]
    codes: dict[str, str] | None = None

    @property
    def uses_tax_codes(self) -> bool:
        """A US company uses Automated Sales Tax (no mapping); any other country maps tax codes."""
        return self.country.upper() != "US"


#: the sync cursor keeping the connected company's country: "<realm id>|<country>" (written by the
#: invoices flow the first time it needs it; read by the window, which must not ask QuickBooks)
COUNTRY_CURSOR = "qbo.company.country"


def kept_country(cursor_value: str | None, realm_id: str | None) -> str | None:
    """The country kept in :data:`COUNTRY_CURSOR` for this company (None: not known for it)."""
    if not cursor_value or "|" not in cursor_value:
        return None
    realm, country = cursor_value.split("|", 1)
    return (country or None) if realm == (realm_id or "") else None


@dataclass(frozen=True)
class SettingsIssue:
    """One broken rule: the setting it is about, what is wrong, what to do."""

    field: str
    message: str
    hint: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "hint": self.hint}

    def to_error(self) -> ConfigurationError:
        return ConfigurationError(self.message, field=self.field, hint=self.hint)


def _q(key: str) -> str:
    return f"“{LABELS[key]}”"


def account_groups(accounts: Mapping[str, Iterable[Mapping[str, Any]]] | Iterable[Mapping[str, Any]]
                   ) -> dict[str, dict[str, str]]:
    """Account Id → Name per group, from ``QboClient.accounts()`` (grouped) or a flat list of accounts.

    A flat list (``Account`` objects as QuickBooks returns them) is grouped by ``AccountType`` with
    :data:`ACCOUNT_GROUPS`; inactive accounts are left out, as QuickBooks refuses references to them.
    """
    groups: dict[str, dict[str, str]] = {g: {} for g in ACCOUNT_GROUPS}
    if isinstance(accounts, Mapping):
        for group in ACCOUNT_GROUPS:
            for acct in accounts.get(group, ()):
                groups[group][str(acct["Id"])] = str(acct.get("Name", ""))
        return groups
    for acct in accounts:
        if acct.get("Active", True) is False:
            continue
        for group, types in ACCOUNT_GROUPS.items():
            if acct.get("AccountType") in types:
                groups[group][str(acct["Id"])] = str(acct.get("Name", ""))
    return groups


def _concept_names(concepts: Iterable[Any]) -> list[str]:
    names = []
    for c in concepts:
        name = c if isinstance(c, str) else (c.get("name") if isinstance(c, Mapping) else getattr(c, "name", None))
        if name:
            names.append(str(name))
    return names


def validate(
    settings: SyncSettings,
    accounts: Mapping[str, Iterable[Mapping[str, Any]]] | Iterable[Mapping[str, Any]] | None = None,
    concepts: Iterable[Any] | None = None,
    tax: TaxSetup | None = None,
) -> list[SettingsIssue]:
    """Every broken rule, in the order of the settings page.

    ``accounts`` (optional) lets the account settings be checked against the company's chart of
    accounts: an Id that is missing or of the wrong type is an issue. ``concepts`` (optional: Work's
    invoice concepts, names or objects with ``.name``) lets "every concept is mapped" be checked.
    ``tax`` (optional: the company's country and tax codes, Work's tax rates) lets "every Work tax
    rate has a QuickBooks tax code" be checked for a company outside the US. Without them only the combinations are checked (e.g. before QuickBooks is reachable).
    """
    s = settings
    issues: list[SettingsIssue] = []
    add = issues.append
    groups = account_groups(accounts) if accounts is not None else None

    if not s.clients and (s.invoices or s.payments):
        on = "Invoices and Payments are" if s.invoices and s.payments else f"{'Invoices' if s.invoices else 'Payments'} is"
        add(SettingsIssue(
            "clients",
            f"{_q('clients')} cannot be turned off while {on} on: every invoice and payment needs its client "
            "as a QuickBooks customer.",
            "Leave Clients on, or turn Invoices and Payments off first.",
        ))
    if s.payments and not s.invoices:
        add(SettingsIssue(
            "payments",
            f"{_q('payments')} can only be on while {_q('invoices')} is on: a payment is applied to its invoice "
            "in QuickBooks.",
            "Turn Invoices on (and choose its accounts), or turn Payments off.",
        ))

    def need_account(key: str, required: bool) -> None:
        value = getattr(s, key)
        group = ACCOUNT_FIELDS[key]
        if not value:
            if required:
                add(SettingsIssue(key, f"{_q(key)} is required: choose {ACCOUNT_GROUP_LABELS[group]}.",
                                  f"Choose {ACCOUNT_GROUP_LABELS[group]} from the company's accounts."))
            return
        if groups is not None and str(value) not in groups[group]:
            add(SettingsIssue(
                key,
                f"{_q(key)} must be {ACCOUNT_GROUP_LABELS[group]} of the connected company; account {value} is not.",
                f"Choose {ACCOUNT_GROUP_LABELS[group]} from the list ('qbosync accounts' shows them).",
            ))

    need_account("income_account", s.invoices)
    need_account("expense_account", s.invoices)
    need_account("deposit_account", s.payments)
    need_account("ap_account", s.bills)

    if s.bills or s.concepts:
        expense = groups["expense"] if groups is not None else None
        for concept, account in sorted(s.concepts.items()):
            if not account:
                add(SettingsIssue("concepts", f"The concept '{concept}' has no expense account.",
                                  f"Map the concept '{concept}' to an expense account in Sync Settings."))
            elif expense is not None and str(account) not in expense:
                add(SettingsIssue(
                    "concepts",
                    f"The concept '{concept}' is mapped to account {account}, which is not "
                    f"{ACCOUNT_GROUP_LABELS['expense']} of the connected company.",
                    f"Map the concept '{concept}' to an expense account in Sync Settings.",
                ))
        if s.bills and concepts is not None:
            for concept in _concept_names(concepts):
                if concept not in s.concepts:
                    add(SettingsIssue("concepts", f"The concept '{concept}' has no expense account.",
                                      f"Map the concept '{concept}' to an expense account in Sync Settings."))

    if s.tax_amounts not in TAX_MODES:
        add(SettingsIssue(
            "tax_amounts",
            f"{_q('tax_amounts')} must be one of: {', '.join(TAX_MODES)} (not '{s.tax_amounts}').",
            "Choose 'work' (As charged in Work) or 'quickbooks' (Let QuickBooks calculate).",
        ))
    if s.invoices and tax is not None and tax.uses_tax_codes:
        for key, name in [*sorted(tax.rates.items(), key=lambda kv: kv[1].casefold()), (NOT_TAXABLE, NOT_TAXABLE_LABEL)]:
            what = f"the Work tax rate '{name}'" if key != NOT_TAXABLE else "invoice lines without tax"
            code = s.tax_codes.get(key)
            if not code:
                add(SettingsIssue(
                    "tax_codes",
                    f"{_q('tax_codes')}: {what} has no QuickBooks tax code. This company uses tax codes, so "
                    "every invoice line needs one.",
                    f"Choose a QuickBooks tax code for {what} (for lines without tax usually “Exempt” or "
                    "“Zero-rated”).",
                ))
            elif tax.codes is not None and code not in tax.codes:
                add(SettingsIssue(
                    "tax_codes",
                    f"{_q('tax_codes')}: {what} is mapped to tax code {code}, which the connected company does "
                    "not have.",
                    f"Choose one of the company's tax codes for {what}.",
                ))

    if s.conflict_policy not in CONFLICT_POLICIES:
        add(SettingsIssue(
            "conflict_policy",
            f"{_q('conflict_policy')} must be one of: {', '.join(CONFLICT_POLICIES)} (not '{s.conflict_policy}').",
            "Choose 'ask' (Ask me), 'work' (Work wins) or 'quickbooks' (QuickBooks wins).",
        ))
    if not isinstance(s.schedule_minutes, int) or isinstance(s.schedule_minutes, bool) \
            or s.schedule_minutes < MIN_SCHEDULE_MINUTES:
        add(SettingsIssue(
            "schedule_minutes",
            f"{_q('schedule_minutes')} must be a whole number of at least {MIN_SCHEDULE_MINUTES}"
            f" (not {s.schedule_minutes!r}): QuickBooks limits how often a company may be read.",
            f"Enter {MIN_SCHEDULE_MINUTES} or more minutes.",
        ))
    return issues


def check(
    settings: SyncSettings,
    accounts: Mapping[str, Iterable[Mapping[str, Any]]] | Iterable[Mapping[str, Any]] | None = None,
    concepts: Iterable[Any] | None = None,
    tax: TaxSetup | None = None,
) -> None:
    """Raise the first issue of :func:`validate` as a :class:`ConfigurationError` naming its field."""
    issues = validate(settings, accounts, concepts, tax)
    if issues:
        raise issues[0].to_error()
