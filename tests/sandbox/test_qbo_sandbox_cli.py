"""``qbosync sandbox qbo`` prints its connection JSON first, serves, and exits 0 on SIGTERM without
touching the app's database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import requests


def test_cli_first_line_is_config_and_sigterm_exits_cleanly(tmp_path):
    home = tmp_path / "home"
    env = {**os.environ, "QBOSYNC_HOME": str(home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "qbosync_desktop.cli.main", "sandbox", "qbo", "--auto-consent", "--no-throttle",
         "--realm-id", "1234567890", "--access-token-ttl", "120"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        line = proc.stdout.readline()
        cfg = json.loads(line)
        assert set(cfg) == {"base_url", "discovery_url", "api_base", "realm_id", "client_id", "client_secret",
                            "redirect_uri"}
        assert cfg["base_url"].startswith("http://127.0.0.1:")
        assert cfg["api_base"] == cfg["base_url"] + "/v3"
        assert cfg["discovery_url"] == cfg["base_url"] + "/.well-known/openid_configuration"
        assert cfg["realm_id"] == "1234567890"
        doc = requests.get(cfg["discovery_url"], timeout=10).json()
        assert doc["token_endpoint"] == cfg["base_url"] + "/oauth2/v1/tokens/bearer"
        auth = requests.get(doc["authorization_endpoint"], allow_redirects=False, timeout=10, params={
            "client_id": cfg["client_id"], "response_type": "code", "scope": "com.intuit.quickbooks.accounting",
            "redirect_uri": cfg["redirect_uri"], "state": "s"})
        assert auth.status_code == 302 and "realmId=1234567890" in auth.headers["Location"]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert out == ""  # nothing after the first line
    assert cfg["client_secret"] not in err
    assert not any(p.suffix == ".sqlite3" or p.name.endswith(".db") for p in home.rglob("*"))


def test_cli_refuses_non_loopback_host(tmp_path):
    env = {**os.environ, "QBOSYNC_HOME": str(tmp_path / "home")}
    proc = subprocess.run([sys.executable, "-m", "qbosync_desktop.cli.main", "sandbox", "qbo", "--host", "0.0.0.0"],
                          capture_output=True, text=True, env=env, timeout=30)
    assert proc.returncode == 3
    assert "only listens on this computer" in proc.stderr
