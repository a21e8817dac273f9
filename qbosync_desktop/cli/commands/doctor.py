"""``qbosync doctor``: the first thing a specialist asks a user to run."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from typing import Any

from qbosync_desktop import __version__
from qbosync_desktop.cli.output import print_json
from qbosync_desktop.core.errors import KeyringUnavailable
from qbosync_desktop.core.paths import HOME_ENV, get_paths


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="print folders, keyring backend, Qt and library versions")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def collect() -> dict[str, object]:
    # Imported here, not at start-up: the keyring package, package metadata and Qt (loaded only to
    # report the version it really runs; the CLI uses no Qt otherwise) cost more than all of --help.
    from importlib import metadata

    from qbosync_desktop.core.secrets import SecretStore

    paths = get_paths()
    store = SecretStore(paths)
    try:
        store.check()
        keyring_status = "ok"
    except KeyringUnavailable as exc:
        keyring_status = f"unavailable: {exc.hint}"
    try:
        from PySide6 import QtCore

        qt = QtCore.qVersion()
    except Exception as exc:  # Qt missing or broken: report, don't crash
        qt = f"unavailable ({type(exc).__name__})"
    versions = {}
    for dist in ("PySide6-Essentials", "requests", "requests-oauthlib", "keyring", "peewee", "qasync", "platformdirs", "werkzeug"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return {
        "qbosync": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "home_override": os.environ.get(HOME_ENV) or None,
        "data_dir": str(paths.data_dir),
        "config_dir": str(paths.config_dir),
        "log_dir": str(paths.log_dir),
        "database": str(paths.db_path),
        "database_check": _database_check(paths),
        "backups": _backups(paths),
        "keyring_backend": store.backend_name(),
        "keyring": keyring_status,
        "qt": qt,
        "qt_platform": os.environ.get("QT_QPA_PLATFORM") or "default",
        "libraries": versions,
    }


def _database_check(paths: Any) -> str:
    """"ok", "not created yet", or why it is damaged - read-only, without opening it for writing."""
    from qbosync_desktop.store import backups

    if not paths.db_path.exists():
        return "not created yet"
    found = backups.inspect(paths.db_path)
    if found.good:
        return f"ok (schema {found.version}, {found.size:,} bytes)"
    return f"DAMAGED ({found.problem}): run 'qbosync restore --list'"


def _backups(paths: Any) -> str:
    from qbosync_desktop.store import backups

    copies = backups.list_backups(paths)
    good = [b for b in copies if b.good]
    if not copies:
        return "none"
    return f"{len(copies)} in {paths.backup_dir} ({len(good)} good; newest {copies[0].name})"


def run(args: argparse.Namespace) -> int:
    info = collect()
    if args.json:
        print_json(info)
        return 0
    width = 16
    for key, value in info.items():
        if key == "libraries":
            print("libraries:")
            for name, ver in (value if isinstance(value, dict) else {}).items():
                print(f"  {name:<{width + 2}} {ver}")
        else:
            print(f"{key + ':':<{width + 4}} {value}")
    return 0
