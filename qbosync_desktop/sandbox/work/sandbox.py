"""The Work demo server's lifecycle: database, seed data, HTTP listener, and the handles tests use.

A ``data_dir`` keeps the database (and the API key) between runs, so practice mode finds the same
Work data, with the same key it stored in the keyring, next time; without one the data lives in a
private temp folder that :meth:`WorkSandbox.stop` removes. A database that already has data is
never re-seeded.

The listener binds to loopback only: the demo server is for this machine (practice mode, tests,
benchmarks), and its API key is printed on stdout.
"""

from __future__ import annotations

import copy as copy_module
import json
import secrets
import shutil
import sqlite3
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from qbosync_desktop.sandbox.work.db import WorkDatabase
from qbosync_desktop.sandbox.work.server import Stats, WorkApi
from qbosync_desktop.sandbox.work.store import WorkStore
from qbosync_desktop.sandbox.work.user import WorkUser

DB_FILE = "work-demo.sqlite3"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: the CLI's stdout/stderr belong to its JSON line and real problems."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass(frozen=True)
class WorkSandboxConfig:
    base_url: str
    api_key: str
    db_path: str

    def to_json(self) -> str:
        """The CLI's first stdout line: what a client needs to connect."""
        return json.dumps({"base_url": self.base_url, "api_key": self.api_key})


@dataclass(frozen=True)
class WorkSnapshot:
    """A started demo server's data at one moment (see :meth:`WorkSandbox.snapshot`)."""

    db: sqlite3.Connection
    latency_ms: float
    stats: Stats
    recent: tuple[Any, ...]


class WorkSandbox:
    """A running Work API v1 server with seeded data. Use as a context manager or start()/stop()."""

    def __init__(self, seed: str | None = "demo", clients: int | None = None, invoices: int | None = None,
                 api_key: str | None = None, data_dir: str | Path | None = None, host: str = "127.0.0.1",
                 port: int = 0, latency_ms: float = 0) -> None:
        if host not in LOOPBACK:
            raise ValueError(f"The Work demo server only listens on loopback (127.0.0.1), not {host!r}.")
        self.seed = seed
        self.clients = clients
        self.invoices = invoices
        self.api_key = api_key
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.host = host
        self.port = port
        self.latency_ms = latency_ms
        self.config: WorkSandboxConfig | None = None
        self._tmp: Path | None = None
        self._wdb: WorkDatabase | None = None
        self._store: WorkStore | None = None
        self._api: WorkApi | None = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> WorkSandboxConfig:
        if self.config is not None:
            return self.config
        if self.data_dir is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="qbosync-work-"))
            folder = self._tmp
        else:
            folder = self.data_dir
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        db_path = folder / DB_FILE
        self._wdb = WorkDatabase.open(db_path)
        self._store = WorkStore(self._wdb)
        if self._wdb.is_empty():
            self._load_data()
        key = self.api_key or self._wdb.get_meta("api_key") or ("wk_demo_" + secrets.token_urlsafe(24))
        self._wdb.set_meta("api_key", key)
        self.api_key = key
        self._api = WorkApi(self._store, key, latency_ms=self.latency_ms)
        self._server = make_server(self.host, self.port, self._api, threaded=True,
                                   request_handler=_QuietHandler)
        self._server.daemon_threads = True
        port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="work-demo-server", daemon=True)
        self._thread.start()
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.config = WorkSandboxConfig(base_url=f"http://{host}:{port}", api_key=key, db_path=str(db_path))
        return self.config

    def _load_data(self) -> None:
        from qbosync_desktop.sandbox.work import scale, seed

        assert self._store is not None
        if self.clients is not None or self.invoices is not None:
            scale.generate(self._store, clients=self.clients or 0, invoices=self.invoices or 0,
                           seed=self.seed or "scale")
        else:
            seed.load(self._store, self.seed)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._wdb is not None:
            self._wdb.close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
        self._server = self._thread = self._wdb = self._store = self._api = None
        self._tmp = None
        self.config = None

    def __enter__(self) -> WorkSandbox:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- snapshot / restore -----------------------------------------------------------------------
    def snapshot(self) -> WorkSnapshot:
        """The database copied into memory (SQLite's backup API), the latency setting, the counters
        and the request log.

        With :meth:`restore` one started server serves many tests from the same data for the cost of
        a page copy (tests start the practice servers once per module).
        """
        store, api = self._started()
        assert self._wdb is not None
        copy = sqlite3.connect(":memory:", check_same_thread=False)
        with store.write_lock:
            live = sqlite3.connect(self._wdb.path, timeout=15)
            try:
                live.backup(copy)
            finally:
                live.close()
        return WorkSnapshot(copy, api.latency_ms, copy_module.deepcopy(api.stats), tuple(api.recent))

    def restore(self, snap: WorkSnapshot) -> None:
        """Put the data, counters and request log back as :meth:`snapshot` found them; no faults pending.

        The store's clock keeps counting up, so a record changed after the restore is still newer
        than everything a client saw before.
        """
        store, api = self._started()
        assert self._wdb is not None
        with store.write_lock:
            live = sqlite3.connect(self._wdb.path, timeout=15)
            try:
                snap.db.backup(live)
            finally:
                live.close()
        api.clear_faults()
        api.stats = copy_module.deepcopy(snap.stats)
        api.recent.clear()
        api.recent.extend(snap.recent)
        self.set_latency(snap.latency_ms)

    # -- handles ----------------------------------------------------------------------------------
    def _started(self) -> tuple[WorkStore, WorkApi]:
        if self._store is None or self._api is None:
            raise RuntimeError("The Work demo server is not running; call start() first.")
        return self._store, self._api

    @property
    def store(self) -> WorkStore:
        """Direct record access for assertions: ``ws.store.all("clients")``, ``ws.store.get(...)``."""
        return self._started()[0]

    @property
    def user(self) -> WorkUser:
        """Make changes "as a Work user would"."""
        return WorkUser(self._started()[0])

    @property
    def base_url(self) -> str:
        return self.start().base_url

    @property
    def stats(self) -> Any:
        return self._started()[1].stats

    @property
    def recent(self) -> list[Any]:
        """The last requests served (method, path, query, status, If-Match, Idempotency-Key)."""
        return list(self._started()[1].recent)

    def fail_next(self, status: int, count: int = 1, *, retry_after: float | None = None,
                  path_prefix: str | None = None) -> None:
        """Answer the next ``count`` API calls with ``status`` (429 carries ``Retry-After``)."""
        self._started()[1].fail_next(status, count, retry_after=retry_after, path_prefix=path_prefix)

    def delay_response_next(self, seconds: float, count: int = 1, *, path_prefix: str | None = None) -> None:
        """Apply the next ``count`` calls but hold their answers ``seconds`` (a lost response after a write)."""
        self._started()[1].delay_response_next(seconds, count, path_prefix=path_prefix)

    def answer_next(self, body: str, count: int = 1, *, path_prefix: str | None = None,
                    content_type: str = "application/json") -> None:
        """Answer the next ``count`` GETs 200 with ``body`` (an answer in an undocumented form)."""
        self._started()[1].answer_next(body, count, path_prefix=path_prefix, content_type=content_type)

    def clear_faults(self) -> None:
        self._started()[1].clear_faults()

    def set_latency(self, latency_ms: float) -> None:
        self.latency_ms = latency_ms
        self._started()[1].latency_ms = latency_ms
