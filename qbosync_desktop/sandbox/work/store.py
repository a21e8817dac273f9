"""The demo server's records: reads, keyset paging, versioned writes, bulk loading.

Paging is keyset paging over ``(updated_at, id)``; the cursor is the last row handed out. A record
changed while a client pages gets a new, larger ``updated_at`` and so moves *behind* the cursor: the
client meets it again on a later page (perhaps twice; its ``version`` tells the copies apart) and is
never skipped. Records nobody touches keep their place. Offsets would skip a record each time one
ahead of the cursor moved to the end.

Every write holds one lock while it takes its timestamp and commits, so commit order equals timestamp
order: a reader can never see a change stamped *later* than one it has not seen yet.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import peewee

from qbosync_desktop.sandbox.work.clock import MonotonicClock, parse_iso, to_iso
from qbosync_desktop.sandbox.work.db import CONTRACT_PREFIX, RESOURCES, WorkDatabase
from qbosync_desktop.sandbox.work.rules import (
    READ_TIME,
    ApiError,
    check_references,
    compute,
    upgrade,
    validate,
    with_defaults,
)

ZERO = Decimal(0)
CENT = Decimal("0.01")
MAX_LIMIT = 500
DEFAULT_LIMIT = 100
SINGULAR = {
    "clients": "client", "sites": "site", "items": "item", "invoices": "invoice", "payments": "payment",
    "contractors": "contractor", "contractor-invoices": "contractor invoice",
    "invoice-concepts": "invoice concept", "company": "company", "tax-rates": "tax rate",
    "credit-notes": "credit note", "refunds": "refund",
}
#: The table and the JSON field that point a settling record at what it settles.
SETTLES = {"payments": ("payments", "invoice_id"), "credit-notes": ("credit_notes", "invoice_id"),
           "refunds-of-payments": ("refunds", "payment_id"), "refunds-of-credit-notes": ("refunds", "credit_note_id")}


def encode_cursor(updated_at: int, row_id: int, since: int | None) -> str:
    raw = json.dumps([updated_at, row_id, since], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int, int | None]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        updated_at, row_id, since = json.loads(raw)
        if not all(isinstance(v, int) for v in (updated_at, row_id)) or not (since is None or isinstance(since, int)):
            raise ValueError
        return updated_at, row_id, since
    except (ValueError, TypeError, binascii.Error):
        raise ApiError(400, "invalid_request", "The cursor is not valid; start again without one.",
                       {"parameter": "cursor"}) from None


class WorkStore:
    """All record access for one demo server (HTTP handlers and the Work-user handle share it)."""

    def __init__(self, wdb: WorkDatabase, clock: MonotonicClock | None = None) -> None:
        self.wdb = wdb
        self.clock = clock or MonotonicClock()
        self.clock.advance_to(wdb.max_updated_at())
        self.write_lock = threading.RLock()

    # -- ids ---------------------------------------------------------------------------------------
    @staticmethod
    def public_id(resource: str, row_id: int) -> str:
        return RESOURCES[resource][1] + str(row_id)

    @staticmethod
    def row_id(resource: str, public_id: str) -> int | None:
        prefix = RESOURCES[resource][1]
        if not isinstance(public_id, str) or not public_id.startswith(prefix) or not public_id[len(prefix):].isdigit():
            return None
        return int(public_id[len(prefix):])

    def render(self, resource: str, row: Any) -> dict[str, Any]:
        data = upgrade(resource, json.loads(row.data))
        return {"id": self.public_id(resource, row.id), "version": row.version,
                "created_at": to_iso(row.created_at), "updated_at": to_iso(row.updated_at), **data}

    def _render_all(self, resource: str, rows: list[Any]) -> list[dict[str, Any]]:
        records = [self.render(resource, r) for r in rows]
        if resource == "invoices" and records:
            ids = [r["id"] for r in records]
            settled = self.settled("payments", ids if len(ids) <= MAX_LIMIT else None)
            credited = self.settled("credit-notes", ids if len(ids) <= MAX_LIMIT else None)
            for record in records:
                owed = Decimal(record["total"]) - settled.get(record["id"], ZERO) - credited.get(record["id"], ZERO)
                record["balance"] = "0.00" if record["status"] == "void" else str(owed.quantize(CENT))
        return records

    # -- what settles what (computed when read: see docs/work-api.md, "Balance") ----------------------
    def settled(self, kind: str, targets: list[str] | None, *, excluding: str | None = None) -> dict[str, Decimal]:
        """Sum of the *active* ``kind`` records (a key of :data:`SETTLES`) per target id; ``targets=None``: all."""
        table, field = SETTLES[kind]
        expr = f"json_extract(data, '$.{field}')"
        sql = (f"SELECT {expr}, json_extract(data, '$.amount'), json_extract(data, '$.status'), id "
               f'FROM "{table}" WHERE {expr} IS NOT NULL')
        params: list[Any] = []
        if targets is not None:
            if not targets:
                return {}
            sql += f" AND {expr} IN ({', '.join('?' * len(targets))})"
            params = list(targets)
        prefix = RESOURCES[kind.split("-of-")[0]][1]
        sums: dict[str, Decimal] = {}
        with self.wdb.connection() as db:
            for target, amount, status, row_id in db.execute_sql(sql, params).fetchall():
                if status in (None, "active") and prefix + str(row_id) != excluding:
                    sums[target] = sums.get(target, ZERO) + Decimal(amount)
        return sums

    def balance(self, invoice_id: str) -> Decimal:
        """The invoice's ``balance``: total − active payments − active credits applied (0.00 when void)."""
        return Decimal(self.get("invoices", invoice_id)["balance"])

    def unsettled(self, invoice_id: str) -> Decimal:
        """Total − active payments − active credits applied, whatever the invoice's status."""
        total = Decimal(self.get("invoices", invoice_id)["total"])
        return total - sum((self.settled(kind, [invoice_id]).get(invoice_id, ZERO)
                            for kind in ("payments", "credit-notes")), ZERO)

    # -- reads -------------------------------------------------------------------------------------
    def find(self, resource: str, public_id: str) -> dict[str, Any] | None:
        row_id = self.row_id(resource, public_id)
        if row_id is None:
            return None
        model = self.wdb.tables[resource]
        with self.wdb.connection():
            row = model.get_or_none(model.id == row_id)
            return self._render_all(resource, [row])[0] if row else None

    def get(self, resource: str, public_id: str) -> dict[str, Any]:
        found = self.find(resource, public_id)
        if found is None:
            raise ApiError(404, "not_found", f"There is no {SINGULAR[resource]} with id {public_id}.",
                           {"resource": resource, "id": public_id})
        return found

    def company(self) -> dict[str, Any]:
        return self.get("company", self.public_id("company", 1))

    def all(self, resource: str) -> list[dict[str, Any]]:
        model = self.wdb.tables[resource]
        with self.wdb.connection():
            return self._render_all(resource, list(model.select().order_by(model.updated_at, model.id)))

    def count(self, resource: str) -> int:
        with self.wdb.connection():
            return self.wdb.tables[resource].select().count()

    def page(self, resource: str, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None,
             updated_since: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """One page in ``(updated_at, id)`` order and the cursor for the next one (``None`` at the end)."""
        if not 1 <= limit <= MAX_LIMIT:
            raise ApiError(400, "invalid_request", f"limit must be between 1 and {MAX_LIMIT}.",
                           {"parameter": "limit", "max": MAX_LIMIT})
        since: int | None = None
        if updated_since:
            try:
                since = parse_iso(updated_since)
            except ValueError:
                raise ApiError(400, "invalid_request", "updated_since must be an ISO 8601 date-time, "
                               "e.g. 2024-05-01T12:00:00Z.", {"parameter": "updated_since"}) from None
        model = self.wdb.tables[resource]
        query = model.select()
        if cursor:
            after_u, after_id, cursor_since = decode_cursor(cursor)
            since = cursor_since if since is None else since
            query = query.where((model.updated_at > after_u) | ((model.updated_at == after_u) & (model.id > after_id)))
        if since is not None:
            query = query.where(model.updated_at >= since)
        query = query.order_by(model.updated_at, model.id).limit(limit + 1)
        with self.wdb.connection():
            rows = list(query)
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].updated_at, rows[-1].id, since) if more else None
        return self._render_all(resource, rows), next_cursor

    # -- writes ------------------------------------------------------------------------------------
    def _lookup(self, resource: str, public_id: str) -> dict[str, Any] | None:
        return self.find(resource, public_id)

    def _prepare(self, resource: str, data: dict[str, Any], public_id: str | None) -> dict[str, Any]:
        if resource == "contractors":
            for contract in data.get("contracts") or []:
                if not contract.get("id"):
                    contract["id"] = CONTRACT_PREFIX + str(self._next_contract_number())
                contract.setdefault("status", "active")
                if contract["status"] is None:
                    contract["status"] = "active"
        if resource == "contractor-invoices":
            names = {c["name"] for c in self.all("invoice-concepts")}
            for line in data["lines"]:
                if line["concept"] not in names:
                    raise ApiError(422, "unprocessable", f"'{line['concept']}' is not one of the invoice concepts.",
                                   {"field": "lines.concept", "concepts": sorted(names)})
        tax = data.get("tax")
        if resource in ("invoices", "credit-notes") and tax and "percent" not in tax:
            rate = self.get("tax-rates", tax["rate_id"])  # check_references made sure it exists
            data["tax"] = {"rate_id": rate["id"], "name": rate["name"], "percent": rate["percent"]}
        data = compute(resource, data)
        self._check_amounts(resource, data, public_id)
        return data

    def _check_amounts(self, resource: str, data: dict[str, Any], public_id: str | None) -> None:
        """Money that would settle more than there is to settle is refused (422), as Work would."""
        if data.get("status", "active") != "active":
            return
        amount = Decimal(data.get("amount") or 0)
        if resource in ("payments", "credit-notes") and data.get("invoice_id"):
            invoice = self.get("invoices", data["invoice_id"])
            open_amount = Decimal(invoice["total"])
            for kind in ("payments", "credit-notes"):
                excluding = public_id if kind == resource else None
                open_amount -= self.settled(kind, [invoice["id"]], excluding=excluding).get(invoice["id"], ZERO)
            if amount > open_amount:
                word = "payment" if resource == "payments" else "credit"
                raise ApiError(422, "unprocessable", f"The {word} ({amount}) is more than the invoice's balance "
                               f"({open_amount}).", {"field": "amount", "balance": str(open_amount)})
        elif resource == "refunds":
            kind, field = (("payments", "payment_id") if data.get("payment_id")
                           else ("credit-notes", "credit_note_id"))
            source = self.get(kind, data[field])
            left = Decimal(source["amount"])
            if kind == "credit-notes" and source.get("invoice_id"):
                left = ZERO  # an applied credit was used up on its invoice
            left -= self.settled(f"refunds-of-{kind}", [source["id"]], excluding=public_id).get(source["id"], ZERO)
            if amount > left:
                raise ApiError(422, "unprocessable", f"The refund ({amount}) is more than is left to refund on the "
                               f"{SINGULAR[kind]} ({left}).", {"field": "amount", "refundable": str(left)})

    def _next_contract_number(self) -> int:
        number = int(self.wdb.get_meta("next_contract") or "1")
        self.wdb.set_meta("next_contract", str(number + 1))
        return number

    def create(self, resource: str, body: Any) -> dict[str, Any]:
        data = validate(resource, body, creating=True)
        with self.write_lock, self.wdb.connection() as db, db.atomic():
            check_references(resource, data, self._lookup, None)
            data = self._prepare(resource, data, None)
            now = self.clock.now()
            model = self.wdb.tables[resource]
            row_id = model.insert(version=1, created_at=now, updated_at=now,
                                  data=json.dumps(data, ensure_ascii=False)).execute()
            return self.get(resource, self.public_id(resource, row_id))

    def update(self, resource: str, public_id: str, body: Any, *, expected_version: int | None = None) -> dict[str, Any]:
        """Apply a patch. A stale ``expected_version`` → 409; a patch that changes nothing bumps nothing.

        Why no bump for a no-op: a two-way sync writes back what it read; if that bumped the version,
        each side would see a "change" from the other for ever.
        """
        patch = validate(resource, body, creating=False)
        with self.write_lock, self.wdb.connection() as db, db.atomic():
            current = self.get(resource, public_id)
            if expected_version is not None and expected_version != current["version"]:
                raise ApiError(409, "version_conflict",
                               f"The {SINGULAR[resource]} was changed by someone else (it is now version "
                               f"{current['version']}, you sent {expected_version}). Read it again and retry.",
                               {"id": public_id, "current_version": current["version"],
                                "your_version": expected_version})
            hidden = ("id", "version", "created_at", "updated_at", *READ_TIME.get(resource, ()))
            before = {k: v for k, v in current.items() if k not in hidden}
            after = {**before, **patch}
            check_references(resource, after, self._lookup, before)
            after = self._prepare(resource, after, public_id)
            if after == before:
                return current
            now = self.clock.now()
            model = self.wdb.tables[resource]
            model.update(version=model.version + 1, updated_at=now,
                         data=json.dumps(after, ensure_ascii=False)).where(
                model.id == self.row_id(resource, public_id)).execute()
            return self.get(resource, public_id)

    def bulk_insert(self, resource: str, records: Iterable[dict[str, Any]], *, chunk: int = 2000,
                    computed: bool = False) -> list[str]:
        """Load many already-valid records quickly (seeding, scale mode): one transaction, chunked inserts.

        Each record may carry ``created_at`` (epoch µs) to look old; ``updated_at`` always comes from the
        clock so paging order and ``updated_since`` stay exact. ``computed=True``: the records already
        hold every field and computed amount (the generator needed them), so they are not computed again.
        """
        model = self.wdb.tables[resource]
        ids: list[str] = []
        with self.write_lock, self.wdb.connection() as db, db.atomic():
            start = (model.select(peewee.fn.MAX(model.id)).scalar() or 0) + 1
            batch: list[tuple[Any, ...]] = []
            next_id = start
            for record in records:
                record = dict(record)
                created = record.pop("created_at", None)
                now = self.clock.now()
                data = record if computed else compute(resource, with_defaults(resource, record))
                batch.append((next_id, 1, created or now, now, json.dumps(data, ensure_ascii=False)))
                ids.append(self.public_id(resource, next_id))
                next_id += 1
                if len(batch) >= chunk:
                    self._insert_rows(model, batch)
                    batch = []
            if batch:
                self._insert_rows(model, batch)
        return ids

    def bulk_edit(self, resource: str, patches: dict[str, dict[str, Any]]) -> None:
        """Apply already-valid patches as later edits (scale mode): a new version and ``updated_at`` each,
        in one transaction, without the per-record checks :meth:`update` makes."""
        model = self.wdb.tables[resource]
        with self.write_lock, self.wdb.connection() as db, db.atomic():
            for public_id, patch in patches.items():
                row = model.get_by_id(self.row_id(resource, public_id))
                data = {**json.loads(row.data), **patch}
                model.update(version=row.version + 1, updated_at=self.clock.now(),
                             data=json.dumps(data, ensure_ascii=False)).where(model.id == row.id).execute()

    def _insert_rows(self, model: type[peewee.Model], rows: list[tuple[Any, ...]]) -> None:
        """One prepared statement, many rows: peewee's ``insert_many`` builds SQL text per value, which
        took ~19 of 28 s for 10,000 clients + 50,000 invoices; ``executemany`` on the same connection
        takes under a second."""
        table = model._meta.table_name
        sql = f'INSERT INTO "{table}" ("id", "version", "created_at", "updated_at", "data") VALUES (?, ?, ?, ?, ?)'
        self.wdb.db.cursor().executemany(sql, rows)

    def reserve_contract_ids(self, count: int) -> list[str]:
        with self.write_lock:
            first = int(self.wdb.get_meta("next_contract") or "1")
            self.wdb.set_meta("next_contract", str(first + count))
        return [CONTRACT_PREFIX + str(n) for n in range(first, first + count)]
