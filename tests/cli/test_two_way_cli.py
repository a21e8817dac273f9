"""The issue-7 commands, in-process against both practice servers: ``preview [--json]``,
``matches [--json] [--accept ID...] [--reject ID...]``, ``conflicts [--json]`` and
``resolve ID --keep work|quickbooks``."""

from __future__ import annotations

import json

from fixtures.two_way import engine, qbo_customer, work_client

from qbosync_desktop.cli import main as cli


def _run(capsys, *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(list(argv))
    return code, capsys.readouterr().out


def test_preview_prints_numbers_failures_and_fixes(clients_workspace, practice, capsys) -> None:
    clients_before = practice.work.store.all("clients")
    code, out = _run(capsys, "preview", "--json")
    data = json.loads(out)
    customers = next(e for e in data["entities"] if e["entity"] == "customers")
    assert customers["counts"]["import"] == len(customers["records"]["import"]) >= 10
    clients = next(e for e in data["entities"] if e["entity"] == "clients")
    (fail, *_) = clients["records"]["fail"]
    assert fail["message"] and fail["hint"]
    assert code == cli.EXIT_PROBLEMS  # some records would fail

    code, out = _run(capsys, "preview")
    assert "Clients from QuickBooks: " in out and "What to do:" in out
    assert practice.work.store.all("clients") == clients_before  # nothing written


def test_matches_accept_and_reject(clients_workspace, practice, capsys) -> None:
    code, out = _run(capsys, "matches", "--json")
    assert code == cli.EXIT_OK
    rows = json.loads(out)["matches"]
    bright = next(m for m in rows if m["work_name"] == "Brightside Dental")
    green = next(m for m in rows if m["work_name"] == "Green Valley H.O.A.")
    assert bright["state"] == "proposed" and bright["reason"]

    code, out = _run(capsys, "matches", "--json", "--accept", str(bright["id"]), "--reject", str(green["id"]))
    states = {m["id"]: m["state"] for m in json.loads(out)["matches"]}
    assert states[bright["id"]] == "accepted" and states[green["id"]] == "rejected"

    code, out = _run(capsys, "matches")
    assert "Brightside Dental" in out and "score" in out

    code, out = _run(capsys, "matches", "--accept", "99999")
    assert code == cli.EXIT_USAGE


def test_conflicts_and_resolve(clients_workspace, practice, capsys) -> None:
    eng = engine(clients_workspace)
    assert eng.run(initial=True).ok
    name = "Riverside Community Church"
    w, q = work_client(practice, name), qbo_customer(practice, name)
    practice.work.user.edit_client(w["id"], phone="(503) 555-1111")
    practice.qbo.user.update_customer(q["Id"], PrimaryPhone={"FreeFormNumber": "(503) 555-2222"})
    assert eng.run().ok

    code, out = _run(capsys, "conflicts", "--json")
    rows = [c for c in json.loads(out)["conflicts"] if c["work_id"] == w["id"]]
    assert code == cli.EXIT_PROBLEMS and len(rows) == 1
    assert rows[0]["field"] == "phone" and rows[0]["qbo_value"] == "(503) 555-2222"
    code, out = _run(capsys, "conflicts")
    assert "Phone changed in both places" in out and "(503) 555-1111" in out

    code, out = _run(capsys, "resolve", str(rows[0]["id"]), "--keep", "quickbooks", "--sync")
    assert code == cli.EXIT_OK
    assert work_client(practice, name)["phone"] == "(503) 555-2222"
    assert qbo_customer(practice, name)["PrimaryPhone"]["FreeFormNumber"] == "(503) 555-2222"
    code, out = _run(capsys, "resolve", str(rows[0]["id"]), "--keep", "work")
    assert code == cli.EXIT_USAGE  # already resolved
