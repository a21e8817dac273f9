"""The migration step of every schema version, in one place.

One atomic step per version (see :mod:`qbosync_desktop.store.migrations`). Each feature area owns a
range of versions: the foundation 1, connection and settings 2-9, the sync engine 10-99 (links,
outbox, runs and cursors, problems, audit), onboarding and two-way 100-199 (match proposals,
conflicts, Work writes), undo of a run 320-329 (reversed audit rows, holds), issue 16's run
summary 416-419 (skips per reason). The models live by concept in :mod:`qbosync_desktop.store.models`; the
steps here import them plainly, so importing this module registers every step.

Never edit a released step: a database that already ran it would not run it again. The model lists
below keep the order the tables were first created in.
"""

from __future__ import annotations

import peewee

from qbosync_desktop.store.migrations import step
from qbosync_desktop.store.models.audit import AuditEntry
from qbosync_desktop.store.models.conflicts import Conflict
from qbosync_desktop.store.models.connection import ConceptMapping, Connection, SettingValue, TaxCodeMapping
from qbosync_desktop.store.models.links import RECHECK_SQL, Link
from qbosync_desktop.store.models.onboarding import MatchProposal
from qbosync_desktop.store.models.outbox import Batch, OutboxEntry, WorkWrite
from qbosync_desktop.store.models.problems import Problem
from qbosync_desktop.store.models.runs import Cursor, Run
from qbosync_desktop.store.models.undo import UndoHold, UndoneWrite

#: version 2: the connection row, the sync settings and the concept mappings
CONNECTION_MODELS = (Connection, SettingValue, ConceptMapping)
#: version 10: the sync engine's tables
SYNC_MODELS = [Link, Batch, OutboxEntry, Cursor, Run, Problem, AuditEntry]
#: version 100: onboarding and two-way tables
TWOWAY_MODELS = [MatchProposal, Conflict, WorkWrite]


@step(1)
def _v1_meta(db: peewee.Database) -> None:
    db.execute_sql("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)")


@step(2)
def _v2_connection_settings(db: peewee.Database) -> None:
    with db.bind_ctx(CONNECTION_MODELS):
        db.create_tables(CONNECTION_MODELS, safe=True)


@step(10)
def _v10_sync_tables(db: peewee.Database) -> None:
    # The runner binds the proxy to ``db`` before migrating, so the models create in ``db``.
    db.create_tables(SYNC_MODELS, safe=True)
    # At most one open problem per record (a partial unique index; peewee cannot declare it).
    db.execute_sql(
        "CREATE UNIQUE INDEX IF NOT EXISTS sync_problem_one_open ON sync_problem (kind, work_id) "
        "WHERE state = 'open'"
    )
    db.execute_sql("CREATE INDEX IF NOT EXISTS sync_audit_record ON sync_audit (kind, work_id)")


@step(100)
def _v100_twoway_tables(db: peewee.Database) -> None:
    db.create_tables(TWOWAY_MODELS, safe=True)
    db.execute_sql(
        "CREATE UNIQUE INDEX IF NOT EXISTS twoway_match_one_accepted_qbo ON twoway_match (kind, qbo_id) "
        "WHERE state = 'accepted'"
    )
    db.execute_sql(
        "CREATE UNIQUE INDEX IF NOT EXISTS twoway_match_one_accepted_work ON twoway_match (kind, work_id) "
        "WHERE state = 'accepted'"
    )
    db.execute_sql(
        "CREATE UNIQUE INDEX IF NOT EXISTS twoway_conflict_one_open ON twoway_conflict (kind, work_id, field) "
        "WHERE state = 'open'"
    )


@step(101)
def _v101_tax_code_mapping(db: peewee.Database) -> None:
    """Issue 14: Work tax rate → QuickBooks tax code (companies outside the US)."""
    db.create_tables([TaxCodeMapping], safe=True)


@step(102)
def _v102_link_recheck_index(db: peewee.Database) -> None:
    # Two-way: the few client links flagged for a recheck (sync/clients/stale.py), found without
    # reading every link (issue 18).
    db.execute_sql(f"CREATE INDEX IF NOT EXISTS sync_link_recheck ON sync_link (kind) WHERE {RECHECK_SQL}")


#: version 320: undo of a run (issue 15): reversed audit rows and held records
UNDO_MODELS = [UndoneWrite, UndoHold]


@step(320)
def _v320_undo_tables(db: peewee.Database) -> None:
    db.create_tables(UNDO_MODELS, safe=True)
    # At most one active hold per record.
    db.execute_sql(
        "CREATE UNIQUE INDEX IF NOT EXISTS undo_hold_one_held ON undo_hold (kind, work_id) WHERE state = 'held'"
    )


@step(416)
def _v416_run_skips(db: peewee.Database) -> None:
    """Issue 16: a run counts the records it left out on purpose, per reason (``sync_run.skips``).
    (A new database already has the column: version 10 creates the table from today's model.)"""
    columns = {c.name for c in db.get_columns("sync_run")}
    if "skips" not in columns:
        db.execute_sql("ALTER TABLE sync_run ADD COLUMN skips TEXT")
