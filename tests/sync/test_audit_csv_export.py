"""The audit log records before/after per run and exports to CSV safely."""

from __future__ import annotations

import csv

from qbosync_desktop.sync import audit


def test_export_writes_every_row_with_before_and_after_and_neutralises_formulas(db, tmp_path):
    audit.record("create", "client", "cl_1", "58", run_id=1, after={"DisplayName": "Ann Lee"}, message="new client")
    audit.record("update", "client", "cl_1", "58", run_id=2, before={"DisplayName": "Ann Lee"},
                 after={"DisplayName": "Ann Lee-Smith"}, message="=HYPERLINK(\"x\")")
    audit.record("skip", "invoice", "in_9", None, run_id=2, message="drafts never sync")
    out = tmp_path / "audit.csv"
    assert audit.export_csv(out) == 3
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["action"] for r in rows] == ["create", "update", "skip"]
    assert rows[1]["before"] == '{"DisplayName": "Ann Lee"}'
    assert rows[1]["after"] == '{"DisplayName": "Ann Lee-Smith"}'
    assert rows[1]["message"].startswith("'=")
    assert audit.export_csv(out, run_id=2) == 2
    assert [e.action for e in audit.entries(run_id=2)] == ["update", "skip"]
