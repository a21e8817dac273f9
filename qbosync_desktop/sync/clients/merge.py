"""Three-way field merge for two-way records (Work clients ⇄ QuickBooks customers, sites during onboarding).

Why three-way: comparing only "Work now" with "QuickBooks now" cannot tell *who* changed a field, so
one side would silently overwrite the other. We keep a **base** per side: the canonical values we last
saw (and left in step) on Work and on QuickBooks. A field is *changed on a side* when that side's
current value differs from that side's base. Keeping one base per side (rather than one shared base)
matters because the two systems store equivalent values differently (QuickBooks may reformat a phone
number or keep "Brightside Dental LLC" where Work says "Brightside Dental" after a match): such a
standing difference is not a change on either side and must not ping-pong.

Rules:

* changed on one side only → that value flows to the other side;
* changed on both sides to equivalent values → nothing to write, both bases move on;
* changed on both sides differently → the conflict policy: ``"work"`` or ``"quickbooks"`` wins, or
  ``"ask"`` records a :class:`FieldConflict` (both values and the base) and writes nothing for that field,
  so nothing is overwritten silently;
* no base yet (a freshly matched pair): fields that are equivalent are left alone, a field empty on one
  side is filled from the other, and different non-empty values follow the policy as above;
* ``active`` is an ordinary field, so a customer made inactive in QuickBooks makes the client
  inactive in Work, and the reverse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from qbosync_desktop.sync.onboarding.matching import email_key, fold_accents, name_key, phone_key
from qbosync_desktop.sync.rules.addresses import country_name

Policy = Literal["ask", "work", "quickbooks"]
POLICIES: tuple[str, ...] = ("ask", "work", "quickbooks")
WORK, QUICKBOOKS = "work", "quickbooks"
#: Leave each side's value as it is (a first merge's answer; see :func:`merge` ``settle``).
AS_IS = "as_is"
SETTLE_CHOICES: tuple[str, ...] = (QUICKBOOKS, WORK, AS_IS)


def _text(v: object) -> str:
    return " ".join(str(v).split()) if v not in (None, "") else ""


def _plain(v: object) -> str:
    return fold_accents(_text(v)).casefold()


def _address_key(v: Any) -> Any:
    if not v:
        return ()
    parts = dict(v)
    return (
        _plain(parts.get("line1")),
        _plain(parts.get("line2")),
        _plain(parts.get("city")),
        _text(parts.get("state")).upper(),
        _text(parts.get("postal_code")).replace(" ", "").upper(),
        _plain(country_name(parts.get("country"))),
    )


#: How two values of a field are judged equivalent. Anything not listed compares on cleaned text.
#: field → the key two values are compared by (equal keys: the same value written differently)
EQUIVALENCE: dict[str, Callable[[Any], object]] = {
    "name": name_key,
    "first_name": name_key,
    "last_name": name_key,
    "company_name": name_key,
    "address": _address_key,
    "email": email_key,
    "phone": phone_key,
    "active": lambda v: bool(v) if v is not None else True,
    "state": lambda v: _text(v).upper(),
    "country": _plain,
    "city": _plain,
    "postal_code": lambda v: _text(v).replace(" ", "").upper(),
}


def equivalent(fieldname: str, a: Any, b: Any) -> bool:
    key = EQUIVALENCE.get(fieldname, _text)
    return key(a) == key(b)


def is_empty(fieldname: str, value: Any) -> bool:
    if fieldname == "active":
        return value is None
    if fieldname == "address":
        return not any(_text(p) for p in (value or {}).values())
    return _text(value) == ""


@dataclass(frozen=True)
class FieldConflict:
    """The same field changed differently on both sides under the "ask me" policy."""

    field: str
    work_value: Any
    qbo_value: Any
    base_value: Any


@dataclass
class MergeResult:
    """What to write where, and the bases to store once those writes are committed."""

    to_work: dict[str, Any] = field(default_factory=dict)
    to_qbo: dict[str, Any] = field(default_factory=dict)
    conflicts: list[FieldConflict] = field(default_factory=list)
    #: (field, winner) for both-sides changes decided by the policy, for the audit log.
    decided: list[tuple[str, str]] = field(default_factory=list)
    #: The new per-side bases (valid after the writes succeed). Conflicted fields keep their old base,
    #: so the next run still sees them as changed until the person resolves them.
    base_work: dict[str, Any] = field(default_factory=dict)
    base_qbo: dict[str, Any] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.to_work or self.to_qbo)


def merge(
    work: Mapping[str, Any],
    qbo: Mapping[str, Any],
    *,
    base_work: Mapping[str, Any] | None,
    base_qbo: Mapping[str, Any] | None,
    policy: str = "ask",
    fields: tuple[str, ...] | None = None,
    settle: Mapping[str, str] | None = None,
) -> MergeResult:
    """Merge one record. ``work``/``qbo`` hold canonical field values (same names on both sides).

    ``settle`` (field → ``"work"``, ``"quickbooks"`` or ``"as_is"``) is the person's answer, given
    once at Review, for a field without a base whose values differ on a freshly matched pair: take one
    side's value, or leave each side as it is (each side's value becomes its own base). Such a field
    then never becomes an "ask me" conflict: a baseline exists from the first merge on (issue 15).
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown conflict policy {policy!r}")
    names = fields or tuple(dict.fromkeys([*work.keys(), *qbo.keys()]))
    res = MergeResult()
    for f in names:
        w, q = work.get(f), qbo.get(f)
        new_w, new_q = w, q  # the values each side will hold after the writes
        if base_work is None or base_qbo is None or f not in base_work or f not in base_qbo:
            w_changed = q_changed = True
            if equivalent(f, w, q):
                w_changed = q_changed = False
            elif is_empty(f, w):
                w_changed = False
            elif is_empty(f, q):
                q_changed = False
            bw = bq = None
        else:
            bw, bq = base_work[f], base_qbo[f]
            w_changed = not equivalent(f, w, bw)
            q_changed = not equivalent(f, q, bq)

        choice = (settle or {}).get(f) if bw is None and bq is None else None
        if w_changed and q_changed and choice in SETTLE_CHOICES:
            if choice == AS_IS:
                res.base_work[f], res.base_qbo[f] = w, q
                continue
            res.decided.append((f, str(choice)))
            if choice == WORK:
                res.to_qbo[f] = new_q = w
            else:
                res.to_work[f] = new_w = q
        elif w_changed and q_changed and not equivalent(f, w, q):
            if policy == "ask":
                res.conflicts.append(FieldConflict(f, w, q, bw if bw is not None else bq))
                # keep the old bases: the field stays "changed" on both sides until resolved
                res.base_work[f], res.base_qbo[f] = bw, bq
                continue
            winner = WORK if policy == "work" else QUICKBOOKS
            res.decided.append((f, winner))
            if winner == WORK:
                res.to_qbo[f] = new_q = w
            else:
                res.to_work[f] = new_w = q
        elif w_changed and not q_changed:
            res.to_qbo[f] = new_q = w
        elif q_changed and not w_changed:
            res.to_work[f] = new_w = q
        res.base_work[f], res.base_qbo[f] = new_w, new_q
    return res


def resolve(conflict: FieldConflict, keep: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Writes that settle a conflict: ``keep="work"`` sends the Work value to QuickBooks, and vice versa.

    Returns ``(to_work, to_qbo)``.
    """
    if keep == WORK:
        return {}, {conflict.field: conflict.work_value}
    if keep == QUICKBOOKS:
        return {conflict.field: conflict.qbo_value}, {}
    raise ValueError("keep must be 'work' or 'quickbooks'")
