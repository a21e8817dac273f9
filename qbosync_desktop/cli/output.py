"""What every ``qbosync`` command prints and returns: the stable exit codes, JSON, and errors.

Exit codes (stable, documented in docs/cli.md): 0 done with no open problems, 1 done with open
problems, 2 QuickBooks needs reconnecting, 3 usage or configuration error, 4 other failure; local
faults: 5 the disk is full, 6 the database is damaged (``qbosync restore``), 7 the database is
read-only, 8 another QBO Sync program is syncing this data folder (nothing was started). 130 for
Ctrl-C is :func:`qbosync_desktop.cli.main.main`'s. Command modules import this module, never
``cli.main`` (which imports them).
"""

from __future__ import annotations

import json
import sys

from qbosync_desktop.core import errors

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_RECONNECT = 2
EXIT_USAGE = 3
EXIT_FAILURE = 4
EXIT_DISK_FULL = 5
EXIT_DATABASE_DAMAGED = 6
EXIT_READ_ONLY = 7
EXIT_BUSY = 8


def print_json(data: object) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")
    sys.stdout.flush()


def print_error(exc: errors.QboSyncError, *, as_json: bool = False) -> None:
    """``Title: message`` and ``What to do: hint`` on stderr; with ``--json`` ``{"error": ...}`` on stdout."""
    if as_json:
        print_json({"error": exc.to_dict()})
        return
    print(f"{exc.title}: {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"What to do: {exc.hint}", file=sys.stderr)


def exit_code_for(exc: BaseException) -> int:
    if isinstance(exc, errors.DiskFull):
        return EXIT_DISK_FULL
    if isinstance(exc, errors.DatabaseDamaged):
        return EXIT_DATABASE_DAMAGED
    if isinstance(exc, errors.DatabaseReadOnly):
        return EXIT_READ_ONLY
    if isinstance(exc, errors.DataFolderBusy):
        return EXIT_BUSY
    if isinstance(exc, errors.NeedsReconnect):
        return EXIT_RECONNECT
    if isinstance(exc, errors.ConfigurationError):
        return EXIT_USAGE
    return EXIT_FAILURE
