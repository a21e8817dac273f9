"""The 127.0.0.1 listener that receives the browser's redirect after the QuickBooks consent page.

Why only for ``http://localhost`` redirect URIs: Intuit's development keys (and the practice
sandbox) accept them, production keys do not (QBO_API_NOTES.md: "production keys need HTTPS and reject
localhost"); for those, the user pastes the address they were sent to. Both paths feed the same
:class:`~qbosync_desktop.connectors.qbo.oauth.authorize.Authorizer`.

The listener binds 127.0.0.1 only (never all interfaces: the code in the redirect is a credential),
on the exact port and path of the redirect URI (Intuit matches redirect URIs exactly). It answers the
first request on that path with a small page - "Connected - you can close this window" when the
redirect carries a code and the expected state - and hands the full address to its callback.
Everything else gets a 404, so a browser's favicon request does not count as the redirect.
"""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from qbosync_desktop.core import errors

log = logging.getLogger(__name__)

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;margin:15vh auto;max-width:32em;text-align:center;color:#1b1b1b}}
h1{{font-size:1.6em}} p{{font-size:1.1em;color:#444}}</style></head>
<body><h1>{title}</h1><p>{text}</p></body></html>"""

PAGE_CONNECTED = ("Connected \u2014 you can close this window", "Go back to QBO Sync to choose what to sync.")
PAGE_DENIED = ("QuickBooks access was not granted", "Go back to QBO Sync and press Connect to QuickBooks again.")
PAGE_FAILED = ("Could not finish connecting", "Go back to QBO Sync and start the connection again.")


def page_for(query: str, expected_state: str | None) -> tuple[str, str]:
    params = parse_qs(query)
    if "error" in params:
        return PAGE_DENIED
    state_ok = expected_state is None or params.get("state", [None])[0] == expected_state
    return PAGE_CONNECTED if params.get("code") and state_ok else PAGE_FAILED


class LoopbackListener:
    """Serve the redirect URI's port/path on 127.0.0.1 until :meth:`close`."""

    def __init__(
        self,
        redirect_uri: str,
        on_redirect: Callable[[str], None],
        expected_state: str | None = None,
    ) -> None:
        parts = urlsplit(redirect_uri)
        self.redirect_uri = redirect_uri
        self.path = parts.path or "/"
        self.port = parts.port or 80
        self.expected_state = expected_state
        self._on_redirect = on_redirect
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._received = threading.Event()

    def start(self) -> LoopbackListener:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path != listener.path or listener._received.is_set():
                    self.send_error(404)
                    return
                listener._received.set()
                title, text = page_for(url.query, listener.expected_state)
                body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)
                host = listener.redirect_uri.split("?", 1)[0]
                listener._on_redirect(f"{host}?{url.query}" if url.query else host)

            def log_message(self, format: str, *args: object) -> None:
                pass  # the request line contains the authorization code: never log it

        try:
            self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        except OSError as exc:
            raise errors.AuthorizationFailed(
                f"QBO Sync could not listen on port {self.port} for QuickBooks' answer "
                "(another program is using it).",
                hint="Close the other program, or paste the address the browser shows after you connect.",
                details={"port": self.port, "error": exc.strerror},
            ) from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="qbo-oauth-loopback", daemon=True
        )
        self._thread.start()
        log.debug("OAuth loopback listener on 127.0.0.1:%s%s", self.port, self.path)
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LoopbackListener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
