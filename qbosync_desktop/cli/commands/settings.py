"""``qbosync settings show [--json]`` and ``qbosync settings set KEY=VALUE ...``.

Keys are the :class:`~qbosync_desktop.sync.rules.settings.SyncSettings` field names, plus
``concept.<name>`` for the contractor seed's concept → expense account mappings, and
``tax_code.<Work tax rate name or id | not-taxable>`` for a non-US company's tax codes (a code Id or
name; ``tax_amounts`` is ``work`` (as charged in Work, the default) or ``quickbooks``). Switches take
on/off (also true/false, yes/no, 1/0); accounts take an Id or a name (matched in the group the setting
accepts, so "Services" picks the Income account of that name). All assignments are applied together
and validated as one: an invalid combination is refused naming the field (exit code 3) and nothing is
saved.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from qbosync_desktop.cli.common import add_json, symbol, workspace
from qbosync_desktop.cli.output import print_json
from qbosync_desktop.core import errors
from qbosync_desktop.sync.rules.settings import (
    ACCOUNT_FIELDS,
    ACCOUNT_GROUP_LABELS,
    CONFLICT_POLICIES,
    CONFLICT_POLICY_LABELS,
    LABELS,
    NOT_TAXABLE,
    NOT_TAXABLE_LABEL,
    SWITCHES,
    TAX_MODE_LABELS,
    TAX_MODES,
    SyncSettings,
    TaxSetup,
    account_groups,
)

if TYPE_CHECKING:
    from qbosync_desktop.runtime.workspace import Workspace

log = logging.getLogger(__name__)

ON = {"on", "true", "yes", "1", "y"}
OFF = {"off", "false", "no", "0", "n"}
NONE = {"", "none", "default", "-"}
KEYS = tuple(k for k in SyncSettings().to_dict() if k not in ("concepts", "tax_codes")) + ("concept.<name>",
                                                                                        "tax_code.<rate>")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("settings", help="show or change the sync settings")
    ss = p.add_subparsers(dest="settings_command", metavar="ACTION")
    show = ss.add_parser("show", help="print the sync settings")
    add_json(show)
    show.set_defaults(func=run_show)
    st = ss.add_parser("set", help="change settings: KEY=VALUE ... (keys: " + " ".join(KEYS) + ")")
    st.add_argument("assignments", nargs="+", metavar="KEY=VALUE")
    add_json(st)
    st.set_defaults(func=run_set)
    p.set_defaults(func=lambda args: _usage(p))


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help()
    return 3


# -- parsing ---------------------------------------------------------------------------------------
def parse_assignments(items: Iterable[str]) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise errors.ConfigurationError(
                f"'{item}' is not a KEY=VALUE assignment.", field=key or None,
                hint="Write each change as KEY=VALUE, e.g. 'invoices=on income_account=Services'.",
            )
        if key not in KEYS and not any(key.startswith(p) and len(key) > len(p) for p in ("concept.", "tax_code.")):
            raise errors.ConfigurationError(
                f"There is no setting called '{key}'.", field=key,
                hint="Settings: " + ", ".join(KEYS) + ".",
            )
        pairs.append((key, value.strip()))
    return pairs


def _switch(key: str, value: str) -> bool:
    v = value.lower()
    if v in ON:
        return True
    if v in OFF:
        return False
    raise errors.ConfigurationError(f"{LABELS[key]} is a switch: use on or off (not '{value}').", field=key,
                                    hint=f"Write {key}=on or {key}=off.")


def resolve_account(key: str, value: str, group: str, groups: Mapping[str, Mapping[str, str]] | None) -> str:
    """An account Id from an Id or a name, looked up in the group the setting accepts.

    Without the company's accounts (QuickBooks not connected) only Ids can be taken, as given; the
    rules check their type once the accounts can be read.
    """
    label = LABELS.get(key, key)
    if groups is None:
        if value.isdigit():
            return value
        raise errors.NotConnected(
            f"The account '{value}' for {label} can only be looked up by name once QuickBooks is connected.",
            hint="Run 'qbosync connect' first, or give the account's Id.",
        )
    choices = groups[group]
    if value in choices:
        return value
    folded = value.casefold()
    for acct_id, name in choices.items():
        if name.casefold() == folded:
            return acct_id
    listing = ", ".join(f"{n} ({i})" for i, n in sorted(choices.items(), key=lambda kv: kv[1])) or "none"
    raise errors.ConfigurationError(
        f"{label}: there is no {ACCOUNT_GROUP_LABELS[group].removeprefix('a ').removeprefix('an ')} "
        f"named or numbered '{value}' in the company.",
        field=key if key in LABELS else "concepts",
        hint=f"Choose one of: {listing}.",
    )


def _tax_code_assignment(key: str, value: str, tax: TaxSetup | None) -> tuple[str, str | None]:
    """``tax_code.<rate>=<code>`` → (rate key, code Id or None to forget it), names matched without case."""
    if tax is None:
        raise errors.ConfigurationError(
            f"{LABELS['tax_codes']}: the company's tax codes cannot be read right now.", field="tax_codes",
            hint="Connect QuickBooks and Work first ('qbosync connect'), then set the tax codes.")
    rate = key[len("tax_code."):]
    if rate.casefold() in (NOT_TAXABLE, NOT_TAXABLE_LABEL.casefold()):
        rate_id: str | None = NOT_TAXABLE
    else:
        rate_id = rate if rate in tax.rates else next(
            (rid for rid, name in tax.rates.items() if name.casefold() == rate.casefold()), None)
    if rate_id is None:
        raise errors.ConfigurationError(
            f"{LABELS['tax_codes']}: Work has no active tax rate '{rate}'.", field="tax_codes",
            hint="Use one of: " + ", ".join(sorted(tax.rates.values())) + f", or {NOT_TAXABLE}.")
    if value.lower() in NONE:
        return rate_id, None
    codes = tax.codes or {}
    code = value if value in codes else next((cid for cid, n in codes.items() if n.casefold() == value.casefold()), None)
    if code is None:
        raise errors.ConfigurationError(
            f"{LABELS['tax_codes']}: the company has no tax code '{value}'.", field="tax_codes",
            hint="Use one of: " + (", ".join(sorted(codes.values())) or "(none: a US company needs no tax codes)") + ".")
    return rate_id, code


def apply_assignments(
    settings: SyncSettings, pairs: list[tuple[str, str]], groups: Mapping[str, Mapping[str, str]] | None,
    tax: TaxSetup | None = None,
) -> SyncSettings:
    """A new SyncSettings with the assignments applied (not yet validated, not saved)."""
    changes: dict[str, Any] = {}
    concepts = dict(settings.concepts)
    tax_codes = dict(settings.tax_codes)
    for key, value in pairs:
        if key.startswith("tax_code."):
            rate_id, code = _tax_code_assignment(key, value, tax)
            if code is None:
                tax_codes.pop(rate_id, None)
            else:
                tax_codes[rate_id] = code
        elif key == "tax_amounts":
            v = {"as-charged": "work", "as_charged": "work", "qbo": "quickbooks", "calculate": "quickbooks"}.get(
                value.lower(), value.lower())
            if v not in TAX_MODES:
                raise errors.ConfigurationError(
                    f"{LABELS[key]}: '{value}' is not a choice.", field=key,
                    hint="Use tax_amounts=work (As charged in Work) or quickbooks (Let QuickBooks calculate).")
            changes[key] = v
        elif key.startswith("concept."):
            name = key[len("concept."):]
            if value.lower() in NONE:
                concepts.pop(name, None)
            else:
                concepts[name] = resolve_account(key, value, "expense", groups)
        elif key in SWITCHES:
            changes[key] = _switch(key, value)
        elif key in ACCOUNT_FIELDS:
            changes[key] = None if value.lower() in NONE else resolve_account(key, value, ACCOUNT_FIELDS[key], groups)
        elif key == "conflict_policy":
            v = value.lower().replace("-wins", "").replace("_wins", "").replace("ask-me", "ask").replace("qbo", "quickbooks")
            if v not in CONFLICT_POLICIES:
                raise errors.ConfigurationError(
                    f"{LABELS[key]}: '{value}' is not a choice.", field=key,
                    hint="Use conflict_policy=ask (Ask me), work (Work wins) or quickbooks (QuickBooks wins).",
                )
            changes[key] = v
        elif key == "start_date":
            try:
                changes[key] = None if value.lower() in NONE else dt.date.fromisoformat(value)
            except ValueError:
                raise errors.ConfigurationError(
                    f"{LABELS[key]}: '{value}' is not a date.", field=key,
                    hint="Write the date as YYYY-MM-DD, or start_date=none for the integration date.",
                ) from None
        elif key == "schedule_minutes":
            try:
                changes[key] = int(value)
            except ValueError:
                raise errors.ConfigurationError(
                    f"{LABELS[key]}: '{value}' is not a whole number of minutes.", field=key,
                    hint="Write e.g. schedule_minutes=15.",
                ) from None
    changes["concepts"] = concepts
    changes["tax_codes"] = tax_codes
    return settings.replace(**changes)


def company_tax(ws: Workspace) -> TaxSetup | None:
    """The company's country and tax codes and Work's tax rates, or None when either side is not
    connected or cannot be reached right now (the engine still makes an unmapped rate a problem)."""
    conn = ws.connection
    if conn is None or not conn.qbo_connected or not conn.work_connected:
        return None
    try:
        return ws.tax_setup()
    except (errors.ConnectionProblem, errors.WorkApiError, errors.NotConnected, errors.QuickBooksError) as exc:
        log.warning("Could not read the tax setup (%s); not checking the tax codes", exc.message)
        return None


def company_accounts(ws: Workspace) -> dict[str, list[dict[str, Any]]] | None:
    """The company's accounts grouped, or None when QuickBooks is not connected (yet)."""
    conn = ws.connection
    if conn is None or not conn.qbo_connected:
        return None
    return ws.qbo_client().accounts()


def work_concepts(ws: Workspace) -> list[Any] | None:
    """Work's invoice concepts, or None if Work is not connected or cannot be reached right now.

    Only used to check "every concept is mapped" early; the engine still turns a concept that
    appears later into a clear problem, so an unreachable Work must not block saving settings.
    """
    conn = ws.connection
    if conn is None or not conn.work_connected:
        return None
    try:
        return list(ws.work_client().invoice_concepts())
    except (errors.ConnectionProblem, errors.WorkApiError, errors.NotConnected) as exc:
        log.warning("Could not read Work's invoice concepts (%s); not checking that every one is mapped", exc.message)
        return None


# -- output ----------------------------------------------------------------------------------------
def settings_view(ws: Workspace, s: SyncSettings) -> dict[str, Any]:
    """The stable JSON of ``settings show --json``: values, plus account names where known."""
    names = {m.concept: m.account_name for m in ws.concept_mappings().values()}
    tax = {m.rate: {"rate": m.rate_name, "code": m.code_name} for m in ws.tax_code_mappings().values()}
    return {"settings": s.to_dict(), "labels": dict(LABELS), "concept_account_names": names,
            "account_names": ws.account_names(), "tax_code_names": tax}


def _tax_codes_text(mapping: Mapping[str, str], names: Mapping[str, tuple[str | None, str | None]]) -> str:
    """"Denver → GST (4), Lines without tax → Exempt (6)": the names saved with the mapping."""
    parts = []
    for rate_id, code in sorted(mapping.items()):
        rate_name, code_name = names.get(rate_id, (None, None))
        rate = NOT_TAXABLE_LABEL if rate_id == NOT_TAXABLE else (rate_name or rate_id)
        parts.append(f"{rate} {symbol('→', '->')} {f'{code_name} ({code})' if code_name else code}")
    return ", ".join(parts)


def print_settings(s: SyncSettings, names: Mapping[str, str] | None = None,
                   tax_names: Mapping[str, tuple[str | None, str | None]] | None = None) -> None:
    """One line per setting: label, value (accounts by name, as saved with the settings, with the Id
    in brackets), then the ``[key]`` to use with ``settings set``, in one aligned column."""
    names = names or {}

    def account(acct_id: str) -> str:
        name = names.get(str(acct_id))
        return f"{name} ({acct_id})" if name else str(acct_id)

    rows = []
    for key, label in LABELS.items():
        value = getattr(s, key)
        if key in SWITCHES:
            shown = "on" if value else "off"
        elif key == "conflict_policy":
            shown = f"{value} ({CONFLICT_POLICY_LABELS.get(value, value)})"
        elif key == "start_date":
            shown = value.isoformat() if value else "the integration date"
        elif key == "tax_amounts":
            shown = f"{value} ({TAX_MODE_LABELS.get(value, value)})"
        elif key == "tax_codes":
            shown = _tax_codes_text(value, tax_names or {}) or "none (a US company needs none)"
        elif key == "concepts":
            shown = ", ".join(f"{c} {symbol('→', '->')} {account(a)}" for c, a in sorted(value.items())) or "none mapped"
        else:
            shown = "not chosen" if value is None else account(value)
        rows.append((label, shown, key))
    width = max(len(label) for label, _, _ in rows)
    value_width = max(len(shown) for _, shown, _ in rows)
    for label, shown, key in rows:
        print(f"{label:<{width}}  {shown:<{value_width}}  [{key}]")


def run_show(args: argparse.Namespace) -> int:
    with workspace() as ws:
        s = ws.settings()
        if args.json:
            print_json(settings_view(ws, s))
        else:
            print_settings(s, ws.account_names(), _tax_names(ws))
    return 0


def _tax_names(ws: Workspace) -> dict[str, tuple[str | None, str | None]]:
    return {m.rate: (m.rate_name, m.code_name) for m in ws.tax_code_mappings().values()}


def run_set(args: argparse.Namespace) -> int:
    pairs = parse_assignments(args.assignments)
    with workspace() as ws:
        # Values that need no company data (switches, dates, numbers) are checked first: a typo there
        # is a settings error, whatever the state of the QuickBooks connection.
        offline = [(k, v) for k, v in pairs if k not in ACCOUNT_FIELDS
                   and not k.startswith("concept.") and not k.startswith("tax_code.")]
        apply_assignments(ws.settings(), offline, None)
        accounts = company_accounts(ws)
        groups = account_groups(accounts) if accounts is not None else None
        invoices_on = dict(offline).get("invoices")
        wants_tax = any(k.startswith("tax_code.") for k, _ in pairs) or (
            ws.settings().invoices if invoices_on is None else invoices_on.lower() in ON)
        tax = company_tax(ws) if wants_tax else None
        new = apply_assignments(ws.settings(), pairs, groups, tax)
        ws.save_settings(new, accounts=accounts, concepts=work_concepts(ws) if new.bills else None, tax=tax)
        if args.json:
            print_json(settings_view(ws, new))
        else:
            print("Saved.")
            print_settings(new, ws.account_names(), _tax_names(ws))
    return 0
