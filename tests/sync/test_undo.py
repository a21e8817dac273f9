"""Undo a sync run (issue 15 part 2), over real HTTP against the practice servers.

Everything QuickBooks holds is read back through its REST API (the connector's queries), never from
our store: a snapshot before Enable, and the same read after the undo.
"""

from __future__ import annotations

from typing import Any

import pytest
from fixtures.kill_moment import wait_for_kill_moment

from qbosync_desktop.store.models.audit import AuditEntry
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.outbox import OutboxEntry
from qbosync_desktop.store.models.runs import Run
from qbosync_desktop.store.models.undo import UndoHold
from qbosync_desktop.sync import undo

ENTITIES = ("Customer", "Vendor", "Item", "Account", "Term", "TaxCode", "TaxRate", "Invoice", "Payment", "Bill",
            "CreditMemo", "RefundReceipt")
NAMES = ("Customer", "Vendor", "Item")
VOLATILE = ("MetaData", "SyncToken", "domain", "sparse")


def snapshot(qbo: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """Every record of every entity type, read over QuickBooks' REST API (inactive names too)."""
    out = {}
    for entity in ENTITIES:
        where = "Active IN (true, false)" if entity in (*NAMES, "Account", "Term", "TaxCode", "TaxRate") else None
        for row in qbo.query(entity, where=where, order_by="Id"):
            out[(entity, str(row["Id"]))] = {k: v for k, v in row.items() if k not in VOLATILE}
    return out


def compare(before: dict, after: dict) -> list[str]:
    """Differences, allowing only names that did not exist before and are now inactive."""
    diffs = []
    for key, row in after.items():
        if key not in before:
            if key[0] in NAMES and row.get("Active") is False:
                continue
            diffs.append(f"new {key}: {row.get('DisplayName') or row.get('Name') or row.get('DocNumber')}")
        elif row != before[key]:
            changed = sorted(k for k in set(row) | set(before[key]) if row.get(k) != before[key].get(k))
            diffs.append(f"changed {key}: " + ", ".join(f"{k} {before[key].get(k)!r} -> {row.get(k)!r}" for k in changed))
    diffs += [f"gone {key}" for key in before if key not in after]
    return diffs


def _enable(engine):
    s = engine.run(initial=True)
    assert s.state == "done", s.error
    return s


def test_undo_of_enable_leaves_quickbooks_as_it_was(engine, configured_workspace, practice):
    qbo = configured_workspace.qbo_client()
    before = snapshot(qbo)
    summary = _enable(engine)
    enabled = snapshot(qbo)
    assert compare(before, enabled) != [], "the Enable run changed nothing in QuickBooks?"
    writes = OutboxEntry.select().where((OutboxEntry.run_id == summary.run_id) & (OutboxEntry.state == "done"))
    assert writes.count() > 5

    plan = undo.preview(engine, summary.run_id)
    assert plan.writes and not plan.blocked, [s.to_dict() for s in plan.blocked]
    kinds = {(s.action, s.entity) for s in plan.writes}
    assert ("delete", "Invoice") in kinds and ("deactivate", "Customer") in kinds, kinds
    # the dry run wrote nothing
    assert snapshot(qbo) == enabled

    imported = [a.work_id for a in AuditEntry.select().where((AuditEntry.run_id == summary.run_id)
                                                              & (AuditEntry.action == "import")
                                                              & (AuditEntry.kind == "client"))]
    assert imported, "the practice company has QuickBooks-only customers the Enable run imports into Work"
    sites = [a.work_id for a in AuditEntry.select().where((AuditEntry.run_id == summary.run_id)
                                                           & (AuditEntry.action == "import")
                                                           & (AuditEntry.kind == "site"))]
    assert sites, "the practice company has sub-customers the Enable run imports into Work as sites"
    site_steps = {s.work_id: s for s in plan.steps if s.kind == "site" and s.side == "work"}
    assert {w: (s.action, s.blocked) for w, s in site_steps.items()} == {w: ("deactivate", None) for w in sites}
    assert all(s.describe().startswith("Make Work site") for s in site_steps.values())
    result = undo.undo(engine, summary.run_id, mode=undo.SYNC)
    assert result.state == "done" and not result.failed, result.to_dict()
    assert compare(before, snapshot(qbo)) == []
    # deletes go in batches of up to 30, like creates: not one request per transaction
    deleted = result.counts.get("deleted", 0)
    assert deleted > 60 and result.qbo_requests < deleted / 2, (deleted, result.qbo_requests)
    # the Work side: clients the run imported from QuickBooks are inactive again in Work (read over its API)
    work = configured_workspace.work_client()
    assert all(not work.get_client(wid).active for wid in imported)
    # and so are the sites it imported (Work deletes no site; read back over its API)
    assert [wid for wid in sites if work.get_site(wid).active] == []
    run = Run.get_by_id(result.run_id)
    assert run.kind == "undo" and run.state == "done"
    assert AuditEntry.select().where((AuditEntry.run_id == run.id) & (AuditEntry.action == "undo")).count() == len(
        plan.writes) + len([s for s in plan.steps if s.side == "local"])
    # links of deleted transactions are gone
    assert not Link.select().where(Link.kind.in_(("invoice", "payment", "bill"))
                                   & (Link.origin == "created")).exists()
    # a second undo finds nothing left to write
    again = undo.preview(engine, summary.run_id)
    assert not again.writes and again.already_undone > 0


def _created_invoice_without_payment(summary, qbo):
    """An invoice the run created, with no payment, for a customer the run created too (the undo would
    make that customer inactive: the case the test is about). Which one depends on the demo data (issue
    16 refuses two of its clients before sending), so it is looked for, not assumed."""
    paid = {str(ln["LinkedTxn"][0]["TxnId"]) for e in OutboxEntry.select().where(
        (OutboxEntry.run_id == summary.run_id) & (OutboxEntry.entity == "Payment"))
        for ln in e.payload.get("Line", []) if ln.get("LinkedTxn")}
    created_customers = {lk.qbo_id for lk in Link.select().where((Link.kind == "client") & (Link.origin == "created"))}
    for lk in Link.select().where((Link.kind == "invoice") & (Link.origin == "created")):
        if lk.qbo_id not in paid and str(qbo.get("Invoice", lk.qbo_id)["CustomerRef"]["value"]) in created_customers:
            return lk
    raise AssertionError("no created invoice without a payment")


def test_undo_refuses_when_a_payment_was_recorded_in_quickbooks_later(engine, configured_workspace, practice):
    qbo = configured_workspace.qbo_client()
    summary = _enable(engine)
    lk = _created_invoice_without_payment(summary, qbo)
    inv = qbo.get("Invoice", lk.qbo_id)
    # The bookkeeper records a payment in QuickBooks against the invoice the run created.
    practice.qbo.user.create("Payment", {"CustomerRef": inv["CustomerRef"], "TotalAmt": 10.0, "Line": [
        {"Amount": 10.0, "LinkedTxn": [{"TxnId": lk.qbo_id, "TxnType": "Invoice"}]}]})
    plan = undo.preview(engine, summary.run_id)
    blocked = {(s.entity, s.qbo_id): s for s in plan.blocked}
    assert ("Invoice", lk.qbo_id) in blocked, [s.to_dict() for s in plan.steps]
    assert "Payment" in blocked[("Invoice", lk.qbo_id)].blocked
    # its customer stays active: the invoice stays
    assert ("Customer", inv["CustomerRef"]["value"]) in blocked or not any(
        s.entity == "Customer" and s.qbo_id == inv["CustomerRef"]["value"] for s in plan.steps)

    state = snapshot(qbo)
    with pytest.raises(undo.UndoRefused) as exc:
        undo.undo(engine, summary.run_id, mode=undo.SYNC)
    assert "later work depends" in exc.value.message and exc.value.hint
    assert compare(state, snapshot(qbo)) == []  # refused: nothing written

    result = undo.undo(engine, summary.run_id, mode=undo.SYNC, skip_blocked=True)
    assert result.state == "done" and result.kept and not result.failed, result.to_dict()
    assert qbo.get("Invoice", lk.qbo_id)["Id"] == lk.qbo_id  # kept
    assert qbo.get("Customer", inv["CustomerRef"]["value"]).get("Active", True) is True
    others = [s for s in plan.writes if s.entity == "Invoice"]
    assert others and all(not list(qbo.query("Invoice", where=f"Id = '{s.qbo_id}'")) for s in others)
    assert AuditEntry.select().where((AuditEntry.run_id == result.run_id) & (AuditEntry.action == "skip")
                                     & (AuditEntry.message.contains("Kept"))).count() == len(plan.blocked)


@pytest.mark.parametrize("mode", [undo.HOLD, undo.SYNC])
def test_hold_or_sync_again_after_undo(engine, configured_workspace, practice, mode):
    qbo = configured_workspace.qbo_client()
    summary = _enable(engine)
    created = {lk.qbo_id for lk in Link.select().where((Link.kind == "invoice") & (Link.origin == "created"))}
    n_invoices = len(created)
    assert n_invoices
    result = undo.undo(engine, summary.run_id, mode=mode)
    assert result.state == "done", result.to_dict()
    after_undo = snapshot(qbo)
    assert not [k for k in after_undo if k[0] == "Invoice" and k[1] in created]

    nxt = engine.run()
    assert nxt.state == "done", nxt.error
    invoices_now = {k[1] for k in snapshot(qbo) if k[0] == "Invoice"}
    before_ids = {k[1] for k in after_undo if k[0] == "Invoice"}
    if mode == undo.HOLD:
        # nothing redone, and the holds are counted skips in the run summary
        assert invoices_now == before_ids
        held = sum(c.get("held", 0) for c in nxt.counts.values())
        assert held >= n_invoices, nxt.counts
        assert nxt.counts.get("invoices", {}).get("created", 0) == 0
        assert UndoHold.select().where(UndoHold.state == "held").count() >= n_invoices
        # and the names it made inactive stay inactive (read back over REST): the sync after the undo
        # (what the next scheduled sync runs) redid none of them
        for kind, entity in (("client", "Customer"), ("site", "Customer"), ("item", "Item"), ("vendor", "Vendor")):
            made = [lk.qbo_id for lk in Link.select().where((Link.kind == kind) & (Link.origin == "created"))]
            active = [q for q in made if qbo.get(entity, q).get("Active") is not False]
            assert made and active == [], (kind, active, nxt.counts)
        # released: the next sync sends them again
        assert undo.release(summary.run_id) >= n_invoices
        again = engine.run()
        assert again.counts.get("invoices", {}).get("created", 0) == n_invoices, again.counts
    else:
        assert nxt.counts.get("invoices", {}).get("created", 0) == n_invoices, nxt.counts
        assert len(invoices_now - before_ids) == n_invoices
        # The customers of the re-sent invoices are active again (the two-way merge sends Work's value).
        active_in_work = {c.id for c in configured_workspace.work_client().clients() if c.active}
        created = [lk for lk in Link.select().where((Link.kind == "client") & (Link.origin == "created"))
                   if lk.work_id in active_in_work]
        assert created
        still_inactive = [lk.qbo_id for lk in created if not qbo.get("Customer", lk.qbo_id).get("Active", True)]
        assert still_inactive == []
        # vendors are add-only, but one an undo made inactive is made active again, so bills sync
        vendors = [lk.qbo_id for lk in Link.select().where((Link.kind == "vendor") & (Link.origin == "created"))]
        assert vendors and all(qbo.get("Vendor", q).get("Active", True) for q in vendors)
        # and so are the sub-customers (Work sites) and the items it made inactive, read back over REST
        for kind, entity in (("site", "Customer"), ("item", "Item")):
            made = [lk.qbo_id for lk in Link.select().where((Link.kind == kind) & (Link.origin == "created"))]
            assert made, kind
            inactive = [q for q in made if qbo.get(entity, q).get("Active") is not True]
            assert inactive == [], (kind, inactive, nxt.counts)
        # the Work sites Enable imported (made inactive in Work by the undo) are active again in Work
        imported = [lk.work_id for lk in Link.select().where((Link.kind == "site") & (Link.origin == "imported"))]
        work = configured_workspace.work_client()
        assert imported and [w for w in imported if not work.get_site(w).active] == [], nxt.counts
        assert nxt.counts.get("bills", {}).get("failed", 0) == 0, nxt.counts


def _undo_process(root, run_id, log):
    import os
    import subprocess
    import sys

    return subprocess.Popen(
        [sys.executable, "-m", "qbosync_desktop.cli.main", "--home", str(root), "undo", str(run_id), "--sync-again",
         "--json"], stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, "QBOSYNC_HOME": str(root)})


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_sigkilled_undo_then_rerun_reverses_each_write_exactly_once(practice, home, tmp_path):
    """``qbosync undo`` is SIGKILLed mid-undo (as the sync kill drill does), then run again until it
    finishes: QuickBooks ends as it was before Enable, and each write was reversed once."""
    import random
    import signal
    from collections import Counter

    from qbosync_desktop.core.secrets import enable_insecure_file_secrets
    from qbosync_desktop.runtime.practice import connect_practice, practice_settings
    from qbosync_desktop.runtime.workspace import Workspace
    from qbosync_desktop.store import close_database, open_database
    from qbosync_desktop.store.models.outbox import Batch
    from qbosync_desktop.store.models.undo import UndoneWrite
    from qbosync_desktop.sync.engine import SyncEngine

    rng = random.Random(20261204)
    root = home.data_dir.parent
    enable_insecure_file_secrets(home)
    ws = Workspace.open(home)
    try:
        connect_practice(ws, practice, timeout=30)
        ws.save_settings(practice_settings(ws))
        ws.mark_enabled()
        qbo = ws.qbo_client()
        before = snapshot(qbo)
        summary = _enable(SyncEngine(ws))
        enabled = snapshot(qbo)
        tokens = {(e, str(r["Id"])): str(r["SyncToken"]) for e in ("Item",)
                  for r in qbo.query(e, where="Active IN (true, false)")}
        plan = undo.preview(SyncEngine(ws), summary.run_id)
        assert plan.writes and not plan.blocked
        restored_items = {str(s.qbo_id) for s in plan.writes if s.entity == "Item"}
    finally:
        ws.close()
    close_database()

    kills = killed_mid_undo = 0
    codes: list[int] = []
    with open(tmp_path / "children.log", "wb") as log:
        practice.qbo.set_faults(latency_ms=60)
        for _attempt in range(12):
            requests_before = practice.qbo.stats.get("requests", 0)
            proc = _undo_process(root, summary.run_id, log)
            if kills < 4:
                wait_for_kill_moment(proc, practice.qbo, rng, max_requests=60, seconds=(1.0, 2.5))
            if proc.poll() is None and kills < 4:
                proc.send_signal(signal.SIGKILL)
                kills += 1
                killed_mid_undo += practice.qbo.stats.get("requests", 0) > requests_before
                proc.wait(timeout=30)
                continue
            codes.append(proc.wait(timeout=200))
            if codes[-1] == 0:
                break
        practice.qbo.set_faults(latency_ms=0)
    assert codes and codes[-1] == 0, (codes, (tmp_path / "children.log").read_text(errors="replace")[-3000:])
    assert kills >= 2 and killed_mid_undo >= 1, (kills, killed_mid_undo)

    open_database(home.db_path)
    try:
        ws = Workspace.open(home)
        qbo = ws.qbo_client()
        assert compare(before, snapshot(qbo)) == []
        assert compare(enabled, before) != []
        assert not Batch.select().where(Batch.state != "done").exists()
        undo_runs = [r.id for r in Run.select().where(Run.kind == "undo")]
        assert not OutboxEntry.select().where(OutboxEntry.run_id.in_(undo_runs) & (OutboxEntry.state == "failed")).exists()
        # each planned reversal has exactly one undo audit row, across every (killed) undo run (a matched
        # client may have two: its QuickBooks side and its Work side)
        rows = Counter((a.kind, a.work_id) for a in AuditEntry.select().where(AuditEntry.action == "undo"))
        expected = Counter((s.kind, s.work_id) for s in plan.steps if s.writes or s.side == "local")
        assert rows == expected, [(k, rows[k], expected[k]) for k in set(rows) | set(expected) if rows[k] != expected[k]]
        assert UndoneWrite.select().count() >= len(rows)
        # a restored item moved on by exactly one version: its restore was written once
        for qid in restored_items:
            now = qbo.get("Item", qid)
            assert int(now["SyncToken"]) == int(tokens[("Item", qid)]) + 1, (qid, now["SyncToken"], tokens[("Item", qid)])
        ws.close()
    finally:
        close_database()


def test_undo_puts_back_the_work_client_fields_a_run_changed_and_hold_keeps_them(synced):
    """A QuickBooks phone edit reaches Work in a run (the two-way merge); undoing that run puts Work's
    phone back over the Work API (version check), and "hold" keeps the next sync from redoing it."""
    work = synced.ws.work_client()
    link = next(lk for lk in Link.select().where(Link.kind == "client").order_by(Link.id)
                if work.get_client(lk.work_id).active and work.get_client(lk.work_id).phone)
    before = work.get_client(link.work_id)
    synced.practice.qbo.user.update_customer(link.qbo_id, PrimaryPhone={"FreeFormNumber": "(503) 555-0142"})
    run = synced.engine.run()
    assert run.state == "done" and work.get_client(link.work_id).phone == "(503) 555-0142", run.counts

    plan = undo.preview(synced.engine, run.run_id)
    (step,) = [s for s in plan.steps if s.kind == "client" and s.work_id == link.work_id]
    assert (step.side, step.action, step.blocked) == ("work", "restore", None), step.to_dict()
    assert step.body.get("phone") == before.phone and step.describe().startswith("Put back Work client")
    result = undo.undo(synced.engine, run.run_id, mode=undo.HOLD)
    assert result.state == "done" and not result.failed and result.counts.get("restored") == 1, result.to_dict()
    after = work.get_client(link.work_id)  # read back over the Work API
    assert after.phone == before.phone and after.version > before.version
    assert AuditEntry.select().where((AuditEntry.run_id == result.run_id) & (AuditEntry.action == "undo")
                                     & (AuditEntry.work_id == link.work_id)).count() == 1

    again = synced.engine.run()  # what the next scheduled sync runs
    assert again.state == "done", again.error
    assert work.get_client(link.work_id).phone == before.phone, again.counts


def test_undo_of_a_later_run_puts_back_the_invoice_it_updated(synced):
    """A later run's full update of an invoice (a Work edit) is undone with the recorded ``before``:
    QuickBooks' invoice reads back as it was, field for field; held, the next sync leaves it so."""
    qbo = synced.ws.qbo_client()
    work = synced.ws.work_client()
    paid = {p.invoice_id for p in work.payments()}
    inv = next(i for i in work.invoices()
               if i.status == "sent" and i.id not in paid and Link.get_or_none(kind="invoice", work_id=i.id))
    qid = Link.get(kind="invoice", work_id=inv.id).qbo_id
    before = {k: v for k, v in qbo.get("Invoice", qid).items() if k not in VOLATILE}
    synced.practice.work.user.edit_invoice(inv.id, notes="Gate code 4411, changed in Work")
    run = synced.engine.run()
    assert run.counts.get("invoices") == {"updated": 1}, run.counts
    assert qbo.get("Invoice", qid)["PrivateNote"] == "Gate code 4411, changed in Work"

    # the Enable run created that invoice; a later run changed it, so undoing Enable keeps it, and says why
    enable = undo.preview(synced.engine, synced.summary.run_id)
    (step,) = [s for s in enable.steps if s.kind == "invoice" and s.work_id == inv.id]
    assert step.blocked is not None and f"later sync (run {run.run_id})" in step.blocked, step.to_dict()

    result = undo.undo(synced.engine, run.run_id, mode=undo.HOLD)
    assert result.state == "done" and result.counts.get("restored") == 1, result.to_dict()
    assert {k: v for k, v in qbo.get("Invoice", qid).items() if k not in VOLATILE} == before
    nxt = synced.engine.run()
    assert nxt.counts.get("invoices", {}).get("held") == 1 and "updated" not in nxt.counts.get("invoices", {})
    assert {k: v for k, v in qbo.get("Invoice", qid).items() if k not in VOLATILE} == before


def test_undo_puts_back_the_quickbooks_customer_fields_a_run_changed(synced):
    """A Work edit of a two-way client reaches QuickBooks in a run; undoing that run puts QuickBooks'
    previous value back with a sparse update (read back over REST), and only that field changed."""
    qbo = synced.ws.qbo_client()
    work = synced.ws.work_client()
    link = next(lk for lk in Link.select().where(Link.kind == "client").order_by(Link.id)
                if work.get_client(lk.work_id).active and (qbo.get("Customer", lk.qbo_id).get("PrimaryEmailAddr")))
    before = {k: v for k, v in qbo.get("Customer", link.qbo_id).items() if k not in VOLATILE}
    synced.practice.work.user.edit_client(link.work_id, email="changed-in-work@example.com")
    run = synced.engine.run()
    assert qbo.get("Customer", link.qbo_id)["PrimaryEmailAddr"]["Address"] == "changed-in-work@example.com", run.counts

    plan = undo.preview(synced.engine, run.run_id)
    (step,) = [s for s in plan.steps if s.kind == "client" and s.work_id == link.work_id]
    assert (step.side, step.action, step.blocked) == ("quickbooks", "restore", None) and step.body.get("sparse") is True
    result = undo.undo(synced.engine, run.run_id, mode=undo.HOLD)
    assert result.state == "done" and result.counts.get("restored") == 1, result.to_dict()
    assert {k: v for k, v in qbo.get("Customer", link.qbo_id).items() if k not in VOLATILE} == before
