"""``qbosync sandbox work``: first stdout line is the JSON a client needs; SIGTERM stops it cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from qbosync_desktop.connectors.work.client import WorkClient


def _start(tmp_path, *args):
    env = {**os.environ, "QBOSYNC_HOME": str(tmp_path / "home")}
    return subprocess.Popen([sys.executable, "-m", "qbosync_desktop.cli.main", "sandbox", "work", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_cli_prints_connection_json_first_and_stops_on_sigterm(tmp_path):
    proc = _start(tmp_path, "--port", "0", "--api-key", "wk_cli_key_0001", "--data-dir", str(tmp_path / "w"))
    try:
        first = json.loads(proc.stdout.readline())
        assert set(first) == {"base_url", "api_key"} and first["api_key"] == "wk_cli_key_0001"
        assert first["base_url"].startswith("http://127.0.0.1:")
        client = WorkClient(first["base_url"], first["api_key"], timeout=5)
        assert client.test_connection() == "Connected to Summit Field Services"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert out == ""  # nothing after the JSON line
    assert (tmp_path / "w" / "work-demo.sqlite3").exists()


def test_cli_scale_mode_and_sigint(tmp_path):
    proc = _start(tmp_path, "--clients", "30", "--invoices", "60")
    try:
        first = json.loads(proc.stdout.readline())
        client = WorkClient(first["base_url"], first["api_key"], timeout=5)
        assert len(list(client.clients())) == 30 and len(list(client.invoices())) == 60
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0


@pytest.mark.parametrize("args, text", [(["--host", "0.0.0.0"], "loopback"), (["--clients", "-1"], "negative")])
def test_cli_refuses_non_loopback_hosts_and_bad_counts(tmp_path, args, text):
    proc = _start(tmp_path, *args)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 3 and out == "" and text in err
