"""Benchmark: ``qbosync reconcile`` on the 5k-client company (issue 15), throttle on.

Starts both practice servers (``runtime.practice.start_practice(work_clients=5000,
work_invoices=20000)``, the QuickBooks one throttled on ``--time-scale``), runs the initial sync as
bench_initial_sync.py does, then reconciles every linked record and prints the QuickBooks requests and
the wall time it took (and that the books are in step). A second pass after a bookkeeper deletes one
invoice shows the cost of a difference (one CDC read, one number query).

    python bench/bench_reconcile.py                              # the full size
    python bench/bench_reconcile.py --clients 500 --invoices 2000  # a quick look
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import keyring

from qbosync_desktop.core.keyring_memory import MemoryKeyring
from qbosync_desktop.core.paths import set_home

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_initial_sync's helpers


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=5000)
    ap.add_argument("--invoices", type=int, default=20000)
    ap.add_argument("--time-scale", type=float, default=60.0)
    ap.add_argument("--no-payments", action="store_true", help="leave payments out of the sync")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    keyring.set_keyring(MemoryKeyring())
    home = Path(tempfile.mkdtemp(prefix="qbosync-bench-reconcile-"))
    set_home(home)

    from bench_initial_sync import prepare, print_figures, scaled_workspace

    from qbosync_desktop.core.paths import get_paths
    from qbosync_desktop.runtime.practice import start_practice
    from qbosync_desktop.store.models.links import Link
    from qbosync_desktop.sync import reconcile
    from qbosync_desktop.sync.engine import SyncEngine

    t0 = time.monotonic()
    practice = start_practice(work_seed=None, work_clients=args.clients, work_invoices=args.invoices,
                              throttle=True, time_scale=args.time_scale)
    print(f"servers up in {time.monotonic() - t0:.1f}s", file=sys.stderr)

    ws = scaled_workspace(get_paths(), args.time_scale)
    try:
        prepare(ws, SimpleNamespace(qbo_config=practice.qbo_config, work_config=practice.work_config),
                no_payments=args.no_payments)
        t = time.monotonic()
        summary = SyncEngine(ws).run(initial=True)
        print(f"initial sync {summary.state} in {time.monotonic() - t:.1f}s: {summary.counts}", file=sys.stderr)

        report = reconcile.check_workspace(ws)
        figures: dict[str, object] = {
            "size": {"clients": args.clients, "invoices": args.invoices},
            "time_scale": args.time_scale,
            "linked_records": sum(report.checked.values()),
            "checked": report.checked,
            "reconcile_requests": report.requests,
            "reconcile_seconds": round(report.seconds, 2),
            "differences": len(report.differences),
            "throttled_429": ws.qbo_client().stats.throttled,
        }
        paid = {p.invoice_id for p in ws.work_client().payments()}
        link = next((lk for lk in Link.select().where(Link.kind == "invoice") if lk.work_id not in paid), None)
        if link is not None:  # a bookkeeper deletes one invoice (requests outside the reconcile's count)
            qc = ws.qbo_client()
            token = qc.get("Invoice", link.qbo_id)["SyncToken"]
            qc.delete("Invoice", link.qbo_id, str(token), requestid=f"bench-delete-{link.qbo_id}")
            again = reconcile.check_workspace(ws)
            figures["with_one_deleted_invoice"] = {"requests": again.requests, "seconds": round(again.seconds, 2),
                                                   "differences": [d.check for d in again.differences]}
    finally:
        ws.close()
        practice.stop()
        shutil.rmtree(home, ignore_errors=True)
    print_figures(figures, as_json=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
