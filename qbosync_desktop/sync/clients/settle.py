"""How the first merge of a matched client settles fields that differ: the person's answer at Review.

A client matched with an existing QuickBooks customer has no merge base yet. Without an answer every
field whose values differ (a phone, an address) would become an "ask me" conflict at once, and as
long as it stayed open no later edit of that field - on either side - would flow (issue 15: "from
then on QuickBooks edits to those fields never reach Work"). So Review asks once, per **field group**
for every matched client, and optionally per **record**:

* ``"quickbooks"`` - take QuickBooks' value into Work (the default for billing address, phone and
  email: the bookkeeper's copy is usually the one customers are billed from);
* ``"work"`` - send Work's value to QuickBooks;
* ``"as_is"`` - leave each side as it is (the default for names and the active switch: matching
  already decided they are the same client, and a standing difference is not a change).

Whichever is chosen, both sides have a base after Enable, so later edits flow by the normal
three-way merge. The answers are kept in ``SettingValue`` under :data:`KEY` (not a sync setting:
:class:`~qbosync_desktop.sync.rules.settings.SyncSettings` ignores the key).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qbosync_desktop.core.errors import ConfigurationError
from qbosync_desktop.store.db import database
from qbosync_desktop.store.models.connection import SettingValue
from qbosync_desktop.sync.clients.merge import AS_IS, QUICKBOOKS, SETTLE_CHOICES, WORK

#: The SettingValue key of the answers: ``{"groups": {group: choice}, "records": {work_id: {group: choice}}}``.
KEY = "decision.first_merge"
#: Field groups a person decides for, and the merged fields each covers.
GROUPS: dict[str, tuple[str, ...]] = {
    "name": ("name", "first_name", "last_name", "company_name"),
    "email": ("email",),
    "phone": ("phone",),
    "address": ("address",),
    "active": ("active",),
}
GROUP_LABELS = {"name": "Names", "email": "Email", "phone": "Phone", "address": "Billing address",
                "active": "Active"}
CHOICE_LABELS = {QUICKBOOKS: "Use QuickBooks' value", WORK: "Use Work's value", AS_IS: "Leave both as they are"}
DEFAULTS: dict[str, str] = {"name": AS_IS, "email": QUICKBOOKS, "phone": QUICKBOOKS, "address": QUICKBOOKS,
                            "active": AS_IS}
GROUP_OF = {f: g for g, fields in GROUPS.items() for f in fields}


def _check(group: str, choice: str) -> None:
    if group not in GROUPS:
        raise ConfigurationError(f"'{group}' is not a field group: choose one of {', '.join(GROUPS)}.",
                                 hint="For example: --settle phone=quickbooks", field="settle")
    if choice not in SETTLE_CHOICES:
        raise ConfigurationError(f"'{choice}' is not a choice for {GROUP_LABELS[group]}: choose "
                                 f"{', '.join(SETTLE_CHOICES)}.", hint="For example: --settle phone=quickbooks",
                                 field="settle")


def stored() -> dict[str, Any]:
    row = SettingValue.get_or_none(SettingValue.key == KEY)
    value = (row.value if row is not None else None) or {}
    return {"groups": dict(value.get("groups") or {}), "records": dict(value.get("records") or {})}


def groups() -> dict[str, str]:
    """The answer per field group (defaults for the groups never answered)."""
    return {**DEFAULTS, **stored()["groups"]}


def save(*, groups: Mapping[str, str] | None = None,
         records: Mapping[str, Mapping[str, str] | str | None] | None = None) -> dict[str, Any]:
    """Keep answers: ``groups`` {group: choice}; ``records`` {work_id: choice for every group, or
    {group: choice}, or None to forget the record's own answers (the group answers apply again)}.
    Earlier answers for other groups/records stay."""
    data = stored()
    for g, c in (groups or {}).items():
        _check(g, c)
        data["groups"][g] = c
    for wid, answer in (records or {}).items():
        if answer is None:
            data["records"].pop(str(wid), None)
            continue
        per = {g: answer for g in GROUPS} if isinstance(answer, str) else dict(answer)
        for g, c in per.items():
            _check(g, c)
        data["records"][str(wid)] = {**data["records"].get(str(wid), {}), **per}
    with database.atomic():
        SettingValue.insert(key=KEY, value=data).on_conflict_replace().execute()
    return data


def for_record(work_id: str, answers: Mapping[str, Any] | None = None) -> dict[str, str]:
    """field → choice for one record's first merge (its own answers over the groups')."""
    data = answers if answers is not None else stored()
    chosen = {**DEFAULTS, **(data.get("groups") or {}), **((data.get("records") or {}).get(str(work_id)) or {})}
    return {f: chosen[g] for f, g in GROUP_OF.items()}


def record_choice(work_id: str, answers: Mapping[str, Any] | None = None) -> str | None:
    """The one choice given for every group of this record (Review's per-record choice), or None
    when the record follows the group answers (or has answers that differ per group)."""
    data = answers if answers is not None else stored()
    own = (data.get("records") or {}).get(str(work_id)) or {}
    values = {own.get(g) for g in GROUPS}
    return next(iter(values)) if len(values) == 1 and None not in values else None


def record_answers(work_id: str, answers: Mapping[str, Any] | None = None) -> dict[str, str]:
    """field → choice from the answers given for this one record only (no group answers, no defaults)."""
    data = answers if answers is not None else stored()
    own = (data.get("records") or {}).get(str(work_id)) or {}
    return {f: own[g] for f, g in GROUP_OF.items() if g in own}


#: The key (in ``Link.synced``) of a client link the outbound phase made by name: the pair was never
#: shown at Review, so its first merge does not use the group answers (see :func:`record_answers`).
BY_NAME = "linked_by_name"


def linked_by_name(link: Any) -> bool:
    return bool((getattr(link, "synced", None) or {}).get(BY_NAME))


def group_answer(fieldname: str, answers: Mapping[str, Any] | None = None) -> str:
    """The answer of the group ``fieldname`` belongs to (ignoring per-record answers)."""
    data = answers if answers is not None else stored()
    return str({**DEFAULTS, **(data.get("groups") or {})}[GROUP_OF[fieldname]])
