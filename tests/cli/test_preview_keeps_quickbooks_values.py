"""Issue 15 part 3: ``qbosync preview`` lists each existing QuickBooks record Enable would change, field
by field before → after, and ``--keep-qbo`` keeps QuickBooks' values (read back over REST)."""

from __future__ import annotations

import json

from fixtures.qbo_sandbox import qbo_session
from fixtures.two_way import engine

from qbosync_desktop.cli import main as cli
from qbosync_desktop.store.models.links import Link


def _run(capsys, *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(list(argv))
    return code, capsys.readouterr().out


def _item(practice, qbo_id: str) -> dict:
    with qbo_session(practice.qbo) as http:
        return http.get(f"{http.company_url}/item/{qbo_id}").json()["Item"]


def _service_call(data: dict) -> dict:
    (row,) = [r for r in data["existing"] if r["kind"] == "item" and r["label"] == "Service Call"]
    return row


def test_preview_lists_the_price_change_and_keeping_quickbooks_value_keeps_it(configured_workspace, practice,
                                                                              capsys) -> None:
    code, out = _run(capsys, "preview", "--json")
    row = _service_call(json.loads(out))
    assert row["action"] == "update" and not row["kept"]
    assert {"field": "UnitPrice", "before": 120.0, "after": 89.0} in row["changes"]
    items = next(e for e in json.loads(out)["entities"] if e["entity"] == "items")
    listed = next(r for r in items["records"]["update"] if r["qbo_id"] == row["qbo_id"])
    assert {"field": "UnitPrice", "before": 120.0, "after": 89.0} in listed["changes"]
    code, text = _run(capsys, "preview")
    assert f"item:{row['qbo_id']} Service Call" in text and "Price: 120.00 \u2192 89.00" in text

    code, out = _run(capsys, "preview", "--json", "--keep-qbo", f"item:{row['qbo_id']}")
    kept = _service_call(json.loads(out))
    assert kept["action"] == "link" and kept["kept"]

    configured_workspace.mark_enabled()
    eng = engine(configured_workspace)
    assert eng.run(initial=True).ok
    item = _item(practice, row["qbo_id"])
    assert item["UnitPrice"] == 120.0 and item["SyncToken"] == "0", "kept: not written at all"
    link = Link.get(kind="item", qbo_id=row["qbo_id"])
    assert eng.run().ok and _item(practice, row["qbo_id"])["SyncToken"] == "0"

    # Later, another item change in Work (its description) is sent - the kept price stays ...
    practice.work.user.edit_item(link.work_id, description="Diagnostic visit, first 45 minutes")
    assert eng.run().ok
    item = _item(practice, row["qbo_id"])
    assert item["Description"] == "Diagnostic visit, first 45 minutes" and item["UnitPrice"] == 120.0
    # ... until Work changes the price itself.
    practice.work.user.edit_item(link.work_id, unit_price="95.00")
    assert eng.run().ok
    assert _item(practice, row["qbo_id"])["UnitPrice"] == 95.0


def test_without_the_decision_enable_changes_the_price_it_announced(configured_workspace, practice, capsys) -> None:
    code, out = _run(capsys, "preview", "--json")
    row = _service_call(json.loads(out))
    configured_workspace.mark_enabled()
    assert engine(configured_workspace).run(initial=True).ok
    assert _item(practice, row["qbo_id"])["UnitPrice"] == 89.0


def test_sync_json_and_exit_status_count_open_conflicts(clients_workspace, practice, capsys) -> None:
    from fixtures.two_way import qbo_customer, with_settings, work_client

    eng = engine(clients_workspace)
    for p in eng.matches():
        if p.kind == "client" and p.state == "proposed":
            eng.accept_match(p.id)
    clients_workspace.mark_enabled()
    assert eng.run(initial=True).ok
    # The seed's matched pairs were settled by Review's defaults: nothing waits for a decision.
    code, out = _run(capsys, "sync", "--json")
    assert json.loads(out)["open_conflicts"] == 0
    with_settings(clients_workspace, conflict_policy="ask")
    w, q = work_client(practice, "Ann Lee"), qbo_customer(practice, "Ann Lee")
    practice.work.user.edit_client(w["id"], email="work-side@example.com")
    practice.qbo.user.update_customer(q["Id"], PrimaryEmailAddr={"Address": "qbo-side@example.com"})

    code, out = _run(capsys, "sync", "--json")
    data = json.loads(out)
    assert data["open_conflicts"] == data["run"]["open_conflicts"] == 1
    assert code == cli.EXIT_PROBLEMS == data["exit_code"]
    # With no open problem left, the open conflict alone makes the exit status 1.
    from qbosync_desktop.store.models.problems import Problem

    Problem.update(state="closed").where(Problem.state == "open").execute()
    code, out = _run(capsys, "sync")  # nothing new: still reported, never a silent "counts {}"
    assert "0 open problems" in out and "1 change waits for your decision" in out
    assert code == cli.EXIT_PROBLEMS


def test_preview_lists_a_matched_customer_the_first_merge_would_change_and_keeps_it(
        clients_workspace, practice, capsys) -> None:
    from fixtures.two_way import qbo_customer

    eng = engine(clients_workspace)
    for p in eng.matches():
        if p.kind == "client" and p.state == "proposed":
            eng.accept_match(p.id)
    code, out = _run(capsys, "matches", "--settle", "email=work")
    assert code == cli.EXIT_OK
    code, out = _run(capsys, "preview", "--json")
    before = qbo_customer(practice, "Brightside Dental LLC")
    (row,) = [r for r in json.loads(out)["existing"] if r["kind"] == "client" and r["qbo_id"] == str(before["Id"])]
    assert row["changes"] == [{"field": "email", "before": "office@brightsidedental.example.com",
                               "after": "frontdesk@brightsidedental.example"}] and not row["kept"]

    code, out = _run(capsys, "preview", "--json", "--keep-qbo", f"client:{before['Id']}")
    (row,) = [r for r in json.loads(out)["existing"] if r["kind"] == "client" and r["qbo_id"] == str(before["Id"])]
    assert row["kept"]
    clients_workspace.mark_enabled()
    assert eng.run(initial=True).ok
    after = qbo_customer(practice, "Brightside Dental LLC")
    assert after["PrimaryEmailAddr"] == before["PrimaryEmailAddr"] and after["SyncToken"] == before["SyncToken"]
