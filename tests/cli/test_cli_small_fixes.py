"""Issue 16 part 5: private files (the audit export included), ``keyring status`` failing when secrets
cannot be kept, and a failed ``connect`` keeping no secret - through ``qbosync`` and the practice servers."""

from __future__ import annotations

import os
import stat

import keyring
from fixtures.workspace import cli_connect
from keyring.backends import fail

from qbosync_desktop.cli import main as cli
from qbosync_desktop.core import appconfig, secrets
from qbosync_desktop.core.secrets import SecretStore


def _connect_args(cfg, secret):
    return ["connect", "--no-browser", f"--discovery-url={cfg.discovery_url}", f"--client-id={cfg.client_id}",
            f"--client-secret={secret}", f"--redirect-uri={cfg.redirect_uri}", "--timeout", "30"]


def test_a_failed_connect_keeps_no_secret(practice, capsys, home, memory_keyring):
    cfg = practice.qbo_config
    code, _, err = cli_connect(capsys, _connect_args(cfg, "wrong-" + cfg.client_secret))
    assert code != 0
    assert "What to do:" in err
    store = SecretStore(home)
    assert store.get(secrets.QBO_CLIENT_SECRET) is None
    assert memory_keyring.values() == [], "nothing of the failed sign-in is left in the keyring"


def test_a_failed_reconnect_keeps_the_secret_that_worked(practice, capsys, home, memory_keyring):
    cfg = practice.qbo_config
    code, _, err = cli_connect(capsys, _connect_args(cfg, cfg.client_secret))
    assert code == 0, err
    code, _, err = cli_connect(capsys, _connect_args(cfg, "a-mistyped-secret"))
    assert code != 0
    assert SecretStore(home).get(secrets.QBO_CLIENT_SECRET) == cfg.client_secret
    assert "a-mistyped-secret" not in memory_keyring.values()


def test_keyring_status_fails_when_secrets_cannot_be_kept(home, memory_keyring, capsys):
    assert cli.main(["keyring", "status"]) == 0
    assert "(usable)" in capsys.readouterr().out
    keyring.set_keyring(fail.Keyring())
    assert cli.main(["keyring", "status"]) == 4
    out = capsys.readouterr().out
    assert "not usable" in out and "What to do:" in out
    assert cli.main(["keyring", "status", "--json"]) == 4
    assert '"keyring_usable": false' in capsys.readouterr().out


def test_data_folder_files_are_private_and_so_is_the_audit_export(configured_workspace, home, capsys, tmp_path):
    old = os.umask(0o022)  # the usual umask: anything not created private would be world-readable
    try:
        configured_workspace.mark_enabled()
        assert cli.main(["sync", "--json"]) in (0, 1)
        appconfig.set_value("tray_close_asked", True)
        from qbosync_desktop.desktop.ui.qsettings import ui_settings

        ui = ui_settings(home)
        ui.setValue("integration/geometry", "x")
        ui.sync()
        assert (home.config_dir / "ui.ini").exists()
        export = tmp_path / "exports" / "audit.csv"
        assert cli.main(["audit", "export", "--csv", str(export)]) == 0
        capsys.readouterr()
        assert stat.S_IMODE(export.stat().st_mode) == 0o600
        assert export.read_text(encoding="utf-8-sig").count("\n") > 10

        checked = 0
        for top in (home.data_dir, home.config_dir, home.log_dir):
            for p in [top, *top.rglob("*")]:
                mode = stat.S_IMODE(p.stat().st_mode)
                assert mode == (0o700 if p.is_dir() else 0o600), f"{p} is {oct(mode)}"
                checked += 1
        assert checked > 10
        assert (home.backup_dir / next(iter(os.listdir(home.backup_dir)))).exists()
    finally:
        os.umask(old)
