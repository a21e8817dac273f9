"""``qbosync sandbox work``: run the Work demo server on its own until SIGINT or SIGTERM.

The first stdout line is ``{"base_url": ..., "api_key": ...}`` so scripts, drills and another
terminal can connect; nothing else is written to stdout. ``--clients``/``--invoices`` switch to scale
mode for benchmarks; ``--data-dir`` keeps the data and the key for the next start.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from typing import Any

from qbosync_desktop.core.errors import ConfigurationError


def register(sandbox_subparsers: argparse._SubParsersAction) -> None:
    p = sandbox_subparsers.add_parser("work", help="run the Work demo server (Work API v1) on 127.0.0.1",
                                      description=__doc__)
    p.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    p.add_argument("--data-dir", metavar="DIR", help="keep the database and API key in DIR (default: temporary)")
    p.add_argument("--seed", default="demo", help="demo data seed (default 'demo')")
    p.add_argument("--clients", type=int, metavar="N", help="scale mode: generate N clients")
    p.add_argument("--invoices", type=int, metavar="M", help="scale mode: generate M invoices")
    p.add_argument("--api-key", metavar="KEY", help="the API key to accept (default: kept in DIR or random)")
    p.add_argument("--latency-ms", type=float, default=0, help="delay every answer (drills)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from qbosync_desktop.core.logs import register_secret
    from qbosync_desktop.sandbox.work import WorkSandbox

    for name in ("clients", "invoices", "port"):
        value = getattr(args, name)
        if value is not None and value < 0:
            raise ConfigurationError(f"--{name} must not be negative.", field=name)
    try:
        ws = WorkSandbox(seed=args.seed, clients=args.clients, invoices=args.invoices, api_key=args.api_key,
                         data_dir=args.data_dir, host=args.host, port=args.port, latency_ms=args.latency_ms)
    except ValueError as exc:
        raise ConfigurationError(str(exc), field="host", hint="Use --host 127.0.0.1.") from None
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        started = time.monotonic()
        config = ws.start()
        register_secret(config.api_key)
        print(config.to_json(), flush=True)
        logging.getLogger(__name__).info("Work demo server on %s (ready in %.2fs)", config.base_url,
                                         time.monotonic() - started)
        while not stop.wait(0.2):
            pass
    finally:
        ws.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
