"""``qbosync preview [--json]``: what Enable would do, without writing anything anywhere (issue 7).

Per entity the numbers to create (in QuickBooks or in Work), link, update, skip and fail, each with
the records behind it; every failure with its plain-language reason and what to do.
"""

from __future__ import annotations

import argparse

from qbosync_desktop.cli.common import add_json, sync_engine, workspace
from qbosync_desktop.cli.output import EXIT_OK, EXIT_PROBLEMS, print_json
from qbosync_desktop.sync.onboarding.preview import render_text, to_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("preview", help="show what the initial sync would do, writing nothing")
    add_json(p)
    p.add_argument("--all", action="store_true", help="list every record behind each number (text output)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with workspace() as ws:
        ws.require_qbo()
        ws.require_work()
        preview = sync_engine(ws).preview()
        if args.json:
            print_json(to_json(preview))
        else:
            print(render_text(preview, limit=10_000 if args.all else 10))
        failing = any(c.action == "fail" for _name, changes in preview.phases for c in changes)
        return EXIT_PROBLEMS if failing else EXIT_OK
