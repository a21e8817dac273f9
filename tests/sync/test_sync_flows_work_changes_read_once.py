"""Work changes are read by cursor; a record seen twice while paging is planned once."""

from __future__ import annotations


def test_a_record_read_twice_while_paging_is_planned_once(db):
    """Work's keyset paging hands a record changed mid-read out again at the end: plan it once."""
    import threading
    from types import SimpleNamespace

    from qbosync_desktop.sync.context import RunContext
    from qbosync_desktop.sync.engine import Observer
    from qbosync_desktop.sync.flows.base import read_changed

    old = SimpleNamespace(id="cl_1", name="Old", updated_at="2026-01-01T00:00:00.000001Z")
    other = SimpleNamespace(id="cl_2", name="B", updated_at="2026-01-01T00:00:00.000002Z")
    new = SimpleNamespace(id="cl_1", name="New", updated_at="2026-01-01T00:00:00.000003Z")
    ctx = RunContext(qbo=None, work=None, settings=None, observer=Observer(), cancel=threading.Event())
    got = read_changed(ctx, "client", "work.clients", lambda updated_since=None: [old, other, new])
    assert [(r.id, r.name) for r in got] == [("cl_2", "B"), ("cl_1", "New")]
    ctx.commit_cursors()
    assert ctx.cursor("work.clients") == "2026-01-01T00:00:00.000004Z"
