"""``qbosync reconcile [--json] [--csv FILE]`` and ``qbosync reconcile --fix ROW_ID --action ...``.

Read-only comparison of every linked record in Work and in QuickBooks
(:mod:`qbosync_desktop.sync.reconcile`). Exit codes: 0 in step, 1 differences found (plus the
usual 2/3/4 of docs/cli.md). ``--fix`` applies one safe fix; ``recreate`` then runs a sync so the
write goes through the outbox (``--no-sync`` leaves that to the next scheduled sync).

Cold start: the reconcile module and the engine are imported when the handler runs.
"""

from __future__ import annotations

import argparse

from qbosync_desktop.cli.common import add_json, sync_engine, workspace
from qbosync_desktop.cli.output import EXIT_OK, EXIT_PROBLEMS, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reconcile", help="compare every synced record in Work and QuickBooks (read-only)")
    add_json(p)
    p.add_argument("--csv", metavar="FILE", help="also write the differences to a CSV file")
    p.add_argument("--fix", metavar="ROW_ID", help="apply a fix to one difference (its id from the report)")
    p.add_argument("--action", choices=("recreate", "relink", "accept", "ignore"), help="the fix to apply")
    p.add_argument("--reason", default="", help="why a difference is ignored (kept in the audit log)")
    p.add_argument("--no-sync", action="store_true", help="after 'recreate', leave the write to the next sync")
    p.add_argument("--every-days", type=int, metavar="N",
                   help="set how often the desktop app checks on its own (days; 0 turns it off; default 7)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from qbosync_desktop.core.errors import ConfigurationError
    from qbosync_desktop.sync import reconcile

    with workspace() as ws:
        if args.every_days is not None:
            reconcile.set_every_days(args.every_days)
            print(f"The desktop app checks every {args.every_days} days." if args.every_days
                  else "The scheduled reconcile check is off.")
            return EXIT_OK
        if args.fix:
            if not args.action:
                raise ConfigurationError("--fix needs --action recreate|relink|accept|ignore.",
                                         title="Which fix?", hint="Add --action with one of the row's fixes.")
            done, needs_sync = reconcile.fix_workspace(ws, args.fix, args.action, reason=args.reason)
            result: dict[str, object] = {"fixed": args.fix, "action": args.action, "message": done}
            if needs_sync and not args.no_sync:
                summary = sync_engine(ws).run()
                result["sync"] = {"run_id": summary.run_id, "state": summary.state, "counts": summary.counts}
                done += f" Sync run {summary.run_id}: {summary.state}."
            if args.json:
                print_json(result)
            else:
                print(done)
            return EXIT_OK
        report = reconcile.check_workspace(ws)
        reconcile.record_check(report)
        if args.csv:
            reconcile.write_csv(report, args.csv)
        if args.json:
            print_json(report.to_json())
        else:
            print(reconcile.render_text(report))
        return EXIT_OK if report.in_step else EXIT_PROBLEMS
