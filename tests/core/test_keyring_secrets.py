"""The keyring wrapper: real keyring API, per-folder namespacing, clear errors when unavailable."""

from __future__ import annotations

import keyring
import pytest
from keyring.backends import fail

from qbosync_desktop.core import secrets
from qbosync_desktop.core.errors import KeyringUnavailable
from qbosync_desktop.core.paths import AppPaths
from qbosync_desktop.core.secrets import SecretStore


def test_round_trip_through_the_keyring(home, memory_keyring):
    store = SecretStore(home)
    assert store.get(secrets.QBO_REFRESH_TOKEN) is None
    store.set(secrets.QBO_REFRESH_TOKEN, "RT-1")
    store.set_many({secrets.QBO_ACCESS_TOKEN: "AT-1", secrets.WORK_API_KEY: "WK-1"})
    assert store.get(secrets.QBO_REFRESH_TOKEN) == "RT-1"
    assert keyring.get_password("qbosync-desktop", f"{home.install_id()}/qbo.refresh_token") == "RT-1"
    store.delete(secrets.QBO_REFRESH_TOKEN)
    store.delete(secrets.QBO_REFRESH_TOKEN)  # deleting twice is fine
    assert store.get(secrets.QBO_REFRESH_TOKEN) is None
    store.clear()
    assert memory_keyring.values() == []


def test_two_data_folders_do_not_share_secrets(tmp_path):
    a = SecretStore(AppPaths(tmp_path / "a", tmp_path / "a", tmp_path / "a"))
    b = SecretStore(AppPaths(tmp_path / "b", tmp_path / "b", tmp_path / "b"))
    a.set(secrets.WORK_API_KEY, "key-a")
    assert b.get(secrets.WORK_API_KEY) is None


def test_unavailable_keyring_gives_a_clear_error_and_no_file(home):
    keyring.set_keyring(fail.Keyring())
    store = SecretStore(home)
    with pytest.raises(KeyringUnavailable) as info:
        store.set(secrets.QBO_REFRESH_TOKEN, "RT-should-not-be-anywhere")
    err = info.value
    assert "keyring" in err.message.lower()
    assert "gnome-keyring" in err.hint.lower()
    assert "RT-should-not-be-anywhere" not in str(err) + err.details_text()
    with pytest.raises(KeyringUnavailable):
        store.check()
    with pytest.raises(KeyringUnavailable):
        store.get(secrets.QBO_REFRESH_TOKEN)
    leftovers = [p for p in home.data_dir.rglob("*") if p.is_file() and b"RT-should" in p.read_bytes()]
    assert leftovers == []


def test_explicit_opt_in_uses_a_private_file(home):
    keyring.set_keyring(fail.Keyring())
    secrets.enable_insecure_file_secrets(home)
    store = SecretStore(home)
    store.check()
    store.set(secrets.WORK_API_KEY, "WK-opted-in")
    assert store.get(secrets.WORK_API_KEY) == "WK-opted-in"
    f = home.data_dir / "secrets-insecure.json"
    assert f.stat().st_mode & 0o777 == 0o600


def test_cli_opt_in_needs_explicit_consent_and_moves_back(home, memory_keyring, capsys):
    from qbosync_desktop.cli import main as cli

    keyring.set_keyring(fail.Keyring())
    assert cli.main(["keyring", "use-file"]) == 3  # the warning, and nothing changed
    out = capsys.readouterr().out
    assert "plain file" in out and "--i-understand" in out
    assert not secrets.insecure_file_secrets_enabled(home)

    assert cli.main(["keyring", "use-file", "--i-understand"]) == 0
    SecretStore(home).set(secrets.WORK_API_KEY, "WK-file-then-keyring")
    assert cli.main(["keyring", "status", "--json"]) == 0
    assert '"plaintext_file": true' in capsys.readouterr().out

    # Still no keyring: moving back is refused and nothing is lost.
    assert cli.main(["keyring", "use-keyring"]) == 4
    assert SecretStore(home).get(secrets.WORK_API_KEY) == "WK-file-then-keyring"

    keyring.set_keyring(memory_keyring)  # a keyring appears (e.g. GNOME Keyring installed)
    assert cli.main(["keyring", "use-keyring"]) == 0
    assert not (home.data_dir / "secrets-insecure.json").exists()
    assert SecretStore(home).get(secrets.WORK_API_KEY) == "WK-file-then-keyring"
    assert memory_keyring.values() == ["WK-file-then-keyring"]
