"""Record problems: one open problem per record, in plain language, closing itself when fixed.

Why one per record: a client whose name QuickBooks rejects fails on every run until someone acts; a
new row per run would bury the one message that matters. So a record has at most one *open*
problem (a partial unique index backs this up); each run that sees it again updates
``last_seen_run`` and the message, and the first run in which the record syncs closes it.

Problems store the error's title, message, hint and details (QBO code, ``intuit_tid``) exactly as
the error class produced them - never a secret (error classes never carry one).
"""

from __future__ import annotations

import logging
from typing import Any

from qbosync_desktop.core.errors import QboSyncError
from qbosync_desktop.store.db import database
from qbosync_desktop.store.models.base import utcnow
from qbosync_desktop.store.models.problems import Problem
from qbosync_desktop.sync import audit

log = logging.getLogger(__name__)


def problem_dict(p: Problem) -> dict[str, Any]:
    """The stable JSON shape (CLI ``problems --json``, the UI's problem list, Observer.problem)."""
    return {
        "id": p.id,
        "kind": p.kind,
        "work_id": p.work_id,
        "qbo_id": p.qbo_id,
        "title": p.title,
        "message": p.message,
        "hint": p.hint,
        "code": p.code,
        "details": p.details or {},
        "state": p.state,
        "retry_requested": bool(p.retry_requested),
        "first_seen_run": p.first_seen_run,
        "last_seen_run": p.last_seen_run,
        "created_at": p.created_at.isoformat() if p.created_at else None,
        "closed_at": p.closed_at.isoformat() if p.closed_at else None,
    }


def open_problem(
    kind: str,
    work_id: str,
    error: QboSyncError,
    *,
    run_id: int | None,
    qbo_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Problem:
    """Open (or refresh) the one open problem of this record. Call inside the caller's transaction.

    ``extra`` is stored under details (e.g. the Work ``updated_at`` the retry re-reads from and the
    fingerprint of the payload that failed, so an unchanged record is not re-sent on every run).
    """
    details = dict(error.details or {})
    details["error"] = type(error).__name__
    details.update(extra or {})
    details = {k: v for k, v in details.items() if v not in (None, "")}
    code = getattr(error, "code", None) or details.get("code")
    with database.atomic():
        existing = Problem.get_or_none((Problem.kind == kind) & (Problem.work_id == str(work_id)) & (Problem.state == "open"))
        if existing is None:
            return Problem.create(
                kind=kind,
                work_id=str(work_id),
                qbo_id=qbo_id,
                title=error.title,
                message=error.message,
                hint=error.hint,
                details=details,
                code=str(code) if code is not None else None,
                state="open",
                retry_requested=False,
                first_seen_run=run_id,
                last_seen_run=run_id,
                created_at=utcnow(),
            )
        code_s = str(code) if code is not None else None
        same = (existing.title, existing.message, existing.hint, existing.details, existing.code) == (
            error.title, error.message, error.hint, details, code_s)
        if same and not existing.retry_requested:
            # Seen again, unchanged: no write (a no-op sync writes nothing).
            return existing
        existing.title = error.title
        existing.message = error.message
        existing.hint = error.hint
        existing.details = details
        existing.code = str(code) if code is not None else None
        existing.qbo_id = qbo_id or existing.qbo_id
        existing.last_seen_run = run_id
        existing.retry_requested = False
        existing.save()
        return existing


def close_problem(kind: str, work_id: str) -> int:
    """Close the record's open problem because it synced. Returns how many were closed (0 or 1)."""
    return int(
        Problem.update(state="closed", closed_at=utcnow(), retry_requested=False)
        .where((Problem.kind == kind) & (Problem.work_id == str(work_id)) & (Problem.state == "open"))
        .execute()
    )


def close_problems(kind: str, work_ids: list[str]) -> int:
    """Close the open problems of several records of one kind that synced (one statement)."""
    if not work_ids:
        return 0
    return int(
        Problem.update(state="closed", closed_at=utcnow(), retry_requested=False)
        .where((Problem.kind == kind) & (Problem.work_id.in_([str(w) for w in work_ids])) & (Problem.state == "open"))
        .execute()
    )


def close_for_turned_off(kinds: tuple[str, ...], reason: str) -> int:
    """Close the open problems of ``kinds`` because their entity was turned off in the settings: each
    becomes a documented skip (an audit "skip" row with ``reason``), so nothing disappears silently.
    Returns how many were closed (the count; also logged). Call inside the settings' transaction."""
    rows = list(Problem.select().where(Problem.kind.in_(list(kinds)) & (Problem.state == "open")))
    for p in rows:
        p.state, p.closed_at, p.retry_requested = "closed", utcnow(), False
        p.save()
        audit.record("skip", p.kind, p.work_id, p.qbo_id, run_id=None,
                     message=f"{reason}: its problem “{p.title or p.message}” was closed and it is not synced")
    if rows:
        log.info("%s: closed %d open problem(s) of %s as skips", reason, len(rows), ", ".join(kinds))
    return len(rows)


def open_problems(kind: str | None = None) -> list[dict[str, Any]]:
    q = Problem.select().where(Problem.state == "open")
    if kind is not None:
        q = q.where(Problem.kind == kind)
    return [problem_dict(p) for p in q.order_by(Problem.id)]


def request_retry(problem_id: int | None = None) -> int:
    """Mark one open problem (or all) for retry: the next run re-sends those records even if they
    did not change in Work. Raises a plain error for an unknown or closed id."""
    q = Problem.update(retry_requested=True).where(Problem.state == "open")
    if problem_id is not None:
        p = Problem.get_or_none(Problem.id == problem_id)
        if p is None or p.state != "open":
            raise QboSyncError(
                f"There is no open problem number {problem_id}.",
                title="Problem not found",
                hint="Run 'qbosync problems' to see the open problems and their numbers.",
            )
        q = q.where(Problem.id == problem_id)
    return int(q.execute())
