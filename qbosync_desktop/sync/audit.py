"""The audit log: what the sync did to which record, with before and after values, per run.

Why: "no record of what the sync did" is one of the complaints issue 6 answers. Every create /
update / link / skip / void (and issue 7's import / conflict / resolve) is one row, written in the
same transaction as the change it describes, so the log can never claim a write that did not
commit (or miss one that did). CSV export for accountants who want it in a spreadsheet.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from qbosync_desktop.core.paths import private_open
from qbosync_desktop.store.models.audit import AuditEntry
from qbosync_desktop.store.models.base import utcnow

CSV_COLUMNS = ("id", "run_id", "at", "action", "kind", "work_id", "qbo_id", "message", "before", "after")


def record(
    action: str,
    kind: str,
    work_id: str | None,
    qbo_id: str | None,
    *,
    run_id: int | None,
    before: Any = None,
    after: Any = None,
    message: str = "",
) -> AuditEntry:
    """Append one audit row. Call inside the transaction that performs the change."""
    return AuditEntry.create(
        run_id=run_id,
        at=utcnow(),
        action=action,
        kind=kind,
        work_id=str(work_id) if work_id is not None else None,
        qbo_id=str(qbo_id) if qbo_id is not None else None,
        before=before,
        after=after,
        message=message,
    )


def entries(run_id: int | None = None, kind: str | None = None) -> list[AuditEntry]:
    q = AuditEntry.select().order_by(AuditEntry.id)
    if run_id is not None:
        q = q.where(AuditEntry.run_id == run_id)
    if kind is not None:
        q = q.where(AuditEntry.kind == kind)
    return list(q)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    text = str(value)
    # A cell starting with = + - @ is a formula in spreadsheets (CSV injection): quote it as text.
    if text[:1] in ("=", "+", "-", "@"):
        return "'" + text
    return text


def rows(items: Iterable[AuditEntry]) -> Iterable[list[str]]:
    for e in items:
        yield [
            _cell(e.id),
            _cell(e.run_id),
            e.at.isoformat(sep=" ", timespec="seconds") if e.at else "",
            _cell(e.action),
            _cell(e.kind),
            _cell(e.work_id),
            _cell(e.qbo_id),
            _cell(e.message),
            _cell(e.before),
            _cell(e.after),
        ]


def export_csv(path: str | os.PathLike[str], *, run_id: int | None = None) -> int:
    """Write the audit log (or one run's part) to ``path`` as UTF-8 CSV. Returns the row count.

    Written to a temp file and renamed, so a half-written export never replaces a good one. The file
    is private (0600): it holds client names and e-mail addresses.
    """
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    n = 0
    q = AuditEntry.select().order_by(AuditEntry.id)
    if run_id is not None:
        q = q.where(AuditEntry.run_id == run_id)
    with private_open(tmp, "w", newline="", encoding="utf-8-sig") as fh:  # 0600: client names, e-mails
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for row in rows(q.iterator()):
            writer.writerow(row)
            n += 1
    os.replace(tmp, target)
    return n
