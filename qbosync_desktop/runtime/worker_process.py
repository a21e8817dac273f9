"""Sync runs in a separate Python process, so the desktop window never waits for them.

Why a process and not only a thread (docs/decisions.md, "Sync runs in their own process"): a sync is
mostly Python work — JSON, peewee rows, mapping — and while the engine thread runs, the GUI thread
must win the interpreter lock (GIL) back for every Python slot and every Qt-to-Python call. Measured
with the engine on a thread, a 4,600-record sync gave event-loop gaps up to 175 ms (300 ms at 6,800
records) although the GUI code itself never worked more than 39 ms per gap. A process has its own
interpreter lock; the desktop process only relays ten progress messages a second.

Parent side — :class:`SyncWorkerProcess`, used from the desktop service's worker thread:

* The worker is started with multiprocessing's *spawn* method (a fresh interpreter: nothing of Qt,
  no threads inherited; also what Windows and macOS use, and what PyInstaller bundles support through
  ``multiprocessing.freeze_support()``). It stays up between runs, so "Sync now" starts at once.
* One run at a time: :meth:`SyncWorkerProcess.run` sends the request and serves the worker's messages
  until the run ends: coalesced progress, problems, log records, and keyring requests.
* **Secrets never leave the app's keyring.** The worker has no keyring of its own: its keyring backend
  (:class:`~qbosync_desktop.core.secrets.RelayKeyring`) asks the parent over the private pipe, and the
  parent answers from the same keyring it uses — the OS keyring; in tests and keyring-less practice
  mode the in-memory one — through :func:`qbosync_desktop.core.secrets.relay_request` (under the
  secrets module's lock). So there is one keyring user, token rotation done by the worker lands where
  the app reads it, and only this app's service name is served.
* **Logs** are formatted and redacted in the worker, then written by the parent's handlers (one log
  file, one writer; the redaction filter runs again there).
* **It runs at a lower priority** (nice 10; "below normal" on Windows), so when the machine is
  busy the window — and the person's other programs — get the CPU first.
* **Cancel** is a multiprocessing ``Event`` shared with the worker: the engine checks it between
  batches, so the batch in flight completes and is applied.
* **If the worker dies** (killed, crashed) the run ends with :class:`~qbosync_desktop.core.errors.
  SyncWorkerStopped`; the next run starts a new worker, which replays the outbox (nothing is lost or
  sent twice — the kill drills prove the outbox). **If the app dies**, the worker notices its parent is
  gone, stops after the batch in flight, and exits.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import pickle
import threading
from collections.abc import Callable
from typing import Any

from qbosync_desktop.core import secrets, writer_lock
from qbosync_desktop.core.errors import QboSyncError, SyncWorkerStopped
from qbosync_desktop.core.logs import RedactingFilter
from qbosync_desktop.core.paths import AppPaths, use_paths
from qbosync_desktop.runtime.priority import lower_priority
from qbosync_desktop.runtime.progress import CoalescingObserver
from qbosync_desktop.runtime.workspace import Workspace
from qbosync_desktop.sync.engine import SyncEngine

log = logging.getLogger(__name__)

#: How long :meth:`SyncWorkerProcess.stop` waits for an idle worker to exit before ending it.
STOP_TIMEOUT = 10.0


# ------------------------------------------------------------------------------------------------
# Worker side (runs in the spawned process)


class _Channel:
    """The worker's end of the pipe. Several engine threads send (progress, logs, keyring requests);
    a keyring request waits for its answer, which is the only thing the parent sends during a run."""

    def __init__(self, conn: multiprocessing.connection.Connection, gone: threading.Event) -> None:
        self.conn = conn
        self.gone = gone
        self._send_lock = threading.Lock()
        self._request_lock = threading.Lock()

    def send(self, message: tuple) -> bool:
        if self.gone.is_set():
            return False
        try:
            with self._send_lock:
                self.conn.send(message)
            return True
        except (OSError, EOFError):  # the app is gone: stop after the batch in flight
            self.gone.set()
            return False

    def ask_keyring(self, op: str, service: str, username: str, value: str | None) -> tuple[str, object]:
        """One keyring request answered by the app (:func:`secrets.relay_request`); ConnectionError
        when the app is gone."""
        with self._request_lock:
            if not self.send(("keyring", op, service, username, value)):
                raise ConnectionError("the app has closed")
            try:
                answer: tuple[str, object] = self.conn.recv()
                return answer
            except (OSError, EOFError):
                self.gone.set()
                raise ConnectionError("the app has closed") from None


class _PipeLogHandler(logging.Handler):
    """Sends each log record, already formatted and redacted, for the app's handlers to write."""

    def __init__(self, channel: _Channel) -> None:
        super().__init__()
        self.channel = channel
        self.addFilter(RedactingFilter())

    def emit(self, record: logging.LogRecord) -> None:
        data = dict(record.__dict__)
        data["args"], data["exc_info"] = None, None  # the filter already rendered both into text
        data["threadName"] = f"sync-worker/{record.threadName}"
        data = {k: v for k, v in data.items() if isinstance(v, (str, int, float, type(None)))}
        self.channel.send(("log", data))


class _PipeSink:
    """Progress, problems and the run's start, sent to the app (see sync.progress.ProgressSink)."""

    def __init__(self, channel: _Channel) -> None:
        self.channel = channel

    def run_started(self, run_id: int | None) -> None:
        self.channel.send(("run_started", run_id))

    def progress(self, snapshot: Any) -> None:
        self.channel.send(("progress", snapshot))

    def problem(self, problem: dict[str, Any]) -> None:
        self.channel.send(("problem", problem))


class _Cancel:
    """The engine's cancel flag (it only asks ``is_set()``): the user's Cancel (shared with the app)
    or the app having gone."""

    def __init__(self, shared: Any, gone: threading.Event) -> None:
        self.shared, self.gone = shared, gone

    def is_set(self) -> bool:
        return self.shared.is_set() or self.gone.is_set()


def _sendable(exc: BaseException) -> BaseException:
    """The exception itself when it survives pickling (QboSyncError keeps its title, hint and
    details), else a plain QboSyncError naming it."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return QboSyncError(
            "The sync stopped because of an unexpected error.",
            title="The sync stopped unexpectedly",
            details={"error": type(exc).__name__, "message": str(exc)[:500]},
        )


def plan(engine: Any, matches: bool = True) -> tuple[Any, list[dict[str, Any]] | None]:
    """The wizard's Review page: match proposals (as dicts) and the preview of the first sync. Reads
    both companies in full, so in the app it runs in the worker process like a sync."""
    found = [m if isinstance(m, dict) else m.to_dict() for m in engine.matches()] if matches else None
    preview = engine.preview()
    preview.account_names = engine.workspace.account_names()
    return preview, found


def _watch_parent(gone: threading.Event) -> None:
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        gone.set()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def worker_main(conn: multiprocessing.connection.Connection, paths: AppPaths, cancel: Any, log_level: int,
                interval: float) -> None:
    """The worker process: open the data folder, then run syncs on request until told to stop."""
    gone = threading.Event()
    channel = _Channel(conn, gone)
    _watch_parent(gone)
    use_paths(paths)
    writer_lock.set_program("app sync worker")  # named in the busy message a concurrent CLI run prints
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(_PipeLogHandler(channel))
    root.setLevel(log_level)
    logging.getLogger("urllib3").setLevel(max(log_level, logging.INFO))  # see logs.setup_logging
    logging.getLogger("peewee").setLevel(max(log_level, logging.INFO))
    secrets.use_relay_keyring(channel.ask_keyring)
    lower_priority()
    try:
        home = Workspace.open(paths)  # owns the database for the life of the process
    except BaseException as exc:  # e.g. the database cannot be opened: said in words, in the app's log
        log.exception("The sync worker could not start")
        if not isinstance(exc, QboSyncError):
            exc = QboSyncError(
                "The background sync process could not open the data folder.",
                title="The sync could not start",
                hint="Make sure the data folder exists, is yours and is not full, then press Sync now again.",
                details={"error": type(exc).__name__, "data_folder": str(paths.data_dir)},
            )
        channel.send(("failed", _sendable(exc)))
        return
    channel.send(("ready", os.getpid()))
    run_cancel = _Cancel(cancel, gone)
    try:
        while not gone.is_set():
            try:
                message = conn.recv()
            except (OSError, EOFError):
                break
            if message[0] == "stop":
                break
            if message[0] == "plan":
                try:
                    channel.send(("done", plan(SyncEngine(Workspace.open(paths)), **message[1])))
                except BaseException as exc:
                    channel.send(("failed", _sendable(exc)))
                continue
            if message[0] != "run":
                continue
            request: dict[str, Any] = message[1]
            observer = CoalescingObserver(_PipeSink(channel), request.get("total_hint", 0), interval)
            try:
                # A new workspace per run: fresh connectors, so a reconnect or a new Work key made in
                # the app since the last run is used (the database connection is shared).
                engine = SyncEngine(Workspace.open(paths))
                if request["kind"] == "retry":
                    summary = engine.retry(request.get("problem_id"), observer=observer, cancel=run_cancel)
                else:
                    summary = engine.run(initial=bool(request.get("initial")), observer=observer, cancel=run_cancel)
            except BaseException as exc:
                if not isinstance(exc, QboSyncError):
                    log.exception("Sync run crashed")
                channel.send(("failed", _sendable(exc)))
            else:
                channel.send(("done", summary))
    finally:
        home.close()
        logging.getLogger().handlers.clear()


# ------------------------------------------------------------------------------------------------
# App side


class SyncWorkerProcess:
    """The app's handle on its sync worker process. Not thread-safe: one thread (the desktop service's
    worker) calls :meth:`run` and :meth:`stop`; :attr:`cancel` may be set from any thread."""

    def __init__(self, paths: AppPaths, *, progress_interval: float = 0.1) -> None:
        self.paths = paths
        self.progress_interval = progress_interval
        self._mp = multiprocessing.get_context("spawn")
        #: Set to stop the current run after its batch in flight; the caller clears it before a run.
        self.cancel = self._mp.Event()
        self._proc: Any = None
        self._conn: multiprocessing.connection.Connection | None = None
        self.starts = 0

    @property
    def pid(self) -> int | None:
        """The worker's process id while it runs (any thread may ask)."""
        proc = self._proc
        try:
            return proc.pid if proc is not None and proc.is_alive() else None
        except ValueError:  # closed by the service's thread meanwhile
            return None

    def start(self) -> None:
        """Start the worker if it is not running (imports and opening the database take about a second:
        the app does this at start-up, so the first "Sync now" starts at once)."""
        if self._proc is not None and self._proc.is_alive() and self._conn is not None:
            return
        self._discard()
        parent_conn, child_conn = self._mp.Pipe(duplex=True)
        level = logging.getLogger().getEffectiveLevel()
        proc = self._mp.Process(target=worker_main, name="qbosync-sync-worker", daemon=True,
                                args=(child_conn, self.paths, self.cancel, level, self.progress_interval))
        proc.start()
        child_conn.close()  # only the worker holds its end: its exit is seen here as end-of-file
        self._proc, self._conn = proc, parent_conn
        self.starts += 1
        kind, payload = self._serve(until=("ready", "failed"))
        if kind == "failed":
            self.stop()
            raise payload
        log.info("Sync worker process started (pid %s)", proc.pid)

    def run(self, kind: str = "run", *, initial: bool = False, problem_id: int | None = None, total_hint: int = 0,
            on_started: Callable[[int | None], None] | None = None,
            on_progress: Callable[[Any], None] | None = None,
            on_problem: Callable[[dict[str, Any]], None] | None = None) -> Any:
        """One sync run in the worker; returns its RunSummary or raises what stopped it."""
        self.start()
        assert self._conn is not None
        request = {"kind": kind, "initial": initial, "problem_id": problem_id, "total_hint": total_hint}
        try:
            self._conn.send(("run", request))
        except OSError:
            raise self._stopped() from None
        kind_, payload = self._serve(until=("done", "failed"), on_started=on_started, on_progress=on_progress,
                                     on_problem=on_problem)
        if kind_ == "failed":
            raise payload
        return payload

    def plan(self, matches: bool = True) -> tuple[Any, list[dict[str, Any]] | None]:
        """:func:`plan` in the worker: (preview, match proposals or None)."""
        self.start()
        assert self._conn is not None
        try:
            self._conn.send(("plan", {"matches": matches}))
        except OSError:
            raise self._stopped() from None
        kind, payload = self._serve(until=("done", "failed"))
        if kind == "failed":
            raise payload
        preview, matches_found = payload
        return preview, matches_found

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Ask an idle worker to exit; end it if it does not within ``timeout``."""
        proc, conn = self._proc, self._conn
        if proc is None:
            return
        try:
            if conn is not None:
                conn.send(("stop",))
        except OSError:
            pass
        proc.join(timeout)
        if proc.is_alive():
            log.warning("The sync worker did not stop within %.0f s; ending it", timeout)
            proc.terminate()
            proc.join(5)
        self._discard()

    # -- internals ---------------------------------------------------------------------------------
    def _discard(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._proc is not None and not self._proc.is_alive():
            self._proc.close()
        self._proc, self._conn = None, None

    def _stopped(self) -> SyncWorkerStopped:
        proc = self._proc
        code = None
        if proc is not None:
            proc.join(5)
            code = proc.exitcode
        self._discard()
        log.error("The sync worker process ended unexpectedly (exit code %s)", code)
        return SyncWorkerStopped(details={"exit_code": code})

    def _serve(self, until: tuple[str, ...], on_started: Callable | None = None, on_progress: Callable | None = None,
               on_problem: Callable | None = None) -> tuple[str, Any]:
        """Answer the worker's messages until one of ``until`` arrives (returned as (kind, payload))."""
        conn = self._conn
        assert conn is not None
        while True:
            try:
                message = conn.recv()
            except (OSError, EOFError):
                raise self._stopped() from None
            except Exception as exc:  # a message that could not be unpickled: the stream is still in step
                log.error("A message from the sync worker could not be read: %s", type(exc).__name__)
                continue
            kind = message[0]
            if kind == "keyring":
                reply = secrets.relay_request(*message[1:])
                try:
                    conn.send(reply)
                except OSError:
                    raise self._stopped() from None
            elif kind == "log":
                record = logging.makeLogRecord(message[1])
                logging.getLogger(record.name).handle(record)
            else:
                callback = {"progress": on_progress, "problem": on_problem, "run_started": on_started}.get(kind)
                if callback is not None:
                    callback(message[1])
            if kind in until:
                return kind, (message[1] if len(message) > 1 else None)
