"""``qbosync connect``: sign in to a QuickBooks company (OAuth 2 authorization code).

``--no-browser`` prints the authorization address on a line of its own and waits for whichever comes
first: the redirect reaching the loopback listener (development keys, practice mode) or the address
the browser ended on, pasted on stdin (production keys redirect to an HTTPS page, so the user copies
the address from there). Without ``--no-browser`` the browser is opened and pasting still works.

Reconnecting (exit code 2 from any command): ``qbosync connect`` alone reuses the saved discovery
address, client id, redirect URI and the client secret in the keyring.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import webbrowser
from typing import Any

from qbosync_desktop.cli.common import add_json, workspace
from qbosync_desktop.cli.output import print_json
from qbosync_desktop.core import errors
from qbosync_desktop.core.logs import register_secret

log = logging.getLogger(__name__)

URL_PREFIX = ""  # the address is printed alone on its line: scripts read the line as is


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("connect", help="sign in to a QuickBooks company (opens the browser, or --no-browser)")
    p.add_argument("--discovery-url", help="the OpenID discovery document of the Intuit environment "
                   "(or of a practice server); default: the saved one")
    p.add_argument("--client-id", help="the Intuit app's client ID")
    p.add_argument("--client-secret", help="the Intuit app's client secret (kept in the keyring only)")
    p.add_argument("--redirect-uri", help="the redirect URI registered for the Intuit app")
    p.add_argument("--api-base", help="the QuickBooks API address (default: Intuit's for the environment; "
                   "for a practice server its /v3)")
    p.add_argument("--environment", choices=("production", "sandbox", "practice"),
                   help="default: from the discovery address")
    p.add_argument("--no-browser", action="store_true",
                   help="print the authorization address instead of opening a browser")
    p.add_argument("--timeout", type=float, default=600, help="seconds to wait for the sign-in (default 600)")
    add_json(p)
    p.set_defaults(func=run)


def _read_pasted(auth: Any, stop: threading.Event) -> None:
    """Feed lines pasted on stdin to the authorizer until one is accepted or stdin ends."""
    try:
        for line in sys.stdin:
            if stop.is_set():
                return
            text = line.strip()
            if not text:
                continue
            try:
                auth.submit_pasted(text)
                return
            except errors.AuthorizationFailed as exc:
                print(f"{exc.message} {exc.hint}", file=sys.stderr, flush=True)
    except (OSError, ValueError):  # no usable stdin (closed, or captured by a test runner)
        return


def run(args: argparse.Namespace) -> int:
    if args.client_secret:
        register_secret(args.client_secret)
    stop = threading.Event()
    with workspace() as ws:
        saved = ws.connection
        discovery_url = args.discovery_url or (saved.discovery_url if saved else None)
        client_id = args.client_id or (saved.client_id if saved else None)
        redirect_uri = args.redirect_uri or (saved.redirect_uri if saved else None)
        missing = [name for name, value in (("--client-id", client_id), ("--redirect-uri", redirect_uri)) if not value]
        if missing:
            raise errors.ConfigurationError(
                f"Connecting needs {' and '.join(missing)} (nothing is saved from an earlier connection).",
                field=missing[0].lstrip("-").replace("-", "_"),
                hint="Run: qbosync connect --discovery-url URL --client-id ID --client-secret S --redirect-uri URI",
            )

        def open_url(url: str) -> None:
            if args.no_browser:
                print("Open this address in a browser and connect your QuickBooks company:", file=sys.stderr)
            else:
                print("Opening the QuickBooks sign-in page. If no browser opens, use this address:",
                      file=sys.stderr)
                webbrowser.open(url)
            # Alone on its line; on stderr with --json so stdout stays one JSON document.
            print(URL_PREFIX + url, file=sys.stderr if args.json else sys.stdout, flush=True)
            print("Waiting for QuickBooks... (or paste here the address your browser ended on)",
                  file=sys.stderr, flush=True)

        def on_authorizer(auth: Any) -> None:
            threading.Thread(target=_read_pasted, args=(auth, stop), name="qbosync-paste", daemon=True).start()

        try:
            conn = ws.connect_quickbooks(
                discovery_url=discovery_url,
                client_id=client_id,  # type: ignore[arg-type]
                client_secret=args.client_secret,
                redirect_uri=redirect_uri,  # type: ignore[arg-type]
                environment=args.environment,
                api_base=args.api_base or (saved.api_base if saved and not args.discovery_url else None),
                open_url=open_url,
                timeout=args.timeout,
                on_authorizer=on_authorizer,
            )
        finally:
            stop.set()
        info = conn.to_dict()
    if args.json:
        print_json({"connection": info})
    else:
        print(f"Connected to {info['company_name']} (company {info['realm_id']}, {info['environment']}).")
    return 0
