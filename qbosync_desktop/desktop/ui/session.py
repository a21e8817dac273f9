"""Session: the open company as the UI sees it — workspace, sync service, and blocking helpers.

Every method here that does I/O is *blocking* and must be called off the GUI thread (through
:func:`~qbosync_desktop.desktop.ui.background.run_in_background` or the service's worker). Keeping them in one
place gives the wizard, the integration window and the tests a single seam: a test builds a Session on
a real workspace connected to the practice servers and drives the real windows with it.

This module and :mod:`.snapshot` are the only UI modules that reach the store, the engine's records
or a connector; every window goes through them (tests/core/test_layers.py checks it).
"""

from __future__ import annotations

import logging
import threading
import webbrowser
from collections.abc import Callable, Iterable
from typing import Any

from qbosync_desktop.connectors.qbo.oauth.config import INTUIT_DISCOVERY_URLS
from qbosync_desktop.core.errors import NotConnected
from qbosync_desktop.desktop.service import SyncService, UndoProgress
from qbosync_desktop.desktop.ui.settings_form import WorkFacts
from qbosync_desktop.runtime.practice import connect_practice
from qbosync_desktop.store import backups
from qbosync_desktop.sync import reconcile
from qbosync_desktop.sync import undo as undo_mod
from qbosync_desktop.sync.audit import export_csv
from qbosync_desktop.sync.engine import SyncEngine
from qbosync_desktop.sync.onboarding.review import stored as stored_matches
from qbosync_desktop.sync.problems import request_retry
from qbosync_desktop.sync.rules.settings import SyncSettings

log = logging.getLogger(__name__)


class Session:
    """One company: the workspace (database + keyring + connectors) and its sync service."""

    def __init__(self, workspace: Any, *, practice: Any = None, open_url: Callable[[str], object] | None = None,
                 minute_ms: int = 60_000, schedule: bool = True) -> None:
        self.workspace = workspace
        self.practice = practice
        self.open_url = open_url or webbrowser.open
        self._engine: Any = None
        self._engine_lock = threading.Lock()
        settings = workspace.settings()
        self.service = SyncService(self.engine, worker_paths=getattr(workspace, "paths", None),
                                   schedule_minutes=settings.schedule_minutes, minute_ms=minute_ms,
                                   autostart_schedule=schedule and workspace.enabled)

    # -- engine (built lazily on whichever worker thread asks first) --------------------------------
    def engine(self) -> Any:
        with self._engine_lock:
            if self._engine is None:
                self._engine = SyncEngine(self.workspace)
            return self._engine

    def warm_up(self) -> None:
        """Build the engine on the worker now (imports, connectors) and start the sync worker process,
        so the first Sync now starts at once.

        Importing the sync modules holds the GIL for long stretches; done during the first run it
        shows up as a stutter in the window, done here it happens while the person reads the screen.
        """
        self.service.warm_up()

    # -- blocking helpers ---------------------------------------------------------------------------
    def load_accounts(self) -> Any:
        """The company's accounts grouped for the dropdowns (network)."""
        return self.workspace.qbo_client().accounts()

    def load_tax(self) -> Any:
        """The company's country and tax codes and Work's tax rates (network; ``Workspace.tax_setup``)."""
        return self.workspace.tax_setup()

    def load_work(self) -> WorkFacts:
        """Work's default state and invoice concepts (network)."""
        work = self.workspace.work_client()
        company = work.company()
        concepts = []
        try:
            for c in work.invoice_concepts():
                concepts.append(c if isinstance(c, str) else c.name)
        except Exception:  # concepts only matter for bills; the page says if they are missing
            log.warning("Could not read Work's invoice concepts", exc_info=True)
        tax = None
        try:
            tax = self.workspace.tax_setup()
        except Exception:  # the engine still makes an unmapped tax rate a problem per invoice
            log.warning("Could not read the tax setup", exc_info=True)
        return WorkFacts(company_name=company.name, default_state=getattr(company, "default_state", None),
                         default_country=getattr(company, "default_country", None), concepts=concepts, tax=tax)

    def save_settings(self, settings: SyncSettings, accounts: Any = None, tax: Any = None) -> SyncSettings:
        saved = self.workspace.save_settings(settings, accounts=accounts, tax=tax)
        return saved

    def reconnect(self) -> Any:
        """Sign in to the same company again with the saved app keys (the secret stays in the keyring)."""
        if self.practice is not None:
            return connect_practice(self.workspace, self.practice)
        conn = self.workspace.connection
        if conn is None or not conn.client_id:
            raise NotConnected("There is no saved QuickBooks connection to renew.")
        return self.workspace.connect_quickbooks(discovery_url=conn.discovery_url, client_id=conn.client_id,
                                                 client_secret=None, redirect_uri=conn.redirect_uri,
                                                 environment=conn.environment, open_url=self.open_url)

    def request_retry(self, ids: list[int], on_done: Callable[[int], None] | None = None,
                      on_error: Callable[[BaseException], None] | None = None) -> None:
        """Mark these problems for retry on the service's worker (database writes stay off the GUI thread)."""
        self.service.submit(lambda _engine: sum(request_retry(i) for i in ids), on_done=on_done, on_error=on_error)

    def decide_matches(self, decisions: Iterable[tuple[int, bool]], on_done: Callable[[Any], None] | None = None,
                       on_error: Callable[[BaseException], None] | None = None) -> None:
        """Accept (True) or reject (False) match proposals by id on the service's worker (they write
        links); ``on_done`` gets every stored proposal as dicts, best first per kind."""
        decisions = list(decisions)

        def apply(engine: Any) -> list[dict[str, Any]]:
            for match_id, accept in decisions:
                (engine.accept_match if accept else engine.reject_match)(match_id)
            return [m.to_dict() for m in stored_matches()]

        self.service.submit(apply, on_done=on_done, on_error=on_error)

    def undo_preview(self, run_id: int, on_done: Callable[[Any], None] | None = None,
                     on_error: Callable[[BaseException], None] | None = None) -> None:
        """What undoing sync run ``run_id`` would write (reads QuickBooks and Work) on the service's
        worker; ``on_done`` gets the plan as a dict (sync/undo.py ``UndoPlan.to_dict``)."""
        self.service.submit(lambda engine: undo_mod.preview(engine, run_id).to_dict(), on_done=on_done,
                            on_error=on_error)

    def undo_run(self, run_id: int, mode: str, skip_blocked: bool, on_done: Callable[[Any], None] | None = None,
                 on_error: Callable[[BaseException], None] | None = None) -> None:
        """Undo sync run ``run_id`` on the service's worker (serialised with syncs); ``on_done`` gets the
        result as a dict."""
        observer = UndoProgress(self.service)
        self.service.submit(lambda engine: undo_mod.undo(engine, run_id, mode=mode, skip_blocked=skip_blocked,
                                                         observer=observer).to_dict(),
                            on_done=on_done, on_error=on_error)

    def release_holds(self, run_ids: Iterable[int], on_done: Callable[[Any], None] | None = None,
                      on_error: Callable[[BaseException], None] | None = None) -> None:
        """Release the records held after undoing these sync runs (``qbosync undo --release``), on the
        service's worker; ``on_done`` gets how many were released."""
        ids = list(run_ids)
        self.service.submit(lambda _engine: sum(undo_mod.release(r) for r in ids), on_done=on_done,
                            on_error=on_error)

    def decide_review(self, keep: Iterable[tuple[str, bool]], settle_groups: dict[str, str] | None = None,
                      on_done: Callable[[Any], None] | None = None,
                      on_error: Callable[[BaseException], None] | None = None,
                      settle_records: dict[str, str | None] | None = None) -> None:
        """Store the Review page's decisions on the service's worker: "keep QuickBooks' value" per
        existing record (``("item:12", True)``) and how matched clients' differing fields are settled,
        per field group and per record (``{work_id: choice}``, None: follow the groups again)."""
        keep = list(keep)

        def apply(_engine: Any) -> None:
            from qbosync_desktop.sync.clients import settle
            from qbosync_desktop.sync.onboarding.review import keep_quickbooks_values

            for spec, kept in keep:
                keep_quickbooks_values([spec], keep=kept)
            if settle_groups or settle_records:
                settle.save(groups=settle_groups, records=settle_records)

        self.service.submit(apply, on_done=on_done, on_error=on_error)

    def reconcile(self, on_done: Callable[[Any], None] | None = None,
                  on_error: Callable[[BaseException], None] | None = None) -> None:
        """Compare every linked record (read-only) on the service's worker; ``on_done`` gets the
        :class:`~qbosync_desktop.sync.reconcile.Report` (the check is recorded like a scheduled one)."""

        def check(engine: Any) -> Any:
            report = reconcile.check_workspace(engine.workspace)
            reconcile.record_check(report)
            return report

        self.service.submit(check, on_done=on_done, on_error=on_error)

    def reconcile_schedule(self, on_done: Callable[[Any], None] | None = None,
                           on_error: Callable[[BaseException], None] | None = None) -> None:
        """The scheduled check's interval in days (0: off), read on the service's worker."""
        self.service.submit(lambda _engine: reconcile.every_days(), on_done=on_done, on_error=on_error)

    def set_reconcile_schedule(self, days: int, on_done: Callable[[Any], None] | None = None,
                               on_error: Callable[[BaseException], None] | None = None) -> None:
        """Keep the scheduled check's interval (``qbosync reconcile --every-days N``), on the worker."""
        self.service.submit(lambda _engine: reconcile.set_every_days(days), on_done=on_done, on_error=on_error)

    def reconcile_fix(self, diff: Any, action: str, reason: str = "", on_done: Callable[[Any], None] | None = None,
                      on_error: Callable[[BaseException], None] | None = None) -> None:
        """Apply one reconcile fix on the worker; "recreate" then queues a sync (through the outbox).
        ``on_done`` gets the plain-words result."""

        def fix(_engine: Any) -> str:
            return reconcile.apply_fix(diff, action, reason=reason)

        def done(text: Any) -> None:
            if action == "recreate":
                self.service.sync_now()
            if on_done is not None:
                on_done(text)

        self.service.submit(fix, on_done=done, on_error=on_error)

    def export_audit(self, path: str) -> int:
        """Write the audit log to a CSV file (database work); returns the number of rows."""
        return export_csv(path)

    def disconnect(self, forget: bool = False) -> None:
        self.workspace.disconnect(forget=forget)

    def close(self) -> None:
        self.service.shutdown()


def newest_good_copy(paths: Any) -> Any:
    """The newest good copy of the database in ``backups/`` (``store.backups.Backup``), or None.
    Blocking (reads and checks each copy): the start-up dialog calls it before any window exists."""
    return backups.newest_good(paths)


def restore_copy(paths: Any, name: str) -> Any:
    """Put the copy ``name`` in place of the database (the damaged file is kept, renamed). Blocking."""
    return backups.restore(paths, name)


def intuit_discovery_url(environment: str) -> str:
    """Intuit's OpenID discovery address for ``production`` or ``sandbox``."""
    return INTUIT_DISCOVERY_URLS[environment]
