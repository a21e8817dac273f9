"""One data folder, one writer: OS file locks shared by the app, its sync worker and the CLI.

Two locks live in ``<data folder>/locks/``:

* ``sync.lock`` - held for a whole sync run (the engine, whichever program runs it: the app's sync
  worker process, ``qbosync sync``/``enable``/``retry``, a test). Two runs on one outbox could both
  replay the same batch. A second run waits a bounded time (``--wait``, default 10 s) and then says
  who holds the lock, with :class:`~qbosync_desktop.core.errors.DataFolderBusy`; it never runs alongside.
* ``app.lock`` - held by the desktop app for as long as it runs. ``qbosync restore`` needs it free:
  swapping the database file under an open app would lose what the app writes next.

Beside each lock, ``<name>.owner.json`` says who holds it: pid, program (``app``, ``app sync worker``,
``cli``), the command, and since when. It is written after the lock is taken and is only ever read
by someone who could *not* take the lock, so a stale file left by a killed holder is never shown:
the OS releases a killed process's lock at once, and the next holder overwrites the file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any

import filelock

from qbosync_desktop.core.errors import DataFolderBusy
from qbosync_desktop.core.paths import AppPaths

log = logging.getLogger(__name__)

SYNC = "sync"
APP = "app"

#: Who this process is, for the owner file: set by each entry point (the app, the worker, the CLI).
_program = "qbosync"
_command = ""


def set_program(program: str, command: str = "") -> None:
    global _program, _command
    _program, _command = program, command


def owner_file(paths: AppPaths, name: str) -> Any:
    return paths.lock_dir / f"{name}.owner.json"


def holder(paths: AppPaths, name: str) -> dict[str, Any] | None:
    """What the owner file says (only meaningful while the lock is held by someone else)."""
    try:
        return dict(json.loads(owner_file(paths, name).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def describe(info: dict[str, Any] | None) -> str:
    """"the QBO Sync app (process 4242), running since 2026-12-04 14:05:09 UTC" - for the busy message."""
    if not info:
        return "another QBO Sync program"
    program = {"app": "the QBO Sync app", "app sync worker": "the QBO Sync app's sync",
               "cli": "the command 'qbosync" + (f" {info['command']}" if info.get("command") else "") + "'"}.get(
        str(info.get("program")), f"QBO Sync ({info.get('program')})")
    since = str(info.get("since") or "")
    when = ""
    if since:
        try:
            when = ", running since " + dt.datetime.fromisoformat(since.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S UTC")
        except ValueError:
            when = f", running since {since}"
    return f"{program} (process {info.get('pid')}){when}"


class WriterLock:
    def __init__(self, paths: AppPaths, name: str = SYNC) -> None:
        paths.ensure()
        self.paths = paths
        self.name = name
        self._lock = filelock.FileLock(str(paths.lock_file(name)), mode=0o600)

    @property
    def is_locked(self) -> bool:
        return bool(self._lock.is_locked)

    def acquire(self, timeout: float = 10.0) -> None:
        """Take the lock, waiting at most ``timeout`` seconds; else raise :class:`DataFolderBusy`."""
        try:
            self._lock.acquire(timeout=timeout)
        except filelock.Timeout:
            info = holder(self.paths, self.name)
            what = "This company is being synced" if self.name == SYNC else "This data folder is in use"
            raise DataFolderBusy(
                f"{what} by {describe(info)}. Only one QBO Sync program may write to a data folder at a "
                "time, so nothing was started.",
                hint=("Wait for it to finish, then try again (on the command line '--wait SECONDS' waits longer)."
                      if self.name == SYNC else "Quit the QBO Sync app (tray menu > Quit), then try again."),
                details={"lock": str(self.paths.lock_file(self.name)), "waited_seconds": timeout,
                         **{f"holder_{k}": v for k, v in (info or {}).items()}},
            ) from None
        if self._lock.lock_counter == 1:
            self._write_owner()

    def _write_owner(self) -> None:
        info = {"pid": os.getpid(), "program": _program, "command": _command,
                "since": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
                "argv0": os.path.basename(sys.argv[0]) if sys.argv else ""}
        target = owner_file(self.paths, self.name)
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(info, f)
            os.replace(tmp, target)
        except OSError as exc:  # a full disk must not stop the run; only the "who" would be missing
            log.debug("Could not write the lock owner file: %s", exc)
            with contextlib.suppress(OSError):
                tmp.unlink()

    def release(self) -> None:
        if self._lock.lock_counter == 1:
            with contextlib.suppress(OSError):
                owner_file(self.paths, self.name).unlink()
        self._lock.release()


@contextlib.contextmanager
def holding(paths: AppPaths, name: str, timeout: float = 10.0) -> Iterator[WriterLock]:
    lock = WriterLock(paths, name)
    lock.acquire(timeout)
    try:
        yield lock
    finally:
        lock.release()
