"""`qbosync connect` / `work-connect` / `disconnect` against the practice servers, through the real
OAuth code path: the authorization address printed alone on its line, completed by the loopback
redirect (in-process) or by the redirected address pasted on stdin (a real `qbosync` process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import requests
from fixtures.workspace import cli_connect

from qbosync_desktop.cli import main as cli
from qbosync_desktop.core import secrets
from qbosync_desktop.core.secrets import SecretStore


def _connect_args(cfg, *extra):
    # KEY=VALUE form: a generated secret may start with "-", which argparse would take for an option.
    return ["connect", f"--discovery-url={cfg.discovery_url}", f"--client-id={cfg.client_id}",
            f"--client-secret={cfg.client_secret}", f"--redirect-uri={cfg.redirect_uri}", "--timeout", "30", *extra]


def test_connect_no_browser_prints_the_address_and_completes_through_the_loopback(practice, capsys, home,
                                                                                  memory_keyring):
    cfg = practice.qbo_config
    code, out, err = cli_connect(capsys, _connect_args(cfg, "--no-browser"))
    assert code == 0, err
    url = out.splitlines()[0]
    assert url.startswith("http") and "state=" in url and "client_id=" in url and " " not in url
    assert f"company {cfg.realm_id}" in out

    assert cli.main(["work-connect", "--url", practice.work_config.base_url,
                     "--api-key", practice.work_config.api_key]) == 0
    assert "Connected to Summit Field Services" in capsys.readouterr().out

    assert cli.main(["status", "--json"]) == 0
    view = json.loads(capsys.readouterr().out)
    assert view["connection"]["state"] == "connected"
    assert view["connection"]["realm_id"] == cfg.realm_id
    assert view["connection"]["environment"] == "practice"
    assert view["connection"]["work_company_name"] == "Summit Field Services"

    # Secrets are in the keyring, and nowhere in the data folder.
    store = SecretStore(home)
    assert store.get(secrets.QBO_REFRESH_TOKEN) and store.get(secrets.QBO_CLIENT_SECRET) == cfg.client_secret
    assert store.get(secrets.WORK_API_KEY) == practice.work_config.api_key
    for value in memory_keyring.values():
        if len(value) < 12:
            continue
        for root in (home.data_dir, home.config_dir, home.log_dir):
            for f in root.rglob("*"):
                if f.is_file():
                    assert value.encode() not in f.read_bytes(), f"a secret leaked into {f}"


def test_accounts_are_grouped_for_the_settings(connected_workspace, capsys):
    assert cli.main(["accounts", "--json"]) == 0
    groups = json.loads(capsys.readouterr().out)
    assert set(groups) == {"income", "expense", "deposit", "ap"}
    assert all(groups[g] for g in groups), groups
    assert {a["type"] for a in groups["income"]} == {"Income"}
    assert {a["type"] for a in groups["deposit"]} <= {"Bank", "Other Current Asset"}
    assert {a["type"] for a in groups["expense"]} <= {"Expense", "Cost of Goods Sold"}


def test_settings_accept_account_names_and_refuse_wrong_types(connected_workspace, capsys):
    assert cli.main(["accounts", "--json"]) == 0
    groups = json.loads(capsys.readouterr().out)
    income, deposit = groups["income"][0], groups["deposit"][0]
    code = cli.main(["settings", "set", "invoices=on", f"income_account={income['name'].upper()}",
                     f"expense_account={groups['expense'][0]['id']}", "payments=on",
                     f"deposit_account={deposit['name']}"])
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    assert cli.main(["settings", "show", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)["settings"]
    assert (s["income_account"], s["deposit_account"]) == (income["id"], deposit["id"])

    # An Income account where a deposit account is needed: refused, naming the field, nothing saved.
    code = cli.main(["settings", "set", "--json", f"deposit_account={income['id']}"])
    err = json.loads(capsys.readouterr().out)["error"]
    assert code == 3 and err["details"]["field"] == "deposit_account"
    assert "Bank or Other Current Asset" in err["message"]
    code = cli.main(["settings", "set", f"deposit_account={income['name']}"])
    assert code == 3 and "no Bank or Other Current Asset account named" in capsys.readouterr().err


def test_bills_need_every_work_concept_mapped(connected_workspace, capsys):
    assert cli.main(["accounts", "--json"]) == 0
    groups = json.loads(capsys.readouterr().out)
    code = cli.main(["settings", "set", "bills=on", f"ap_account={groups['ap'][0]['id']}",
                     f"concept.Travel={groups['expense'][0]['id']}"])
    assert code == 3
    err = capsys.readouterr().err
    assert "The concept 'Labor' has no expense account" in err
    assert "Map the concept 'Labor' to an expense account in Sync Settings" in err


def test_disconnect_keeps_links_and_bare_connect_resumes_the_same_company(connected_workspace, practice, capsys):
    from qbosync_desktop.store.models.links import Link

    ws = connected_workspace
    Link.create(kind="client", work_id="w-1", qbo_id="1", origin="created")
    ws.save_settings(ws.settings().replace(concepts={"Travel": "1"}))
    old_refresh = ws.secrets.get(secrets.QBO_REFRESH_TOKEN)
    assert cli.main(["disconnect"]) == 0
    assert "links are kept" in capsys.readouterr().out
    assert ws.connection.state == "disconnected"
    assert ws.secrets.get(secrets.QBO_REFRESH_TOKEN) is None
    # The grant was revoked at the (practice) Intuit, not just forgotten here.
    cfg = practice.qbo_config
    dead = requests.post(f"{cfg.base_url}/oauth2/v1/tokens/bearer", auth=(cfg.client_id, cfg.client_secret),
                         data={"grant_type": "refresh_token", "refresh_token": old_refresh}, timeout=10)
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"
    assert ws.settings().concepts == {}
    assert Link.select().count() == 1
    assert cli.main(["status"]) == 3

    code, _, err = cli_connect(capsys, ["connect", "--no-browser", "--timeout", "30"])
    assert code == 0, err
    assert ws.connection.state == "connected" and Link.select().count() == 1

    assert cli.main(["disconnect", "--forget"]) == 0
    assert Link.select().count() == 0
    assert ws.secrets.get(secrets.WORK_API_KEY) is None and ws.connection.work_base_url is None


def test_connect_in_a_real_process_accepts_the_pasted_address(practice, tmp_path):
    cfg = practice.qbo_config
    env = dict(os.environ, QBOSYNC_HOME=str(tmp_path / "proc"),
               PYTHON_KEYRING_BACKEND="qbosync_desktop.core.keyring_memory.MemoryKeyring")
    proc = subprocess.Popen([sys.executable, "-m", "qbosync_desktop.cli.main", *_connect_args(cfg, "--no-browser")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http") and " " not in url, url
        # The user's browser ends on the redirect address (not delivered to the listener here); they paste it.
        resp = requests.get(url, timeout=10, allow_redirects=False)
        landing = resp.headers["Location"]
        assert landing.startswith(cfg.redirect_uri) and "code=" in landing
        proc.stdin.write("not an address\n" + landing + "\n")
        proc.stdin.flush()
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert f"company {cfg.realm_id}" in out
    assert "does not look like the address" in err
    status = subprocess.run([sys.executable, "-m", "qbosync_desktop.cli.main", "status", "--json"], env=env,
                            capture_output=True, text=True, timeout=30)
    assert json.loads(status.stdout)["connection"]["state"] == "connected"


def test_connect_opens_the_browser_by_default(practice, capsys, monkeypatch):
    """Without --no-browser the address goes to the system browser (here: a stand-in that visits it)."""
    import webbrowser

    opened: list[str] = []

    def browser(url, *a, **kw):
        opened.append(url)
        threading.Thread(target=requests.get, args=(url,), kwargs={"timeout": 10}, daemon=True).start()
        return True

    monkeypatch.setattr(webbrowser, "open", browser)
    assert cli.main(_connect_args(practice.qbo_config, "--json")) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["connection"]["state"] == "connected"  # stdout stays one JSON document
    assert opened and opened[0] in captured.err


def test_work_connect_refuses_a_wrong_key_and_stores_nothing(practice, capsys, home):
    code = cli.main(["work-connect", "--url", practice.work_config.base_url, "--api-key", "wk_wrong_key_123456"])
    assert code == 3
    err = capsys.readouterr().err
    assert "Work did not accept the API key" in err and "What to do:" in err
    assert "wk_wrong_key_123456" not in err
    assert SecretStore(home).get(secrets.WORK_API_KEY) is None
    assert cli.main(["status"]) == 3


def test_sync_before_enable_says_to_enable_first(connected_workspace, capsys):
    assert cli.main(["sync"]) == 3
    err = capsys.readouterr().err
    assert "not enabled yet" in err and "qbosync enable" in err
    assert cli.main(["status"]) == 0
    assert "Integration: not enabled" in capsys.readouterr().out
