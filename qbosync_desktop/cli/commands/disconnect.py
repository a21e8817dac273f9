"""``qbosync disconnect [--forget]``: stop syncing with this QuickBooks company.

Revokes the grant, deletes the QuickBooks keyring entries and forgets the concept mappings (the
contractor seed); links are kept so a reconnect to the same company resumes without duplicates, unless
``--forget`` (which also forgets the Work connection: a clean start).
"""

from __future__ import annotations

import argparse

from qbosync_desktop.cli.common import add_json, workspace
from qbosync_desktop.cli.output import print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("disconnect", help="disconnect QuickBooks (keeps links unless --forget)")
    p.add_argument("--forget", action="store_true",
                   help="also forget the links, the sync history's cursors and the Work connection")
    add_json(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with workspace() as ws:
        ws.disconnect(forget=args.forget)
    if args.json:
        print_json({"disconnected": True, "forgot_links": bool(args.forget)})
    elif args.forget:
        print("Disconnected. Links, concept mappings and the Work connection were forgotten.")
    else:
        print("Disconnected from QuickBooks. Concept mappings were forgotten; links are kept, so connecting "
              "to the same company again resumes where it stopped.")
    return 0
