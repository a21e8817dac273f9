"""The app's own keyring backends are installed on purpose, never picked by keyring's detection.

keyring chooses its default backend among every loaded ``KeyringBackend`` subclass. The in-memory
backend (tests, keyring-less practice mode) and the sync worker's relay backend are loaded whenever the
secrets module is; if detection could pick the in-memory one, a real company on a machine without an
OS keyring would keep its tokens in memory without a word - the silent fallback the app refuses.
"""

from __future__ import annotations

import subprocess
import sys

import keyring.backend

from qbosync_desktop.core import secrets
from qbosync_desktop.core.keyring_memory import MemoryKeyring


def test_detection_never_considers_the_apps_own_backends():
    candidates = {type(k) for k in keyring.backend.get_all_keyring()}
    assert MemoryKeyring not in candidates
    assert secrets.RelayKeyring not in candidates
    assert MemoryKeyring in keyring.backend.KeyringBackend._classes  # loaded, so the check above means something


def test_a_fresh_process_without_an_os_keyring_gets_the_failing_backend(tmp_path):
    code = ("import qbosync_desktop.core.secrets, qbosync_desktop.runtime.worker_process, keyring;"
            "print(type(keyring.get_keyring()).__module__, type(keyring.get_keyring()).__name__)")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_DATA_HOME": str(tmp_path / "data")}  # no D-Bus session, no keyring config: no OS keyring
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    module, name = out.stdout.split()
    assert "qbosync_desktop" not in module, name
