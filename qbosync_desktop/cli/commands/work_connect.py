"""``qbosync work-connect --url URL --api-key KEY``: connect the Work side.

The key is tested against Work first (a wrong key must not be stored and then fail every sync), then
kept in the keyring only; the database keeps the address and Work's company name for the status line.
"""

from __future__ import annotations

import argparse

from qbosync_desktop.cli.common import add_json, work_key_refused, workspace
from qbosync_desktop.cli.output import print_json
from qbosync_desktop.core import errors
from qbosync_desktop.core.logs import register_secret


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("work-connect", help="connect Work: its address and an API key (kept in the keyring)")
    p.add_argument("--url", required=True, help="the Work API address, e.g. https://work.example.com/api")
    p.add_argument("--api-key", required=True, help="an API key created in Work (Settings > API keys)")
    add_json(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    register_secret(args.api_key)
    with workspace() as ws:
        try:
            message = ws.connect_work(args.url, args.api_key)
        except errors.WorkAuthError as exc:  # nothing was stored
            raise work_key_refused(exc) from None
        name = ws.connection.work_company_name  # type: ignore[union-attr]
    if args.json:
        print_json({"work_company_name": name, "work_base_url": args.url.rstrip("/"), "message": message})
    else:
        print(message)
    return 0
