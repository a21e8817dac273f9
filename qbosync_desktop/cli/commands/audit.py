"""``qbosync audit export --csv FILE [--run N]``: what the sync did, record by record, for a spreadsheet.

One row per audit entry (create / update / link / skip / void / import / conflict / resolve / fail)
with the run, the time, both ids and the before/after values as JSON text; the engine's
:func:`qbosync_desktop.sync.audit.export_csv` writes it (atomically, UTF-8 with BOM for spreadsheets,
cells that would be formulas quoted).

Cold start: the audit export (store) is imported when the handler runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from qbosync_desktop.cli.common import workspace


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="the audit log of every create / update / link / skip / void")
    ss = p.add_subparsers(dest="audit_command", metavar="ACTION")
    ex = ss.add_parser("export", help="write the audit log to a CSV file")
    ex.add_argument("--csv", required=True, metavar="FILE", help="the CSV file to write")
    ex.add_argument("--run", type=int, metavar="N", help="only the entries of run N")
    ex.set_defaults(func=run_export)
    p.set_defaults(func=lambda args: (p.print_help(), 3)[1])


def run_export(args: argparse.Namespace) -> int:
    from qbosync_desktop.sync.audit import export_csv

    target = Path(args.csv)
    target.parent.mkdir(parents=True, exist_ok=True)
    with workspace():
        n = export_csv(target, run_id=args.run)
    print(f"Wrote {n} audit entr{'y' if n == 1 else 'ies'} to {args.csv}")
    return 0
