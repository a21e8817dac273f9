"""`qbosync problems` / `retry` / exit codes against the practice servers: a record's problem is listed
with what to do, closes itself once the record is fixed and retried; a revoked QuickBooks grant makes
every command say "reconnect" (exit 2) until a bare `qbosync connect`."""

from __future__ import annotations

import json

import requests
from fixtures.workspace import cli_connect

from qbosync_desktop.cli import main as cli
from qbosync_desktop.core import secrets


def _json(capsys, *argv):
    code = cli.main([*argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def _enable(capsys):
    code, result = _json(capsys, "enable")
    assert result["run"]["state"] == "done", result
    return code, result


def test_a_problem_is_listed_with_its_fix_and_closes_after_fixing_and_retrying(configured_workspace, practice,
                                                                               capsys):
    code, _ = _enable(capsys)
    assert code == 1
    code, listed = _json(capsys, "problems")
    assert code == 1
    smith = next(p for p in listed["problems"] if p["kind"] == "client" and "Smith: Residential" in p["message"])
    assert "colon" in smith["message"] and smith["hint"] and smith["state"] == "open"
    assert cli.main(["problems"]) == 1
    text = capsys.readouterr().out
    assert f"#{smith['id']} client {smith['work_id']}" in text and "What to do:" in text

    # Unknown problem: a usage error naming what to run.
    assert cli.main(["retry", "999999"]) == 3
    assert "qbosync problems" in capsys.readouterr().err

    # The user fixes the name in Work and retries just this one.
    practice.work.user.edit_client(smith["work_id"], name="Smith Residential")
    code, retried = _json(capsys, "retry", str(smith["id"]))
    assert retried["run"]["state"] == "done"
    _, after = _json(capsys, "problems")
    assert smith["id"] not in {p["id"] for p in after["problems"]}
    from qbosync_desktop.store.models.links import Link

    link = Link.get(Link.kind == "client", Link.work_id == smith["work_id"])
    assert practice.qbo.store.get("Customer", link.qbo_id)["DisplayName"] == "Smith Residential"
    # Its invoices were waiting on it; retry --all sends them too.
    code, _ = _json(capsys, "retry", "--all")
    _, final = _json(capsys, "problems")
    assert not [p for p in final["problems"] if smith["work_id"] in p["message"] or "Smith" in p["message"]]
    assert code == (1 if final["problems"] else 0)


def test_a_revoked_grant_means_exit_2_until_reconnected(configured_workspace, practice, capsys):
    ws = configured_workspace
    assert _enable(capsys)[0] in (0, 1)
    cfg = practice.qbo_config
    refresh = ws.secrets.get(secrets.QBO_REFRESH_TOKEN)
    # The admin disconnects the app on Intuit's side: the whole grant ends.
    revoke = requests.post(f"{cfg.base_url}/v2/oauth2/tokens/revoke", json={"token": refresh},
                           auth=(cfg.client_id, cfg.client_secret), timeout=10)
    assert revoke.status_code == 200
    # A change to send, so the next sync must talk to QuickBooks (a no-op sync may not need to).
    from qbosync_desktop.store.models.links import Link

    practice.work.user.edit_client(Link.get(Link.kind == "client", Link.origin == "created").work_id,
                                   phone="(303) 555-0199")

    assert cli.main(["sync"]) == 2
    err = capsys.readouterr().err
    assert "QuickBooks needs to be reconnected" in err and "What to do:" in err
    assert ws.connection.state == "needs_reconnect"
    code, view = _json(capsys, "status")
    assert code == 2 and view["connection"]["state"] == "needs_reconnect"
    assert cli.main(["sync"]) == 2  # refused up front now, without touching QuickBooks
    capsys.readouterr()

    code, _, err = cli_connect(capsys, ["connect", "--no-browser"])
    assert code == 0, err
    code, synced = _json(capsys, "sync")
    assert synced["run"]["state"] == "done" and code in (0, 1)


def test_a_dead_grant_is_recorded_whoever_syncs(connected_workspace, practice):
    """Not only the CLI: the desktop service's worker drives the engine directly, and the connection
    must still read needs_reconnect afterwards (the integration window shows Reconnect from it)."""
    import pytest

    from qbosync_desktop.core.errors import NeedsReconnect

    ws = connected_workspace
    cfg = practice.qbo_config
    requests.post(f"{cfg.base_url}/v2/oauth2/tokens/revoke", json={"token": ws.secrets.get(secrets.QBO_REFRESH_TOKEN)},
                  auth=(cfg.client_id, cfg.client_secret), timeout=10).raise_for_status()
    with pytest.raises(NeedsReconnect):
        ws.qbo_client().company_info()
    assert ws.connection.state == "needs_reconnect"


def test_a_work_key_that_stopped_working_is_a_configuration_error(configured_workspace, capsys):
    ws = configured_workspace
    ws.secrets.set(secrets.WORK_API_KEY, "wk_revoked_in_work_0000000000")  # as if revoked in Work
    ws.mark_enabled()
    assert cli.main(["sync"]) == 3
    err = capsys.readouterr().err
    assert "Work did not accept the API key" in err and "qbosync work-connect" in err
