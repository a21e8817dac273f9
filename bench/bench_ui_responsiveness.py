"""Benchmark: event-loop stalls in the desktop app while a large initial sync runs in the background.

    python bench/bench_ui_responsiveness.py [--clients 2000] [--invoices 6000] [--throttle] [--in-process]

Practice servers in scale mode, a real sign-in, the integration window shown offscreen, and "Sync
now": a 10 ms timer on the GUI thread records every gap. Target (issue 8): no gap over 100 ms. By
default the servers run in a child process, as QuickBooks and Work are remote for a real company and
as ``--demo`` runs them (practice.PracticeProcess); ``--in-process`` keeps them in the app's process,
as the tests do (their threads then compete with the window for the GIL). Prints one JSON line (max / p99 / p50 gap, the GUI thread's own CPU per gap, records,
seconds, machine).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--invoices", type=int, default=6000)
    parser.add_argument("--throttle", action="store_true", help="keep the practice QuickBooks rate limits on")
    parser.add_argument("--in-process", action="store_true", help="run the practice servers in this process")
    args = parser.parse_args()

    home = tempfile.mkdtemp(prefix="qbosync-bench-ui-")
    os.environ["QBOSYNC_HOME"] = home
    import keyring
    from PySide6.QtWidgets import QApplication

    from qbosync_desktop.core.keyring_memory import MemoryKeyring
    from qbosync_desktop.desktop.service import prefer_gui_latency
    from qbosync_desktop.desktop.ui.eventloop import run_until
    from qbosync_desktop.desktop.ui.integration_window import IntegrationWindow
    from qbosync_desktop.desktop.ui.session import Session
    from qbosync_desktop.desktop.ui.stall_meter import MachineStallMeter, StallMeter
    from qbosync_desktop.desktop.ui.style import apply_style
    from qbosync_desktop.runtime.practice import (
        PracticeProcess,
        connect_practice,
        practice_settings,
        start_practice,
    )
    from qbosync_desktop.runtime.workspace import Workspace

    keyring.set_keyring(MemoryKeyring())
    app = QApplication(sys.argv[:1])
    apply_style(app)
    prefer_gui_latency()
    t0 = time.perf_counter()
    scale = {"throttle": args.throttle, "work_seed": None, "work_clients": args.clients,
             "work_invoices": args.invoices}
    practice = start_practice(**scale) if args.in_process else PracticeProcess(**scale)
    ws = Workspace.open()
    connect_practice(ws, practice)
    ws.save_settings(practice_settings(ws).replace(start_date=dt.date.today() - dt.timedelta(days=400)))
    ws.mark_enabled()
    setup_seconds = time.perf_counter() - t0

    session = Session(ws, schedule=False)
    window = IntegrationWindow(session)
    window.show()
    done: list = []
    session.service.finished.connect(done.append)
    session.service.failed.connect(done.append)
    warmed: list = []
    session.warm_up()  # as the app does at start-up (engine built, sync worker process started)
    session.service.submit(lambda _e: None, on_done=warmed.append)
    run_until(lambda: bool(warmed))
    meter = StallMeter()
    control = MachineStallMeter()
    meter.start()
    window.sync_button.click()
    run_until(lambda: bool(done), timeout_ms=3_600_000, extra_ms=1000)  # then the final refresh and render
    meter.stop()
    machine_stalls = control.stop()
    result = done[0]
    session.close()
    run_until(lambda: not session.service.thread.is_alive())
    practice.stop()
    counts = getattr(result, "counts", {}) or {}
    print(json.dumps({
        "bench": "ui_responsiveness",
        "clients": args.clients, "invoices": args.invoices, "throttle": args.throttle,
        "run_state": getattr(result, "state", type(result).__name__),
        "records": sum(sum(v.values()) for v in counts.values()),
        "sync_seconds": round(getattr(result, "seconds", 0.0), 1),
        "setup_seconds": round(setup_seconds, 1),
        "ticks": len(meter.gaps_ms),
        "max_gap_ms": round(meter.max_ms, 1),
        "p99_gap_ms": round(meter.percentile(99), 1),
        "p50_gap_ms": round(meter.percentile(50), 1),
        "gui_cpu_per_gap_max_ms": round(meter.max_busy_ms, 1),
        "over_100ms": sum(1 for g in meter.gaps_ms if g > 100),
        # The longest gaps: [seconds after Sync now, gap ms, GUI-thread CPU ms]; the run ended at sync_seconds.
        "longest_gaps": [[round(t, 1), round(g, 1), round(b, 1)]
                         for t, g, b in sorted(meter.long_gaps, key=lambda e: -e[1])[:8]],
        "target_met": meter.max_ms < 100,
        # A plain process that only sleeps 10 ms at a time, measured alongside: its gaps over 50 ms are
        # the machine's (CPU steal on a shared VM, the OS), not the app's.
        "control_max_gap_ms": round(max((g for _t, g in machine_stalls), default=0.0), 1),
        "control_over_100ms": sum(1 for _t, g in machine_stalls if g > 100),
        "app_over_100ms_without_a_machine_stall": len(meter.app_gaps_over(100, machine_stalls)),
        "pyside6": __import__("PySide6").__version__,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }))


if __name__ == "__main__":
    main()
