"""``qbosync audit export --csv FILE [--run N]``: what the sync did, record by record, for a spreadsheet.

One row per audit entry (create / update / link / skip / void / import / conflict / resolve / fail)
with the run, the time, both ids and the before/after values as JSON text. The file is written
atomically (temp file + rename) so a half-written export never looks finished.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
from pathlib import Path

from qbosync_desktop.commands._common import iso, workspace

COLUMNS = ("id", "run_id", "at", "action", "kind", "work_id", "qbo_id", "message", "before", "after")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="the audit log of every create / update / link / skip / void")
    ss = p.add_subparsers(dest="audit_command", metavar="ACTION")
    ex = ss.add_parser("export", help="write the audit log to a CSV file")
    ex.add_argument("--csv", required=True, metavar="FILE", help="the CSV file to write")
    ex.add_argument("--run", type=int, metavar="N", help="only the entries of run N")
    ex.set_defaults(func=run_export)
    p.set_defaults(func=lambda args: (p.print_help(), 3)[1])


def export_csv(path: Path, run_id: int | None = None) -> int:
    """Write the audit log (oldest first) to ``path``; returns the number of rows."""
    from qbosync_desktop.store.models_sync import AuditEntry

    query = AuditEntry.select().order_by(AuditEntry.id)
    if run_id is not None:
        query = query.where(AuditEntry.run_id == run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for e in query.iterator():
            w.writerow([
                e.id, e.run_id, iso(e.at), e.action, e.kind, e.work_id or "", e.qbo_id or "", e.message or "",
                "" if e.before is None else json.dumps(e.before, sort_keys=True, ensure_ascii=False),
                "" if e.after is None else json.dumps(e.after, sort_keys=True, ensure_ascii=False),
            ])
            n += 1
    os.replace(tmp, path)
    return n


def run_export(args: argparse.Namespace) -> int:
    with workspace():
        n = export_csv(Path(args.csv), args.run)
    print(f"Wrote {n} audit entr{'y' if n == 1 else 'ies'} to {args.csv}")
    return 0
