"""The sandbox company's data: in-memory dicts under one lock, optionally written through to SQLite.

Every write of a realm runs under that realm's lock, so the requestid check-then-write, SyncToken
checks and DocNumber/DisplayName uniqueness are atomic without any database locking. Reads return the
live dicts and are serialised to JSON while the lock is held by the caller.

With a data folder, each change is also written to ``qbo-sandbox.sqlite3`` through the sandbox's own
peewee database (never the app's proxy) as JSON blobs, so the company, its ids and the OAuth grants
survive a restart. Ids are strings counting up per entity, like Intuit's.
"""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import peewee

from qbosync_desktop.sandbox.qbo.clock import Clock, intuit_time

NAME_LISTS = ("Customer", "Vendor", "Item", "Account", "Term")
#: Lists QBO keeps itself: readable and queryable, never written through ``POST /taxcode`` etc.
TAX_LISTS = ("TaxCode", "TaxRate")
#: Queries hide inactive records of these unless the query mentions ``Active``.
HIDES_INACTIVE = NAME_LISTS + TAX_LISTS
TRANSACTIONS = ("Invoice", "Payment", "Bill", "CreditMemo", "RefundReceipt")
SINGLETONS = ("CompanyInfo", "Preferences")
ENTITIES = NAME_LISTS + TAX_LISTS + TRANSACTIONS + SINGLETONS
DB_FILE = "qbo-sandbox.sqlite3"
#: Uniqueness groups QBO enforces: DisplayName across customers and vendors, item and account names,
#: DocNumber per transaction type. Case-insensitive, inactive records included.
INDEXED = {
    "Customer": ("party", "DisplayName"),
    "Vendor": ("party", "DisplayName"),
    "Item": ("item", "Name"),
    "Account": ("account", "Name"),
    "Term": ("term", "Name"),
    "Invoice": ("doc:Invoice", "DocNumber"),
    "Bill": ("doc:Bill", "DocNumber"),
    "CreditMemo": ("doc:CreditMemo", "DocNumber"),
    "RefundReceipt": ("doc:RefundReceipt", "DocNumber"),
}


def linked_ids(payment: dict[str, Any] | None, txn_type: str) -> set[str]:
    """Ids of the transactions of ``txn_type`` (Invoice, CreditMemo) a payment's lines link to."""
    if not payment:
        return set()
    return {str(lk.get("TxnId")) for ln in payment.get("Line") or [] for lk in ln.get("LinkedTxn") or []
            if lk.get("TxnType") == txn_type}


def linked_invoice_ids(payment: dict[str, Any] | None) -> set[str]:
    """Ids of the invoices a payment is applied to."""
    return linked_ids(payment, "Invoice")


def linked_credit_ids(payment: dict[str, Any] | None) -> set[str]:
    """Ids of the credit memos a payment applies."""
    return linked_ids(payment, "CreditMemo")


def _parent_id(customer: dict[str, Any]) -> set[str]:
    parent = (customer.get("ParentRef") or {}).get("value")
    return {str(parent)} if parent not in (None, "") else set()


#: Reference indexes: which objects point at a given id. Validating a payment needs "the payments
#: applied to this invoice" and "the sub-customers of this customer"; scanning every payment and
#: customer for that made a sync of 15,000 payments quadratic (minutes of sandbox CPU).
RELATIONS: dict[str, tuple[tuple[str, Callable[[dict[str, Any]], set[str]]], ...]] = {
    "Payment": (("payments_by_invoice", linked_invoice_ids), ("payments_by_credit", linked_credit_ids)),
    "Customer": (("customers_by_parent", _parent_id),),
}


def _id_order(obj_id: str) -> tuple[int, int | str]:
    """Ids are decimal strings counting up; anything else sorts after them."""
    return (0, int(obj_id)) if obj_id.isdigit() else (1, obj_id)


def _record_model(db: peewee.SqliteDatabase) -> type[peewee.Model]:
    """A model class per database, so two persisted sandboxes in one process never share a binding."""

    class Record(peewee.Model):
        kind = peewee.CharField()
        key = peewee.CharField()
        value = peewee.TextField()

        class Meta:
            database = db
            primary_key = peewee.CompositeKey("kind", "key")
            table_name = "record"

    return Record


class Persistence:
    """Key/value write-through to SQLite (one connection, guarded by a lock)."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.db = peewee.SqliteDatabase(
            str(data_dir / DB_FILE),
            pragmas={"journal_mode": "wal", "synchronous": "normal"},
            check_same_thread=False,
            thread_safe=False,
        )
        self.Record = _record_model(self.db)
        self._lock = threading.RLock()
        with self._lock:
            self.db.connect()
            self.db.create_tables([self.Record])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One SQLite transaction for everything a request changes (one commit, all or nothing
        on disk). It commits even when the request failed half-way, because the in-memory company
        — which the disk mirrors — keeps whatever was already applied."""
        with self._lock:
            self.db.execute_sql("BEGIN IMMEDIATE")
            try:
                yield
            finally:
                self.db.execute_sql("COMMIT")

    def put(self, kind: str, key: str, value: Any) -> None:
        with self._lock:
            self.Record.replace(kind=kind, key=key, value=json.dumps(value)).execute()

    def delete(self, kind: str, key: str) -> None:
        R = self.Record
        with self._lock:
            R.delete().where((R.kind == kind) & (R.key == key)).execute()

    def load(self, kind: str) -> dict[str, Any]:
        R = self.Record
        with self._lock:
            return {r.key: json.loads(r.value) for r in R.select().where(R.kind == kind)}

    def load_prefix(self, prefix: str) -> dict[tuple[str, str], Any]:
        R = self.Record
        with self._lock:
            return {(r.kind, r.key): json.loads(r.value) for r in R.select().where(R.kind.startswith(prefix))}

    def close(self) -> None:
        with self._lock:
            if not self.db.is_closed():
                self.db.close()


class Company:
    """One realm's objects, timestamps, deletion tombstones (for CDC) and requestid responses."""

    def __init__(self, realm_id: str, clock: Clock, persistence: Persistence | None = None) -> None:
        self.realm_id = realm_id
        self.clock = clock
        self.lock = threading.RLock()
        self.persistence = persistence
        self.objects: dict[str, dict[str, dict[str, Any]]] = {e: {} for e in ENTITIES}
        self.stamps: dict[str, dict[str, tuple[float, float]]] = {e: {} for e in ENTITIES}
        self.tombstones: dict[str, dict[str, float]] = {e: {} for e in ENTITIES}
        self.next_ids: dict[str, int] = {e: 1 for e in ENTITIES}
        self.replay: dict[str, tuple[int, bytes]] = {}  # requestid -> (status, zlib-compressed body)
        self.index: dict[str, dict[str, set[tuple[str, str]]]] = {group: {} for group, _ in INDEXED.values()}
        self.relations: dict[str, dict[str, set[str]]] = {name: {} for pairs in RELATIONS.values() for name, _ in pairs}
        self._json: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        #: id -> last update time, in the order of the updates (a changed record moves to the end), so
        #: "changed since" (CDC, LastUpdatedTime queries) reads only the tail instead of every record.
        #: Only while the clock never went back for that entity (``_in_order``); else a full scan.
        self.touched: dict[str, dict[str, float]] = {e: {} for e in ENTITIES}
        self._in_order: dict[str, bool] = {e: True for e in ENTITIES}

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """The company lock plus, with a data folder, one disk transaction for the whole change."""
        with self.lock, (self.persistence.transaction() if self.persistence else nullcontext()):
            yield

    # --- reads ---------------------------------------------------------------------------------
    def get(self, entity: str, obj_id: str) -> dict[str, Any] | None:
        return self.objects[entity].get(str(obj_id))

    def all(self, entity: str) -> list[dict[str, Any]]:
        return list(self.objects[entity].values())

    def rows(self, entity: str) -> list[tuple[dict[str, Any], float, float]]:
        """(object, created, updated) in Id order: ids only grow and dicts keep insertion order."""
        stamps = self.stamps[entity]
        return [(obj, *stamps[obj_id]) for obj_id, obj in self.objects[entity].items()]

    def rows_of(self, entity: str, ids: Iterable[str]) -> list[tuple[dict[str, Any], float, float]]:
        """(object, created, updated) of those ``ids`` that exist, in Id order (a lookup, not a scan)."""
        objects, stamps = self.objects[entity], self.stamps[entity]
        found = {str(i) for i in ids} & objects.keys()
        return [(objects[i], *stamps[i]) for i in sorted(found, key=_id_order)]

    def changed_ids(self, entity: str, since: float) -> list[str]:
        """Ids of the live records last updated at or after ``since``, in Id order."""
        touched = self.touched[entity]
        if not self._in_order[entity]:
            return sorted((i for i, ts in touched.items() if ts >= since), key=_id_order)
        out = []
        for obj_id, ts in reversed(touched.items()):
            if ts < since:
                break
            out.append(obj_id)
        return sorted(out, key=_id_order)

    def _touch(self, entity: str, obj_id: str, updated: float) -> None:
        touched = self.touched[entity]
        touched.pop(obj_id, None)
        if touched and updated < next(reversed(touched.values())):
            self._in_order[entity] = False
        touched[obj_id] = updated

    def json_of(self, entity: str, obj: dict[str, Any]) -> str:
        """``json.dumps(obj)``, cached per stored object: a 1000-row query re-serialises nothing.

        The cache entry is only used while ``obj`` *is* the stored object (``put`` always stores a
        new dict), so a changed record can never be served stale.
        """
        key = (entity, str(obj.get("Id")))
        hit = self._json.get(key)
        if hit is not None and hit[0] is obj:
            return hit[1]
        text = json.dumps(obj)
        if self.objects[entity].get(key[1]) is obj:
            self._json[key] = (obj, text)
        return text

    def lookup(self, group: str, value: object) -> set[tuple[str, str]]:
        """(entity, id) pairs whose unique field equals ``value`` (case-insensitive)."""
        return set(self.index[group].get(str(value).casefold(), ()))

    def referencing(self, relation: str, target_id: str) -> set[str]:
        """Ids of the objects whose reference ``relation`` points at ``target_id`` (see RELATIONS)."""
        return set(self.relations[relation].get(str(target_id), ()))

    def _index_obj(self, entity: str, obj: dict[str, Any], add: bool) -> None:
        for name, targets in RELATIONS.get(entity, ()):
            table = self.relations[name]
            for target in targets(obj):
                ids = table.setdefault(target, set())
                if add:
                    ids.add(str(obj["Id"]))
                else:
                    ids.discard(str(obj["Id"]))
        spec = INDEXED.get(entity)
        if spec is None or obj.get(spec[1]) in (None, ""):
            return
        key = str(obj[spec[1]]).casefold()
        bucket = self.index[spec[0]].setdefault(key, set())
        if add:
            bucket.add((entity, str(obj["Id"])))
        else:
            bucket.discard((entity, str(obj["Id"])))

    def is_empty(self) -> bool:
        return not any(self.objects.values())

    # --- writes --------------------------------------------------------------------------------
    def new_id(self, entity: str) -> str:
        value = self.next_ids[entity]
        self.next_ids[entity] = value + 1
        if self.persistence:
            self.persistence.put("next_id", entity, value + 1)
        return str(value)

    def put(self, entity: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store ``obj`` (which has an ``Id``), stamping ``MetaData`` as QBO does on every change."""
        now = self.clock.now()
        obj_id = str(obj["Id"])
        created = self.stamps[entity].get(obj_id, (now, now))[0]
        meta = dict(obj.get("MetaData") or {})
        meta["CreateTime"] = intuit_time(created)
        meta["LastUpdatedTime"] = intuit_time(now)
        obj["MetaData"] = meta
        old = self.objects[entity].get(obj_id)
        if old is not None:
            self._index_obj(entity, old, add=False)
        self.objects[entity][obj_id] = obj
        self._index_obj(entity, obj, add=True)
        self.stamps[entity][obj_id] = (created, now)
        self._touch(entity, obj_id, now)
        if self.persistence:
            self.persistence.put(f"obj:{entity}", obj_id, {"obj": obj, "created": created, "updated": now})
        return obj

    def bump(self, entity: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Save a changed object with the next SyncToken (QBO increments it on every change)."""
        obj["SyncToken"] = str(int(obj.get("SyncToken") or 0) + 1)
        return self.put(entity, obj)

    def remove(self, entity: str, obj_id: str) -> None:
        """Delete, leaving a tombstone so CDC can report ``status: Deleted``."""
        now = self.clock.now()
        self._json.pop((entity, obj_id), None)
        old = self.objects[entity].pop(obj_id, None)
        if old is not None:
            self._index_obj(entity, old, add=False)
        self.stamps[entity].pop(obj_id, None)
        self.touched[entity].pop(obj_id, None)
        self.tombstones[entity][obj_id] = now
        if self.persistence:
            self.persistence.delete(f"obj:{entity}", obj_id)
            self.persistence.put(f"tomb:{entity}", obj_id, now)

    def remember(self, requestid: str, status: int, body: bytes) -> None:
        # kept compressed: every write's answer is kept (a batch answer holds 30 whole records), so
        # plain bytes would hold a second copy of the company; zlib level 1 keeps about a tenth
        self.replay[requestid] = (status, zlib.compress(body, 1))
        if self.persistence:
            self.persistence.put("replay", requestid, [status, body.decode("utf-8")])

    def replayed(self, requestid: str) -> tuple[int, bytes] | None:
        """The answer given to ``requestid`` before (QBO replays it for a repeated requestid)."""
        kept = self.replay.get(requestid)
        return None if kept is None else (kept[0], zlib.decompress(kept[1]))

    def load(self) -> None:
        """Fill the in-memory maps from the persistence file (start-up after a restart)."""
        if not self.persistence:
            return
        p = self.persistence
        for (kind, key), value in sorted(p.load_prefix("obj:").items(), key=lambda kv: (kv[0][0], int(kv[0][1]))):
            entity = kind.split(":", 1)[1]
            self.objects[entity][key] = value["obj"]
            self._index_obj(entity, value["obj"], add=True)
            self.stamps[entity][key] = (value["created"], value["updated"])
        for entity, stamps in self.stamps.items():
            self.touched[entity] = dict(sorted(((i, ts[1]) for i, ts in stamps.items()), key=lambda kv: kv[1]))
        for (kind, key), value in p.load_prefix("tomb:").items():
            self.tombstones[kind.split(":", 1)[1]][key] = value
        for entity, value in p.load("next_id").items():
            self.next_ids[entity] = int(value)
        for rid, (status, body) in p.load("replay").items():
            self.replay[rid] = (int(status), zlib.compress(body.encode("utf-8"), 1))
