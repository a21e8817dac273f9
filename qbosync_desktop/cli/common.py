"""Helpers shared by the ``qbosync`` commands.

Every command opens the data folder through :func:`workspace` (and the engine through
:func:`sync_engine`) and turns its result into one of the stable exit codes of
:mod:`qbosync_desktop.cli.output`: 0 done with no open problems, 1 done with open problems, 2
QuickBooks needs reconnecting, 3 usage or configuration error.

Cold start: ``qbosync --version`` and ``--help`` import every command module, so this module imports
the workspace (keyring, database), the store and the engine (every flow) inside the helpers that use
them, when a command runs.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from qbosync_desktop.cli.output import EXIT_OK, EXIT_PROBLEMS
from qbosync_desktop.core import errors

if TYPE_CHECKING:
    from qbosync_desktop.runtime.workspace import Workspace
    from qbosync_desktop.sync.engine import SyncEngine


@contextlib.contextmanager
def workspace() -> Iterator[Workspace]:
    """The data folder chosen by ``--home`` / ``QBOSYNC_HOME`` (or the platform default), opened.

    A keyring, network or "not connected" error met while the folder is connected to the practice
    company whose servers have stopped (they live inside ``qbosync demo``) is reported as that.
    """
    from qbosync_desktop.runtime.workspace import Workspace

    ws = Workspace.open()
    try:
        yield ws
    except (errors.KeyringUnavailable, errors.ConnectionProblem, errors.NotConnected) as exc:
        from qbosync_desktop.runtime.practice import practice_stopped

        stopped = None if isinstance(exc, errors.PracticeNotRunning) else practice_stopped(ws)
        if stopped is not None:
            raise stopped from exc
        raise
    finally:
        ws.close()


def sync_engine(ws: Workspace, *, wait: float = 10.0) -> SyncEngine:
    """The sync engine on an open workspace. ``wait``: seconds a run waits for another program's run
    on the same data folder (``--wait``) before ``DataFolderBusy``."""
    from qbosync_desktop.sync.engine import SyncEngine

    return SyncEngine(ws, lock_timeout=wait)


def symbol(fancy: str, plain: str) -> str:
    """``fancy`` when stdout can encode it, else ``plain``: a Windows console redirected to a file
    may be cp1252, where a check mark would crash the command instead of printing."""
    try:
        fancy.encode(getattr(sys.stdout, "encoding", None) or "utf-8")
        return fancy
    except (UnicodeEncodeError, LookupError):
        return plain


def work_key_refused(exc: errors.WorkAuthError) -> errors.ConfigurationError:
    """Work refusing the API key is a configuration error (exit 3): the user must enter a new key."""
    return errors.ConfigurationError(
        exc.message, field="work_api_key", title=exc.title,
        hint=exc.hint + " Then run 'qbosync work-connect --url URL --api-key KEY'.", details=exc.details,
    )


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output (see docs/cli.md)")


def iso(value: Any) -> str | None:
    """Naive-UTC database timestamps as ISO 8601 with ``Z``; dates as ``YYYY-MM-DD``."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat() + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def open_problem_count() -> int:
    """Open problems right now."""
    from qbosync_desktop.store.models.problems import Problem

    return Problem.select().where(Problem.state == "open").count()


def open_conflict_count() -> int:
    """Changes waiting for the person's decision ("ask me" conflicts) right now."""
    from qbosync_desktop.sync.clients.conflicts import open_count

    return open_count()


def done_exit_code() -> int:
    """0 when nothing is left for the user to do, 1 when some record is an open problem or a change
    waits for their decision (an open conflict: the field does not sync until it is decided)."""
    return EXIT_PROBLEMS if open_problem_count() or open_conflict_count() else EXIT_OK


def problem_to_dict(problem: Any) -> dict[str, Any]:
    """The stable JSON shape of one problem (``qbosync problems --json``, docs/cli.md)."""
    if isinstance(problem, dict):
        get = problem.get
    else:
        def get(key: str, default: Any = None) -> Any:
            return getattr(problem, key, default)
    return {
        "id": get("id"),
        "kind": get("kind"),
        "work_id": get("work_id"),
        "qbo_id": get("qbo_id"),
        "title": get("title"),
        "message": get("message"),
        "hint": get("hint"),
        "code": get("code"),
        "details": get("details") or {},
        "state": get("state"),
        "first_seen_run": get("first_seen_run"),
        "last_seen_run": get("last_seen_run"),
        "created_at": iso(get("created_at")),
    }


def print_problems(problems: list[dict[str, Any]]) -> None:
    if not problems:
        print("No open problems.")
        return
    print(f"{len(problems)} open problem{'s' if len(problems) != 1 else ''}:")
    for p in problems:
        print(f"  #{p['id']} {p['kind']} {p['work_id']}: {p['title']}")
        print(f"      {p['message']}")
        if p.get("hint"):
            print(f"      What to do: {p['hint']}")
        code = p.get("code") or (p.get("details") or {}).get("code")
        if code:
            print(f"      QuickBooks code {code}")


def progress_observer(quiet: bool) -> Any:
    """An engine Observer printing one line per phase step to stderr (nothing with ``--json``): sync,
    retry and undo."""
    from qbosync_desktop.sync.engine import Observer

    class ProgressPrinter(Observer):
        """At most one line a second per phase (plus its start and end): 20,000 invoices must not
        print 20,000 lines."""

        def __init__(self) -> None:
            self._last: tuple[str, int] | None = None
            self._printed_at = 0.0

        def phase(self, entity: str, done: int, total: int) -> None:
            if quiet or (entity, done) == self._last:
                return
            now = time.monotonic()
            edge = done in (0, total) or self._last is None or self._last[0] != entity
            if not edge and now - self._printed_at < 1.0:
                return
            self._last, self._printed_at = (entity, done), now
            print(f"  {entity}: {done}/{total}", file=sys.stderr, flush=True)

        def problem(self, problem: Any) -> None:
            if not quiet:
                p = problem_to_dict(problem)
                print(f"  problem: {p['title']}. {p['message']}", file=sys.stderr, flush=True)

    return ProgressPrinter()
