"""SyncEngine: the one entry point the CLI, the desktop service and the tests use.

Contract (docs/architecture.md "Engine", docs/sync-engine.md):

* ``SyncEngine(workspace)`` - the workspace gives the connectors and settings (``qbo_client()``,
  ``work_client()``, ``settings()``, ``paths``). :class:`~qbosync_desktop.sync.context.Parts` stands in
  for a workspace when a test or a tool holds the connectors itself.
* ``run(initial=False, observer=None, cancel=None) -> RunSummary`` - replays unfinished outbox work
  first (exactly once after a crash), then runs every phase's plan and apply in dependency order.
  One bad record never stops a run: it becomes a problem. Fatal errors (reconnect needed, keyring,
  database) stop the run and are re-raised after the Run row is closed.
* ``preview() -> Preview`` - runs every phase's *plan* only; writes nothing anywhere (no Run row, no
  cursor, no QBO or Work write).
* ``problems()``, ``retry(problem_id=None)``; issue 7's ``matches()``, ``accept_match()``,
  ``reject_match()``, ``conflicts()``, ``resolve()`` delegate to the two-way modules when present.

Runs are serialised per data folder with a file lock (:mod:`qbosync_desktop.core.writer_lock`): the tray
app and a cron'd ``qbosync sync`` must never work on the same outbox at once (two senders could both
replay the same batch and then both apply its response). The lock is an OS lock, so a killed process
releases it at once. A run waits ``lock_timeout`` seconds for it, then raises ``DataFolderBusy``
naming the holder (pid, app or CLI, since when).

Local storage faults (disk full, read-only or damaged database) surface as the plain
``DatabaseError`` subclasses of :func:`qbosync_desktop.store.db.as_database_error`, fatal to the run.
After a run that finished and changed something a good copy of the database goes to ``backups/``
(:mod:`qbosync_desktop.store.backups`).

:class:`Observer` is how progress leaves the engine (no Qt here): the desktop service subclasses it
and re-emits each call as a Qt signal. Observer methods are called on the engine's thread.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import datetime as _dt
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qbosync_desktop.core import writer_lock
from qbosync_desktop.core.errors import Cancelled, DatabaseError, DataFolderBusy, QboSyncError
from qbosync_desktop.store import backups
from qbosync_desktop.store.db import as_database_error, database
from qbosync_desktop.store.models.base import utcnow
from qbosync_desktop.store.models.onboarding import MatchProposal
from qbosync_desktop.store.models.problems import Problem
from qbosync_desktop.store.models.runs import Run
from qbosync_desktop.sync import outbox as outbox_mod
from qbosync_desktop.sync import problems as problems_mod
from qbosync_desktop.sync import qbo_reads
from qbosync_desktop.sync import skips as skips_mod
from qbosync_desktop.sync.clients import conflicts as conflicts_mod
from qbosync_desktop.sync.context import RunContext
from qbosync_desktop.sync.onboarding import review
from qbosync_desktop.sync.pipeline import STALE_POLICIES, build_phases
from qbosync_desktop.sync.plan import Change, Phase, Prefetches, Probes, Settles, Streams
from qbosync_desktop.sync.protocols import CancelFlag, EngineWorkspace

log = logging.getLogger(__name__)

#: Outcomes reported through Observer.record / counted in RunSummary.counts.
#: "deferred": a two-way customer update QuickBooks refused as stale (5010) because a person changed
#: the same customer meanwhile; the next merge settles both changes (sync/stale.py).
#: "held": a record an undo holds back ("undo and hold these records", sync/undo.py).
OUTCOMES = ("created", "updated", "linked", "voided", "skipped", "failed", "imported", "waiting", "deferred",
            "held")

#: How many phases after the running one may have their Work list read ahead. A reader holds at most
#: a few pages (flows/reading.py) until its phase plans them. Two, and two read threads: the small
#: items list does not keep the invoices from downloading while clients are written.
PREFETCH_AHEAD = 2

#: Threads for an incremental run's readers started at run start: with the two read-ahead threads
#: that stays within the Work client's connection pool (requests keeps 10 per host).
PROBE_THREADS = 8


class Observer:
    """Progress callbacks; every method is a no-op. Subclass and override what you need."""

    def run_started(self, run_id: int | None, total_estimate: int) -> None:
        """A run began. ``total_estimate`` is 0 when unknown (incremental runs plan phase by phase)."""

    def phase(self, entity: str, done: int, total: int) -> None:
        """Progress within a phase: ``done`` of ``total`` records handled."""

    def record(self, entity: str, work_id: str | None, outcome: str, message: str) -> None:
        """One record's outcome: created/updated/linked/voided/skipped/failed/imported/waiting/deferred."""

    def problem(self, problem: dict[str, Any]) -> None:
        """A problem was opened or seen again (the dict of :func:`problems.problem_dict`)."""

    def run_finished(self, summary: RunSummary) -> None:
        """The run ended (done, failed or cancelled)."""


@dataclass
class RunSummary:
    run_id: int | None
    state: str
    kind: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    #: records left out on purpose, phase → reason → count (:mod:`qbosync_desktop.sync.skips`)
    skips: dict[str, dict[str, int]] = field(default_factory=dict)
    open_problems: int = 0
    #: changes that wait for the person's decision ("ask me" conflicts still open), counted in every
    #: run so a two-way client never stops silently (issue 15)
    open_conflicts: int = 0
    qbo_requests: int = 0
    started_at: _dt.datetime | None = None
    finished_at: _dt.datetime | None = None
    seconds: float = 0.0
    error: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.state == "done"

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "state": self.state,
            "kind": self.kind,
            "counts": self.counts,
            "skips": self.skips,
            "skipped": skips_mod.run_text(self.skips),
            "open_problems": self.open_problems,
            "open_conflicts": self.open_conflicts,
            "qbo_requests": self.qbo_requests,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "seconds": round(self.seconds, 3),
            "error": self.error,
        }


@dataclass
class Preview:
    """What a run would do, per phase: the planned changes (the list behind every number)."""

    phases: list[tuple[str, list[Change]]] = field(default_factory=list)
    #: account Id → name, as the settings saved them (to name accounts in before → after lines)
    account_names: dict[str, str] = field(default_factory=dict)

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for name, changes in self.phases:
            bucket = out.setdefault(name, {})
            for ch in changes:
                bucket[ch.action] = bucket.get(ch.action, 0) + 1
        return out

    def changes(self, entity: str, action: str | None = None) -> list[Change]:
        return [c for name, chs in self.phases if name == entity for c in chs if action in (None, c.action)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts(),
            "phases": [{"entity": n, "changes": [c.to_dict() for c in chs]} for n, chs in self.phases],
        }


class SyncEngine:
    """Runs, previews and reports syncs for one workspace (one company)."""

    def __init__(self, workspace: EngineWorkspace, *, concurrency: int = 4, lock_timeout: float = 10.0) -> None:
        self.workspace = workspace
        self.concurrency = concurrency
        #: How long a run waits for another program's run on the same data folder (``--wait``).
        self.lock_timeout = lock_timeout
        self._thread_lock = threading.Lock()

    # -- connectors --------------------------------------------------------------------------------
    def _context(self, observer: Observer, cancel: CancelFlag, *, preview: bool, initial: bool) -> RunContext:
        return RunContext(
            qbo=self.workspace.qbo_client(),
            work=self.workspace.work_client(),
            settings=self.workspace.settings(),
            observer=observer,
            cancel=cancel,
            preview=preview,
            initial=initial,
            workspace=self.workspace,
            concurrency=self.concurrency,
            stale_policies=STALE_POLICIES,
        )

    def _file_lock(self) -> writer_lock.WriterLock | None:
        paths = self.workspace.paths
        if paths is None:
            return None
        return writer_lock.WriterLock(paths, writer_lock.SYNC)

    # -- public API --------------------------------------------------------------------------------
    def preview(self) -> Preview:
        """Plan every phase without writing anything anywhere (issue 7: preview == what enable does)."""
        ctx = self._context(Observer(), threading.Event(), preview=True, initial=True)
        result = Preview()
        for phase in build_phases(ctx):
            changes = phase.plan(ctx)
            for ch in changes:
                if ch.action in ("create", "link", "import", "update") and ch.work_id is not None:
                    ctx.planned.add((ch.kind, str(ch.work_id)))
                elif ch.action == "fail" and ch.work_id is not None:
                    # A preview stores no problems; later phases name a failed reference by this label.
                    ctx.planned_failures[(ch.kind, str(ch.work_id))] = ch.label
            result.phases.append((phase.name, changes))
        return result

    def run(
        self, initial: bool = False, observer: Observer | None = None, cancel: CancelFlag | None = None
    ) -> RunSummary:
        """One sync run. Returns its summary; fatal errors are re-raised after the summary is saved."""
        observer = observer or Observer()
        cancel = cancel or threading.Event()
        with self.exclusive():
            return self._run_locked(initial, observer, cancel)

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold this company's run lock (thread and file): one run, or one undo, at a time."""
        flock = self._file_lock()
        if not self._thread_lock.acquire(blocking=False):
            raise DataFolderBusy(
                "A sync is already running for this company.",
                title="Sync already running",
                hint="Wait for the current sync to finish; its progress is shown in the window.",
            )
        try:
            if flock is not None:
                # Raises DataFolderBusy naming the holder (pid, app or CLI, since when).
                flock.acquire(timeout=self.lock_timeout)
            try:
                yield
            except Exception as exc:
                storage = None if isinstance(exc, QboSyncError) else as_database_error(exc)
                if storage is None:
                    raise
                storage.fatal = True
                raise storage from exc
            finally:
                if flock is not None:
                    flock.release()
        finally:
            self._thread_lock.release()

    @staticmethod
    def close_interrupted_runs() -> None:
        """We hold the run lock, so a run still marked "running" belongs to a process that died (killed,
        power cut): close it honestly. Its unfinished outbox work is replayed by the next run."""
        Run.update(state="failed", finished_at=utcnow(), error={
            "type": "Interrupted", "title": "Sync interrupted",
            "message": "The program stopped during this sync. The next sync finished its work.",
            "hint": "Nothing to do.",
        }).where(Run.state == "running").execute()

    def context(self, observer: Observer, cancel: CancelFlag) -> RunContext:
        """A run's context on this workspace (for work that is not a sync, e.g. an undo)."""
        return self._context(observer, cancel, preview=False, initial=False)

    def _run_locked(self, initial: bool, observer: Observer, cancel: CancelFlag) -> RunSummary:
        started = time.monotonic()
        self.close_interrupted_runs()
        run = Run.create(kind="initial" if initial else "incremental", started_at=utcnow(), state="running")
        ctx = self._context(observer, cancel, preview=False, initial=initial)
        ctx.run = run
        observer.run_started(run.id, 0)
        state, error = "done", None
        fatal: Exception | None = None
        pool = cf.ThreadPoolExecutor(max_workers=2, thread_name_prefix="work-read")
        probes: cf.ThreadPoolExecutor | None = None
        ctx.state.prefetch_pool = pool
        try:
            phases = build_phases(ctx)
            # Work lists are read ahead on a background thread, but only PREFETCH_AHEAD phases
            # ahead of the phase running: a list read is held in memory until its phase plans it.
            reading = [phase for phase in phases if isinstance(phase, Prefetches)]
            prefetched = 0  # (not ``started``: that is the run's start, for the summary's seconds)
            probing = [phase for phase in phases if isinstance(phase, (Prefetches, Probes))]
            if not initial and probing:
                # An incremental run starts every phase's Work reader at once: with nothing (or
                # little) changed those reads are the run's whole Work reads, one round trip
                # alongside the QuickBooks CDC read instead of one per phase after another. Each
                # reader stays bounded (flows/reading.py); each phase still takes its records,
                # decides and moves its cursor in phase order.
                probes = cf.ThreadPoolExecutor(max_workers=min(len(probing), PROBE_THREADS),
                                               thread_name_prefix="work-probe")
                ctx.state.probe_pool = probes
                for reader in probing:
                    if isinstance(reader, Probes):
                        reader.probe(ctx)
                    else:
                        reader.prefetch(ctx)
                ctx.state.probe_pool = None

            def read_ahead(through: int) -> None:
                nonlocal prefetched
                while prefetched < min(through, len(reading)):
                    reading[prefetched].prefetch(ctx)
                    prefetched += 1

            read_ahead(PREFETCH_AHEAD + 1)
            qbo_reads.watch(ctx)
            outbox_mod.replay_unfinished(ctx)
            outbox_mod.prune()
            for phase in phases:
                ctx.check_cancel()
                if isinstance(phase, Prefetches):
                    read_ahead(reading.index(phase) + PREFETCH_AHEAD + 1)
                # No ``ctx.planned`` here: in a run the previous phase has already applied, so the
                # links are the truth (a planned create that QBO then refused must not count).
                t_plan = time.monotonic()
                if isinstance(phase, Streams):
                    # Plan and apply overlap (same decisions as plan() + apply(), see OutboundFlow).
                    n = phase.stream(ctx)
                    t_apply = t_plan
                else:
                    changes = phase.plan(ctx)
                    n = len(changes)
                    observer.phase(phase.name, 0, n)
                    t_apply = time.monotonic()
                    phase.apply(ctx, changes)
                log.info("Run %s phase %s: %d changes, plan %.2fs, apply %.2fs", run.id, phase.name, n,
                         t_apply - t_plan, time.monotonic() - t_apply)
                observer.phase(phase.name, n, n)
                qbo_reads.record(ctx, phase.name)  # QuickBooks records its reads set aside: one problem each
                self._commit_or_drop_cursors(ctx)
            self._settle(ctx, phases)
            qbo_reads.record(ctx, phases[-1].name if phases else "run")
        except Cancelled as exc:
            state, error = "cancelled", exc.to_dict()
        except QboSyncError as exc:
            state, error = "failed", exc.to_dict()
            fatal = exc
            log.warning("Run %s stopped: %s", run.id, exc.message)
        except Exception as exc:  # a bug (record it on the run, then let it propagate) or a local fault
            storage = as_database_error(exc)
            if storage is not None:
                # Disk full / read-only / damaged file: a plain, fatal error. SQLite rolled back the
                # unfinished transaction; the outbox holds every intent sent, so nothing is lost.
                storage.fatal = True
                state, error, fatal = "failed", storage.to_dict(), storage
                log.warning("Run %s stopped: %s (%s)", run.id, storage.message, exc)
            else:
                state, error = "failed", {"type": type(exc).__name__, "message": str(exc)}
                fatal = exc
                log.exception("Run %s crashed", run.id)
        finally:
            ctx.state.probe_pool = None
            ctx.state.close_prefetches()  # readers waiting for phases that will not run now
            ctx.state.close_background()  # e.g. the proof's read-back, when the run stops before it
            pool.shutdown(wait=True, cancel_futures=True)
            if probes is not None:
                probes.shutdown(wait=True, cancel_futures=True)
        run.finished_at = utcnow()
        run.state = state
        run.counts = ctx.counts
        run.skips = ctx.skips
        run.qbo_requests = ctx.qbo_requests
        run.error = error
        try:
            with database.atomic():
                run.save()
        except Exception as exc:
            storage = as_database_error(exc)
            if storage is None:
                raise
            # The disk is still full: the run stays "running" in the file, and the next run closes
            # it as interrupted (see above). Report the storage fault, not this second symptom.
            log.warning("Run %s could not be closed: %s", run.id, storage.message)
            raise (fatal if isinstance(fatal, DatabaseError) else storage) from exc
        if state == "done":
            self._good_copy(ctx)
        summary = RunSummary(
            run_id=run.id,
            state=state,
            kind=run.kind,
            counts=ctx.counts,
            skips=ctx.skips,
            open_problems=Problem.select().where(Problem.state == "open").count(),
            open_conflicts=conflicts_mod.open_count(),
            qbo_requests=ctx.qbo_requests,
            started_at=run.started_at,
            finished_at=run.finished_at,
            seconds=time.monotonic() - started,
            error=error,
        )
        observer.run_finished(summary)
        if fatal is not None and (not isinstance(fatal, QboSyncError) or fatal.fatal):
            raise fatal
        return summary

    def _good_copy(self, ctx: RunContext) -> None:
        """After a finished run that changed something: a good copy in backups/ (store/backups.py)."""
        paths = self.workspace.paths
        db = database.obj
        if paths is None or db is None or Path(db.database) != paths.db_path:
            return  # a test's Parts, or a database that is not this folder's
        backups.after_run(db, paths, ctx.counts)

    @staticmethod
    def _commit_or_drop_cursors(ctx: RunContext) -> None:
        if outbox_mod.has_unfinished():
            # Something was committed but not confirmed (connection lost): keep the cursors
            # where they are so the next run re-reads what this one could not finish.
            ctx.drop_staged_cursors()
        else:
            ctx.commit_cursors()

    def _settle(self, ctx: RunContext, phases: list[Phase]) -> None:
        """Let phases finish what needs every phase applied first (:class:`~qbosync_desktop.sync.plan.Settles`:
        the customers phase reads back the customers this run wrote, so the next sync's change feed
        does not hold them). Only in a run whose outbox work is all finished."""
        settling = [phase for phase in phases if isinstance(phase, Settles)]
        if not settling or ctx.run is None or outbox_mod.has_unfinished():
            return
        for phase in settling:
            if phase.settle(ctx):
                self._commit_or_drop_cursors(ctx)

    def problems(self) -> list[dict[str, Any]]:
        """Open problems, oldest first, as plain dicts (message, hint, details)."""
        return problems_mod.open_problems()

    def retry(
        self,
        problem_id: int | None = None,
        *,
        observer: Observer | None = None,
        cancel: CancelFlag | None = None,
    ) -> RunSummary:
        """Retry one problem (or all open ones) and run a sync so the retry happens now."""
        problems_mod.request_retry(problem_id)
        return self.run(observer=observer, cancel=cancel)

    # -- match review and conflicts: the engine is the one facade the CLI and the app call --------
    def matches(self) -> list[MatchProposal]:
        return review.proposals(self)

    def accept_match(self, match_id: int) -> MatchProposal:
        return review.accept(self, match_id)

    def reject_match(self, match_id: int) -> MatchProposal:
        return review.reject(self, match_id)

    def conflicts(self) -> list[dict[str, Any]]:
        return conflicts_mod.open_conflicts(self)

    def resolve(self, conflict_id: int, keep: str) -> dict[str, Any]:
        return conflicts_mod.resolve(self, conflict_id, keep)
