"""``qbosync enable | sync | status | problems | retry``: running the engine from the command line.

The same :class:`~qbosync_desktop.sync.engine.SyncEngine` the desktop app's worker thread drives; the
CLI only adds a progress printer (stderr, so ``--json`` stdout stays clean) and the exit codes: 0 done
with no open problems, 1 done with open problems, 2 QuickBooks needs reconnecting, 3 usage or
configuration error (e.g. ``sync`` before ``enable``, or settings that break a rule).

Cold start: the engine (every flow) and the store are imported when a handler runs (here and in
:mod:`qbosync_desktop.cli.common`), not when ``qbosync --help`` builds the parser.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import TYPE_CHECKING, Any

from qbosync_desktop.cli.commands.settings import company_tax, work_concepts
from qbosync_desktop.cli.common import (
    add_json,
    done_exit_code,
    iso,
    open_conflict_count,
    open_problem_count,
    print_problems,
    problem_to_dict,
    progress_observer,
    symbol,
    sync_engine,
    work_key_refused,
    workspace,
)
from qbosync_desktop.cli.output import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_RECONNECT,
    EXIT_USAGE,
    print_json,
)
from qbosync_desktop.core import errors
from qbosync_desktop.sync.rules.settings import LABELS, check
from qbosync_desktop.sync.skips import phase_text

if TYPE_CHECKING:
    from qbosync_desktop.runtime.workspace import Workspace

#: The entities of the integration page, in its order, with the setting that switches each on.
ENTITIES = (("clients", "clients"), ("sites", "sites"), ("invoices", "invoices"), ("payments", "payments"),
            ("bills", "bills"))


def register(sub: argparse._SubParsersAction) -> None:
    for name, help_text, func in (
        ("enable", "check the settings and run the initial sync (Enable Integration)", run_enable),
        ("sync", "sync now (what changed since the last sync)", run_sync),
        ("status", "connection, what syncs, the last run and open problems", run_status),
        ("problems", "records that could not sync, each with what to do", run_problems),
    ):
        p = sub.add_parser(name, help=help_text)
        add_json(p)
        if name in ("enable", "sync"):
            add_wait(p)
        p.set_defaults(func=func)
    p = sub.add_parser("retry", help="retry one problem's record (ID) or all of them (--all), then sync")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("problem_id", nargs="?", type=int, metavar="ID")
    g.add_argument("--all", action="store_true", help="retry every open problem")
    add_json(p)
    add_wait(p)
    p.set_defaults(func=run_retry)


def add_wait(p: argparse.ArgumentParser) -> None:
    p.add_argument("--wait", type=float, default=10.0, metavar="SECONDS",
                   help="when another QBO Sync program (the app, another qbosync) is syncing this data folder, "
                        "wait at most this long for it (default 10), then exit 8 saying who it is")


# -- run summaries ------------------------------------------------------------------------------
def summary_to_dict(summary: Any) -> dict[str, Any]:
    """The engine's RunSummary as JSON-ready data (its own ``to_dict`` when it has one)."""
    if summary is None:
        return {}
    if hasattr(summary, "to_dict"):
        return dict(summary.to_dict())
    if dataclasses.is_dataclass(summary) and not isinstance(summary, type):
        return dataclasses.asdict(summary)
    return dict(summary)


def _print_summary(data: dict[str, Any]) -> None:
    counts = data.get("counts") or {}
    skips = data.get("skips") or {}
    for entity, by_outcome in counts.items():
        if isinstance(by_outcome, dict):
            shown = ", ".join(f"{n} {o}" for o, n in by_outcome.items() if n)
            print(f"  {entity}: {shown or 'nothing to do'}")
        else:
            print(f"  {entity}: {by_outcome}")
        left_out = phase_text(skips.get(entity) or {})
        if left_out:  # the records left out on purpose, in plain words (issue 16)
            print(f"    left out on purpose: {left_out}")
    if "qbo_requests" in data:
        print(f"  QuickBooks requests: {data['qbo_requests']}")


def run_engine(ws: Workspace, *, initial: bool, as_json: bool, wait: float = 10.0) -> tuple[dict[str, Any], int]:
    try:
        summary = sync_engine(ws, wait=wait).run(initial=initial, observer=progress_observer(as_json))
    except errors.NeedsReconnect:
        ws.mark_needs_reconnect()
        raise
    except errors.WorkAuthError as exc:
        # The Work key was revoked: like a wrong key at work-connect, the user must reconfigure (exit 3).
        raise work_key_refused(exc) from None
    data = summary_to_dict(summary)
    return data, done_exit_code()


def _finish(data: dict[str, Any], code: int, as_json: bool, title: str) -> int:
    """Print the run's outcome; a run that did not finish (failed, cancelled) exits 4 with its error."""
    problems = open_problem_count()
    conflicts = open_conflict_count()
    if data.get("state") in ("failed", "cancelled"):
        code = EXIT_FAILURE
        error = data.get("error") or {}
        title = f"The sync stopped: {error.get('message', data['state'])}"
        if error.get("hint"):
            title += f"\nWhat to do: {error['hint']}"
    if as_json:
        print_json({"run": data, "open_problems": problems, "open_conflicts": conflicts, "exit_code": code})
    else:
        print(title)
        _print_summary(data)
        print(f"{problems} open problem{'s' if problems != 1 else ''}"
              + (": see 'qbosync problems'." if problems else "."))
        if conflicts:
            from qbosync_desktop.sync.clients.conflicts import waiting_text

            print(f"{waiting_text(conflicts)}: see 'qbosync conflicts'.")
    return code


def check_ready(ws: Workspace, *, full: bool = False) -> None:
    """Both systems connected and the settings valid.

    ``full`` (enable) also checks them against the company's accounts, Work's concepts and (Invoices
    on) the tax setup: a company outside the US needs a tax code for every Work tax rate. A plain
    sync does not: that would cost a metered QuickBooks query on every run (a no-op sync must stay
    within 2 requests), and an account or concept that changed since is a per-record problem anyway.
    """
    ws.require_qbo()
    ws.require_work()
    s = ws.settings()
    if full:
        check(s, ws.qbo_client().accounts(), work_concepts(ws) if s.bills else None,
              company_tax(ws) if s.invoices else None)
    else:
        check(s)


def show_preview(ws: Workspace, as_json: bool) -> tuple[dict[str, dict[str, int]], list[dict[str, Any]]]:
    """Plan the initial sync without writing anything and print it (issue 7's preview), then the match
    review: proposed links between existing records, exact unambiguous ones already accepted, the
    others waiting for the person's decision (their records are held). Returns (counts, matches)."""
    engine = sync_engine(ws)
    preview = engine.preview()
    counts = preview.counts()
    matches = [m.to_dict() for m in engine.matches()]
    if not as_json:
        # here, not at the top: the preview's module pulls the two-way merge code, and ``qbosync
        # --version`` builds every command's parser (issue 18: --version in 0.15 s)
        from qbosync_desktop.sync.onboarding.preview import render_text

        print(render_text(preview, limit=5))
        if matches:
            arrow = symbol("\u2194", "<->")
            print("Match review (existing records that look alike):")
            for m in matches:
                state = {"proposed": "waiting for your decision"}.get(str(m.get("state")), m.get("state"))
                print(f"  #{m.get('id')} {m.get('work_name')} {arrow} {m.get('qbo_name')}: {state}")
        waiting = sum(1 for m in matches if m.get("state") == "proposed")
        if waiting:
            print(f"{waiting} possible match{'es' if waiting != 1 else ''} wait for your decision; those records "
                  "are held until you decide ('qbosync matches --accept ID' or '--reject ID').")
    return counts, matches


def initial_sync(ws: Workspace, as_json: bool, wait: float = 10.0) -> tuple[dict[str, Any], int]:
    """Enable Integration: the date is recorded (the default invoice start), the initial sync runs,
    and once it finished onboarding is over (Sites stop syncing, as the seed says)."""
    ws.mark_enabled()
    data, code = run_engine(ws, initial=True, as_json=as_json, wait=wait)
    if data.get("state", "done") == "done":
        ws.mark_onboarding_done()
    return data, code


# -- commands --------------------------------------------------------------------------------------
def run_enable(args: argparse.Namespace) -> int:
    with workspace() as ws:
        check_ready(ws, full=True)
        preview, matches = show_preview(ws, args.json)
        data, code = initial_sync(ws, args.json, args.wait)
        if args.json:
            data = {**data, "preview": preview, "matches": matches}
        return _finish(data, code, args.json, "Integration enabled; initial sync finished.")


def run_sync(args: argparse.Namespace) -> int:
    with workspace() as ws:
        if not ws.enabled:
            ws.require_qbo()
            raise errors.ConfigurationError(
                "The integration is not enabled yet, so there is nothing to sync.",
                hint="Choose the sync settings, then run 'qbosync enable' for the initial sync.",
            )
        check_ready(ws)
        data, code = run_engine(ws, initial=False, as_json=args.json, wait=args.wait)
        return _finish(data, code, args.json, "Sync finished.")


def status_view(ws: Workspace) -> dict[str, Any]:
    """The stable JSON of ``qbosync status --json`` (docs/cli.md)."""
    conn = ws.connection
    s = ws.settings()
    last = None
    from qbosync_desktop.store.models.runs import Run

    row = Run.select().where(Run.kind != "preview").order_by(Run.id.desc()).first()
    if row is not None:
        last = {"id": row.id, "kind": row.kind, "state": row.state, "started_at": iso(row.started_at),
                "finished_at": iso(row.finished_at), "counts": row.counts or {}, "skips": row.skips or {},
                "qbo_requests": row.qbo_requests, "error": row.error}
    practice_running = None
    if conn is not None and conn.environment == "practice":
        from qbosync_desktop.runtime.practice import practice_stopped

        practice_running = practice_stopped(ws) is None
    return {
        "connection": conn.to_dict() if conn else None,
        "practice_running": practice_running,
        "enabled": ws.enabled,
        "entities": {name: bool(getattr(s, key)) for name, key in ENTITIES},
        "last_run": last,
        "open_problems": open_problem_count(),
        "open_conflicts": open_conflict_count(),
    }


def status_exit_code(view: dict[str, Any]) -> int:
    conn = view["connection"] or {}
    if conn.get("state") == "needs_reconnect":
        return EXIT_RECONNECT
    if conn.get("state") != "connected" or not conn.get("work_base_url"):
        return EXIT_USAGE
    return EXIT_PROBLEMS if view["open_problems"] or view.get("open_conflicts") else EXIT_OK


def run_status(args: argparse.Namespace) -> int:
    with workspace() as ws:
        view = status_view(ws)
    code = status_exit_code(view)
    if args.json:
        print_json({**view, "exit_code": code})
        return code
    conn = view["connection"] or {}
    state = {"connected": "connected", "needs_reconnect": "NEEDS RECONNECT ('qbosync connect')",
             "disconnected": "not connected"}.get(str(conn.get("state")), "not connected")
    if view.get("practice_running") is False and conn.get("state") == "connected":
        state = "practice company not running (it ran inside 'qbosync demo'; run it again to sync)"
    print(f"QuickBooks: {conn.get('company_name') or '-'} (realm {conn.get('realm_id') or '-'}): {state}")
    print(f"Work:       {conn.get('work_company_name') or '-'} ({conn.get('work_base_url') or 'not connected'})")
    print(f"Integration: {'enabled since ' + conn['integration_enabled_at'] if view['enabled'] else 'not enabled'}")
    for name, on in view["entities"].items():
        print(f"  {symbol('✔', '[x]') if on else symbol('✘', '[ ]')} {LABELS[dict(ENTITIES)[name]]}")
    last = view["last_run"]
    if last:
        print(f"Last run: #{last['id']} {last['kind']} {last['state']}, started {last['started_at']}, "
              f"{last['qbo_requests']} QuickBooks requests")
    print(f"Open problems: {view['open_problems']}")
    if view.get("open_conflicts"):
        print(f"Waiting for your decision: {view['open_conflicts']} ('qbosync conflicts')")
    return code


def run_problems(args: argparse.Namespace) -> int:
    with workspace() as ws:
        problems = [problem_to_dict(p) for p in sync_engine(ws).problems()]
    if args.json:
        print_json({"problems": problems})
    else:
        print_problems(problems)
    return 1 if problems else 0


def run_retry(args: argparse.Namespace) -> int:
    with workspace() as ws:
        check_ready(ws)
        eng = sync_engine(ws, wait=args.wait)
        if args.problem_id is not None:
            open_ids = {problem_to_dict(p)["id"] for p in eng.problems()}
            if args.problem_id not in open_ids:
                raise errors.ConfigurationError(
                    f"There is no open problem #{args.problem_id}.", field="problem_id",
                    hint="Run 'qbosync problems' to see the open problems and their numbers.",
                )
        try:
            result = eng.retry(None if args.all else args.problem_id, observer=progress_observer(args.json))
        except errors.NeedsReconnect:
            ws.mark_needs_reconnect()
            raise
        return _finish(summary_to_dict(result), done_exit_code(), args.json, "Retry finished.")
