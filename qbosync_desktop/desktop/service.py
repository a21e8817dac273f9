"""SyncService: the company's sync worker thread and process, its schedule, and engine events as Qt signals.

Why a service between the UI and the engine (DESIGN §2-3):

* **One worker thread per company, one run at a time.** Runs, retries and every other engine call
  that writes (accept a match, resolve a conflict, disconnect) are queued to the same thread, so they
  are serialised without locks in the UI: a "Retry" pressed during a run simply runs after it.
* **Sync runs happen in a separate process** when the service is given the data folder
  (``worker_paths``; the desktop app always does): the worker thread hands each run to a
  :class:`~qbosync_desktop.runtime.worker_process.SyncWorkerProcess` and relays its messages. A large
  sync is mostly Python work, and on a thread of the app's own process it took the interpreter lock
  away from the GUI thread often enough to freeze the window for 100-300 ms at a time (see that
  module and docs/decisions.md). The Review page's plan (:meth:`SyncService.plan`) goes there too;
  short engine calls (accept a match, resolve a conflict, disconnect) stay on the worker thread.
  Without ``worker_paths`` (library use, some tests) everything stays on the thread.
* **Engine events become signals.** A :class:`~qbosync_desktop.runtime.progress.CoalescingObserver`
  turns the engine's per-record calls into at most ten progress snapshots a second (in the worker
  process, or on the worker thread), and :class:`_SignalSink` emits them as queued signals, which Qt
  delivers on the GUI thread — one queued event instead of thousands keeps the event loop free.
* **Cancellation is cooperative**: Cancel sets an event (shared with the worker process) the engine
  checks between batches; the batch in flight completes and is applied, so nothing is half-written.
* **The GUI thread never waits for the worker.** Shutdown sets the cancel event and queues a stop;
  an ``atexit`` hook (after the window is gone) gives the batch in flight up to
  :data:`EXIT_GRACE_SECONDS` to finish and be applied. The thread is a daemon, so a worker stuck on
  a dead connection can never keep the process alive (no ``QThread.wait()`` on the GUI).
* **Schedule** is a ``QTimer`` on the GUI thread (every ``schedule_minutes``); pausing stops it;
  "Sync now" works even while paused (a person asked for it). After a finished run the reconcile
  check runs on the worker thread when its interval (``reconcile_every_days``, weekly) has passed.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from qbosync_desktop.core.errors import NeedsReconnect, QboSyncError
from qbosync_desktop.core.paths import AppPaths
from qbosync_desktop.desktop.signals import emit
from qbosync_desktop.runtime.progress import CoalescingObserver, Progress
from qbosync_desktop.runtime.worker_process import SyncWorkerProcess
from qbosync_desktop.runtime.worker_process import plan as plan_review
from qbosync_desktop.sync import reconcile
from qbosync_desktop.sync.engine import Observer, RunSummary

__all__ = ["SyncService", "Progress", "IDLE", "SYNCING", "PAUSED", "ATTENTION"]

log = logging.getLogger(__name__)

#: The GIL switch interval the desktop app uses (Python's default is 5 ms). Whenever another thread of
#: the app runs Python (the window's background reads, this service's thread relaying a run), the GUI
#: thread waits for the GIL after every timer or input event; a shorter interval hands it over sooner.
#: Measured when syncs still ran on a thread of this process: max event-loop gaps of 80-117 ms at 5 ms
#: and 40-63 ms at 1-2 ms on a loaded 2-core machine, with the sync itself no slower. Syncs now run in
#: a worker process; the shorter interval stays for the threads that remain.
GUI_SWITCH_INTERVAL = 0.002


def prefer_gui_latency() -> float:
    """Shorten the GIL switch interval for a GUI process; returns the previous value (tests restore it)."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(GUI_SWITCH_INTERVAL)
    return previous


#: Service states, also the tray icon's: idle, syncing, paused, attention (problems or reconnect).
IDLE, SYNCING, PAUSED, ATTENTION = "idle", "syncing", "paused", "attention"


class _SignalSink:
    """Coalesced engine events (worker thread) → queued Qt signals (delivered on the GUI thread)."""

    def __init__(self, service: SyncService) -> None:
        self.service = service

    def run_started(self, run_id: int | None) -> None:
        emit(self.service.run_started, run_id)

    def progress(self, snapshot: Progress) -> None:
        emit(self.service.progress, snapshot)

    def problem(self, problem: dict[str, Any]) -> None:
        emit(self.service.problem, problem)


class UndoProgress(Observer):
    """An undo's progress (worker thread) → :attr:`SyncService.undo_progress`, at most ten a second
    and always the last of each phase, so the window can say "Undoing… invoices: 40 of 97"."""

    def __init__(self, service: SyncService, interval: float = 0.1) -> None:
        self.service = service
        self.interval = interval
        self._last = 0.0

    def phase(self, entity: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < self.interval:
            return
        self._last = now
        emit(self.service.undo_progress, entity, done, total)


_STOP = object()

#: How long the process waits at exit for the batch in flight (outbox replay covers anything longer).
EXIT_GRACE_SECONDS = 30.0


def _finish_at_exit(q: queue.Queue, cancel: Any, thread: threading.Thread) -> None:
    """Interpreter exit: stop after the current batch, then wait a bounded time for it to be applied."""
    if thread.is_alive():
        cancel.set()
        q.put((_STOP, {}))
        thread.join(EXIT_GRACE_SECONDS)


class SyncService(QObject):
    """Owns the company's worker thread and schedule. Create and use it on the GUI thread.

    ``engine_factory`` returns the :class:`~qbosync_desktop.sync.engine.SyncEngine` (called once, on
    the worker thread, so building connectors never touches the GUI thread). ``worker_paths`` (the
    data folder) moves sync runs into a worker process.
    """

    run_started = Signal(object)  # run id
    progress = Signal(object)  # Progress
    problem = Signal(object)  # problem dict (opened or seen again)
    finished = Signal(object)  # RunSummary
    failed = Signal(object)  # QboSyncError (or a bug) that stopped a run
    needs_reconnect = Signal(object)  # NeedsReconnect
    state_changed = Signal(str)  # idle | syncing | paused | attention
    schedule_changed = Signal(object)  # next scheduled run (datetime, local) or None
    reconcile_checked = Signal(object)  # sync.reconcile.Report of a scheduled reconcile check
    undo_progress = Signal(str, int, int)  # an undo's writes: phase, done, total (at most 10 a second)

    def __init__(self, engine_factory: Callable[[], Any], *, worker_paths: AppPaths | None = None,
                 schedule_minutes: int = 15, minute_ms: int = 60_000, progress_interval: float = 0.1,
                 autostart_schedule: bool = True, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._engine_factory = engine_factory
        self._engine: Any = None
        self._queue: queue.Queue = queue.Queue()
        self._process: Any = None
        if worker_paths is not None:
            self._process = SyncWorkerProcess(worker_paths, progress_interval=progress_interval)
            self._cancel: Any = self._process.cancel
        else:
            self._cancel = threading.Event()
        self._busy = False
        self._pending_runs = 0
        self._paused = False
        self._attention = False
        self._stopping = False
        self._state = IDLE
        self.progress_interval = progress_interval
        self.last_summary: RunSummary | None = None
        self.last_error: BaseException | None = None
        self.minute_ms = minute_ms
        self.schedule_minutes = schedule_minutes
        self.next_run: dt.datetime | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._scheduled)
        self._thread = threading.Thread(target=self._worker, name="sync-worker", daemon=True)
        self._thread.start()
        atexit.register(_finish_at_exit, self._queue, self._cancel, self._thread)
        self.finished.connect(self._on_finished)
        self.failed.connect(self._on_failed)
        if autostart_schedule:
            self._arm()

    # ------------------------------------------------------------------ state
    @property
    def state(self) -> str:
        return self._state

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    @property
    def worker_process(self) -> Any:
        """The :class:`~qbosync_desktop.runtime.worker_process.SyncWorkerProcess`, or None (runs on the thread)."""
        return self._process

    def _set_state(self) -> None:
        if self._busy:
            state = SYNCING
        elif self._attention:
            state = ATTENTION
        elif self._paused:
            state = PAUSED
        else:
            state = IDLE
        if state != self._state:
            self._state = state
            emit(self.state_changed, state)

    def set_attention(self, on: bool) -> None:
        """Open problems or a needed reconnect put the tray in "needs attention"."""
        self._attention = on
        self._set_state()

    # ------------------------------------------------------------------ schedule
    def set_schedule(self, minutes: int) -> None:
        self.schedule_minutes = max(1, int(minutes))
        self._arm()

    def _arm(self) -> None:
        if self._paused:
            self._timer.stop()
            self.next_run = None
        else:
            interval = self.schedule_minutes * self.minute_ms
            self._timer.start(interval)
            self.next_run = dt.datetime.now() + dt.timedelta(milliseconds=interval)
        emit(self.schedule_changed, self.next_run)

    @Slot()
    def _scheduled(self) -> None:
        if not self._paused and not self._busy and self._pending_runs == 0:
            self.sync_now(scheduled=True)
        else:
            self._arm()

    def pause(self) -> None:
        self._paused = True
        self._arm()
        self._set_state()

    def resume(self) -> None:
        self._paused = False
        self._arm()
        self._set_state()

    # ------------------------------------------------------------------ requests
    def sync_now(self, *, initial: bool = False, total_hint: int = 0, scheduled: bool = False) -> bool:
        """Queue a run. Returns False when one is already queued or running (no pile-up of runs)."""
        if self._pending_runs or self._busy:
            return False
        self._pending_runs += 1
        self._busy = True
        self._set_state()
        self._queue.put(("run", {"initial": initial, "total_hint": total_hint}))
        log.info("Sync %s queued", "scheduled" if scheduled else "requested")
        return True

    def retry(self, problem_id: int | None = None) -> None:
        """Mark one problem (or all) for retry and run; queued behind a run in progress."""
        self._pending_runs += 1
        self._busy = True
        self._set_state()
        self._queue.put(("retry", {"problem_id": problem_id}))

    def cancel(self) -> None:
        """Stop the current run after the batch in flight (cooperative)."""
        self._cancel.set()

    def warm_up(self) -> None:
        """Build the engine and start the worker process now, off the GUI thread, so the first sync
        starts at once (imports and opening the database take about a second)."""
        self._queue.put(("warm", {}))

    def submit(self, fn: Callable[[Any], Any], on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[BaseException], None] | None = None) -> None:
        """Run ``fn(engine)`` on the worker thread, serialised with runs; callbacks on the GUI thread."""
        relay = _CallRelay(self, on_done, on_error)
        self._queue.put(("call", {"fn": fn, "relay": relay}))

    def plan(self, matches: bool, on_done: Callable[[Any], None] | None = None,
             on_error: Callable[[BaseException], None] | None = None) -> None:
        """The Review page's (preview, match proposals): read both companies in full — in the worker
        process when there is one, like a run — serialised with runs; callbacks on the GUI thread."""
        process = self._process
        if process is None:
            self.submit(lambda engine: plan_review(engine, matches), on_done, on_error)
        else:
            self.submit(lambda _engine: process.plan(matches), on_done, on_error)

    def shutdown(self) -> None:
        """Stop the schedule, cancel a run, and let the worker finish its batch on its own."""
        self._timer.stop()
        self._stopping = True
        self._cancel.set()
        self._queue.put((_STOP, {}))

    # ------------------------------------------------------------------ worker thread
    def _engine_get(self) -> Any:
        if self._engine is None:
            self._engine = self._engine_factory()
        return self._engine

    def _worker(self) -> None:
        try:
            while True:
                kind, args = self._queue.get()
                if kind is _STOP:
                    return
                if kind == "call":
                    relay: _CallRelay = args["relay"]
                    try:
                        result, exc = args["fn"](self._engine_get()), None
                    except BaseException as error:
                        result, exc = None, error
                    relay.deliver(result, exc)
                    continue
                if kind == "warm":
                    self._warm()
                    continue
                if self._stopping:
                    continue
                self._run(kind, args)
        finally:
            if self._process is not None:
                self._process.stop()

    def _warm(self) -> None:
        try:
            self._engine_get()
            if self._process is not None:
                self._process.start()
        except Exception:  # the first run reports the same problem in words; warming up is best effort
            log.warning("Warming up the sync engine failed", exc_info=True)

    def _run(self, kind: str, args: dict[str, Any]) -> None:
        self._cancel.clear()  # a Cancel pressed for an earlier run must not stop this one
        sink = _SignalSink(self)
        try:
            if self._process is not None:
                summary = self._process.run(kind, initial=bool(args.get("initial")), problem_id=args.get("problem_id"),
                                            total_hint=args.get("total_hint", 0), on_started=sink.run_started,
                                            on_progress=sink.progress, on_problem=sink.problem)
            else:
                observer = CoalescingObserver(sink, args.get("total_hint", 0), self.progress_interval)
                engine = self._engine_get()
                if kind == "retry":
                    summary = engine.retry(args["problem_id"], observer=observer, cancel=self._cancel)
                else:
                    summary = engine.run(initial=args["initial"], observer=observer, cancel=self._cancel)
        except BaseException as exc:  # reported to the GUI; the worker lives on
            if not isinstance(exc, QboSyncError):
                log.exception("Sync run crashed")
            if isinstance(exc, NeedsReconnect):
                self._mark_needs_reconnect()
            emit(self.failed, exc)
        else:
            emit(self.finished, summary)

    def _mark_needs_reconnect(self) -> None:
        """Worker thread: remember in the database that only a new sign-in helps (the header, the tray
        and the next start all show it), before the GUI hears about it."""
        try:
            workspace = getattr(self._engine_get(), "workspace", None)
        except Exception:
            log.exception("Could not record that QuickBooks needs reconnecting")
            return
        mark = getattr(workspace, "mark_needs_reconnect", None)
        if mark is not None:
            try:
                mark()
            except Exception:
                log.exception("Could not record that QuickBooks needs reconnecting")

    # ------------------------------------------------------------------ GUI-thread bookkeeping
    @Slot(object)
    def _on_finished(self, summary: RunSummary) -> None:
        self.last_summary = summary
        self.last_error = None
        self._run_ended()
        if summary.state == "done":
            self.reconcile_if_due()

    def reconcile_if_due(self, *, force: bool = False) -> None:
        """The scheduled reconcile check (issue 15): after a finished run, on the worker thread (so it
        never overlaps a run and never blocks the GUI), when ``reconcile_every_days`` have passed.
        Differences become one open problem; :attr:`reconcile_checked` carries the report."""
        if self._stopping:
            return

        def check(engine: Any) -> Any:
            workspace = getattr(engine, "workspace", None)
            return None if workspace is None else reconcile.check_if_due(workspace, force=force)

        def done(report: Any) -> None:
            if report is not None:
                emit(self.reconcile_checked, report)

        def failed(exc: BaseException) -> None:  # tried again after the next run
            log.warning("The scheduled reconcile check failed: %s", exc)

        self.submit(check, done, failed)

    @Slot(object)
    def _on_failed(self, exc: BaseException) -> None:
        self.last_error = exc
        if isinstance(exc, NeedsReconnect):
            self._attention = True
            emit(self.needs_reconnect, exc)
        self._run_ended()

    def _run_ended(self) -> None:
        self._pending_runs = max(0, self._pending_runs - 1)
        self._busy = self._pending_runs > 0
        self._set_state()
        self._arm()


class _CallRelay(QObject):
    """Delivers a worker-thread call's result to GUI-thread callbacks through a queued signal."""

    done = Signal(object, object)

    def __init__(self, parent: QObject, on_done: Callable[[Any], None] | None,
                 on_error: Callable[[BaseException], None] | None) -> None:
        super().__init__(parent)
        self._on_done, self._on_error = on_done, on_error
        self.done.connect(self._deliver)

    def deliver(self, result: Any, exc: BaseException | None) -> None:
        emit(self.done, result, exc)

    @Slot(object, object)
    def _deliver(self, result: Any, exc: BaseException | None) -> None:
        self.deleteLater()
        if exc is not None:
            if self._on_error is not None:
                self._on_error(exc)
            else:
                log.error("Engine call failed", exc_info=exc)
        elif self._on_done is not None:
            self._on_done(result)
