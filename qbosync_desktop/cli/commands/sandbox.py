"""``qbosync sandbox qbo|work``: run a practice server on its own until SIGINT/SIGTERM.

``qbosync sandbox qbo`` is the QuickBooks Online practice server, ``qbosync sandbox work`` the Work
demo server (Work API v1). Each server prints one JSON line with its connection details first on
stdout (nothing else goes to stdout), so scripts, drills and another terminal can connect. Neither
touches the app's database. For the Work server, ``--clients``/``--invoices`` switch to scale mode
for benchmarks; ``--data-dir`` keeps the data and the key for the next start.

Cold start: the servers (werkzeug, their databases) are imported by the handlers, when they run.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from qbosync_desktop.core.errors import ConfigurationError
from qbosync_desktop.core.logs import register_secret

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sandbox", help="run a practice server on 127.0.0.1 (see 'qbosync sandbox -h')")
    servers = p.add_subparsers(dest="sandbox_server", metavar="SERVER")
    register_qbo(servers)
    register_work(servers)
    p.set_defaults(func=lambda args: (p.print_help(), 3)[1])


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def register_qbo(servers: argparse._SubParsersAction) -> None:
    p = servers.add_parser(
        "qbo", help="run the QuickBooks Online practice server (v3 API + OAuth 2) on 127.0.0.1",
        description="Run the QuickBooks Online practice server. The first stdout line is a JSON object with "
                    "base_url, discovery_url, api_base, realm_id, client_id, client_secret and redirect_uri.",
    )
    p.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    p.add_argument("--data-dir", metavar="DIR", help="keep the company and its credentials in DIR (default: in memory)")
    p.add_argument("--realm-id", metavar="ID", help="company id to use for a new company (default: random)")
    p.add_argument("--seed", default="practice", choices=("practice", "empty"), help="starting data (default practice)")
    p.add_argument("--company", default="us", choices=("us", "ca"),
                   help="practice company: us (Automated Sales Tax, default) or ca (Canadian tax codes and rates)")
    p.add_argument("--auto-consent", action="store_true", help="answer the consent page with Connect at once")
    p.add_argument("--latency-ms", type=float, default=0, help="delay added to every request")
    p.add_argument("--throttle", action=argparse.BooleanOptionalAction, default=True,
                   help="Intuit's limits: 500 requests/min, 10 concurrent, 40 batches/min (default on)")
    p.add_argument("--throttle-xml", action="store_true", help="send 429 bodies as XML, as Intuit sometimes does")
    p.add_argument("--fault-rate", type=_rate, default=0.0, help="fraction of requests failing with 500/503/dropped")
    p.add_argument("--lost-response-rate", type=_rate, default=0.0,
                   help="fraction of writes committed whose response is then lost (connection dropped)")
    p.add_argument("--access-token-ttl", type=int, default=3600, help="access token lifetime in seconds (default 3600)")
    p.add_argument("--time-scale", type=float, default=1.0, help="divide throttle windows (60: a one-second minute)")
    p.set_defaults(func=run_qbo)


def run_qbo(args: argparse.Namespace) -> int:
    from qbosync_desktop.sandbox.qbo import QboSandbox

    if args.port < 0 or args.access_token_ttl < 1:
        raise ConfigurationError("--port must not be negative and --access-token-ttl must be at least 1.", field="port")
    sb = QboSandbox(
        realm_id=args.realm_id, auto_consent=args.auto_consent, throttle=args.throttle, latency_ms=args.latency_ms,
        fault_rate=args.fault_rate, lost_response_rate=args.lost_response_rate,
        access_token_ttl=args.access_token_ttl, data_dir=args.data_dir, time_scale=args.time_scale,
        seed=args.seed, company=args.company, host=args.host, port=args.port, throttle_xml=args.throttle_xml,
    )

    def start() -> str:
        config = sb.start()
        register_secret(config.client_secret)
        return config.to_json()

    return serve_until_signal(start, sb.stop)


def register_work(servers: argparse._SubParsersAction) -> None:
    p = servers.add_parser("work", help="run the Work demo server (Work API v1) on 127.0.0.1",
                           description="Run the Work demo server. The first stdout line is a JSON object with "
                                       "base_url and api_key. --clients/--invoices switch to scale mode for "
                                       "benchmarks; --data-dir keeps the data and the key for the next start.")
    p.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    p.add_argument("--data-dir", metavar="DIR", help="keep the database and API key in DIR (default: temporary)")
    p.add_argument("--seed", default="demo", help="demo data seed (default 'demo')")
    p.add_argument("--clients", type=int, metavar="N", help="scale mode: generate N clients")
    p.add_argument("--invoices", type=int, metavar="M", help="scale mode: generate M invoices")
    p.add_argument("--api-key", metavar="KEY", help="the API key to accept (default: kept in DIR or random)")
    p.add_argument("--latency-ms", type=float, default=0, help="delay every answer (drills)")
    p.set_defaults(func=run_work)


def run_work(args: argparse.Namespace) -> int:
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

    def start() -> str:
        started = time.monotonic()
        config = ws.start()
        register_secret(config.api_key)
        log.info("Work demo server on %s (ready in %.2fs)", config.base_url, time.monotonic() - started)
        return config.to_json()

    return serve_until_signal(start, ws.stop)


def serve_until_signal(start: Callable[[], str], stop: Callable[[], None]) -> int:
    """Start a practice server, print its one JSON line, serve until SIGINT/SIGTERM, stop, exit 0.

    Shared by the practice servers' commands so each behaves the same for scripts and drills:
    the first stdout line is the connection JSON and nothing else is written to stdout.
    """
    stopping = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(start(), flush=True)
        while not stopping.wait(0.2):
            pass
    finally:
        stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
