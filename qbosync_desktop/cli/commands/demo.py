"""``qbosync demo [--json] [--keep-running]``: the one-command tour.

Starts both practice servers in this process, connects to them through the real sign-in and Work
connection paths, chooses sensible settings (everything on, accounts by their usual names, every
concept mapped, invoices from 120 days back), shows the preview and the match review, runs the initial sync and prints
what happened. The practice servers live only while this command runs (``--keep-running`` keeps them
up until Ctrl-C, so ``qbosync sync`` can be tried from another terminal with the same ``--home``);
their data is kept under the home's data folder, so the next ``demo`` continues with the same companies.

Cold start: the practice servers and the engine are imported when the tour runs.
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from qbosync_desktop.cli.commands.sync import initial_sync, show_preview
from qbosync_desktop.cli.common import (
    add_json,
    open_problem_count,
    print_problems,
    problem_to_dict,
    sync_engine,
    workspace,
)
from qbosync_desktop.cli.output import print_json
from qbosync_desktop.core import errors


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="start the practice servers, connect, enable and sync: the one-command tour")
    add_json(p)
    p.add_argument("--keep-running", action="store_true",
                   help="keep the practice servers running after the tour, until Ctrl-C")
    p.add_argument("--no-throttle", action="store_true", help="turn the practice QuickBooks rate limits off")
    p.set_defaults(func=run)


def _say(args: argparse.Namespace, text: str) -> None:
    if not args.json:
        print(text, flush=True)


def run(args: argparse.Namespace) -> int:
    from qbosync_desktop.runtime.practice import connect_practice, practice_settings, start_practice
    with workspace() as ws:
        conn = ws.connection
        if conn is not None and conn.realm_id and conn.environment != "practice" and conn.state != "disconnected":
            raise errors.ConfigurationError(
                "This data folder is connected to a real QuickBooks company; the tour would replace it.",
                field="home",
                hint="Run the tour in a folder of its own: qbosync --home ~/qbosync-demo demo",
            )
        _say(args, "Starting the practice QuickBooks company and the Work demo server...")
        practice = start_practice(data_dir=ws.paths.data_dir / "practice", throttle=not args.no_throttle)
        try:
            conn = connect_practice(ws, practice)
            _say(args, f"Connected to QuickBooks practice company '{conn.company_name}' (realm {conn.realm_id}) "
                       f"and to Work '{conn.work_company_name}'.")
            settings = practice_settings(ws)
            ws.save_settings(settings)
            _say(args, "Settings: Clients, Sites, Invoices, Payments and Contractor bills on; invoices from "
                       f"{settings.start_date}.")
            preview, matches = show_preview(ws, args.json)
            _say(args, "Running the initial sync...")
            data, code = initial_sync(ws, args.json)
            problems = [problem_to_dict(p) for p in sync_engine(ws).problems()]
            result: dict[str, Any] = {
                "practice": {"qbo_base_url": practice.qbo_config.base_url, "realm_id": practice.qbo_config.realm_id,
                             "work_base_url": practice.work_config.base_url},
                "connection": ws.connection.to_dict(),  # type: ignore[union-attr]
                "settings": settings.to_dict(),
                "preview": preview,
                "matches": matches,
                "run": data,
                "open_problems": open_problem_count(),
                "problems": problems,
                # The tour succeeded: it exits 0. The practice data holds records that cannot sync on
                # purpose (to show problems); the initial sync's own code says whether any are open.
                "exit_code": 0,
                "sync_exit_code": code,
            }
            if args.json:
                print_json(result)
            else:
                print("Initial sync finished:")
                for entity, counts in (data.get("counts") or {}).items():
                    print(f"  {entity}: " + ", ".join(f"{n} {o}" for o, n in counts.items() if n))
                print(f"  QuickBooks requests: {data.get('qbo_requests')}")
                print_problems(problems)
                print("Try next: qbosync status, qbosync problems, qbosync audit export --csv audit.csv")
                if not args.keep_running:
                    print("The practice servers stop with this command: 'status', 'problems' and 'audit' keep "
                          "working; to sync again, run 'qbosync demo' again.")
            if args.keep_running:
                print(f"Practice servers running (QuickBooks {practice.qbo_config.base_url}, Work "
                      f"{practice.work_config.base_url}). Press Ctrl-C to stop them.", file=sys.stderr, flush=True)
                threading.Event().wait()
            return 0
        finally:
            practice.stop()
