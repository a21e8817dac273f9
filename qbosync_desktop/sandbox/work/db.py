"""The Work demo server's own SQLite database (never the app's ``store.database`` proxy).

Each :class:`~qbosync_desktop.sandbox.work.sandbox.WorkSandbox` builds its own model classes bound to
its own ``peewee.SqliteDatabase``, so several demo servers can run in one process (tests, practice
mode next to a benchmark) without sharing state.

Every resource is one table with the same shape: an integer key, ``version``, ``created_at`` and
``updated_at`` (epoch microseconds from :mod:`.clock`), and ``data`` (the record's contract fields as
JSON). Keeping the fields as JSON keeps the server generic: validation lives in :mod:`.rules`, the
table only has to order by ``(updated_at, id)`` quickly, which the index does.

Why a file and not ``:memory:``: the HTTP server is threaded and peewee opens one connection per
thread; a private temp file (WAL) lets every thread see the same data, where ``:memory:`` would give
each thread an empty database.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import peewee

#: resource name in the URL → (table name, id prefix). Ids are opaque strings in the API.
RESOURCES: dict[str, tuple[str, str]] = {
    "clients": ("clients", "cl_"),
    "sites": ("sites", "si_"),
    "items": ("items", "it_"),
    "invoices": ("invoices", "in_"),
    "payments": ("payments", "pa_"),
    "contractors": ("contractors", "co_"),
    "contractor-invoices": ("contractor_invoices", "ci_"),
    "invoice-concepts": ("invoice_concepts", "cn_"),
    "company": ("company", "cmp_"),
    "tax-rates": ("tax_rates", "tx_"),
    "credit-notes": ("credit_notes", "cr_"),
    "refunds": ("refunds", "rf_"),
}
CONTRACT_PREFIX = "ct_"

#: Expression indexes for the sums an invoice's ``balance`` needs (payments and credit notes of an
#: invoice) and the checks a refund needs (refunds of a payment or a credit note): the balance is
#: computed when an invoice is read, so these lookups run on every page of invoices.
JSON_INDEXES = (("payments", "invoice_id"), ("credit_notes", "invoice_id"), ("refunds", "payment_id"),
                ("refunds", "credit_note_id"))

PRAGMAS = {"journal_mode": "wal", "synchronous": "normal", "busy_timeout": 15000, "foreign_keys": 0}


def _record_model(db: peewee.Database, table: str) -> type[peewee.Model]:
    class Record(peewee.Model):
        id = peewee.AutoField()
        version = peewee.IntegerField(default=1)
        created_at = peewee.BigIntegerField()
        updated_at = peewee.BigIntegerField()
        data = peewee.TextField()

        class Meta:
            database = db
            table_name = table

    Record.__name__ = f"Record_{table}"
    return Record


def _meta_model(db: peewee.Database) -> type[peewee.Model]:
    class Meta(peewee.Model):
        key = peewee.CharField(primary_key=True)
        value = peewee.TextField()

        class Meta:
            database = db
            table_name = "meta"

    return Meta


def _idempotency_model(db: peewee.Database) -> type[peewee.Model]:
    class Idempotency(peewee.Model):
        """A write's response kept under its ``Idempotency-Key``, so a retried write is answered, not redone."""

        key = peewee.CharField(primary_key=True)
        fingerprint = peewee.TextField()
        status = peewee.IntegerField()
        headers = peewee.TextField(default="{}")
        body = peewee.TextField()
        created_at = peewee.BigIntegerField()

        class Meta:
            database = db
            table_name = "idempotency"

    return Idempotency


@dataclass
class WorkDatabase:
    """The database and its model classes for one demo server."""

    db: peewee.SqliteDatabase
    path: Path
    tables: dict[str, type[peewee.Model]]
    meta: type[peewee.Model]
    idempotency: type[peewee.Model]

    @classmethod
    def open(cls, path: Path) -> WorkDatabase:
        """Open or create the file, private to this user (0600): it holds the demo server's API key."""
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        db = peewee.SqliteDatabase(str(path), pragmas=PRAGMAS, check_same_thread=False, timeout=15)
        tables = {name: _record_model(db, table) for name, (table, _prefix) in RESOURCES.items()}
        wdb = cls(db=db, path=path, tables=tables, meta=_meta_model(db), idempotency=_idempotency_model(db))
        with wdb.connection():
            db.create_tables([*tables.values(), wdb.meta, wdb.idempotency], safe=True)
            for table, _prefix in RESOURCES.values():
                # named per table: peewee's own name for a ``Meta.indexes`` entry was the same for
                # every table, so only the first table got it and every page of the others was a
                # full scan and sort (160 ms a page at 400,000 invoices)
                db.execute_sql(f'CREATE INDEX IF NOT EXISTS "{table}_updated_at_id" ON "{table}" (updated_at, id)')
            for table, field in JSON_INDEXES:
                db.execute_sql(f'CREATE INDEX IF NOT EXISTS "{table}_{field}" ON "{table}" '
                               f"(json_extract(data, '$.{field}'))")
        return wdb

    @contextlib.contextmanager
    def connection(self) -> Iterator[peewee.SqliteDatabase]:
        """Open this thread's connection if needed and close it afterwards (werkzeug spawns a thread
        per request, so a connection left open would leak one file handle per request)."""
        opened = self.db.is_closed()
        if opened:
            self.db.connect()
        try:
            yield self.db
        finally:
            if opened:
                self.db.close()

    def get_meta(self, key: str) -> str | None:
        with self.connection():
            row = self.meta.get_or_none(self.meta.key == key)
            return row.value if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.connection():
            self.meta.insert(key=key, value=value).on_conflict_replace().execute()

    def is_empty(self) -> bool:
        with self.connection():
            return not self.tables["company"].select().exists()

    def max_updated_at(self) -> int:
        with self.connection():
            values = [m.select(peewee.fn.MAX(m.updated_at)).scalar() or 0 for m in self.tables.values()]
        return max(values, default=0)

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()
