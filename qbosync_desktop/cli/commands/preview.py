"""``qbosync preview [--json] [--keep-qbo KIND:ID ...]``: what Enable would do, writing nothing (issue 7).

Existing QuickBooks records the sync would change are listed field by field, before → after
(``existing`` in the JSON); ``--keep-qbo`` stores the person's decision to keep QuickBooks' values
for some of them (issue 15) and then shows the preview with that decision.

Per entity the numbers to create (in QuickBooks or in Work), link, update, skip and fail, each with
the records behind it; every failure with its plain-language reason and what to do.
"""

from __future__ import annotations

import argparse

from qbosync_desktop.cli.common import add_json, sync_engine, workspace
from qbosync_desktop.cli.output import EXIT_OK, EXIT_PROBLEMS, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("preview", help="show what the initial sync would do, writing nothing")
    add_json(p)
    p.add_argument("--all", action="store_true", help="list every record behind each number (text output)")
    p.add_argument("--keep-qbo", metavar="KIND:ID", nargs="+", default=[],
                   help="keep QuickBooks' values for these existing records (e.g. item:12): they are linked "
                        "without being changed")
    p.add_argument("--change-qbo", metavar="KIND:ID", nargs="+", default=[],
                   help="withdraw an earlier --keep-qbo: the record is updated from Work after all")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with workspace() as ws:
        ws.require_qbo()
        ws.require_work()
        if args.keep_qbo or args.change_qbo:
            from qbosync_desktop.sync.onboarding.review import keep_quickbooks_values

            keep_quickbooks_values(args.keep_qbo, keep=True)
            keep_quickbooks_values(args.change_qbo, keep=False)
        # imported here: the preview's module pulls the two-way merge code, and ``qbosync --version``
        # builds every command's parser (issue 18: --version in 0.15 s)
        from qbosync_desktop.sync.onboarding.preview import render_text, to_json

        preview = sync_engine(ws).preview()
        if args.json:
            print_json(to_json(preview))
        else:
            preview.account_names = ws.account_names()
            print(render_text(preview, limit=10_000 if args.all else 10))
        failing = any(c.action == "fail" for _name, changes in preview.phases for c in changes)
        return EXIT_PROBLEMS if failing else EXIT_OK
