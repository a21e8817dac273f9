"""The onboarding preview over HTTP against both practice servers: it writes nothing anywhere, and
its numbers equal what enable (the initial sync) then does, entity by entity, on the demo data."""

from __future__ import annotations

from typing import Any

from fixtures.two_way import engine

from qbosync_desktop.store.db import database
from qbosync_desktop.sync.onboarding.preview import ACTION_OUTCOME, render_text

QBO_ENTITIES = ("Customer", "Vendor", "Item", "Invoice", "Payment", "Bill", "Account")
WORK_RESOURCES = ("clients", "sites", "items", "invoices", "payments", "contractors", "contractor-invoices",
                  "invoice-concepts", "company")


def _everything(practice: Any) -> dict[str, Any]:
    tables = sorted(database.get_tables())
    local = {t: database.execute_sql(f'SELECT * FROM "{t}" ORDER BY 1').fetchall() for t in tables}
    return {
        "qbo": {e: practice.qbo.store.all(e) for e in QBO_ENTITIES},
        "work": {r: practice.work.store.all(r) for r in WORK_RESOURCES},
        "local": local,
    }


def test_the_preview_writes_nothing_anywhere(configured_workspace, practice) -> None:
    before = _everything(practice)
    preview = engine(configured_workspace).preview()
    assert sum(sum(c.values()) for c in preview.counts().values()) > 50  # it did plan the whole sync
    after = _everything(practice)
    assert after["qbo"] == before["qbo"]
    assert after["work"] == before["work"]
    assert after["local"] == before["local"]


def test_preview_numbers_equal_what_enable_does(configured_workspace, practice) -> None:
    eng = engine(configured_workspace)
    preview = eng.preview()
    summary = eng.run(initial=True)
    assert summary.ok
    expected: dict[str, dict[str, int]] = {}
    for entity, counts in preview.counts().items():
        for action, n in counts.items():
            if action in ACTION_OUTCOME:
                expected.setdefault(entity, {})[ACTION_OUTCOME[action]] = n
    done = {e: {o: n for o, n in c.items() if o in ACTION_OUTCOME.values()} for e, c in summary.counts.items()}
    done = {e: c for e, c in done.items() if c}
    assert done == expected
    # the demo data exercises every kind of outcome the preview can announce
    assert {"customers", "clients", "items", "invoices", "payments", "vendors", "bills"} <= set(expected)
    assert expected["customers"].get("imported") and expected["customers"].get("linked")


def test_the_preview_explains_failures_with_a_fix(configured_workspace, practice) -> None:
    preview = engine(configured_workspace).preview()
    failures = [c for _name, chs in preview.phases for c in chs if c.action == "fail"]
    assert failures
    for ch in failures:
        assert ch.problem is not None and ch.problem.message and ch.problem.hint
    text = render_text(preview)
    assert "Clients" in text and "What to do:" in text
    assert "Smith: Residential" in text
