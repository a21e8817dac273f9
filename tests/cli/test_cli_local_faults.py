"""Issue 16 part 4 "done when", through ``qbosync`` against both practice servers: a full disk during
``enable``, an empty / truncated / overwritten database, a read-only database and two writers each end
with a plain message and the documented exit code (docs/cli.md), and afterwards QuickBooks, read back
over its REST API, holds every record exactly once: compared with a second company that received
the same data without any fault.

The disk-full run is a child process under ``RLIMIT_FSIZE`` (every file it writes - database, WAL,
log - stops growing at the limit, as on a full disk), repeated until the disk fills up between a
batch reaching QuickBooks and its answer being recorded (so the re-run must replay it by requestid); the read-only run is a child process that,
when the tests run as root, first gives up root's power to write read-only files.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fixtures.local_faults import duplicates, folder, largest_file, prepare, qbosync, readback, total

from qbosync_desktop.cli import main as cli
from qbosync_desktop.core import paths as paths_mod

DISK_FULL, DAMAGED, READ_ONLY, BUSY = 5, 6, 7, 8


def _plain(stderr: str) -> None:
    assert "Traceback" not in stderr and "Logging error" not in stderr, stderr[-3000:]
    assert "What to do:" in stderr


def _sent_but_not_applied(db_path: Path) -> int:
    """Batches QuickBooks may hold whose answer the database does not (read-only look at the file)."""
    import sqlite3

    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return int(con.execute("SELECT COUNT(*) FROM sync_batch WHERE state = 'sent'").fetchone()[0])
    finally:
        con.close()


@pytest.fixture
def reference(make_practice, tmp_path):
    """The same company as ``practice`` synced once without faults: what QuickBooks must hold."""
    control = folder(tmp_path / "control")
    prepare(make_practice(), control)
    r = qbosync(control.data_dir.parent, "enable", "--json")
    assert r.returncode in (0, 1), r.stderr[-3000:]
    snapshot = readback(control)
    assert not duplicates(snapshot)
    return snapshot


posix_only = pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE and file modes are POSIX")


@posix_only
@pytest.mark.timeout(300)
def test_disk_full_during_enable_is_plain_and_the_rerun_writes_everything_exactly_once(
        make_practice, reference, tmp_path):
    practice = make_practice()
    home = folder(tmp_path / "full")
    prepare(practice, home)
    before = readback(home)
    # The disk fills up again and again (each time a little later in the sync), until it does so
    # between sending a batch to QuickBooks and recording QuickBooks' answer: the hardest moment for
    # exactly-once, which the re-run must settle by replaying the batch under its stored requestid.
    margin, failures, unapplied = 256_000, 0, 0
    while not unapplied and failures < 8:
        limit = largest_file(home.data_dir, home.log_dir) + margin
        r = qbosync(home.data_dir.parent, "enable", "--json", fsize=limit)
        assert r.returncode == DISK_FULL, (r.returncode, r.stdout[-2000:], r.stderr[-3000:])
        failures += 1
        error = json.loads(r.stdout)["error"]
        assert error["type"] == "DiskFull" and error["title"] == "The disk is full"
        assert "Free some space" in error["hint"] and "Nothing was lost" in error["hint"]
        assert "Traceback" not in r.stderr and "Logging error" not in r.stderr, r.stderr[-3000:]
        unapplied = _sent_but_not_applied(home.db_path)
        margin += 128_000
    assert unapplied, f"{failures} disk-full runs, none stopped between sending a batch and recording it"
    half = readback(home)
    assert total(before) < total(half) < total(reference), "the disk filled up half-way through the sync"

    # The same without --json: the plain two lines a person reads.
    r = qbosync(home.data_dir.parent, "sync", fsize=largest_file(home.data_dir, home.log_dir))
    assert r.returncode == DISK_FULL, r.stderr[-3000:]
    assert "The disk is full:" in r.stderr
    _plain(r.stderr)

    # Space again: a normal re-run finishes, and nothing is in QuickBooks twice.
    r = qbosync(home.data_dir.parent, "enable", "--json")
    assert r.returncode in (0, 1), r.stderr[-3000:]
    after = readback(home)
    assert not duplicates(after)
    assert after == reference
    r = qbosync(home.data_dir.parent, "sync", "--json")
    assert r.returncode in (0, 1), r.stderr[-3000:]
    counts = json.loads(r.stdout)["run"]["counts"]
    assert not any(by.get(o) for by in counts.values() for o in ("created", "updated", "voided")), counts
    assert readback(home) == reference


@pytest.fixture
def enabled(practice, home, capsys):
    """``home`` connected, configured and enabled through the CLI; returns QuickBooks as read back."""
    prepare(practice, home)
    assert cli.main(["enable", "--json"]) in (0, 1)
    capsys.readouterr()
    snapshot = readback(home)
    assert total(snapshot) and not duplicates(snapshot)
    assert list(home.backup_dir.glob("*.run.*.sqlite3")), "a good copy is taken after the run"
    return snapshot


def _damage(path: Path, how: str) -> None:
    size = path.stat().st_size
    if how == "zero-byte":
        path.write_bytes(b"")
    elif how == "truncated":
        with open(path, "r+b") as f:
            f.truncate(size // 3)
    else:  # overwritten in the middle, as a failing disk or a stray program would
        with open(path, "r+b") as f:
            f.seek(size // 2)
            f.write(os.urandom(16384))


@pytest.mark.parametrize("how", ["zero-byte", "truncated", "corrupt"])
def test_a_damaged_database_is_refused_then_restored_with_nothing_lost_or_duplicated(
        enabled, practice, home, capsys, how):
    from qbosync_desktop.store import close_database

    close_database()
    for side in ("-wal", "-shm"):
        Path(str(home.db_path) + side).unlink(missing_ok=True)
    _damage(home.db_path, how)
    damaged = home.db_path.read_bytes()

    assert cli.main(["sync"]) == DAMAGED
    err = capsys.readouterr().err
    assert "The database is damaged:" in err and "qbosync restore" in err and "backups" in err
    _plain(err)
    assert cli.main(["status", "--json"]) == DAMAGED
    out = json.loads(capsys.readouterr().out)
    assert out["error"]["type"] == "DatabaseDamaged"
    assert home.db_path.read_bytes() == damaged, "never started over as a fresh install"
    assert cli.main(["doctor", "--json"]) == 0, "doctor still works: support needs it most now"
    report = json.loads(capsys.readouterr().out)
    assert report["database_check"].startswith("DAMAGED") and "1 good" in report["backups"]

    assert cli.main(["restore", "--list"]) == 0
    listing = capsys.readouterr().out
    assert ".run." in listing and "good" in listing
    assert cli.main(["restore"]) == 0
    out = capsys.readouterr().out
    assert "Restored the database from" in out
    kept = list(home.data_dir.glob("qbosync.sqlite3.damaged-*"))
    assert [p.read_bytes() for p in kept if not p.name.endswith(("-wal", "-shm"))] == [damaged]

    assert cli.main(["sync", "--json"]) in (0, 1)
    run = json.loads(capsys.readouterr().out)["run"]
    assert run["state"] == "done"
    assert not any(by.get("created") for by in run["counts"].values()), run["counts"]
    assert readback(home) == enabled


@posix_only
def test_a_read_only_database_says_so_and_nothing_is_lost(enabled, home):
    from qbosync_desktop.store import close_database

    close_database()
    root = home.data_dir.parent
    os.chmod(home.db_path, 0o400)
    before = home.db_path.read_bytes()
    r = qbosync(root, "sync", obey_permissions=True)
    assert r.returncode == READ_ONLY, (r.returncode, r.stderr[-3000:])
    assert "The database is read-only:" in r.stderr and "write access" in r.stderr
    _plain(r.stderr)
    r = qbosync(root, "status", "--json", obey_permissions=True)
    assert r.returncode == READ_ONLY and json.loads(r.stdout)["error"]["type"] == "DatabaseReadOnly"
    assert home.db_path.read_bytes() == before

    os.chmod(home.db_path, 0o600)
    r = qbosync(root, "sync", "--json", obey_permissions=True)
    assert r.returncode in (0, 1), r.stderr[-3000:]
    run = json.loads(r.stdout)["run"]
    assert run["state"] == "done" and not any(by.get("created") for by in run["counts"].values())
    assert readback(home) == enabled


@pytest.mark.timeout(240)
def test_two_writers_never_run_alongside(make_practice, home, capsys):
    """A second ``qbosync sync`` while one runs: with a short --wait it says who holds the lock and exits
    8; with a long one it waits, then runs. QuickBooks holds each new invoice once."""
    practice = make_practice()
    prepare(practice, home)
    assert cli.main(["enable", "--json"]) in (0, 1)
    capsys.readouterr()
    practice.qbo.set_faults(latency_ms=300)  # the first sync below then takes seconds, not a blink
    user = practice.work.user
    items = [r["id"] for r in practice.work.store.all("items")][:2]
    numbers = []
    for n in range(30):
        client = user.add_client(f"Writer Client {n}", email=f"writer{n}@example.com")
        numbers.append(str(user.add_invoice(client["id"], [{"item_id": items[0]}, {"item_id": items[1]}])["number"]))

    env = {k: v for k, v in os.environ.items() if k != "QBOSYNC_HOME"}
    first = subprocess.Popen([sys.executable, "-m", "qbosync_desktop.cli.main", "--home",
                              str(home.data_dir.parent), "sync", "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        owner = home.lock_dir / "sync.owner.json"
        deadline = time.monotonic() + 60
        while not owner.exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert owner.exists(), "the first sync took the writer lock"

        assert cli.main(["sync", "--wait", "0.3"]) == BUSY
        err = capsys.readouterr().err
        assert f"process {first.pid}" in err and "'qbosync sync'" in err and "running since" in err
        _plain(err)
        assert first.poll() is None, "the first sync was still running while the second was refused"

        assert cli.main(["sync", "--wait", "180", "--json"]) in (0, 1)
        second = json.loads(capsys.readouterr().out)["run"]
        out, err = first.communicate(timeout=60)
        assert first.returncode in (0, 1), err[-3000:]
        first_run = json.loads(out)["run"]
        # By the runs' own clock, not by whether the first process has exited yet: it releases the lock
        # before its interpreter ends, which on a loaded machine can take longer than the second run.
        assert dt.datetime.fromisoformat(first_run["finished_at"]) <= dt.datetime.fromisoformat(
            second["started_at"]), "the second sync ran only after the first had finished"
        assert first_run["seconds"] > 1.5, "long enough that the refused sync really overlapped it"
        assert first_run["counts"]["invoices"].get("created") == len(numbers)
        assert not second["counts"].get("invoices", {}).get("created"), second["counts"]
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    paths_mod.set_home(None)
    snapshot = readback(home)
    assert not duplicates(snapshot)
    docs = [key[0] for key in snapshot["Invoice"].elements()]
    assert all(docs.count(n) == 1 for n in numbers)


def test_restore_leaves_a_healthy_database_alone_and_never_swaps_it_under_the_app(home, capsys):
    from qbosync_desktop.core import writer_lock
    from qbosync_desktop.store import backups, close_database, open_database

    db = open_database(home.db_path)
    db.execute_sql("INSERT INTO meta (key, value) VALUES ('marker', 'copy')")
    backups.after_run(db, home, {"clients": {"created": 1}})
    db.execute_sql("UPDATE meta SET value = 'newer' WHERE key = 'marker'")
    close_database()

    assert cli.main(["restore"]) == 3
    err = capsys.readouterr().err
    assert "healthy" in err and "--force" in err
    with writer_lock.holding(home, writer_lock.APP, timeout=0):  # the app is running
        assert cli.main(["restore", "--force"]) == BUSY
        assert "Quit the QBO Sync app" in capsys.readouterr().err
    db = open_database(home.db_path)
    assert db.execute_sql("SELECT value FROM meta WHERE key='marker'").fetchone()[0] == "newer"
    close_database()

    assert cli.main(["restore", "--force", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["restored_from"]["kind"] == "run" and out["damaged_file_kept_as"]
    db = open_database(home.db_path)
    assert db.execute_sql("SELECT value FROM meta WHERE key='marker'").fetchone()[0] == "copy"
    close_database()


_HOLD_SYNC_LOCK = """
import sys, time
from qbosync_desktop.core import paths, writer_lock
writer_lock.set_program("cli", "sync")
lock = writer_lock.WriterLock(paths.get_paths(), writer_lock.SYNC)
lock.acquire(timeout=5)
print("held", flush=True)
time.sleep(float(sys.argv[1]))
lock.release()
"""


def test_disconnect_forget_waits_for_a_running_sync_before_forgetting_its_links(configured_workspace, home, capsys):
    """Forgetting links and the outbox while a run uses them would make the run write records again."""
    from qbosync_desktop.store.models.links import Link

    Link.create(kind="client", work_id="c-1", qbo_id="1", qbo_sync_token="0")
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_SYNC_LOCK, "2.0"], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "QBOSYNC_HOME": str(home.data_dir.parent)})
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        assert cli.main(["disconnect", "--forget"]) == 0
        waited = time.monotonic() - started
        assert holder.wait(10) == 0
        assert waited > 1.0, "disconnect did not wait for the sync holding the data folder"
        assert Link.select().count() == 0
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
