"""Practice mode: both practice servers in this process, connected through the real code paths.

A specialist rehearses onboarding and a newcomer sees the product work with no accounts anywhere
(DESIGN §7). What makes it worth having is that nothing is special-cased: the QuickBooks practice
server is connected through the same OAuth authorization-code flow as a real company (its consent
page answers by itself, the redirect reaches the same loopback listener), the tokens and the Work API
key go to the keyring, and the engine syncs over HTTP on 127.0.0.1.

Keyring: the practice credentials are throwaway. On a machine without a usable OS keyring, practice
mode installs the in-memory :class:`~qbosync_desktop.core.keyring_memory.MemoryKeyring` rather than
refusing (or writing a plaintext file) — see docs/decisions.md. A real company never gets this.

The servers live only as long as this process (or :meth:`Practice.stop`): ``qbosync demo`` keeps its
data in the chosen home, so ``qbosync status`` works afterwards, but syncing again needs the servers.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import multiprocessing
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import requests

from qbosync_desktop.core import errors, secrets
from qbosync_desktop.core.secrets import SecretStore, use_memory_keyring
from qbosync_desktop.runtime.priority import lower_priority
from qbosync_desktop.sync.rules.settings import NOT_TAXABLE, SyncSettings, TaxSetup, account_groups

if TYPE_CHECKING:
    from qbosync_desktop.runtime.workspace import Workspace
    from qbosync_desktop.sandbox.qbo import QboSandbox, SandboxConfig
    from qbosync_desktop.sandbox.work import WorkSandbox, WorkSandboxConfig
    from qbosync_desktop.store.models.connection import Connection

log = logging.getLogger(__name__)

#: The demo data spreads Work invoices over the last 90 days; practice syncs them all.
PRACTICE_HISTORY_DAYS = 120


@dataclass
class Practice:
    """The two running practice servers and what a client needs to reach them."""

    qbo: QboSandbox
    work: WorkSandbox
    qbo_config: SandboxConfig
    work_config: WorkSandboxConfig

    def stop(self) -> None:
        for server in (self.work, self.qbo):
            try:
                server.stop()
            except Exception:  # stopping is best effort: one server failing must not keep the other up
                log.exception("Stopping a practice server failed")

    def __enter__(self) -> Practice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_practice(
    *,
    data_dir: str | Path | None = None,
    throttle: bool = True,
    time_scale: float = 1.0,
    latency_ms: float = 0,
    qbo_seed: str = "practice",
    qbo_company: str = "us",
    work_seed: str | None = "demo",
    work_clients: int | None = None,
    work_invoices: int | None = None,
    **qbo_options: Any,
) -> Practice:
    """Start the QuickBooks practice server (consent answers itself) and the Work demo server.

    ``data_dir`` keeps both servers' data (sub-folders ``qbo`` and ``work``) so a later start finds the
    same companies; ``None`` uses throwaway folders. ``work_seed=None`` with ``work_clients`` /
    ``work_invoices`` generates a Work company of that size (scale mode, for benchmarks).
    ``qbo_company`` picks the practice QuickBooks company: ``"us"`` (Automated Sales Tax) or ``"ca"``
    (Canadian tax codes and rates). ``qbo_options`` go to :class:`QboSandbox` as is (e.g.
    ``lost_response_rate`` for drills).
    """
    # The servers are imported here: the desktop app runs them in a process of their own
    # (PracticeProcess), so its own process never loads them (nor does `qbosync --help`).
    from qbosync_desktop.sandbox.qbo import QboSandbox
    from qbosync_desktop.sandbox.work import WorkSandbox

    base = Path(data_dir) if data_dir is not None else None
    qbo = QboSandbox(auto_consent=True, throttle=throttle, time_scale=time_scale, latency_ms=latency_ms,
                     seed=qbo_seed, company=qbo_company, data_dir=base / "qbo" if base else None, **qbo_options)
    qbo_config = qbo.start()
    try:
        work = WorkSandbox(seed=work_seed, clients=work_clients, invoices=work_invoices,
                           data_dir=base / "work" if base else None, latency_ms=latency_ms)
        work_config = work.start()
    except BaseException:
        qbo.stop()
        raise
    return Practice(qbo=qbo, work=work, qbo_config=qbo_config, work_config=work_config)


#: How long the practice servers may take to start in their own process (Python start-up, seeding).
PRACTICE_START_TIMEOUT = 60.0


class PracticeProcess:
    """Both practice servers in a process of their own — what the desktop app's ``--demo`` uses.

    Serving the sync's requests is Python work too; in the app's process it would compete with the
    window for the interpreter lock (measured: event-loop pauses up to 120 ms with the servers
    in-process, under 30 ms with them in their own process). Started with multiprocessing *spawn*
    (works in the PyInstaller bundle, like the sync worker). Quacks like :class:`Practice` for
    :func:`connect_practice`: ``qbo_config`` / ``work_config`` carry the addresses and practice keys.
    The servers stop with :meth:`stop`, or by themselves when the app is gone.
    """

    def __init__(self, data_dir: str | Path | None = None, *, start_timeout: float = PRACTICE_START_TIMEOUT,
                 **options: Any) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve_practice, args=(child, str(data_dir) if data_dir else None, options),
                                 name="qbosync-practice-servers", daemon=True)
        self._proc.start()
        child.close()
        try:
            if not self._conn.poll(start_timeout):
                self._proc.terminate()
                raise EOFError
            message = self._conn.recv()
        except EOFError:
            self._proc.join(5)
            raise errors.QboSyncError("The practice servers could not be started.",
                                      title="Practice mode could not start",
                                      details={"exit_code": self._proc.exitcode}) from None
        if message[0] != "ready":
            self._proc.join(5)
            raise errors.QboSyncError("The practice servers could not be started.", title="Practice mode could not start",
                                      details={"error": message[1]})
        configs = json.loads(message[1])
        self.qbo_config = SimpleNamespace(**configs["qbo"])
        self.work_config = SimpleNamespace(**configs["work"])

    def stop(self) -> None:
        try:
            self._conn.send(("stop",))
        except OSError:
            pass
        self._proc.join(15)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(5)
        self._conn.close()

    def __enter__(self) -> PracticeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _serve_practice(conn: Any, data_dir: str | None, options: dict[str, Any]) -> None:
    """The practice process: start both servers, send their addresses, serve until told to stop or
    until the app is gone (its end of the pipe closes)."""
    lower_priority()  # background helpers give way to the window, like the sync worker
    try:
        practice = start_practice(data_dir=data_dir, **options)
    except Exception as exc:
        conn.send(("failed", type(exc).__name__))
        return
    try:
        conn.send(("ready", json.dumps({"qbo": json.loads(practice.qbo_config.to_json()),
                                        "work": json.loads(practice.work_config.to_json())})))
        try:
            conn.recv()  # ("stop",) — or EOFError when the app has exited
        except (EOFError, OSError):
            pass
    finally:
        practice.stop()


def ensure_keyring(paths: Any = None) -> bool:
    """Make sure secrets can be stored; installs the in-memory keyring if the OS has none.

    Returns True when the in-memory keyring was installed (the practice credentials then vanish with
    the process, which is what practice credentials should do).
    """
    try:
        SecretStore(paths).check()
        return False
    except errors.KeyringUnavailable:
        log.info("No usable OS keyring: practice mode keeps its throwaway credentials in memory")
        use_memory_keyring()
        return True


def _listening(url: str | None, timeout: float = 0.5) -> bool:
    """True when something accepts connections at ``url``'s host and port (the practice servers bind
    127.0.0.1 on a port chosen at start, so a stopped server leaves nothing listening there)."""
    import socket
    from urllib.parse import urlsplit

    if not url:
        return False
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def practice_stopped(workspace: Workspace) -> errors.PracticeNotRunning | None:
    """Why the practice company cannot be used from this process, or None when it can (or the data
    folder is not connected to the practice company at all).

    ``qbosync demo`` runs both practice servers inside its own process; they end with it. On a
    machine without an OS keyring the practice sign-in was kept in that process's memory as well
    (:func:`ensure_keyring`), so it is gone too. Both are said plainly, instead of the keyring or
    network error a command would otherwise meet.
    """
    from qbosync_desktop.store.models.connection import DISCONNECTED

    conn = workspace.connection
    if conn is None or conn.environment != "practice" or conn.state == DISCONNECTED:
        return None
    servers_up = _listening(conn.api_base) and (not conn.work_base_url or _listening(conn.work_base_url))
    try:
        signed_in = bool(SecretStore(workspace.paths).get(secrets.QBO_REFRESH_TOKEN))
        keyring_ok = True
    except errors.KeyringUnavailable:
        signed_in = keyring_ok = False
    if servers_up and signed_in:
        return None
    if keyring_ok:
        message = ("The practice QuickBooks company and Work demo server ran inside 'qbosync demo', which has "
                   "ended, so there is nothing to sync with.")
        hint = ("Run 'qbosync demo' again: it starts the practice servers with the same companies and syncs. "
                "To try other commands against them, run 'qbosync demo --keep-running' in a second terminal "
                "(same --home) and leave it open.")
    else:
        message = ("The practice QuickBooks company and Work demo server ran inside 'qbosync demo', which has "
                   "ended. This computer has no system keyring, so the practice sign-in was kept only in that "
                   "command's memory and ended with it too.")
        hint = ("Run 'qbosync demo' again: it starts the practice servers with the same companies, signs in "
                "and syncs. Other commands can use the practice company from a second terminal only with a "
                "system keyring (on Linux: GNOME Keyring or KWallet).")
    return errors.PracticeNotRunning(message, hint=hint, details={
        "servers_listening": servers_up, "signed_in": signed_in, "keyring": keyring_ok})


def _consent(url: str) -> None:
    """The "browser": open the authorization address; the practice consent page redirects at once
    to the loopback listener, exactly as a person pressing Connect would make it."""
    try:
        requests.get(url, timeout=30, allow_redirects=True)
    except requests.RequestException as exc:
        raise errors.AuthorizationFailed(
            "The practice QuickBooks sign-in page could not be opened.",
            details={"error": type(exc).__name__},
        ) from None


def connect_practice(workspace: Workspace, practice: Practice, *, timeout: float = 60) -> Connection:
    """Connect ``workspace`` to both practice servers through the real OAuth and Work code paths."""
    ensure_keyring(workspace.paths)
    cfg = practice.qbo_config
    workspace.connect_quickbooks(
        discovery_url=cfg.discovery_url,
        client_id=cfg.client_id,
        client_secret=cfg.client_secret,
        redirect_uri=cfg.redirect_uri,
        environment="practice",
        api_base=cfg.api_base,
        open_url=_consent,
        timeout=timeout,
    )
    workspace.connect_work(practice.work_config.base_url, practice.work_config.api_key)
    conn = workspace.connection
    assert conn is not None
    return conn


def _pick(choices: dict[str, str], *preferred: str, fuzzy: bool = False) -> str | None:
    """The account named like a preferred name (case-insensitive; with ``fuzzy`` also one whose name
    starts with or contains the first name, so concept "Travel" finds "Travel Expense"), else the
    first one by name."""
    by_name = {name.casefold(): acct_id for acct_id, name in sorted(choices.items(), key=lambda kv: kv[1])}
    if fuzzy and preferred:
        want = preferred[0].casefold()
        for test in (str.__eq__, str.startswith, str.__contains__):
            for name, acct_id in by_name.items():
                if test(name, want):
                    return acct_id
        return _pick(choices, *preferred[1:])
    for name in preferred:
        if name.casefold() in by_name:
            return by_name[name.casefold()]
    return next(iter(by_name.values()), None)


def practice_tax_codes(tax: TaxSetup) -> dict[str, str]:
    """For a company with tax codes: each Work rate → the company's first code that taxes (the tax is
    sent as Work charged it, so the code only files the tax in QuickBooks), lines without tax →
    "Exempt" (else "Zero-rated"). A US company needs none."""
    if not tax.uses_tax_codes or not tax.codes:
        return {}
    by_name = {name.casefold(): cid for cid, name in tax.codes.items()}
    out: dict[str, str] = {}
    none = by_name.get("exempt") or by_name.get("zero-rated")
    if none:
        out[NOT_TAXABLE] = none
    taxed = [cid for cid, name in tax.codes.items() if name.casefold() not in ("exempt", "zero-rated")]
    if taxed:
        for rate_id in tax.rates:
            out[rate_id] = taxed[0]
    return out


def practice_settings(workspace: Workspace, *, today: dt.date | None = None) -> SyncSettings:
    """Sensible settings for the tour: everything on, accounts chosen by their usual names, every
    Work invoice concept mapped, and invoices from 120 days back (the demo data spans 90 days).

    A feature whose accounts the company lacks is left off rather than saved half-configured (the
    rules would refuse it), so the tour also runs against a practice company with fewer accounts.
    """
    groups = account_groups(workspace.qbo_client().accounts())
    expense = groups["expense"]
    concepts = {}
    for concept in workspace.work_client().invoice_concepts():
        name = concept if isinstance(concept, str) else concept.name
        concepts[name] = _pick(expense, name, "Subcontractors", "Contract labor", "Cost of Goods Sold", fuzzy=True) or ""
    income = _pick(groups["income"], "Services", "Sales", "Sales of Product Income")
    expense_account = _pick(expense, "Cost of Goods Sold", "Supplies & Materials", "Job Materials")
    deposit = _pick(groups["deposit"], "Undeposited Funds", "Checking")
    ap = _pick(groups["ap"], "Accounts Payable (A/P)", "Accounts Payable")
    invoices = bool(income and expense_account)
    today = today or dt.date.today()
    return SyncSettings(
        tax_codes=practice_tax_codes(workspace.tax_setup()) if invoices else {},
        clients=True,
        sites=True,
        invoices=invoices,
        income_account=income,
        expense_account=expense_account,
        payments=invoices and bool(deposit),
        deposit_account=deposit,
        bills=bool(ap) and all(concepts.values()),
        ap_account=ap,
        concepts={c: a for c, a in concepts.items() if a},
        start_date=today - dt.timedelta(days=PRACTICE_HISTORY_DAYS),
    )
