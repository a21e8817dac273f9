"""Issue 16: the History tab's "What happened" and the line after a sync say what was left out on
purpose, in plain words."""

from __future__ import annotations

from qbosync_desktop.desktop.ui.integration_window import _run_cells, fmt_left_out


def test_history_row_names_the_skips_per_reason() -> None:
    row = {"started_at": None, "kind": "incremental", "state": "done", "seconds": 1.0, "qbo_requests": 3,
           "counts": {"invoices": {"created": 5, "skipped": 13}, "vendors": {"skipped": 1}},
           "skips": {"invoices": {"draft": 12, "before_start": 1}, "vendors": {"no_contract": 1}}}
    what = _run_cells(row)[-1]
    assert "invoices: 5 created, 13 skipped" in what
    assert "12 drafts skipped (drafts never sync)" in what and "1 dated before the start date" in what
    assert "1 contractor without an active contract" in what
    # a run from before issue 16 (no skips stored) reads as before
    assert _run_cells({**row, "skips": None})[-1] == "invoices: 5 created, 13 skipped; vendors: 1 skipped"
    assert fmt_left_out({}) == ""
