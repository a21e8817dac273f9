"""The Reconcile tab (issue 15): "Check now" lists what a bookkeeper changed in QuickBooks, a fix runs
off the GUI thread and "Send Work's version again" syncs through the outbox; the scheduled check
reports into the tab and the Problems tab. Real workspace, real service, both practice servers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from fixtures.qbo_sandbox import qbo_session

from qbosync_desktop.desktop.ui.integration_window import IntegrationWindow
from qbosync_desktop.desktop.ui.session import Session
from qbosync_desktop.store.models.base import utcnow
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.problems import Problem
from qbosync_desktop.sync import reconcile


def test_check_fix_and_scheduled_check(qtbot, synced) -> None:
    paid = {p.invoice_id for p in synced.ws.work_client().payments()}
    inv = next(i for i in synced.ws.work_client().invoices()
               if i.status == "sent" and i.id not in paid and Link.get_or_none(kind="invoice", work_id=i.id))
    link = Link.get(kind="invoice", work_id=inv.id)
    http = qbo_session(synced.practice.qbo)
    url = f"{http.company_url}/invoice"
    q = http.get(f"{url}/{link.qbo_id}").json()["Invoice"]
    assert http.post(url, params={"operation": "delete"}, json={"Id": q["Id"], "SyncToken": q["SyncToken"]}).ok

    session = Session(synced.ws, schedule=False)
    w = IntegrationWindow(session)
    qtbot.addWidget(w)
    tab = w.reconcile_tab
    try:
        assert w.tabs.tabText(w.tabs.indexOf(tab)) == "Reconcile"
        tab.check()
        assert not tab.check_button.isEnabled()  # the GUI thread did not wait for the check
        qtbot.waitUntil(lambda: tab.report is not None, timeout=60_000)
        assert tab.table.rowCount() == 1 and "deleted in QuickBooks" in tab.table.item(0, 1).text()
        # the totals side by side: the deleted invoice's month differs, by exactly that invoice
        month = str(inv.issue_date)[:7]
        rows = {tab.totals.item(r, 0).text(): [tab.totals.item(r, c).text() for c in (1, 2, 3)]
                for r in range(tab.totals.rowCount())}
        work, qbo, same = rows[f"Invoices of {month}"]
        assert same == "Differs" and int(work.split()[0]) == int(qbo.split()[0]) + 1, rows
        assert all(v[2] == "Same" for k, v in rows.items() if k.startswith("Invoices of ") and k != f"Invoices of {month}")
        # open balance per customer: only the deleted invoice's customer differs, by that invoice
        (customer,) = [k for k in rows if k.startswith("Open balance of ")]
        work_open, qbo_open, same = rows[customer]
        assert same == "Differs" and Decimal(work_open.replace(",", "")) - Decimal(qbo_open.replace(",", "")) == Decimal(str(inv.total))
        assert rows["Open balances of the other customers"][2] == "Same"
        row_id = tab.report.differences[0].id
        tab.select_row(row_id)
        assert tab.action_buttons["recreate"].isEnabled() and not tab.action_buttons["accept"].isEnabled()

        with qtbot.waitSignal(session.service.finished, timeout=120_000) as done:
            tab.action_buttons["recreate"].click()
        assert done.args[0].state == "done" and done.args[0].counts.get("invoices") == {"created": 1}
        new = Link.get(kind="invoice", work_id=inv.id)
        back = http.get(f"{url}/{new.qbo_id}").json()["Invoice"]
        assert back["DocNumber"] == inv.number and Decimal(str(back["TotalAmt"])) == Decimal(str(inv.total))
        assert tab.table.rowCount() == 0

        # how often it checks on its own: weekly by default, kept when changed here
        qtbot.waitUntil(tab.schedule.isEnabled, timeout=30_000)
        assert tab.schedule.currentData() == 7 and tab.schedule.currentText() == "Every week"
        tab.schedule.setCurrentIndex(tab.schedule.findData(1))
        qtbot.waitUntil(lambda: "every day" in tab.status.text(), timeout=30_000)
        assert reconcile.every_days() == 1

        # the scheduled check: done after a finished run when due; its report lands in the tab
        with qtbot.waitSignal(session.service.reconcile_checked, timeout=60_000) as checked:
            session.service.reconcile_if_due(force=True)
        assert checked.args[0].in_step and tab.report is checked.args[0]
        assert not Problem.select().where((Problem.kind == "reconcile") & (Problem.state == "open")).exists()

        # and on its own: a week after the last check (the default, chosen here again), the next finished
        # sync is followed by the check, without anyone asking
        tab.schedule.setCurrentIndex(tab.schedule.findData(7))
        qtbot.waitUntil(lambda: reconcile.every_days() == 7, timeout=30_000)
        week_ago = utcnow() - dt.timedelta(days=7, minutes=1)
        reconcile.record_check(reconcile.Report(), now=week_ago)
        assert reconcile.last_checked() == week_ago.replace(microsecond=0)
        with qtbot.waitSignal(session.service.reconcile_checked, timeout=120_000) as checked:
            session.service.sync_now()
        assert checked.args[0].in_step and reconcile.last_checked() > week_ago
    finally:
        session.close()
        qtbot.waitUntil(lambda: not session.service.thread.is_alive(), timeout=30_000)


def test_ignore_with_a_reason_from_the_tab(qtbot, synced) -> None:
    """"Ignore" takes the reason typed in the tab, keeps it in the audit log, and the row is not listed
    again (the next check counts it as ignored)."""
    from qbosync_desktop.store.models.audit import AuditEntry

    link = Link.select().where(Link.kind == "bill").order_by(Link.id).first()
    assert link is not None
    http = qbo_session(synced.practice.qbo)
    url = f"{http.company_url}/bill"
    q = http.get(f"{url}/{link.qbo_id}").json()["Bill"]
    assert http.post(url, json={"Id": q["Id"], "SyncToken": q["SyncToken"], "sparse": True,
                                "TxnDate": "2026-03-04"}).ok

    session = Session(synced.ws, schedule=False)
    w = IntegrationWindow(session)
    qtbot.addWidget(w)
    tab = w.reconcile_tab
    try:
        tab.check()
        qtbot.waitUntil(lambda: tab.report is not None, timeout=60_000)
        (row,) = tab.report.differences
        assert (row.kind, row.check) == ("bill", "date")
        tab.select_row(row.id)
        assert tab.action_buttons["ignore"].isEnabled()
        tab.reason.setText("Bill re-dated by the accountant")
        tab.action_buttons["ignore"].click()
        qtbot.waitUntil(lambda: "ignored" in tab.status.text(), timeout=30_000)
        assert tab.table.rowCount() == 0 and tab.reason.text() == ""
        entry = AuditEntry.get((AuditEntry.action == "reconcile_ignore") & (AuditEntry.work_id == link.work_id))
        assert entry.after["reason"] == "Bill re-dated by the accountant"
        tab.report = None
        tab.check()
        qtbot.waitUntil(lambda: tab.report is not None, timeout=60_000)
        assert tab.report.in_step and tab.report.ignored == 1 and tab.table.rowCount() == 0
    finally:
        session.close()
        qtbot.waitUntil(lambda: not session.service.thread.is_alive(), timeout=30_000)
