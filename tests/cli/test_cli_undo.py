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


def _documented(shape: str) -> set[str]:
    """The keys docs/cli.md gives for one of ``undo --json``'s shapes ("dry run", "undo", "`--holds`"...)."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    section = text.split("### `undo RUN_ID", 1)[1].split("\n### ", 1)[0].replace("\n", " ")
    part = section.split(f"({shape}): `", 1)[1].split("`", 1)[0]
    return set(re.findall(r'"([a-z_]+)"', part))


def _keys(rows):
    return set().union(*(r.keys() for r in rows)) if rows else set()


def test_undo_json_has_exactly_the_documented_fields(engine, configured_workspace, practice, capsys):
    summary = engine.run(initial=True)
    assert summary.state == "done", summary.error
    capsys.readouterr()
    assert cli.main(["undo", str(summary.run_id), "--dry-run", "--json"]) == 0
    plan = _json(capsys)
    assert set(plan) | _keys(plan["steps"]) == _documented("dry run")
    assert cli.main(["undo", str(summary.run_id), "--hold", "--json"]) == 0
    out = capsys.readouterr().out
    result = json.loads(out[out.index("{"):])
    assert result["state"] == "done" and set(result) == _documented("undo")
    assert cli.main(["undo", "--holds", "--json"]) == 0
    holds = _json(capsys)
    assert holds["holds"] and set(holds) | _keys(holds["holds"]) == _documented("`--holds`")
    assert cli.main(["undo", "--release", str(summary.run_id), "--json"]) == 0
    released = _json(capsys)
    assert released["released"] == len(holds["holds"]) and set(released) == _documented("`--release`")
