"""``qbosync restore [--list] [--from NAME]``: put a good copy from ``backups/`` in place of a damaged database.

Without options the newest good copy is restored (good: it passes SQLite's integrity check and has a
schema this version can open or upgrade). A healthy current database is not replaced unless
``--force`` is given (exit 3): restoring goes back to the copy's time. The damaged file is renamed ``qbosync.sqlite3.damaged-<time>``,
never deleted. Refused (exit 8) while the app or a sync has the data folder open. After restoring, the
copy is opened once (checked and upgraded) so the command's success means the data folder works.
See :mod:`qbosync_desktop.store.backups` and docs/troubleshooting.md.
"""

from __future__ import annotations

import argparse

from qbosync_desktop.cli.common import add_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("restore", help="restore the database from the newest good copy in backups/ (--list shows them)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--list", action="store_true", help="list the copies, newest first, and whether each is good")
    g.add_argument("--from", dest="name", metavar="NAME", help="restore this copy (a name from --list)")
    p.add_argument("--force", action="store_true",
                   help="restore even though the current database is healthy (it goes back to the copy's time)")
    add_json(p)
    p.set_defaults(func=run)


def _when(stamp: str) -> str:
    return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]} {stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}" if len(stamp) == 15 else stamp


def _healthy(db_path: object) -> bool:
    """The current database opens and passes every check (nothing to restore it from)."""
    from pathlib import Path

    from qbosync_desktop.core.errors import DatabaseDamaged
    from qbosync_desktop.store.db import close_database, open_database

    if not Path(str(db_path)).exists():
        return False
    try:
        open_database(Path(str(db_path)))
    except DatabaseDamaged:
        return False
    finally:
        close_database()
    return True


def run(args: argparse.Namespace) -> int:
    from qbosync_desktop.cli.output import EXIT_OK, EXIT_USAGE, print_json
    from qbosync_desktop.core.paths import get_paths
    from qbosync_desktop.store import backups
    from qbosync_desktop.store.db import close_database, open_database

    paths = get_paths().ensure()
    if args.list:
        copies = backups.list_backups(paths)
        if args.json:
            print_json({"backups": [b.to_dict() for b in copies], "folder": str(paths.backup_dir)})
            return EXIT_OK if copies else EXIT_USAGE
        if not copies:
            print(f"There are no copies in {paths.backup_dir}.")
            return EXIT_USAGE
        print(f"Copies of the database in {paths.backup_dir}, newest first:")
        for b in copies:
            kind = "after a sync" if b.kind == "run" else "before an upgrade"
            state = "good" if b.good else f"DAMAGED ({b.problem})"
            print(f"  {b.name}  {_when(b.taken_at)}  {kind}, schema {b.version or '-'}, {b.size:,} bytes: {state}")
        return EXIT_OK
    if not args.force and _healthy(paths.db_path):
        from qbosync_desktop.core.errors import ConfigurationError

        raise ConfigurationError(
            "The current database is healthy, so nothing was restored.",
            field="force",
            hint=("Restoring would take the data folder back to the copy's time, and records synced since "
                  "would no longer be linked. If you really want that, quit the app and run "
                  "'qbosync restore --force'."),
        )
    result = backups.restore(paths, args.name)
    # Open it once: checked, upgraded if older, and proven usable before we say it worked.
    open_database(paths.db_path)
    close_database()
    info = {"restored_from": result.source.to_dict(),
            "damaged_file_kept_as": str(result.damaged_kept_as) if result.damaged_kept_as else None}
    if args.json:
        print_json(info)
    else:
        print(f"Restored the database from {result.source.name} (taken {_when(result.source.taken_at)}).")
        if result.damaged_kept_as:
            print(f"The previous file was kept as {result.damaged_kept_as}.")
        print("What to do: run 'qbosync sync'. Records changed after that copy was taken sync again; "
              "see docs/troubleshooting.md for what to check in QuickBooks.")
    return EXIT_OK
