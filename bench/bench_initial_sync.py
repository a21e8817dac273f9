"""Benchmark: the initial sync at scale against both practice servers, throttle on.

Default size is the issue's: 5,000 clients + 20,000 invoices (+ ~15,000 payments) from the Work
demo server's scale mode; the QBO sandbox (its own process, like the real,
remote QuickBooks) runs with its throttle on (500 requests/min, 10/s,
10 in flight, 40 batch requests/min), ``--time-scale`` (default 60: a throttle minute lasts one
second) and ``--latency-ms`` (default 100). The connector's limiter uses the same time scale.

Printed: QBO requests per record written, wall time, and the throttle-bound floor: every write goes
in batches of 30 and at most 40 batch requests fit in a (scaled) minute, so
``floor = ceil(writes / 30) / 40 minutes``. Goal: within 15 % of the floor. Then a second sync with
no changes: ≤ 2 requests and < 1 s.

    python bench/bench_initial_sync.py                 # the full size
    python bench/bench_initial_sync.py --clients 500 --invoices 2000    # a quick look
    python bench/bench_initial_sync.py --books --company ca   # tax/discount/terms variant, Canadian company

``--books`` (issue 14) reports how many of the invoices written carry tax, a discount or terms (the
Work scale data has them in fixed fractions), the payments (voided and corrected ones among them),
credit notes (applied to invoices) and refunds written, and how many ended as a "QuickBooks total
differs from Work" or balance problem (all must be 0); payments are always in (no ``--no-payments``); ``--company ca`` runs against the Canadian practice company, so every
line carries a mapped tax code and the tax goes as per-rate tax lines.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import keyring

from qbosync_desktop.core.keyring_memory import MemoryKeyring
from qbosync_desktop.core.paths import set_home


def _server(argv: list[str], home: Path) -> tuple[subprocess.Popen, SimpleNamespace]:
    """Start ``qbosync <argv>`` and read its first stdout line (the JSON config)."""
    proc = subprocess.Popen([sys.executable, "-m", "qbosync_desktop.cli.main", "--home", str(home / "servers"), *argv],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise SystemExit(f"server {argv[:2]} did not start")
    return proc, SimpleNamespace(**json.loads(line))


def scaled_workspace(paths: Any, time_scale: float) -> Any:
    """The real workspace, with the connector's limiter on the sandbox's time scale."""
    from qbosync_desktop.connectors.qbo.client import QboClient
    from qbosync_desktop.connectors.qbo.ratelimit import RateLimits
    from qbosync_desktop.runtime.workspace import Workspace

    class BenchWorkspace(Workspace):
        scaled_qbo: QboClient | None = None

        def qbo_client(self) -> QboClient:
            if self.scaled_qbo is None:
                conn = self.require_qbo()
                self.scaled_qbo = QboClient(conn.api_base, conn.realm_id, self._token_manager(conn),
                                            limits=RateLimits(time_scale=time_scale),
                                            retry_wait_429=60.0 / time_scale)
            return self.scaled_qbo

    return BenchWorkspace.open(paths)


def print_figures(figures: dict[str, Any], *, as_json: bool) -> None:
    """The bench's figures on stdout: JSON, or one ``name  value`` line each."""
    if as_json:
        print(json.dumps(figures, indent=2))
    else:
        for k, v in figures.items():
            print(f"{k:26} {v}")


def prepare(ws: Any, practice: Any, *, no_payments: bool = False) -> None:
    """Connect ``ws`` to the practice servers (the real OAuth code path, consent answers itself) and
    save the bench's settings: everything but bills and sites, invoices from 400 days back."""
    from qbosync_desktop.runtime.practice import connect_practice, practice_settings

    connect_practice(ws, practice, timeout=30)
    today = dt.date.today()
    settings = practice_settings(ws).replace(bills=False, sites=False, start_date=today - dt.timedelta(days=400))
    if no_payments:
        settings = settings.replace(payments=False)
    ws.save_settings(settings, tax=ws.tax_setup())
    ws.mark_enabled()


def measure(ws: Any, *, time_scale: float, latency_ms: float, concurrency: int,
            observer: Any = None, between: Callable[[], None] | None = None) -> dict[str, Any]:
    """The initial sync, then a sync with no changes; their figures. ``between`` runs after the
    initial sync and before the no-op one (the growth bench reads peak memory there).

    ``main_thread_cpu_seconds`` is ``time.thread_time()`` of this thread across the initial sync:
    the engine plans, applies and does all bookkeeping on the calling thread; the batch senders
    (the outbox's pool) and the Work readers (``work-read`` pool) are other threads and not in it.
    ``process_cpu_seconds`` is every thread of this process (the servers run in other processes).
    """
    from qbosync_desktop.store.models.links import Link
    from qbosync_desktop.sync.engine import SyncEngine

    engine = SyncEngine(ws, concurrency=concurrency)
    qc = ws.qbo_client()
    stats0 = (qc.stats.requests, qc.stats.throttled)
    t, cpu_thread, cpu_process = time.monotonic(), time.thread_time(), time.process_time()
    summary = engine.run(initial=True, observer=observer)
    wall = time.monotonic() - t
    cpu_thread, cpu_process = time.thread_time() - cpu_thread, time.process_time() - cpu_process
    stats1 = (qc.stats.requests, qc.stats.throttled)
    created = Link.select().where(Link.origin == "created").count()
    written = sum(n for by in summary.counts.values() for k, n in by.items() if k in ("created", "updated", "voided"))
    requests = stats1[0] - stats0[0]
    minute = 60.0 / time_scale
    floor = math.ceil(written / 30) / 40 * minute
    if between is not None:
        between()
    t, noop_cpu = time.monotonic(), time.thread_time()
    again = engine.run()
    noop_wall, noop_cpu = time.monotonic() - t, time.thread_time() - noop_cpu
    return {
        "state": summary.state,
        "counts": summary.counts,
        "open_problems": summary.open_problems,
        "records_written": written,
        "links_created": created,
        "qbo_requests": requests,
        "qbo_requests_per_record": round(requests / max(written, 1), 4),
        "throttled_429": stats1[1] - stats0[1],
        "wall_seconds": round(wall, 2),
        "floor_seconds": round(floor, 2),
        "over_floor_percent": round((wall / floor - 1) * 100, 1) if floor else None,
        "main_thread_cpu_seconds": round(cpu_thread, 2),
        "process_cpu_seconds": round(cpu_process, 2),
        "time_scale": time_scale,
        "latency_ms": latency_ms,
        "concurrency": concurrency,
        "noop_requests": again.qbo_requests,
        "noop_seconds": round(noop_wall, 3),
        "noop_cpu_seconds": round(noop_cpu, 3),
        "noop_state": again.state,
    }


def _books_figures(ws: object, company: str) -> dict[str, object]:
    """What the books variant wrote and how it ended: invoices with tax, a discount or terms; the
    payments (voided and corrected ones included), credit notes and refunds of the data and how many
    reached QuickBooks; and the proof's problems - TotalAmt and Balance differences (all must be 0)."""
    from qbosync_desktop.store.models.links import Link
    from qbosync_desktop.store.models.problems import Problem

    def linked(kind: str) -> set[str]:
        return {lk.work_id for lk in Link.select(Link.work_id).where(Link.kind == kind)}

    def problems(kind: str, title: str | None = None) -> int:
        q = (Problem.kind == kind) & (Problem.state == "open")
        if title is not None:
            q &= Problem.title == title
        return Problem.select().where(q).count()

    work = ws.work_client()  # type: ignore[attr-defined]
    invoices = linked("invoice")
    taxed = discounted = with_terms = 0
    for inv in work.invoices():
        if inv.id not in invoices:
            continue
        taxed += inv.tax is not None and inv.tax.amount > 0
        discounted += bool(inv.discount_amount or any(ln.discount_amount for ln in inv.lines))
        with_terms += bool(inv.terms)
    payments = list(work.payments())
    credits, refunds = list(work.credit_notes()), list(work.refunds())
    return {"company": company, "invoices_linked": len(invoices), "taxed": taxed, "discounted": discounted,
            "with_terms": with_terms,
            "payments": len(payments), "payments_voided_in_work": sum(p.status == "void" for p in payments),
            "payments_corrected_in_work": sum(p.version > 1 for p in payments),
            "payments_linked": len(linked("payment")),
            "credit_notes": len(credits), "credit_notes_linked": len(linked("credit_note")),
            "credit_applications_linked": len(linked("credit_application")),
            "refunds": len(refunds), "refunds_linked": len(linked("refund")),
            "total_mismatches": problems("invoice", "QuickBooks total differs from Work"),
            "balance_mismatches": problems("invoice_balance"),
            "credit_total_mismatches": problems("credit_note_total"),
            "refund_total_mismatches": problems("refund_total")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=5000)
    ap.add_argument("--invoices", type=int, default=20000)
    ap.add_argument("--time-scale", type=float, default=60.0)
    ap.add_argument("--latency-ms", type=float, default=100.0)
    ap.add_argument("--concurrency", type=int, default=8, help="batches in flight (QBO allows 10 requests)")
    ap.add_argument("--no-payments", action="store_true",
                    help="leave payments out (the QBO sandbox scans every payment per payment: O(n²) at 15,000)")
    ap.add_argument("--books", action="store_true",
                    help="report invoices with tax/discounts/terms, the payments (voided, corrected), credit notes "
                         "and refunds written, and TotalAmt/Balance mismatches (issue 14); payments stay in")
    ap.add_argument("--company", choices=("us", "ca"), default="us", help="the QuickBooks practice company flavour")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--verbose", action="store_true", help="log each phase's plan/apply time to stderr")
    args = ap.parse_args(argv)
    if args.books and args.no_payments:
        ap.error("--books measures payments, credit notes and refunds too; leave out --no-payments")
    if args.verbose:
        import logging

        logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(relativeCreated)8.0f %(message)s")
        for name in ("qbosync_desktop.sync.engine", "qbosync_desktop.sync.proof"):
            logging.getLogger(name).setLevel(logging.INFO)

    keyring.set_keyring(MemoryKeyring())  # throwaway practice credentials
    home = Path(tempfile.mkdtemp(prefix="qbosync-bench-"))
    set_home(home)

    from qbosync_desktop.core.paths import get_paths

    t0 = time.monotonic()
    # Both practice servers in their own processes: QuickBooks is remote in real life, and a server
    # in this process would share the engine's GIL and make the engine look slower than it is.
    qbo_proc, qbo_cfg = _server(["sandbox", "qbo", "--auto-consent", "--company", args.company, "--throttle", "--time-scale",
                                 str(args.time_scale), "--latency-ms", str(args.latency_ms)], home)
    work_proc, work_cfg = _server(["sandbox", "work", "--clients", str(args.clients), "--invoices",
                                   str(args.invoices)], home)
    print(f"servers up in {time.monotonic() - t0:.1f}s (Work scale data generated)", file=sys.stderr)

    practice = SimpleNamespace(qbo_config=qbo_cfg, work_config=work_cfg)
    ws = scaled_workspace(get_paths(), args.time_scale)
    try:
        prepare(ws, practice, no_payments=args.no_payments)
        figures = {"size": {"clients": args.clients, "invoices": args.invoices},
                   **measure(ws, time_scale=args.time_scale, latency_ms=args.latency_ms,
                             concurrency=args.concurrency)}
        if args.books:
            figures["books"] = _books_figures(ws, args.company)
    finally:
        ws.close()
        for proc in (qbo_proc, work_proc):
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        shutil.rmtree(home, ignore_errors=True)
    print_figures(figures, as_json=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
