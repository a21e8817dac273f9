"""``qbosync sandbox SERVER``: run a practice server on its own until SIGINT/SIGTERM.

``qbosync sandbox qbo`` is the QuickBooks Online practice server (this module); ``qbosync sandbox
work`` is the Work demo server, registered by ``qbosync_desktop.sandbox.work.cli.register`` when that
package is present. Each server prints one JSON line with its connection details first on stdout,
so scripts, drills and another terminal can connect. Neither touches the app's database.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Callable
from typing import Any

from qbosync_desktop.core.errors import ConfigurationError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sandbox", help="run a practice server on 127.0.0.1 (see 'qbosync sandbox -h')")
    servers = p.add_subparsers(dest="sandbox_server", metavar="SERVER")
    register_qbo(servers)
    try:
        from qbosync_desktop.sandbox.work.cli import register as register_work
    except ModuleNotFoundError:
        pass
    else:
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
    from qbosync_desktop.core.logs import register_secret
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
