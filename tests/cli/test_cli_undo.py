"""``qbosync undo``: the dry run writes nothing and lists every write; without a choice only the preview
is shown; with --hold it undoes, and the next sync counts the held records (practice servers, REST)."""

from __future__ import annotations

import json

from qbosync_desktop.cli import main as cli
from qbosync_desktop.store.models.links import Link


def _json(capsys):
    return json.loads(capsys.readouterr().out)


def test_undo_command_dry_run_choice_and_hold(engine, configured_workspace, practice, capsys):
    summary = engine.run(initial=True)
    assert summary.state == "done", summary.error
    invoice = Link.select().where((Link.kind == "invoice") & (Link.origin == "created")).first()
    qbo = configured_workspace.qbo_client()
    capsys.readouterr()

    assert cli.main(["undo", str(summary.run_id), "--dry-run", "--json"]) == 0
    plan = _json(capsys)
    assert plan["dry_run"] and plan["writes"] > 0 and plan["blocked"] == 0
    assert any(s["action"] == "delete" and s["qbo_id"] == invoice.qbo_id for s in plan["steps"])
    assert qbo.get("Invoice", invoice.qbo_id)["Id"] == invoice.qbo_id  # nothing written

    assert cli.main(["undo", str(summary.run_id)]) == 3  # no choice made: preview only
    out = capsys.readouterr().out
    assert "Delete Invoice" in out and "--hold" in out
    assert qbo.get("Invoice", invoice.qbo_id)["Id"] == invoice.qbo_id

    assert cli.main(["undo", str(summary.run_id), "--hold"]) == 0
    printed = capsys.readouterr()
    assert f"of sync run {summary.run_id}: done - " in printed.out and " deleted" in printed.out, printed.out
    # progress on stderr while it writes, a line per phase step like a sync's ("  invoices: 12/12")
    steps = [line.strip().removeprefix("invoices: ").split("/") for line in printed.err.splitlines()
             if line.strip().startswith("invoices: ")]
    assert steps and steps[-1][0] == steps[-1][1] != "0", printed.err
    assert not list(qbo.query("Invoice", where=f"Id = '{invoice.qbo_id}'"))

    assert cli.main(["undo", "--holds", "--json"]) == 0
    assert any(h["kind"] == "invoice" and h["work_id"] == invoice.work_id for h in _json(capsys)["holds"])
    assert cli.main(["sync", "--json"]) in (0, 1)
    counts = _json(capsys)["run"]["counts"]
    assert counts.get("invoices", {}).get("held", 0) > 0 and not counts.get("invoices", {}).get("created"), counts
    assert not list(qbo.query("Invoice", where=f"Id = '{invoice.qbo_id}'"))

    assert cli.main(["undo", "999999", "--dry-run"]) == 4  # no such run: a plain-language error
    assert "no sync run 999999" in capsys.readouterr().err
