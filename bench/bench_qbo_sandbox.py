"""Benchmark the QuickBooks practice sandbox: is it ever the bottleneck?

Starts ``qbosync sandbox qbo`` as its own process (latency 0, throttle off, empty company), gets
tokens through the real OAuth flow, then measures over HTTP on loopback:

* single-entity creates per second: one keep-alive connection, then several client processes;
* a 1000-row query (``select * from Customer MAXRESULTS 1000``): time to the last byte, and with the
  client's JSON parsing;
* the same work without HTTP (the sandbox's rules and query engine in-process), for comparison.

Usage: ``python bench/bench_qbo_sandbox.py [--creates 2000] [--clients 4] [--json]``. Aims (issue 3):
at least 1,000 creates/s and a 1000-row query under 50 ms. Results depend on the machine and on what
else it runs; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import signal
import statistics
import subprocess
import sys
import time
from typing import Any

import requests


def _start_server() -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "qbosync_desktop.cli", "sandbox", "qbo", "--auto-consent", "--no-throttle",
         "--seed", "empty"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "QBOSYNC_HOME": os.environ.get("QBOSYNC_HOME", "/tmp/qbosync-bench-home")},
    )
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())


def _tokens(cfg: dict[str, Any]) -> str:
    from qbosync_desktop.sandbox.qbo.server import SandboxConfig
    from qbosync_desktop.sandbox.qbo.testing import qbo_sandbox_tokens

    return str(qbo_sandbox_tokens(SandboxConfig(**cfg))["access_token"])


def _session(token: str) -> requests.Session:
    s = requests.Session()
    s.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json",
                      "Content-Type": "application/json"})
    return s


def _create_many(url: str, token: str, prefix: str, n: int, out: Any = None) -> float:
    s = _session(token)
    start = time.perf_counter()
    for i in range(n):
        resp = s.post(url, data=json.dumps({"DisplayName": f"{prefix} {i}", "GivenName": "Bench"}),
                      params={"minorversion": "75", "requestid": f"{prefix}-{i}"})
        if resp.status_code != 200:
            raise RuntimeError(resp.text)
    elapsed = time.perf_counter() - start
    if out is not None:
        out.put(elapsed)
    return elapsed


def bench_http(creates: int, clients: int) -> dict[str, Any]:
    proc, cfg = _start_server()
    try:
        token = _tokens(cfg)
        base = f"{cfg['api_base']}/company/{cfg['realm_id']}"
        _create_many(base + "/customer", token, "warmup", 50)
        seq = _create_many(base + "/customer", token, "seq", creates)
        queue: mp.Queue[float] = mp.Queue()
        per = creates // clients
        workers = [mp.Process(target=_create_many, args=(base + "/customer", token, f"par{k}", per, queue))
                   for k in range(clients)]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        par = time.perf_counter() - start
        s = _session(token)
        q = {"query": "select * from Customer MAXRESULTS 1000", "minorversion": "75"}
        raw, parsed = [], []
        for _ in range(25):
            t0 = time.perf_counter()
            resp = s.get(base + "/query", params=q)
            body = resp.content
            t1 = time.perf_counter()
            rows = json.loads(body)["QueryResponse"]["Customer"]
            t2 = time.perf_counter()
            assert len(rows) == 1000
            raw.append((t1 - t0) * 1000)
            parsed.append((t2 - t0) * 1000)
        return {
            "creates_per_s_one_connection": round(creates / seq),
            f"creates_per_s_{clients}_client_processes": round(per * clients / par),
            "query_1000_rows_ms_median": round(statistics.median(raw), 1),
            "query_1000_rows_ms_p90": round(sorted(raw)[int(len(raw) * 0.9)], 1),
            "query_1000_rows_with_client_json_parse_ms_median": round(statistics.median(parsed), 1),
            "query_1000_rows_bytes": len(body),
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)


def bench_in_process(creates: int) -> dict[str, Any]:
    from qbosync_desktop.sandbox.qbo import api, operations
    from qbosync_desktop.sandbox.qbo.clock import Clock
    from qbosync_desktop.sandbox.qbo.storage import Company

    company = Company("1", Clock())
    start = time.perf_counter()
    with company.lock:
        for i in range(creates):
            operations.create(company, "Customer", {"DisplayName": f"Inproc {i}", "GivenName": "Bench"})
    elapsed = time.perf_counter() - start
    times = []
    for _ in range(25):
        t0 = time.perf_counter()
        with company.lock:
            result = api.run_query(company, "select * from Customer MAXRESULTS 1000")
            json.dumps(result)
        times.append((time.perf_counter() - t0) * 1000)
    return {"rules_creates_per_s": round(creates / elapsed),
            "query_1000_rows_execute_and_serialise_ms_median": round(statistics.median(times), 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--creates", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result: dict[str, Any] = {"cpus": os.cpu_count(), "load_average_before": os.getloadavg()}
    result.update(bench_http(args.creates, args.clients))
    result.update(bench_in_process(args.creates))
    result["load_average_after"] = os.getloadavg()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:<52} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
