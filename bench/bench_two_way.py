"""Benchmark: the two-way clients phase at scale against both practice servers (not a test).

A QuickBooks company with ``--customers`` extra customers (half of them also present in Work under a
near-identical name, so match review has real work) and the Work demo data plus ``--clients`` extra
clients. Measured:

* onboarding: preview (plans everything, writes nothing), match review, the initial sync (clients
  only): wall time, QuickBooks requests, imports and links;
* QuickBooks-side edits of ``--edits`` customers: one sync, its QuickBooks requests (one CDC read
  plus the batched writes, if any) and wall time;
* a sync with nothing new: requests and wall time.

    python bench/bench_two_way.py                       # 2,000 customers, 1,000 extra clients
    python bench/bench_two_way.py --customers 300 --clients 200 --edits 50
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import keyring

from qbosync_desktop.core.keyring_memory import MemoryKeyring
from qbosync_desktop.core.paths import set_home


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--edits", type=int, default=200)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    keyring.set_keyring(MemoryKeyring())
    set_home(Path(tempfile.mkdtemp(prefix="qbosync-bench-2way-")))

    from qbosync_desktop.core.paths import get_paths
    from qbosync_desktop.runtime.practice import connect_practice, start_practice
    from qbosync_desktop.runtime.workspace import Workspace
    from qbosync_desktop.sync.engine import SyncEngine
    from qbosync_desktop.sync.rules.settings import SyncSettings

    practice = start_practice(throttle=False)
    ws = Workspace.open(get_paths())
    figures: dict[str, object] = {"customers": args.customers, "clients": args.clients, "edits": args.edits}
    try:
        t = time.monotonic()
        ids = []
        for i in range(args.customers):
            body = {"DisplayName": f"Bench Customer {i:05d}", "PrimaryEmailAddr": {"Address": f"c{i}@bench.example"},
                    "BillAddr": {"Line1": f"{i} Main St", "City": "Portland", "CountrySubDivisionCode": "OR",
                                 "PostalCode": "97201", "Country": "USA"}}
            ids.append(practice.qbo.user.create("Customer", body)["Id"])
        for i in range(args.clients):
            # every other one is also in QuickBooks (same name with other punctuation/case)
            name = f"bench customer {i:05d}." if i % 2 == 0 else f"Bench Client {i:05d}"
            practice.work.user.add_client(name, email=f"c{i}@bench.example" if i % 2 == 0 else None)
        print(f"data loaded in {time.monotonic() - t:.1f}s", file=sys.stderr)

        connect_practice(ws, practice, timeout=30)
        ws.save_settings(SyncSettings(clients=True))
        engine = SyncEngine(ws)

        def measure(label: str, fn) -> object:
            before = practice.qbo.stats.get("requests", 0)
            t0 = time.monotonic()
            result = fn()
            figures[f"{label}_seconds"] = round(time.monotonic() - t0, 2)
            figures[f"{label}_qbo_requests"] = practice.qbo.stats.get("requests", 0) - before
            return result

        preview = measure("preview", engine.preview)
        figures["preview_counts"] = preview.counts()
        proposals = measure("matches", engine.matches)
        figures["proposals"] = len(proposals)
        figures["preaccepted"] = sum(1 for p in proposals if p.state == "accepted")
        summary = measure("initial", lambda: engine.run(initial=True))
        figures["initial_counts"] = summary.counts
        measure("readback", engine.run)  # reads back what the initial run created in QuickBooks

        for qid in ids[: args.edits]:
            practice.qbo.user.update_customer(qid, PrimaryPhone={"FreeFormNumber": "(503) 555-0000"})
        summary = measure("edits", engine.run)
        figures["edits_counts"] = summary.counts
        summary = measure("noop", engine.run)
        figures["noop_counts"] = summary.counts
    finally:
        ws.close()
        practice.stop()
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for k, v in figures.items():
            print(f"{k:24} {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
