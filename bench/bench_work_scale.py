"""Benchmark: generate the Work demo server's scale mode and read it back through the connector.

    python bench/bench_work_scale.py [--clients 10000] [--invoices 50000] [--no-read]

Target (issue 5): 10,000 clients and 50,000 invoices generated in under 30 s. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

from qbosync_desktop.connectors.work.client import WorkClient
from qbosync_desktop.sandbox.work import WorkSandbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--invoices", type=int, default=50_000)
    parser.add_argument("--no-read", action="store_true", help="skip reading everything back over HTTP")
    args = parser.parse_args()

    started = time.perf_counter()
    ws = WorkSandbox(clients=args.clients, invoices=args.invoices)
    cfg = ws.start()
    generated = time.perf_counter() - started
    result = {
        "clients": ws.store.count("clients"), "invoices": ws.store.count("invoices"),
        "payments": ws.store.count("payments"), "contractor_invoices": ws.store.count("contractor-invoices"),
        "sites": ws.store.count("sites"), "generate_seconds": round(generated, 2),
        "target_seconds": 30, "cpus": os.cpu_count(), "python": platform.python_version(),
    }
    try:
        if not args.no_read:
            client = WorkClient(cfg.base_url, cfg.api_key, page_size=500)
            t = time.perf_counter()
            clients = sum(1 for _ in client.clients())
            result["read_clients_seconds"] = round(time.perf_counter() - t, 2)
            t = time.perf_counter()
            invoices = sum(1 for _ in client.invoices())
            result["read_invoices_seconds"] = round(time.perf_counter() - t, 2)
            assert (clients, invoices) == (result["clients"], result["invoices"])
    finally:
        ws.stop()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
