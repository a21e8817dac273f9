"""Helpers of the local-fault CLI tests (not a test module): a data folder a ``qbosync`` subprocess can
use, running it under a file size limit or as another user, and reading QuickBooks back over REST."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from qbosync_desktop.core.paths import AppPaths
from qbosync_desktop.core.secrets import enable_insecure_file_secrets
from qbosync_desktop.runtime.practice import Practice, connect_practice, practice_settings
from qbosync_desktop.runtime.workspace import Workspace
from qbosync_desktop.store import close_database


def folder(root: Path) -> AppPaths:
    return AppPaths(data_dir=root / "data", config_dir=root / "config", log_dir=root / "logs").ensure()


def prepare(practice: Practice, paths: AppPaths) -> None:
    """Connected to both practice servers, practice settings saved, not yet enabled. Secrets go to the
    data folder's opt-in file: the in-memory test keyring is per process, and the CLI runs in another."""
    enable_insecure_file_secrets(paths)
    ws = Workspace.open(paths)
    try:
        connect_practice(ws, practice, timeout=30)
        ws.save_settings(practice_settings(ws))
    finally:
        ws.close()
    close_database()


def _drop_permission_override() -> None:
    """As root, give up the capabilities that ignore file permissions (CAP_DAC_OVERRIDE,
    CAP_DAC_READ_SEARCH, CAP_FOWNER), for this process and what it executes: a read-only file is then
    read-only for it, as for any user. Not root: nothing to give up."""
    if os.geteuid() != 0:
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop = 24
    for cap in (1, 2, 3):
        if libc.prctl(pr_capbset_drop, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def qbosync(root: Path, *args: str, fsize: int | None = None, obey_permissions: bool = False,
            timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """``qbosync --home ROOT ARGS`` in a child process; ``fsize`` caps every file it writes
    (RLIMIT_FSIZE: the disk is "full" for it); ``obey_permissions`` makes file modes bind it even
    when the tests run as root."""

    def limits() -> None:
        if fsize is not None:
            import resource  # POSIX only, like preexec_fn

            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        if obey_permissions:
            _drop_permission_override()

    env = {k: v for k, v in os.environ.items() if k != "QBOSYNC_HOME"}
    posix = fsize is not None or obey_permissions
    return subprocess.run([sys.executable, "-m", "qbosync_desktop.cli.main", "--home", str(root), *args],
                          capture_output=True, text=True, env=env, timeout=timeout,
                          preexec_fn=limits if posix else None)


def readback(paths: AppPaths) -> dict[str, Counter[tuple[Any, ...]]]:
    """What QuickBooks holds, read over its REST API, by business key (not Id): two companies that
    received the same records compare equal, and a record written twice counts 2."""
    ws = Workspace.open(paths)
    try:
        qbo = ws.qbo_client()

        def ref(row: dict[str, Any], key: str) -> str:
            return str((row.get(key) or {}).get("name") or (row.get(key) or {}).get("value") or "")

        return {
            "Customer": Counter((c.get("DisplayName"),) for c in qbo.query("Customer")),
            "Vendor": Counter((v.get("DisplayName"),) for v in qbo.query("Vendor")),
            "Invoice": Counter((i.get("DocNumber"), ref(i, "CustomerRef"), str(i.get("TotalAmt")))
                               for i in qbo.query("Invoice")),
            "Payment": Counter((ref(p, "CustomerRef"), str(p.get("TotalAmt")), p.get("TxnDate"),
                                p.get("PaymentRefNum")) for p in qbo.query("Payment")),
            "Bill": Counter((b.get("DocNumber"), ref(b, "VendorRef"), str(b.get("TotalAmt"))) for b in qbo.query("Bill")),
        }
    finally:
        ws.close()
        close_database()


def total(snapshot: dict[str, Counter[tuple[Any, ...]]]) -> int:
    return sum(sum(c.values()) for c in snapshot.values())


def duplicates(snapshot: dict[str, Counter[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    return {e: [k for k, n in c.items() if n > 1] for e, c in snapshot.items() if any(n > 1 for n in c.values())}


def largest_file(*dirs: Path) -> int:
    return max((p.stat().st_size for d in dirs for p in d.rglob("*") if p.is_file()), default=0)
