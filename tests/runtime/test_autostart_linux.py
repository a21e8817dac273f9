"""Start at login on Linux: a real XDG autostart .desktop file that really starts the app in the tray."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from qbosync_desktop.cli import main as cli
from qbosync_desktop.core import appconfig
from qbosync_desktop.core.errors import ConfigurationError
from qbosync_desktop.runtime import autostart


@pytest.fixture
def xdg(tmp_path, monkeypatch) -> Path:
    """An isolated ``$XDG_CONFIG_HOME`` so no test ever touches the real ~/.config/autostart."""
    config = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    return config


def _entry(xdg: Path) -> Path:
    files = list((xdg / "autostart").glob("*.desktop"))
    assert len(files) == 1, files
    return files[0]


def test_turning_it_on_writes_an_xdg_desktop_entry_that_starts_this_app_in_the_tray(xdg, home):
    st = autostart.set_enabled(True, backend=autostart.XdgAutostart(autostart.entry_name()))
    entry = _entry(xdg)
    text = entry.read_text()
    assert text.startswith("[Desktop Entry]\n")
    assert "Type=Application\n" in text and "X-GNOME-Autostart-enabled=true\n" in text
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    args = autostart.parse_desktop_exec(exec_line[len("Exec="):])
    assert args == autostart.launch_command()
    assert "--tray" in args and args[args.index("--home") + 1] == str(home.data_dir.parent)
    assert st.enabled and st.current and st.location == str(entry)
    assert appconfig.get("start_at_login") is True


def test_turning_it_off_removes_the_entry_and_off_twice_is_harmless(xdg):
    autostart.set_enabled(True)
    assert _entry(xdg).exists()
    st = autostart.set_enabled(False)
    assert not st.enabled and not list((xdg / "autostart").glob("*"))
    assert autostart.set_enabled(False).enabled is False
    assert appconfig.get("start_at_login") is False


def test_an_entry_the_user_disabled_in_their_desktop_settings_reads_as_off(xdg):
    autostart.set_enabled(True)
    entry = _entry(xdg)
    entry.write_text(entry.read_text().replace("X-GNOME-Autostart-enabled=true", "X-GNOME-Autostart-enabled=false"))
    assert autostart.status().enabled is False
    entry.write_text(entry.read_text().replace("X-GNOME-Autostart-enabled=false", "X-GNOME-Autostart-enabled=true")
                     .replace("Hidden=false", "Hidden=true"))
    assert autostart.status().enabled is False


def test_an_entry_pointing_at_a_moved_copy_is_reported_as_not_current(xdg, capsys):
    backend = autostart.XdgAutostart(autostart.entry_name())
    backend.enable(["/old/place/qbosync-desktop", "--tray"])
    st = autostart.status()
    assert st.enabled and not st.current and st.command == ["/old/place/qbosync-desktop", "--tray"]
    assert cli.main(["autostart", "status"]) == 0
    out = capsys.readouterr().out
    assert "different copy" in out and "qbosync autostart off" in out


def test_two_data_folders_get_two_independent_entries(xdg, tmp_path, monkeypatch):
    from qbosync_desktop.core import paths

    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path / "company-a"))
    autostart.set_enabled(True)
    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path / "company-b"))
    autostart.set_enabled(True)
    names = sorted(p.name for p in (xdg / "autostart").glob("*.desktop"))
    assert len(names) == 2 and all(n.startswith("qbosync-desktop-") for n in names)
    autostart.set_enabled(False)
    assert autostart.status().enabled is False
    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path / "company-a"))
    assert autostart.status().enabled is True


def test_the_default_data_folder_uses_the_plain_entry_name():
    import platformdirs

    from qbosync_desktop.core.paths import AppPaths

    default = AppPaths(
        data_dir=Path(platformdirs.user_data_dir("qbosync-desktop", "QBO Sync")),
        config_dir=Path("/unused"),
        log_dir=Path("/unused"),
    )
    assert autostart.entry_name(default) == "qbosync-desktop"
    assert "--home" not in autostart.launch_command(default)


def test_cli_on_status_off_round_trip(xdg, capsys):
    assert cli.main(["autostart", "on"]) == 0
    assert "Start at login: on (QBO Sync starts in the system tray" in capsys.readouterr().out
    assert cli.main(["autostart", "status", "--json"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    assert data["enabled"] is True and data["current"] is True and data["mechanism"] == "XDG autostart"
    assert cli.main(["autostart", "off"]) == 0
    assert "Start at login: off" in capsys.readouterr().out


def test_an_unwritable_autostart_folder_becomes_a_plain_language_error(xdg, capsys):
    xdg.mkdir(parents=True)
    (xdg / "autostart").write_text("a file where the folder should be")
    with pytest.raises(ConfigurationError) as info:
        autostart.set_enabled(True)
    assert "start-at-login entry" in info.value.message and str(xdg / "autostart") in info.value.hint
    assert cli.main(["autostart", "on"]) == cli.EXIT_USAGE
    assert "Start at login not changed" in capsys.readouterr().err


def test_the_exec_line_of_the_entry_really_starts_the_app_in_the_tray(xdg, home):
    """Run exactly what the session manager would run (plus a quit timer) and see the app start."""
    autostart.set_enabled(True)
    exec_line = next(line for line in _entry(xdg).read_text().splitlines() if line.startswith("Exec="))
    args = autostart.parse_desktop_exec(exec_line[len("Exec="):])
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("QBOSYNC_HOME", None)  # the entry itself must carry the data folder (--home)
    r = subprocess.run([*args, "--quit-after", "300"], capture_output=True, text=True, env=env, timeout=90,
                       cwd=str(home.data_dir.parent))
    assert r.returncode == 0, r.stderr
    log = home.log_file.read_text()
    assert "started" in log and "stopped" in log
