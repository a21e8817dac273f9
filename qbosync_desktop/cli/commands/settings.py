"""``qbosync settings show [--json]`` and ``qbosync settings set KEY=VALUE ...``.

Keys are the :class:`~qbosync_desktop.sync.rules.settings.SyncSettings` field names, plus
``concept.<name>`` for the contractor seed's concept → expense account mappings. Switches take
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
    SWITCHES,
    SyncSettings,
    account_groups,
)

if TYPE_CHECKING:
    from qbosync_desktop.runtime.workspace import Workspace

log = logging.getLogger(__name__)

ON = {"on", "true", "yes", "1", "y"}
OFF = {"off", "false", "no", "0", "n"}
NONE = {"", "none", "default", "-"}
KEYS = tuple(k for k in SyncSettings().to_dict() if k != "concepts") + ("concept.<name>",)


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
        if key not in KEYS and not (key.startswith("concept.") and len(key) > len("concept.")):
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


def apply_assignments(
    settings: SyncSettings, pairs: list[tuple[str, str]], groups: Mapping[str, Mapping[str, str]] | None
) -> SyncSettings:
    """A new SyncSettings with the assignments applied (not yet validated, not saved)."""
    changes: dict[str, Any] = {}
    concepts = dict(settings.concepts)
    for key, value in pairs:
        if key.startswith("concept."):
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
    return settings.replace(**changes)


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
    return {"settings": s.to_dict(), "labels": dict(LABELS), "concept_account_names": names,
            "account_names": ws.account_names()}


def print_settings(s: SyncSettings, names: Mapping[str, str] | None = None) -> None:
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
            print_settings(s, ws.account_names())
    return 0


def run_set(args: argparse.Namespace) -> int:
    pairs = parse_assignments(args.assignments)
    with workspace() as ws:
        # Values that need no company data (switches, dates, numbers) are checked first: a typo there
        # is a settings error, whatever the state of the QuickBooks connection.
        offline = [(k, v) for k, v in pairs if k not in ACCOUNT_FIELDS and not k.startswith("concept.")]
        apply_assignments(ws.settings(), offline, None)
        accounts = company_accounts(ws)
        groups = account_groups(accounts) if accounts is not None else None
        new = apply_assignments(ws.settings(), pairs, groups)
        ws.save_settings(new, accounts=accounts, concepts=work_concepts(ws) if new.bills else None)
        if args.json:
            print_json(settings_view(ws, new))
        else:
            print("Saved.")
            print_settings(new, ws.account_names())
    return 0
