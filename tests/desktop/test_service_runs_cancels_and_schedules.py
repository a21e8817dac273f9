"""SyncService: runs on its own worker thread, reports progress as signals on the GUI thread, refuses
to pile up runs, cancels after the batch in flight (and the next run continues without duplicates),
and runs on a schedule that pause/resume control — all against the practice servers."""

from __future__ import annotations

import threading

import pytest

from qbosync_desktop.desktop.ui.session import Session
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.outbox import OutboxEntry
from qbosync_desktop.store.models.runs import Run


@pytest.fixture
def enabled(configured_workspace):
    configured_workspace.mark_enabled()
    return configured_workspace


def _close(qtbot, session):
    session.close()
    qtbot.waitUntil(lambda: not session.service.thread.is_alive(), timeout=30_000)


def test_sync_runs_on_the_worker_and_reports_on_the_gui_thread(qtbot, enabled):
    session = Session(enabled, schedule=False)
    service = session.service
    seen_threads, progress = set(), []
    service.progress.connect(lambda p: (seen_threads.add(threading.current_thread().name), progress.append(p)))
    try:
        with qtbot.waitSignal(service.finished, timeout=120_000) as finished:
            assert service.sync_now(initial=True)
            assert service.busy and service.state == "syncing"
            assert not service.sync_now(), "a second request while one runs does not pile up"
        summary = finished.args[0]
        assert summary.state == "done"
        assert seen_threads == {threading.main_thread().name}
        assert progress and progress[-1].counts == summary.counts
        assert not service.busy and service.state in ("idle", "attention")
        run = Run.get_by_id(summary.run_id)
        assert run.state == "done" and run.counts == summary.counts
    finally:
        _close(qtbot, session)


def test_cancel_finishes_the_batch_in_flight_and_the_next_run_continues(qtbot, slow_enabled):
    practice, ws = slow_enabled  # slow enough to cancel half-way
    session = Session(ws, schedule=False)
    service = session.service
    try:
        cancelled_at = []

        def maybe_cancel(p):
            if p.done_overall >= 5 and not cancelled_at:
                cancelled_at.append(p.done_overall)
                service.cancel()

        service.progress.connect(maybe_cancel)
        with qtbot.waitSignal(service.finished, timeout=120_000) as first:
            service.sync_now(initial=True)
        assert cancelled_at, "progress arrived while the run was going"
        assert first.args[0].state == "cancelled"
        # Consistent: nothing was left half-sent.
        assert OutboxEntry.select().where(OutboxEntry.state.in_(("pending", "sent"))).count() == 0
        links_after_cancel = Link.select().count()
        service.progress.disconnect(maybe_cancel)
        with qtbot.waitSignal(service.finished, timeout=120_000) as second:
            service.sync_now(initial=True)
        assert second.args[0].state == "done"
        assert Link.select().count() > links_after_cancel
        names = [c["DisplayName"] for c in practice.qbo.store.all("Customer")]
        assert len(names) == len(set(names)), "no duplicate customers after cancel + resume"
    finally:
        _close(qtbot, session)


def test_schedule_runs_and_pause_stops_it(qtbot, enabled):
    session = Session(enabled, schedule=True, minute_ms=100)  # "every N minutes" on a scaled clock
    service = session.service
    service.set_schedule(1)
    try:
        assert service.next_run is not None
        with qtbot.waitSignal(service.run_started, timeout=10_000):
            pass  # the timer fires by itself
        qtbot.waitUntil(lambda: not service.busy, timeout=120_000)
        service.pause()
        assert service.paused and service.next_run is None and service.state in ("paused", "attention")
        runs = Run.select().count()
        qtbot.wait(600)
        assert Run.select().count() == runs, "no scheduled run while paused"
        with qtbot.waitSignal(service.run_started, timeout=10_000):
            service.resume()
        qtbot.waitUntil(lambda: not service.busy, timeout=120_000)
        assert Run.select().count() == runs + 1
    finally:
        _close(qtbot, session)
