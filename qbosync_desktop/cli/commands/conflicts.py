"""``qbosync conflicts [--json]`` and ``qbosync resolve ID --keep work|quickbooks`` (issue 7).

A conflict is a client field changed differently in Work and in QuickBooks while the policy is
"ask me": neither side was overwritten. Resolving records which value to keep; the next sync writes
it to the other side.

Cold start: the conflicts module (store, engine rules) is imported when a handler runs.
"""

from __future__ import annotations

import argparse

from qbosync_desktop.cli.common import add_json, sync_engine, workspace
from qbosync_desktop.cli.output import EXIT_OK, EXIT_PROBLEMS, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("conflicts", help="list client fields changed in both Work and QuickBooks")
    add_json(p)
    p.set_defaults(func=run_conflicts)
    r = sub.add_parser("resolve", help="keep the Work or the QuickBooks value of a conflict")
    r.add_argument("id", type=int, help="the conflict's number (see 'qbosync conflicts')")
    r.add_argument("--keep", required=True, choices=("work", "quickbooks"), help="which side's value to keep")
    r.add_argument("--sync", action="store_true", help="run a sync right away to apply the decision")
    add_json(r)
    r.set_defaults(func=run_resolve)


def run_conflicts(args: argparse.Namespace) -> int:
    from qbosync_desktop.sync.clients.conflicts import open_conflicts

    with workspace():
        rows = open_conflicts()
    if args.json:
        print_json({"conflicts": rows})
    elif not rows:
        print("No conflicts: nothing changed in both places.")
    else:
        for c in rows:
            print(f"#{c['id']:<4} {c['label'] or c['work_id']}: {c['field_label']} changed in both places")
            print(f"       Work:       {c['work_text']}")
            print(f"       QuickBooks: {c['qbo_text']}")
        print("Keep one side with 'qbosync resolve ID --keep work' or '--keep quickbooks'.")
    return EXIT_PROBLEMS if rows else EXIT_OK


def run_resolve(args: argparse.Namespace) -> int:
    with workspace() as ws:
        engine = sync_engine(ws)
        decided = engine.resolve(args.id, args.keep)
        summary = engine.run() if args.sync else None
    side = "Work" if args.keep == "work" else "QuickBooks"
    if args.json:
        print_json({"resolved": decided, "sync": summary.to_dict() if summary else None})
    else:
        print(f"Conflict #{args.id}: keeping the {side} value ({decided['field_label']}: "
              f"{decided['work_text'] if args.keep == 'work' else decided['qbo_text']}).")
        print("Applied now." if summary else "The next sync writes it to the other side ('qbosync sync').")
    return EXIT_OK
