"""Database mechanism: fresh creation, upgrade from an older version with a backup, refusal of newer."""

from __future__ import annotations

import sqlite3

import pytest

from qbosync_desktop.core.errors import DatabaseError
from qbosync_desktop.store import close_database, database, migrations, open_database


def test_fresh_database_is_private_wal_and_current(home):
    db = open_database(home.db_path)
    try:
        assert home.db_path.stat().st_mode & 0o777 == 0o600
        assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert migrations.current_version(db) == migrations.latest_version() >= 1
        assert database.obj is db
        assert "meta" in db.get_tables()
    finally:
        close_database()


def test_upgrade_from_older_version_takes_a_backup(home):
    db = open_database(home.db_path, migrate=False)
    migrations.migrate(db, home.db_path, target=1)
    db.execute_sql("INSERT INTO meta (key, value) VALUES ('marker', 'kept')")
    close_database()

    calls = []

    @migrations.step(migrations.latest_version() + 1)
    def _extra(d):
        calls.append(1)
        d.execute_sql("CREATE TABLE extra_test (id INTEGER PRIMARY KEY)")

    try:
        db = open_database(home.db_path)
        assert calls == [1]
        assert "extra_test" in db.get_tables()
        assert db.execute_sql("SELECT value FROM meta WHERE key='marker'").fetchone()[0] == "kept"
        backups = list((home.data_dir / "backups").glob("*.sqlite3"))
        assert backups, "a copy of the database is taken before migrating"
        with sqlite3.connect(backups[0]) as con:
            assert con.execute("SELECT value FROM meta WHERE key='marker'").fetchone()[0] == "kept"
        close_database()
        # opening again runs nothing
        open_database(home.db_path)
        assert calls == [1]
    finally:
        close_database()
        migrations._STEPS.pop(max(migrations._STEPS))


def test_a_failing_step_leaves_the_previous_version(home):
    db = open_database(home.db_path)
    before = migrations.current_version(db)

    @migrations.step(before + 1)
    def _broken(d):
        d.execute_sql("CREATE TABLE half_done (id INTEGER)")
        d.execute_sql("THIS IS NOT SQL")

    try:
        with pytest.raises(DatabaseError):
            migrations.migrate(db, home.db_path)
        assert migrations.current_version(db) == before
        assert "half_done" not in db.get_tables()
    finally:
        migrations._STEPS.pop(before + 1)
        close_database()


def test_newer_database_is_refused(home):
    db = open_database(home.db_path)
    db.execute_sql("INSERT INTO schema_version (version) VALUES (999)")
    close_database()
    with pytest.raises(DatabaseError) as info:
        open_database(home.db_path)
    assert "newer version" in info.value.message
    close_database()


def test_a_database_from_before_issue_16_gets_the_run_skips_column(home):
    """Version 416 adds ``sync_run.skips`` to a database made before it (a new one has it from step 10)."""
    db = open_database(home.db_path, migrate=False)
    migrations.migrate(db, home.db_path, target=320)
    db.execute_sql("ALTER TABLE sync_run DROP COLUMN skips")  # as version 10 made it before issue 16
    db.execute_sql("INSERT INTO sync_run (kind, started_at, state, qbo_requests) VALUES ('incremental', '2026-12-01', 'done', 0)")
    assert "skips" not in {c.name for c in db.get_columns("sync_run")}
    close_database()
    db = open_database(home.db_path)
    try:
        assert migrations.current_version(db) == migrations.latest_version() >= 416
        assert "skips" in {c.name for c in db.get_columns("sync_run")}
        assert db.execute_sql("SELECT COUNT(*) FROM sync_run WHERE skips IS NULL").fetchone()[0] == 1  # kept
    finally:
        close_database()
