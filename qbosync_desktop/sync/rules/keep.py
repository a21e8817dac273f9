"""What the first sync would change on records QuickBooks already has, and the person's "keep
QuickBooks' value" decisions (issue 15: "No silent overwrite").

Enable used to overwrite an existing QuickBooks item's price (120 → 89) with the preview saying only
"items update 1". Now every planned update of an *existing* QuickBooks record (one we did not create:
an item with the same name, a matched customer) carries its field-by-field ``changes``
(``[{field, before, after}]``), which the Review page and ``qbosync preview`` list. Per record the
person may keep QuickBooks' values: the record is then linked without the update (no request), and
its link keeps the fingerprint of the Work content at that moment, so later syncs leave it alone
until Work changes the record again.

Decisions are kept in ``SettingValue`` under :data:`KEY` as ``{kind: [QuickBooks Id, ...]}`` (not a
sync setting: :class:`~qbosync_desktop.sync.rules.settings.SyncSettings` ignores the key); forgetting
the links (another company) forgets them too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from qbosync_desktop.core.errors import ConfigurationError
from qbosync_desktop.store.db import database
from qbosync_desktop.store.models.connection import SettingValue

KEY = "decision.keep_qbo"
#: The kinds whose existing QuickBooks records the first sync may update (``--keep-qbo KIND:ID``).
KINDS = ("item", "client")


def stored() -> dict[str, list[str]]:
    row = SettingValue.get_or_none(SettingValue.key == KEY)
    value = (row.value if row is not None else None) or {}
    return {str(k): [str(i) for i in v] for k, v in value.items()}


def kept(kind: str, qbo_id: str, decisions: Mapping[str, list[str]] | None = None) -> bool:
    return str(qbo_id) in (decisions if decisions is not None else stored()).get(kind, [])


def parse(specs: Iterable[str]) -> list[tuple[str, str]]:
    """``["item:12", "client:7"]`` → ``[("item", "12"), ("client", "7")]`` (QuickBooks Ids)."""
    out = []
    for spec in specs:
        kind, _, qbo_id = str(spec).partition(":")
        if kind not in KINDS or not qbo_id.strip():
            raise ConfigurationError(
                f"'{spec}' is not a record to keep: write KIND:ID with KIND one of {', '.join(KINDS)} and "
                "the QuickBooks Id the preview shows.",
                hint="For example: qbosync preview --keep-qbo item:12", field="keep_qbo")
        out.append((kind, qbo_id.strip()))
    return out


def save(pairs: Iterable[tuple[str, str]], *, keep: bool = True) -> dict[str, list[str]]:
    """Record (or with ``keep=False`` withdraw) "keep QuickBooks' value" for these records."""
    data = stored()
    for kind, qbo_id in pairs:
        ids = data.setdefault(kind, [])
        if keep and str(qbo_id) not in ids:
            ids.append(str(qbo_id))
        elif not keep and str(qbo_id) in ids:
            ids.remove(str(qbo_id))
    with database.atomic():
        SettingValue.insert(key=KEY, value=data).on_conflict_replace().execute()
    return data


def _plain(value: Any) -> Any:
    """A QuickBooks value as a person compares it: a reference by its id, a number as a number."""
    if isinstance(value, dict) and "value" in value:
        return str(value["value"])
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return round(float(value), 2)
    return value


def same(a: Any, b: Any) -> bool:
    """Two values of a field are the same as a person compares them."""
    return bool(_plain(a) == _plain(b))


def field_changes(current: Mapping[str, Any], body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each top-level field of ``body`` whose value differs from ``current`` (QuickBooks now):
    ``[{"field", "before", "after"}]``, in the body's order."""
    out = []
    for f, after in body.items():
        if f in ("Id", "SyncToken", "sparse"):
            continue
        before = current.get(f)
        if _plain(before) != _plain(after):
            out.append({"field": f, "before": _plain(before), "after": _plain(after)})
    return out


def describe(changes: Iterable[Mapping[str, Any]]) -> str:
    """``UnitPrice 120.0 → 89.0, Description ...`` (one line, for reasons and the audit)."""
    return ", ".join(f"{c['field']} {_text(c.get('before'))} \u2192 {_text(c.get('after'))}" for c in changes)


def _text(value: Any) -> str:
    return "(empty)" if value in (None, "") else str(value)
