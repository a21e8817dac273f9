"""History tab: "Undo this run…" reads the preview off the GUI thread, shows every write, and undoes
after the person's choice - on the practice company, read back over QuickBooks' REST API."""

from __future__ import annotations

from qbosync_desktop.desktop.ui.integration_window import IntegrationWindow
from qbosync_desktop.desktop.ui.session import Session
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.runs import Run


def test_undo_this_run_previews_then_undoes_and_holds(qtbot, configured_workspace, practice):
    configured_workspace.mark_enabled()
    session = Session(configured_workspace, schedule=False, practice=practice)
    window = IntegrationWindow(session)
    qtbot.addWidget(window)
    try:
        with qtbot.waitSignal(session.service.finished, timeout=120_000):
            session.service.sync_now(initial=True)
        qtbot.waitUntil(lambda: window.snapshot.last_run is not None and window.history_table.rowCount() >= 1,
                        timeout=10_000)
        invoices = [lk.qbo_id for lk in Link.select().where((Link.kind == "invoice") & (Link.origin == "created"))]
        assert invoices
        assert not window.undo_button.isEnabled()  # nothing selected yet
        window.history_table.selectRow(0)
        assert window.undo_button.isEnabled()
        window.undo_button.click()
        qtbot.waitUntil(lambda: getattr(window, "undo_dialog", None) is not None, timeout=60_000)
        dlg = window.undo_dialog
        assert dlg.writes_list.count() == len([s for s in dlg.plan["steps"] if not s["blocked"]]) >= dlg.plan["writes"] > 0
        texts = [dlg.writes_list.item(i).text() for i in range(dlg.writes_list.count())]
        assert any(t.startswith("Delete Invoice") for t in texts) and any("inactive" in t for t in texts)
        # the count per kind agrees with the list, in words ("In QuickBooks: delete 3 invoices, 2 payments; …")
        per_kind = dlg.by_kind.text()
        n_invoices = sum(t.startswith("Delete Invoice") for t in texts)
        assert per_kind.startswith("In QuickBooks: delete ") and f"{n_invoices} invoice" in per_kind
        # a payment has no number: it is named by amount, customer-free text and Work id, said once
        assert not any(t.startswith("Delete Payment payment") or t.startswith("Delete Invoice invoice") for t in texts)
        assert any(t.startswith("Delete Payment of ") and "(Work id " in t for t in texts)
        qbo = configured_workspace.qbo_client()
        assert qbo.get("Invoice", invoices[0])["Id"] == invoices[0]  # the preview wrote nothing
        assert dlg.hold.isChecked()
        progress: list[tuple[str, int, int]] = []
        session.service.undo_progress.connect(lambda phase, done, total: progress.append((phase, done, total)))
        statuses: list[str] = []
        session.service.undo_progress.connect(lambda *_a: statuses.append(window.undo_status.text()))
        dlg.undo_button.click()
        qtbot.waitUntil(lambda: "undone" in window.undo_status.text(), timeout=120_000)
        # the window said how far the undo was while it wrote ("Undoing sync run 1… invoices: 40 of 97")
        assert progress and any(p[0] == "invoices" and p[1] == p[2] == n_invoices for p in progress), progress
        assert any(t.startswith("Undoing sync run ") and " of " in t for t in statuses), statuses
        assert not list(qbo.query("Invoice", where=f"Id = '{invoices[0]}'"))
        assert Run.select().where((Run.kind == "undo") & (Run.state == "done")).count() == 1
        qtbot.waitUntil(lambda: any(r["kind"] == "undo" for r in window.snapshot.runs), timeout=10_000)
        # held (the default): the History tab says how many, and lets them go in one click
        held = len(window.snapshot.holds)
        assert held > 0 and not window.holds_row.isHidden()
        assert f"{held} record(s) held after undoing sync run" in window.holds_label.text()
        window.release_button.click()
        qtbot.waitUntil(lambda: "released" in window.undo_status.text(), timeout=30_000)
        assert f"{held} record(s) released" in window.undo_status.text()
        qtbot.waitUntil(lambda: not window.snapshot.holds and window.holds_row.isHidden(), timeout=10_000)
        from qbosync_desktop.sync import undo as undo_mod

        assert undo_mod.holds() == []
    finally:
        session.close()
        qtbot.waitUntil(lambda: not session.service.thread.is_alive(), timeout=30_000)


def test_undo_refuses_with_the_reason_and_the_person_chooses(qtbot, synced, capsys):
    """A payment recorded in QuickBooks against an invoice the Enable run created: the preview names the
    invoice and why, the undo refuses and writes nothing, the dialog only offers Undo once "Undo the rest
    and keep these records" is ticked, and that choice undoes everything else (read back over REST)."""
    from qbosync_desktop.cli import main as cli
    from qbosync_desktop.desktop.ui.dialogs.undo_dialog import UndoDialog
    from qbosync_desktop.sync import undo

    qbo = synced.ws.qbo_client()
    created = [lk.qbo_id for lk in Link.select().where((Link.kind == "invoice") & (Link.origin == "created"))
               .order_by(Link.id)]
    paid = next(q for q in created if float(qbo.get("Invoice", q)["Balance"]) >= 10)
    inv = qbo.get("Invoice", paid)
    synced.practice.qbo.user.create("Payment", {"CustomerRef": inv["CustomerRef"], "TotalAmt": 10.0, "Line": [
        {"Amount": 10.0, "LinkedTxn": [{"TxnId": paid, "TxnType": "Invoice"}]}]})
    run = str(synced.summary.run_id)
    capsys.readouterr()

    assert cli.main(["undo", run, "--dry-run"]) == 1  # the preview: blocked records with the reason
    out = capsys.readouterr().out
    assert f"Invoice {inv['DocNumber']}" in out and "BLOCKED" in out and "Why: A Payment" in out, out
    assert cli.main(["undo", run, "--hold"]) == 5  # refused, nothing written
    out = capsys.readouterr().out
    assert "later work depends on them" in out and "What to do:" in out and "--skip-blocked" in out
    assert all(list(qbo.query("Invoice", where=f"Id = '{q}'")) for q in created)

    plan = undo.preview(synced.engine, int(run)).to_dict()
    dlg = UndoDialog(plan)
    qtbot.addWidget(dlg)
    texts = [dlg.blocked_list.item(i).text() for i in range(dlg.blocked_list.count())]
    assert len(texts) == plan["blocked"] >= 1 and any("Payment" in t and inv["DocNumber"] in t for t in texts), texts
    assert not dlg.undo_button.isEnabled()
    dlg.keep_blocked.setChecked(True)
    assert dlg.undo_button.isEnabled() and dlg.skip_blocked and dlg.mode == "hold"

    assert cli.main(["undo", run, "--hold", "--skip-blocked"]) == 1  # done, with kept records
    out = capsys.readouterr().out
    assert f"Kept: invoice {inv['DocNumber']}" in out, out
    left = [q for q in created if list(qbo.query("Invoice", where=f"Id = '{q}'"))]
    assert left == [paid]
