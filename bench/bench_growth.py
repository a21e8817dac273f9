"""Benchmark: how the sync's cost grows with the company (issue 18).

For each size (Work clients / invoices; payments follow from the invoices) a fresh child process
(multiprocessing *spawn*, so one size's memory cannot pollute the next) starts both practice servers
in a process of their own (:class:`~qbosync_desktop.runtime.practice.PracticeProcess`, what the
desktop app's practice mode uses: QuickBooks throttle on, ``--time-scale``, ``--latency-ms``),
connects a fresh data folder through the real OAuth path, runs the initial sync and then a sync with
no changes (:func:`bench_initial_sync.prepare` / :func:`bench_initial_sync.measure`).

Columns:

* ``records`` - records written to QuickBooks (created, updated, voided);
* ``requests`` - QuickBooks requests of the initial sync;
* ``wall`` / ``floor`` - the initial sync's wall time against the throttle floor
  (``ceil(records / 30) / 40`` scaled minutes: every write batched by 30, 40 batch requests a minute);
* ``main ms/rec`` - CPU of the engine's thread per record: ``time.thread_time()`` of the thread that
  calls ``engine.run`` (it plans, applies and keeps the books; the 8 batch senders and the 2 Work
  readers are other threads); ``proc ms/rec`` - every thread of the child (the servers are elsewhere);
* ``base MB`` - the child's resident memory after imports and connecting, before the sync;
  ``peak MB`` - its high-water resident memory (``VmHWM``) during the initial sync. The high-water
  mark is reset just before the sync (``/proc/self/clear_refs``), so it is the sync's own peak
  (it still includes ``base``);
* ``no-op s`` / ``no-op CPU s`` / ``no-op req`` - the following sync with nothing to do: wall time, CPU
  of the engine's thread, and QuickBooks requests. Its wall time is bound by round trips: the
  practice servers answer after ``--latency-ms`` (Work reads and the one QuickBooks CDC read).

``--profile FILE`` profiles the CPU time of the engine's thread during the initial sync (``cProfile`` timed
by ``time.thread_time``, so waiting for HTTP answers is not counted; the sending and
reading threads are not in it) and writes the top functions by own and by cumulative time to FILE
(slows the engine thread about 2×, so that run's ms/record is not comparable).

``--tracemalloc FILE`` also traces Python allocations in the child and writes the top allocating
lines at the largest snapshot (taken at phase progress and every 0.5 s by a sampling thread, so the
end-of-run proof counts too) to FILE (slows the sync 2× or more).

    python bench/bench_growth.py                       # 1k/4k, 5k/20k, 20k/80k
    python bench/bench_growth.py --big                 # ... and 100k/400k
    python bench/bench_growth.py --sizes 1000/4000     # one size
    python bench/bench_growth.py --sizes 5000/20000 --tracemalloc /tmp/tm.txt
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

SIZES = [(1_000, 4_000), (5_000, 20_000), (20_000, 80_000)]
BIG = (100_000, 400_000)


def _status(field: str) -> int:
    """A ``/proc/self/status`` memory figure in bytes (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def _reset_high_water() -> bool:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0: writing 5 to clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class _Tracer:
    """Keeps the largest tracemalloc snapshot of the sync: taken at phase progress callbacks and by a
    sampling thread every 0.5 s (the end-of-run proof reports no progress, and its peak counts too)."""

    def __init__(self) -> None:
        import threading

        from qbosync_desktop.sync.engine import Observer

        self.observer = type("TraceObserver", (Observer,), {"phase": self._phase})()
        self.best: Any = None
        self.best_size = 0
        self.best_at = ""
        self.where = "start"
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="tracemalloc-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            self._take(f"{self.where} (sampled)")

    def _take(self, where: str) -> None:
        import tracemalloc

        with self._lock:
            current, _ = tracemalloc.get_traced_memory()
            if current > self.best_size * 1.05:
                self.best, self.best_size, self.best_at = tracemalloc.take_snapshot(), current, where

    def _phase(self, entity: str, done: int, total: int) -> None:
        self.where = f"{entity} {done}/{total}"
        self._take(self.where)

    def report(self, top: int = 30) -> str:
        import tracemalloc

        current, peak = tracemalloc.get_traced_memory()
        snap = self.best.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__),
                                        tracemalloc.Filter(False, "<frozen importlib._bootstrap*>")])
        lines = [f"largest snapshot: {self.best_size / 1e6:.1f} MB traced at phase {self.best_at}; "
                 f"traced peak of the run {peak / 1e6:.1f} MB", "", "top lines:"]
        for stat in snap.statistics("lineno")[:top]:
            frame = stat.traceback[0]
            lines.append(f"{stat.size / 1e6:8.2f} MB {stat.count:9,d} blocks  {frame.filename}:{frame.lineno}")
        lines += ["", "top files:"]
        for stat in snap.statistics("filename")[:15]:
            lines.append(f"{stat.size / 1e6:8.2f} MB {stat.count:9,d} blocks  {stat.traceback[0].filename}")
        return "\n".join(lines) + "\n"


def _write_profile(profiler: Any, path: str, title: str) -> None:
    import io
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    out.write(f"{title}: cProfile of the engine's thread during the initial sync\n")
    stats.sort_stats("tottime").print_stats(60)
    stats.sort_stats("cumulative").print_stats(80)
    Path(path).write_text(out.getvalue())


def one_size(clients: int, invoices: int, opts: dict[str, Any]) -> dict[str, Any]:
    """Run in a spawned child: servers, initial sync, no-op sync; the figures."""
    import keyring
    from bench_initial_sync import measure, prepare, scaled_workspace

    from qbosync_desktop.core.keyring_memory import MemoryKeyring
    from qbosync_desktop.core.paths import get_paths, set_home
    from qbosync_desktop.runtime.practice import PracticeProcess

    keyring.set_keyring(MemoryKeyring())  # throwaway practice credentials
    home = Path(tempfile.mkdtemp(prefix="qbosync-growth-"))
    set_home(home)
    t0 = time.monotonic()
    practice = PracticeProcess(start_timeout=1800, throttle=True, time_scale=opts["time_scale"],
                               latency_ms=opts["latency_ms"], work_seed=None, work_clients=clients,
                               work_invoices=invoices)
    servers = time.monotonic() - t0
    ws = scaled_workspace(get_paths(), opts["time_scale"])
    tracer = None
    try:
        prepare(ws, practice, no_payments=opts["no_payments"])
        if opts["tracemalloc"]:
            import tracemalloc

            tracer = _Tracer()
            tracemalloc.start(1)
            tracer.start()
        base = _status("VmRSS")
        reset = _reset_high_water()
        peaks: dict[str, int] = {}

        profiler = None
        if opts.get("profile"):
            import cProfile

            profiler = cProfile.Profile(time.thread_time)  # CPU, not wall: the waits are not the cost

        def between() -> None:
            peaks["initial"] = _status("VmHWM")
            _reset_high_water()
            if profiler is not None:
                profiler.disable()
                _write_profile(profiler, opts["profile"], f"bench_growth {clients}/{invoices}")

        if profiler is not None:
            profiler.enable()  # this thread only: the engine's (measure() calls engine.run here)

        figures = measure(ws, time_scale=opts["time_scale"], latency_ms=opts["latency_ms"],
                          concurrency=opts["concurrency"], observer=tracer.observer if tracer else None,
                          between=between)
        peaks["noop"] = _status("VmHWM")
        if tracer is not None:
            tracer.stop()
        if tracer is not None and tracer.best is not None:
            Path(opts["tracemalloc"]).write_text(
                f"bench_growth {clients}/{invoices}: tracemalloc at the largest snapshot\n" + tracer.report())
    finally:
        ws.close()
        practice.stop()
        shutil.rmtree(home, ignore_errors=True)
    return {**figures, "clients": clients, "invoices": invoices, "servers_seconds": round(servers, 1),
            "base_rss_mb": round(base / 2**20, 1), "peak_rss_mb": round(peaks["initial"] / 2**20, 1),
            "noop_peak_rss_mb": round(peaks["noop"] / 2**20, 1), "high_water_reset": reset,
            "pid": os.getpid()}


def _child(queue: Any, clients: int, invoices: int, opts: dict[str, Any]) -> None:
    try:
        queue.put(("ok", one_size(clients, invoices, opts)))
    except BaseException as exc:  # reported by the parent
        import traceback

        queue.put(("failed", "".join(traceback.format_exception(exc))))


def run_size(clients: int, invoices: int, opts: dict[str, Any]) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, clients, invoices, opts), name=f"growth-{clients}")
    proc.start()
    status, payload = queue.get()
    proc.join(60)
    if status != "ok":
        raise SystemExit(f"{clients}/{invoices} failed:\n{payload}")
    return payload


HEADER = ("clients/invoices", "records", "requests", "wall s", "floor s", "over", "main ms/rec", "proc ms/rec",
          "base MB", "peak MB", "no-op s", "no-op CPU s", "no-op req")


def row(f: dict[str, Any]) -> tuple[str, ...]:
    n = max(f["records_written"], 1)
    return (f"{f['clients'] // 1000}k/{f['invoices'] // 1000}k", f"{f['records_written']:,}", f"{f['qbo_requests']:,}",
            f"{f['wall_seconds']:.1f}", f"{f['floor_seconds']:.1f}", f"{f['over_floor_percent']:+.0f} %",
            f"{f['main_thread_cpu_seconds'] * 1000 / n:.3f}", f"{f['process_cpu_seconds'] * 1000 / n:.3f}",
            f"{f['base_rss_mb']:.0f}", f"{f['peak_rss_mb']:.0f}", f"{f['noop_seconds']:.3f}", f"{f.get('noop_cpu_seconds', float('nan')):.3f}",
            str(f["noop_requests"]))


def table(results: list[dict[str, Any]]) -> str:
    rows = [HEADER] + [row(f) for f in results]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    out = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--big", action="store_true", help="also 100k clients / 400k invoices")
    ap.add_argument("--sizes", nargs="*", help="clients/invoices pairs instead of the default three, e.g. 1000/4000")
    ap.add_argument("--time-scale", type=float, default=60.0, help="a throttle minute lasts 60/SCALE seconds")
    ap.add_argument("--latency-ms", type=float, default=100.0)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--no-payments", action="store_true")
    ap.add_argument("--tracemalloc", metavar="FILE", help="trace Python allocations; top lines to FILE")
    ap.add_argument("--profile", metavar="FILE", help="cProfile the engine's thread during the initial sync; to FILE")
    ap.add_argument("--json", metavar="FILE", help="also write every figure as JSON to FILE")
    args = ap.parse_args(argv)
    sizes = [tuple(int(x) for x in s.split("/")) for s in args.sizes] if args.sizes else list(SIZES)
    if args.big and not args.sizes:
        sizes.append(BIG)
    opts = {"time_scale": args.time_scale, "latency_ms": args.latency_ms, "concurrency": args.concurrency,
            "no_payments": args.no_payments, "tracemalloc": args.tracemalloc,
            "profile": args.profile}
    results = []
    print(f"load average at start: {os.getloadavg()}; {os.cpu_count()} CPUs; time scale {args.time_scale}, "
          f"latency {args.latency_ms} ms", file=sys.stderr)
    for clients, invoices in sizes:
        t = time.monotonic()
        figures = run_size(clients, invoices, opts)
        figures["load_average"] = os.getloadavg()
        results.append(figures)
        print(f"{clients}/{invoices}: done in {time.monotonic() - t:.0f}s (servers {figures['servers_seconds']}s), "
              f"state {figures['state']}, open problems {figures['open_problems']}, load {figures['load_average']}",
              file=sys.stderr)
        print(row(figures), file=sys.stderr, flush=True)
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
