"""`qbosync demo`: the one-command tour starts both practice servers in-process, connects through the
real sign-in, enables with sensible settings, runs the initial sync and reports; the data folder then
answers `status`, `problems` and `audit export` after the servers are gone."""

from __future__ import annotations

import json

from qbosync_desktop.cli import main as cli


def test_demo_tours_the_whole_product_and_leaves_a_usable_data_folder(capsys, home, tmp_path):
    code = cli.main(["demo", "--json", "--no-throttle"])
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert code == 0, captured.err  # a successful tour exits 0 (issue 17, bug 7)
    sync_code = result["sync_exit_code"]
    assert result["exit_code"] == code and (sync_code == 1) == bool(result["open_problems"])

    conn = result["connection"]
    assert conn["state"] == "connected" and conn["environment"] == "practice"
    assert conn["realm_id"] == result["practice"]["realm_id"]
    assert conn["work_company_name"] == "Summit Field Services"
    assert conn["integration_enabled_at"] and conn["onboarding_done_at"]
    s = result["settings"]
    assert s["invoices"] and s["payments"] and s["bills"] and s["clients"]
    assert set(s["concepts"]) == {"Labor", "Materials", "Travel", "Equipment rental"} and all(s["concepts"].values())

    run = result["run"]
    assert run["state"] == "done" and run["kind"] == "initial"
    created = {entity: counts.get("created", 0) for entity, counts in run["counts"].items()}
    for entity in ("clients", "invoices", "payments", "vendors", "bills"):
        assert created.get(entity, 0) > 0, (entity, run["counts"])
    assert set(result["preview"]) >= {"clients", "invoices", "payments"}
    # Match review is part of the tour: the exact near-match is pre-accepted, an ambiguous one waits.
    states = {m["work_name"]: m["state"] for m in result["matches"]}
    assert states.get("Ann Lee") == "accepted" and "proposed" in states.values(), states
    assert len(result["problems"]) == result["open_problems"]
    for p in result["problems"]:
        assert p["message"] and p["hint"]

    # The servers stopped with the command; the local record of what happened stays.
    assert cli.main(["status", "--json"]) == sync_code
    view = json.loads(capsys.readouterr().out)
    assert view["last_run"]["id"] == run["run_id"] and view["enabled"] is True
    assert cli.main(["audit", "export", "--csv", str(tmp_path / "audit.csv")]) == 0
    assert "audit entries" in capsys.readouterr().out
    assert (home.data_dir / "practice").is_dir()

    # A second tour continues with the same practice companies: the links still hold, nothing is duplicated.
    assert cli.main(["demo", "--json", "--no-throttle"]) == code
    again = json.loads(capsys.readouterr().out)
    assert again["practice"]["realm_id"] == result["practice"]["realm_id"]
    assert not any(counts.get("created") for counts in again["run"]["counts"].values()), again["run"]["counts"]


def test_demo_refuses_a_folder_connected_to_a_real_company(capsys, db):
    from qbosync_desktop.store.models.connection import Connection

    Connection.create(id=1, realm_id="123", environment="production", state="connected")
    assert cli.main(["demo"]) == 3
    err = capsys.readouterr().err
    assert "connected to a real QuickBooks company" in err and "--home" in err
