"""What every ``qbosync`` command prints and returns: the stable exit codes, JSON, and errors.

Exit codes (stable, documented in docs/cli.md): 0 done with no open problems, 1 done with open
problems, 2 QuickBooks needs reconnecting, 3 usage or configuration error, 4 other failure (130 for
Ctrl-C is :func:`qbosync_desktop.cli.main.main`'s). Command modules import this module, never
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
    if isinstance(exc, errors.NeedsReconnect):
        return EXIT_RECONNECT
    if isinstance(exc, errors.ConfigurationError):
        return EXIT_USAGE
    return EXIT_FAILURE
