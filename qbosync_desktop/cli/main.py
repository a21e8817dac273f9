"""The ``qbosync`` command: headless access to everything the desktop app does.

Each feature's subcommands live in a module of :mod:`qbosync_desktop.cli.commands` that defines
``register(subparsers)``; :data:`COMMANDS` lists them (a new command module is added there). A
command's handler is stored with ``parser.set_defaults(func=handler)`` and returns the process exit
code; exit codes, JSON and error printing are :mod:`qbosync_desktop.cli.output`'s.

Start-up stays fast (``qbosync --version`` builds the whole parser): command modules import only
light modules at the top, and their handlers import the engine, the workspace, Qt or a practice
server when they run (each such module says so once).

Exit codes: :mod:`qbosync_desktop.cli.output` (0-4, and 5-8 for local faults: disk full, damaged
database, read-only database, another program syncing the data folder).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from qbosync_desktop import __version__
from qbosync_desktop.cli.commands import (
    accounts,
    audit,
    autostart,
    conflicts,
    connect,
    demo,
    disconnect,
    doctor,
    matches,
    preview,
    restore,
    sandbox,
    settings,
    sync,
    work_connect,
)
from qbosync_desktop.cli.commands import keyring as keyring_command
from qbosync_desktop.cli.output import (
    EXIT_BUSY,
    EXIT_DATABASE_DAMAGED,
    EXIT_DISK_FULL,
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_READ_ONLY,
    EXIT_RECONNECT,
    EXIT_USAGE,
    exit_code_for,
    print_error,
    print_json,
)
from qbosync_desktop.core import errors, writer_lock
from qbosync_desktop.core.logs import setup_logging
from qbosync_desktop.core.paths import get_paths, set_home

# The exit codes and printers are re-exported for callers that know only the entry point.
__all__ = ["COMMANDS", "EXIT_BUSY", "EXIT_DATABASE_DAMAGED", "EXIT_DISK_FULL", "EXIT_FAILURE", "EXIT_OK",
           "EXIT_PROBLEMS", "EXIT_READ_ONLY", "EXIT_RECONNECT", "EXIT_USAGE", "build_parser", "exit_code_for", "main",
           "print_error", "print_json"]

log = logging.getLogger(__name__)

#: Every command module, in the order ``qbosync --help`` lists their commands.
COMMANDS = (accounts, audit, autostart, conflicts, connect, demo, disconnect, doctor, keyring_command, matches,
            preview, restore, sandbox, settings, sync, work_connect)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qbosync",
        description="QBO Sync: keep Work and QuickBooks Online in step, from the command line.",
    )
    parser.add_argument("--version", action="version", version=f"qbosync {__version__}")
    parser.add_argument("--home", metavar="DIR", help="keep all data, settings and logs under DIR (or set QBOSYNC_HOME)")
    parser.add_argument("--debug", action="store_true", help="verbose logging to stderr and the log file")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.home:
        set_home(args.home)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    writer_lock.set_program("cli", args.command or "")
    try:
        paths = get_paths().ensure()
        if not getattr(args, "no_log_file", False):
            setup_logging(paths.log_dir, stderr=True, debug=args.debug)
        return int(args.func(args) or 0)
    except errors.QboSyncError as exc:
        log.warning("%s: %s (%s)", type(exc).__name__, exc.message, exc.details_text().replace("\n", "; "))
        print_error(exc, as_json=getattr(args, "json", False))
        return exit_code_for(exc)
    except Exception as exc:
        # A local storage fault outside the engine (disk full writing the database, a log or a CSV;
        # a read-only or damaged file): the plain message and its own exit code, never a traceback.
        from qbosync_desktop.store.db import as_database_error

        storage = as_database_error(exc)
        if storage is None:
            raise
        log.warning("%s: %s (%s)", type(storage).__name__, storage.message, exc)
        print_error(storage, as_json=getattr(args, "json", False))
        return exit_code_for(storage)
    except KeyboardInterrupt:
        print("Stopped. Nothing was lost; the next sync continues where this one stopped.", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
