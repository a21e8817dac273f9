"""Practice mode without an OS keyring: the throwaway practice credentials go to the in-memory keyring
(nothing on disk), while a real company's connection still refuses with the keyring's fix hint."""

from __future__ import annotations

import keyring
import pytest
from keyring.backends import fail

from qbosync_desktop.core import errors, secrets
from qbosync_desktop.core.keyring_memory import MemoryKeyring
from qbosync_desktop.runtime.practice import connect_practice, ensure_keyring
from qbosync_desktop.runtime.workspace import Workspace


def test_a_real_keyring_is_left_alone(home, memory_keyring):
    assert ensure_keyring(home) is False
    assert keyring.get_keyring() is memory_keyring


def test_practice_connects_with_the_memory_keyring_when_the_os_has_none(practice, home):
    keyring.set_keyring(fail.Keyring())
    ws = Workspace.open(home)
    try:
        with pytest.raises(errors.KeyringUnavailable):
            secrets.SecretStore(home).check()  # what a real company's connection runs into
        conn = connect_practice(ws, practice, timeout=30)
        assert isinstance(keyring.get_keyring(), MemoryKeyring)
        assert conn.state == "connected" and ws.secrets.get(secrets.QBO_REFRESH_TOKEN)
        assert not (home.data_dir / "secrets-insecure.json").exists()
        assert ws.qbo_client().company_info()
    finally:
        ws.close()
