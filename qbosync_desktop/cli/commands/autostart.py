"""``qbosync autostart on|off|status``: "Start at login" from the command line.

Useful when the app is deployed by a script, and for support: ``status`` shows where the entry lives
and whether it still starts this installation (it goes stale when the app is moved).
"""

from __future__ import annotations

import argparse
import sys

from qbosync_desktop.cli.output import print_json
from qbosync_desktop.runtime import autostart


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "autostart",
        help="start QBO Sync in the tray when you log in (on, off, status)",
        description="Start QBO Sync in the system tray when you log in to this computer. "
        "With --home, the entry starts that data folder's company.",
    )
    p.add_argument("action", choices=("on", "off", "status"), help="turn it on, off, or show what is set")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def describe(st: autostart.AutostartStatus) -> list[str]:
    """Plain-language lines for a person reading a terminal (or a specialist reading a screen share)."""
    if not st.enabled:
        lines = ["Start at login: off"]
    elif st.current:
        lines = ["Start at login: on (QBO Sync starts in the system tray when you log in)"]
    else:
        lines = [
            "Start at login: on, but the entry starts a different copy of QBO Sync",
            "What to do: run 'qbosync autostart off' and then 'qbosync autostart on' to point it at this one.",
        ]
    lines.append(f"Mechanism: {st.mechanism}")
    lines.append(f"Entry: {st.location}")
    if st.command:
        lines.append("Starts: " + " ".join(st.command))
    return lines


def run(args: argparse.Namespace) -> int:
    if args.action == "status":
        st = autostart.status()
    else:
        st = autostart.set_enabled(args.action == "on")
    if args.json:
        print_json(st.to_dict())
    else:
        sys.stdout.write("\n".join(describe(st)) + "\n")
    return 0
