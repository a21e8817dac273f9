"""``qbosync undo RUN_ID [--dry-run] [--json] [--hold | --sync-again] [--skip-blocked]``: reverse one sync run.

Always a preview first: ``--dry-run`` prints every write the undo would make (and the records it must
refuse, with the reason) and writes nothing. Without ``--dry-run`` the person says what the next sync
should do with the undone records: ``--hold`` (they stay held: syncs skip them, counted as "held",
until ``qbosync undo --release RUN_ID``) or ``--sync-again`` (the next sync may send them again). When
later work depends on some records (a payment recorded in QuickBooks against an invoice the run
created, a later sync that changed the same record), the undo refuses and writes nothing, unless
``--skip-blocked`` says "undo everything else and keep those".

Exit codes: 0 undone (or the dry run shows nothing blocked); 1 undone, but records were kept or a
write failed (dry run: records are blocked); 5 refused, nothing written; 3 usage; 4 failure.
The engine is :mod:`qbosync_desktop.sync.undo`; docs/undo.md describes it.
"""

from __future__ import annotations

import argparse
from typing import Any

from qbosync_desktop.cli.common import add_json, progress_observer, sync_engine, workspace
from qbosync_desktop.cli.output import EXIT_USAGE, print_json

EXIT_REFUSED = 5


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("undo", help="undo a sync run: preview, then reverse its writes in QuickBooks and Work")
    p.add_argument("run_id", type=int, nargs="?", metavar="RUN_ID", help="the sync run to undo (see the History tab)")
    p.add_argument("--dry-run", action="store_true", help="only show what the undo would write; write nothing")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--hold", action="store_true", help="undo and hold these records: syncs skip them until released")
    mode.add_argument("--sync-again", action="store_true", help="undo, then let the next sync send them again")
    p.add_argument("--skip-blocked", action="store_true",
                   help="undo everything that can be undone and keep the records later work depends on")
    p.add_argument("--release", type=int, metavar="RUN_ID", help="release the records held after undoing RUN_ID")
    p.add_argument("--holds", action="store_true", help="list the records held after an undo")
    add_json(p)
    p.set_defaults(func=run)


def _print_plan(plan: Any) -> None:
    print(f"Undo of sync run {plan.run_id} ({plan.run_kind}): {len(plan.writes)} write(s)"
          + (f", {len(plan.blocked)} record(s) blocked" if plan.blocked else "")
          + (f", {plan.already_undone} already undone" if plan.already_undone else ""))
    for s in plan.steps:
        mark = "BLOCKED " if s.blocked else ("        " if s.writes else "  (none)")
        print(f"  {mark}{s.describe()}")
        if s.blocked:
            print(f"          Why: {s.blocked}")
    if not plan.steps:
        print("  Nothing to undo: this run wrote nothing that is still in place.")


def run(args: argparse.Namespace) -> int:
    from qbosync_desktop.sync import undo as undo_mod

    with workspace():
        if args.holds:
            rows = undo_mod.holds()
            if args.json:
                print_json({"holds": rows})
            else:
                for h in rows:
                    print(f"{h['kind']} {h['work_id']}: held since undo run {h['undo_run_id']} of run {h['run_id']}")
                print(f"{len(rows)} record(s) held.")
            return 0
        if args.release is not None:
            n = undo_mod.release(args.release)
            if args.json:
                print_json({"released": n, "run_id": args.release})
            else:
                print(f"Released {n} record(s) held after undoing run {args.release}; the next sync treats them as usual.")
            return 0
        if args.run_id is None:
            print("Name the sync run to undo: qbosync undo RUN_ID --dry-run")
            return EXIT_USAGE
    with workspace() as ws:
        engine = sync_engine(ws)
        if args.dry_run or not (args.hold or args.sync_again):
            plan = undo_mod.preview(engine, args.run_id)
            if args.json:
                print_json({"dry_run": True, **plan.to_dict()})
            else:
                _print_plan(plan)
                if not args.dry_run:
                    print("Nothing was written. Choose what the next sync does with these records: run again with "
                          "--hold (keep them undone) or --sync-again (let the next sync send them again).")
            if not args.dry_run:
                return EXIT_USAGE
            return 1 if plan.blocked else 0
        if not args.json:
            _print_plan(undo_mod.preview(engine, args.run_id))
        try:
            result = undo_mod.undo(engine, args.run_id, mode=undo_mod.HOLD if args.hold else undo_mod.SYNC,
                                   skip_blocked=args.skip_blocked, observer=progress_observer(args.json))
        except undo_mod.UndoRefused as exc:
            if args.json:
                print_json({"error": exc.to_dict(), "state": "refused"})
            else:
                print(f"{exc.title}: {exc.message}")
                print(f"What to do: {exc.hint}")
            return EXIT_REFUSED
    if args.json:
        print_json(result.to_dict())
    else:
        parts = ", ".join(f"{v} {k}" for k, v in sorted(result.counts.items())) or "nothing to write"
        print(f"Undo run {result.run_id} of sync run {result.undone_run_id}: {result.state} - {parts}.")
        for k in result.kept:
            print(f"  Kept: {k['label']}: {k['blocked']}")
        for f in result.failed:
            print(f"  Failed: {f['label']}: {(f['error'] or {}).get('message')}")
    if result.state != "done":
        return 4
    return 1 if result.kept or result.failed else 0
