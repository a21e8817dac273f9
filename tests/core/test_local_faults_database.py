"""Issue 16 part 4, the database half: a damaged file is detected at open and never treated as a fresh
install; good copies are taken and restored; storage errors read as plain words; one writer per folder.

Real SQLite files, damaged the way disks and people damage them (emptied, cut short, overwritten),
real OS file locks held by a second process.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time

import peewee
import pytest

from qbosync_desktop.core import errors, writer_lock
from qbosync_desktop.store import backups, close_database, database, open_database
from qbosync_desktop.store.db import as_database_error


def _populated(home) -> int:
    """A database holding a company's facts (a link and a setting); returns its size."""
    db = open_database(home.db_path)
    db.execute_sql("INSERT INTO meta (key, value) VALUES ('marker', 'kept')")
    db.execute_sql("INSERT INTO setting_value (key, value) VALUES ('invoices', 'true')")
    from qbosync_desktop.store.models.links import Link

    for n in range(300):
        Link.create(kind="client", work_id=str(n), qbo_id=str(1000 + n), qbo_sync_token="0")
    db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    close_database()
    return home.db_path.stat().st_size


def _assert_refused_plainly(home, before: bytes, words: str) -> errors.DatabaseDamaged:
    with pytest.raises(errors.DatabaseDamaged) as info:
        open_database(home.db_path)
    exc = info.value
    assert words in exc.message
    assert "backups" in exc.hint and "qbosync restore" in exc.hint
    assert database.obj is None, "a refused database is not bound"
    # Never a fresh install: the file is exactly as it was (not recreated, not migrated over).
    assert home.db_path.read_bytes() == before
    return exc


def test_a_zero_byte_database_is_refused_not_started_over(home):
    _populated(home)
    home.db_path.write_bytes(b"")
    exc = _assert_refused_plainly(home, b"", "empty (0 bytes)")
    assert exc.title == "The database is damaged"


def test_a_truncated_database_is_refused(home):
    size = _populated(home)
    with open(home.db_path, "r+b") as f:
        f.truncate(size // 2)
    _assert_refused_plainly(home, home.db_path.read_bytes(), "damaged")


def test_an_overwritten_database_fails_the_integrity_check(home):
    size = _populated(home)
    with open(home.db_path, "r+b") as f:
        f.seek(size // 2)
        f.write(b"\xde\xad\xbe\xef" * 2048)
    _assert_refused_plainly(home, home.db_path.read_bytes(), "damaged")


def test_a_file_that_is_not_a_database_is_refused(home):
    _populated(home)
    home.db_path.write_bytes(b"<html>not a database</html>" * 100)
    _assert_refused_plainly(home, home.db_path.read_bytes(), "not a QBO Sync database")


def test_a_database_missing_a_table_fails_the_schema_check(home):
    _populated(home)
    con = sqlite3.connect(home.db_path)
    con.execute("DROP TABLE sync_link")
    con.commit()
    con.close()
    _assert_refused_plainly(home, home.db_path.read_bytes(), "sync_link")


def test_a_database_whose_version_record_is_gone_is_not_new(home):
    _populated(home)
    con = sqlite3.connect(home.db_path)
    con.execute("DELETE FROM schema_version")
    con.commit()
    con.close()
    _assert_refused_plainly(home, home.db_path.read_bytes(), "version record")


def test_a_fresh_install_is_created_whole_and_private(home):
    assert not home.db_path.exists()
    open_database(home.db_path)
    close_database()
    assert home.db_path.stat().st_size > 0
    assert home.db_path.stat().st_mode & 0o777 == 0o600
    assert not list(home.data_dir.glob("*.creating"))


def test_a_good_copy_after_a_run_restores_everything_and_keeps_the_damaged_file(home):
    _populated(home)
    db = open_database(home.db_path)
    copy = backups.after_run(db, home, {"clients": {"created": 3}})
    assert copy is not None and copy.stat().st_mode & 0o777 == 0o600
    assert home.backup_dir.stat().st_mode & 0o777 == 0o700
    # A no-op run takes no further copy; a run that wrote does, and only the newest 3 are kept.
    assert backups.after_run(db, home, {"clients": {"skipped": 4}}) is None
    for _ in range(4):
        time.sleep(0.01)
        assert backups.after_run(db, home, {"invoices": {"updated": 1}}) is not None
    assert len(list(home.backup_dir.glob("*.run.*.sqlite3"))) == backups.KEEP_RUN_COPIES
    close_database()

    home.db_path.write_bytes(b"")
    listed = backups.list_backups(home)
    assert listed and all(b.good for b in listed)
    # The newest copy damaged too: restore skips it and takes the newest *good* one.
    listed[0].path.write_bytes(b"\0" * 4096)
    assert not backups.inspect(listed[0].path).good
    result = backups.restore(home)
    assert result.source.path == listed[1].path
    assert result.damaged_kept_as is not None and result.damaged_kept_as.read_bytes() == b""
    assert result.damaged_kept_as.stat().st_mode & 0o777 == 0o600

    db = open_database(home.db_path)
    try:
        assert db.execute_sql("SELECT value FROM meta WHERE key='marker'").fetchone()[0] == "kept"
        assert db.execute_sql("SELECT COUNT(*) FROM sync_link").fetchone()[0] == 300
    finally:
        close_database()


def test_restore_without_a_good_copy_says_so(home):
    _populated(home)
    home.db_path.write_bytes(b"")
    with pytest.raises(errors.DatabaseError) as info:
        backups.restore(home)
    assert info.value.title == "No copy to restore"
    assert home.db_path.read_bytes() == b"", "nothing is moved when there is nothing to restore"


def test_sqlite_storage_failures_read_as_plain_errors(home):
    """A real SQLITE_FULL (the database's page limit reached), and the OS's ENOSPC/EFBIG/EROFS."""
    import errno

    db = open_database(home.db_path)
    try:
        pages = db.execute_sql("PRAGMA page_count").fetchone()[0]
        db.execute_sql(f"PRAGMA max_page_count = {pages + 2}")
        with pytest.raises(peewee.OperationalError) as info, db.atomic():
            for n in range(2000):
                db.execute_sql("INSERT INTO meta (key, value) VALUES (?, ?)", (f"k{n}", "x" * 500))
        err = as_database_error(info.value)
        assert isinstance(err, errors.DiskFull) and err.title == "The disk is full"
        assert db.execute_sql("SELECT COUNT(*) FROM meta WHERE key LIKE 'k%'").fetchone()[0] == 0, "rolled back"
    finally:
        close_database()
    assert isinstance(as_database_error(OSError(errno.ENOSPC, "No space left on device")), errors.DiskFull)
    assert isinstance(as_database_error(OSError(errno.EFBIG, "File too large")), errors.DiskFull)
    assert isinstance(as_database_error(OSError(errno.EROFS, "Read-only file system", "/x/qbosync.sqlite3")),
                      errors.DatabaseReadOnly)
    assert as_database_error(PermissionError(errno.EACCES, "Permission denied")) is None, "a socket is not a disk"
    assert as_database_error(ValueError("a bug")) is None


_HOLDER = """
import sys, time
from qbosync_desktop.core import paths, writer_lock
writer_lock.set_program("app sync worker")
lock = writer_lock.WriterLock(paths.get_paths(), writer_lock.SYNC)
lock.acquire(timeout=5)
print("held", flush=True)
sys.stdin.readline()
lock.release()
"""


def test_a_second_writer_waits_a_bounded_time_and_says_who_holds_the_lock(home):
    env = {**os.environ, "QBOSYNC_HOME": str(home.data_dir.parent)}
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "held"
        writer_lock.set_program("cli", "sync")
        started = time.monotonic()
        with pytest.raises(errors.DataFolderBusy) as info:
            writer_lock.WriterLock(home, writer_lock.SYNC).acquire(timeout=0.5)
        assert 0.4 < time.monotonic() - started < 5
        exc = info.value
        assert f"process {holder.pid}" in exc.message and "the QBO Sync app's sync" in exc.message
        assert "since " in exc.message and "UTC" in exc.message
        assert exc.details["holder_pid"] == holder.pid
        assert (home.lock_dir / "sync.owner.json").stat().st_mode & 0o777 == 0o600
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(10)
        # Released (the owner file goes with it): the next writer gets it at once.
        with writer_lock.holding(home, writer_lock.SYNC, timeout=2):
            info_now = writer_lock.holder(home, writer_lock.SYNC)
            assert info_now["pid"] == os.getpid() and info_now["program"] == "cli"
        assert writer_lock.holder(home, writer_lock.SYNC) is None
    finally:
        writer_lock.set_program("qbosync")
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_a_missing_database_next_to_its_copies_is_not_started_over(home):
    _populated(home)
    db = open_database(home.db_path)
    backups.after_run(db, home, {"clients": {"created": 1}})
    close_database()
    home.db_path.unlink()
    with pytest.raises(errors.DatabaseDamaged) as info:
        open_database(home.db_path)
    assert info.value.title == "The database is missing"
    assert "qbosync restore" in info.value.hint and "move the backups folder" in info.value.hint
    assert not home.db_path.exists(), "no new, empty database was created"
    assert backups.restore(home).damaged_kept_as is None
    db = open_database(home.db_path)
    try:
        assert db.execute_sql("SELECT COUNT(*) FROM sync_link").fetchone()[0] == 300
    finally:
        close_database()
