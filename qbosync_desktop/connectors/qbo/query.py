"""Literal quoting and a small SELECT builder for the QuickBooks query language.

Why this module exists: QuickBooks answers an unescaped quote with fault 4000 "Error parsing query",
and customer names are full of apostrophes ("O'Brien Plumbing"). A value that reaches a query through
string formatting is a bug waiting for the first Irish customer, so every value goes through
:func:`quote` and every query built in the app goes through :class:`Select`.

Grammar (QBO_API_NOTES.md): ``SELECT * | count(*) | f, f... FROM Entity [WHERE f op v [AND ...]]
[ORDERBY f [ASC|DESC]] [STARTPOSITION n] [MAXRESULTS n]``; operators ``= < > <= >= IN LIKE``;
no OR, no JOIN. Strings in single quotes with ``\\`` and ``'`` backslash-escaped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal

OPERATORS = frozenset({"=", "<", ">", "<=", ">=", "IN", "LIKE"})
MAX_RESULTS = 1000
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")


def quote(value: object) -> str:
    """Render one Python value as a QBO query literal.

    Strings are single-quoted with backslash and quote escaped (Intuit's rule; order matters: the
    backslash first, or the escape we add for a quote would itself be doubled). Booleans become
    ``true``/``false``, numbers are bare, datetimes become quoted ISO 8601 (naive ones are taken as
    UTC, because QBO compares ``MetaData.LastUpdatedTime`` as an instant), and a list/tuple/set becomes
    the ``(a, b)`` operand of ``IN``.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal, float)):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return quote(value.isoformat(timespec="seconds"))
    if isinstance(value, date):
        return quote(value.isoformat())
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else list(value)
        if not items:
            raise ValueError("IN needs at least one value")
        return "(" + ", ".join(quote(v) for v in items) + ")"
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace("'", "\\'")
        return f"'{escaped}'"
    raise TypeError(f"cannot use a {type(value).__name__} in a QuickBooks query")


def _check_field(name: str) -> str:
    """Field and entity names are ours, never user data; a malformed one is a programming error."""
    if not _FIELD.match(name):
        raise ValueError(f"not a QuickBooks field name: {name!r}")
    return name


def condition(field_name: str, op: str, value: object) -> str:
    """One ``field op literal`` term, with the operator checked against the grammar."""
    op_norm = op.upper()
    if op_norm not in OPERATORS:
        raise ValueError(f"QuickBooks queries do not support the operator {op!r}")
    return f"{_check_field(field_name)} {op_norm} {quote(value)}"


@dataclass
class Select:
    """``Select("Customer").where("DisplayName", "=", name).order_by("Id").sql()``.

    Conditions are AND-ed (the grammar has no OR). :meth:`page` adds STARTPOSITION/MAXRESULTS, which
    the client uses to walk 1000-row pages.
    """

    entity: str
    count: bool = False
    conditions: list[str] = field(default_factory=list)
    order: str | None = None
    #: the fields to return (QuickBooks adds ``Id``); None for every field (``SELECT *``)
    fields: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        _check_field(self.entity)
        for name in self.fields or ():
            _check_field(name)

    def where(self, field_name: str, op: str, value: object) -> Select:
        self.conditions.append(condition(field_name, op, value))
        return self

    def where_raw(self, clause: str | None) -> Select:
        """Add an already-built clause (e.g. ``Active IN (true, false)``); values must come from quote()."""
        if clause:
            self.conditions.append(clause.strip())
        return self

    def order_by(self, field_name: str | None, descending: bool = False) -> Select:
        if field_name:
            parts = field_name.split()
            name = _check_field(parts[0])
            desc = descending or (len(parts) > 1 and parts[1].upper() == "DESC")
            self.order = f"{name} {'DESC' if desc else 'ASC'}"
        return self

    def sql(self) -> str:
        what = "count(*)" if self.count else ", ".join(self.fields) if self.fields else "*"
        text = f"SELECT {what} FROM {self.entity}"
        if self.conditions:
            text += " WHERE " + " AND ".join(self.conditions)
        if self.order and not self.count:
            text += f" ORDERBY {self.order}"
        return text

    def page(self, start_position: int, max_results: int = MAX_RESULTS) -> str:
        if start_position < 1:
            raise ValueError("STARTPOSITION is 1-based")
        if not 1 <= max_results <= MAX_RESULTS:
            raise ValueError(f"MAXRESULTS must be 1..{MAX_RESULTS}")
        return f"{self.sql()} STARTPOSITION {start_position} MAXRESULTS {max_results}"


def in_list(field_name: str, values: Iterable[object]) -> str:
    """``field IN ('a', 'b')`` - convenience for lookups by several names or ids."""
    return condition(field_name, "IN", list(values))
