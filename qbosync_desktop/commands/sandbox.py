"""``qbosync sandbox SERVER``: run a practice server on its own (minimal: only ``work`` so far).

Each server's module adds its own subcommand through ``register(sandbox_subparsers)``.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sandbox", help="run a practice server on 127.0.0.1 (see 'qbosync sandbox -h')")
    servers = p.add_subparsers(dest="sandbox_server", metavar="SERVER")
    from qbosync_desktop.sandbox.work.cli import register as register_work

    register_work(servers)
    p.set_defaults(func=lambda args: (p.print_help(), 3)[1])
