"""`qbosync --version`, `doctor`, and QBOSYNC_HOME / --home isolation, run as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from qbosync_desktop import __version__
from qbosync_desktop.core.paths import get_paths, set_home


def run_cli(*args, env_home=None):
    env = dict(os.environ)
    env.pop("QBOSYNC_HOME", None)
    if env_home:
        env["QBOSYNC_HOME"] = str(env_home)
    return subprocess.run([sys.executable, "-m", "qbosync_desktop.cli.main", *args], capture_output=True, text=True, env=env, timeout=60)


def test_version():
    r = run_cli("--version")
    assert r.returncode == 0
    assert r.stdout.strip() == f"qbosync {__version__}"


def test_doctor_reports_folders_under_home(tmp_path):
    r = run_cli("doctor", "--json", env_home=tmp_path / "h")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["data_dir"] == str(tmp_path / "h" / "data")
    assert info["log_dir"] == str(tmp_path / "h" / "logs")
    assert info["qbosync"] == __version__
    assert "keyring_backend" in info and info["qt"]


def test_home_flag_overrides_env(tmp_path):
    r = run_cli("--home", str(tmp_path / "flag"), "doctor", "--json", env_home=tmp_path / "env")
    assert json.loads(r.stdout)["data_dir"] == str(tmp_path / "flag" / "data")
    assert (tmp_path / "flag" / "logs" / "qbosync.log").exists()
    assert not (tmp_path / "env").exists()


def test_home_isolation_in_process(tmp_path, monkeypatch):
    monkeypatch.setenv("QBOSYNC_HOME", str(tmp_path / "x"))
    assert get_paths().data_dir == tmp_path / "x" / "data"
    set_home(tmp_path / "y")
    try:
        assert get_paths().config_dir == tmp_path / "y" / "config"
    finally:
        set_home(None)


def test_no_command_prints_help_and_exits_usage():
    r = run_cli()
    assert r.returncode == 3
    assert "doctor" in r.stdout
