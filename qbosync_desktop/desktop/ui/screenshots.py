"""Render every wizard page and the integration window to PNG: ``python -m qbosync_desktop.desktop.ui.screenshots OUTDIR``.

The screens are produced by the real app against the practice company (practice servers in this
process, real sign-in, real sync), offscreen, in a throwaway data folder — so the README's pictures
are always what the code shows today. Files:

``01-connect.png`` ``02-sync-settings.png`` ``03-review.png`` ``04-enable.png`` (the first sync
running), ``05-integration.png`` (after the first sync, with data), ``06-problems.png`` (the Problems
tab with its details), ``07-disconnect.png`` (the confirmation), ``08-error.png`` (an error dialog),
``09-matches.png`` (the Matches tab: match review after onboarding), and from the command line also
``10-map-concept.png`` (a cause card's fix: Edit settings at the unmapped concept) and
``11-connect-real.png`` (Connect for a real company), ``13-reconcile.png`` (the Reconcile tab after a
bookkeeper deleted one synced invoice and changed another's amount in QuickBooks), ``14-undo.png`` (the
undo preview of the first sync) and ``15-restore.png`` (the start-up dialog for a damaged database,
offering the newest good copy), ``16-reconnect.png`` (QuickBooks stopped accepting the sign-in),
``17-history-held.png`` (the first sync undone and its records held).
``--size WxH`` renders at a size.
``--company ca`` uses the Canadian practice company (tax codes) and adds ``12-tax-codes-missing.png``:
the window after the tax-code mappings were forgotten (as Disconnect does), Invoices with its x and
what to do.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtWidgets import QApplication

from qbosync_desktop.core.errors import DuplicateName
from qbosync_desktop.core.secrets import use_memory_keyring
from qbosync_desktop.desktop.ui.bootstrap import Controller
from qbosync_desktop.desktop.ui.dialogs.error_dialog import ErrorDialog
from qbosync_desktop.desktop.ui.eventloop import run_until
from qbosync_desktop.desktop.ui.wizard.enable import EnablePage
from qbosync_desktop.runtime.practice import start_practice
from qbosync_desktop.runtime.workspace import Workspace


def _save(widget, out: Path, name: str, issues: dict[str, list[str]] | None = None,
          size: tuple[int, int] | None = None) -> Path:
    from qbosync_desktop.desktop.ui.layout_check import layout_issues, unnamed_controls

    run_until(lambda: False, 50)  # let pending layout requests settle before measuring
    widget.repaint()
    if issues is not None:
        issues[name] = layout_issues(widget) + unnamed_controls(widget)
        if size is not None and (widget.width() > size[0] or widget.height() > size[1]):
            issues[name].append(f"{type(widget).__name__} needs {widget.width()}×{widget.height()}, more than "
                                f"the {size[0]}×{size[1]} screen")
    path = out / name
    widget.grab().save(str(path))
    print(path)
    return path


def _scroll_to(window, widget) -> None:
    """Scroll the window's body so ``widget`` starts at the top (a short window shows the tabs)."""
    run_until(lambda: False, 50)
    bar = window.body_scroll.verticalScrollBar()
    bar.setValue(min(bar.maximum(), widget.mapTo(window.body_scroll.widget(), widget.rect().topLeft()).y() - 12))


def _extra_screens(c, window, practice, out: Path, size: tuple[int, int] | None,
                   issues: dict[str, list[str]] | None) -> list[Path]:
    """``10-map-concept.png``: the cause card's "Map the concept…" opens Edit settings at that concept;
    ``11-connect-real.png``: the Connect page for a real company (the keys form under Advanced, open
    because no publisher profile is shipped)."""
    from qbosync_desktop.desktop.ui.wizard.wizard import SetupWizard, WizardContext

    shots = []
    group = next((g for g in window.groups if g.concept is not None), None)
    if group is not None:
        window.fix_group(group)
        dialog = window.dialog
        form = dialog.form
        run_until(lambda: not form.loading and group.concept in form._concept_combos
                  and form._concept_combos[group.concept].loaded, 60_000, extra_ms=300)
        if size is not None:
            dialog.resize(min(760, size[0]), min(620, size[1]))
        run_until(lambda: False, 200)
        shots.append(_save(dialog, out, "10-map-concept.png", issues, size))
        dialog.reject()
    wizard = SetupWizard(WizardContext(c.session))
    wizard.resize(*(size or (980, 900)))
    wizard.connect_page.real_choice.setChecked(True)
    wizard.show()
    run_until(lambda: wizard.isVisible(), 5000, extra_ms=300)
    shots.append(_save(wizard, out, "11-connect-real.png", issues, size))
    wizard.hide()
    wizard.deleteLater()
    shots.append(_reconcile_screen(c, window, practice, out, size, issues))
    shots.append(_undo_screen(window, out, size, issues))
    dialog = window.open_reconnect()
    run_until(dialog.isVisible, 5000, extra_ms=200)
    shots.append(_save(dialog, out, "16-reconnect.png", issues, size))
    dialog.reject()
    shots.append(_held_screen(window, out, size, issues))
    return shots


def _held_screen(window, out: Path, size: tuple[int, int] | None, issues: dict[str, list[str]] | None) -> Path:
    """``17-history-held.png``: the first sync undone with "Undo and hold": History lists the undo
    and counts the held records, with "Let syncs send them again"."""
    table = window.history_table
    table.selectRow(next(i for i in range(table.rowCount()) if table.records.rows[i].get("kind") == "initial"))
    window.undo_selected_run()
    run_until(lambda: window.undo_dialog is not None and window.undo_dialog.isVisible(), 60_000, extra_ms=200)
    window.undo_dialog.accept()  # "Undo and hold these records" is the default
    run_until(lambda: "undone" in window.undo_status.text() and not window.holds_row.isHidden(), 120_000,
              extra_ms=300)
    _scroll_to(window, window.tabs)
    return _save(window, out, "17-history-held.png", issues, size)


def _reconcile_screen(c, window, practice, out: Path, size: tuple[int, int] | None,
                      issues: dict[str, list[str]] | None) -> Path:
    """``13-reconcile.png``: a bookkeeper deleted a synced invoice and changed another's amount in
    QuickBooks (over the practice company's own user actions); Check now lists both, with the totals
    side by side."""
    qbo = practice.qbo
    numbers = {str(r.get("number")) for r in practice.work.user.store.all("invoices")}
    invoices = sorted((r for r in qbo.store.all("Invoice") if r.get("DocNumber") in numbers
                       and float(r.get("Balance") or 0) == float(r.get("TotalAmt") or 0) > 0), key=lambda r: int(r["Id"]))
    qbo.user.delete("Invoice", invoices[0]["Id"])
    lines = [dict(ln) for ln in invoices[1]["Line"] if ln.get("DetailType") == "SalesItemLineDetail"]
    amount = round(float(lines[0].get("Amount") or 0) + 25, 2)
    lines[0]["Amount"] = amount
    lines[0]["SalesItemLineDetail"] = {**lines[0]["SalesItemLineDetail"], "Qty": 1, "UnitPrice": amount}
    qbo.user.update("Invoice", invoices[1]["Id"], Line=lines)
    tab = window.reconcile_tab
    window.tabs.setCurrentIndex(window.tabs.indexOf(tab))
    tab.check()
    run_until(lambda: tab.report is not None and tab.check_button.isEnabled(), 120_000, extra_ms=300)
    if tab.table.rowCount():
        tab.table.selectRow(0)
    _scroll_to(window, window.tabs)
    return _save(window, out, "13-reconcile.png", issues, size)


def _undo_screen(window, out: Path, size: tuple[int, int] | None, issues: dict[str, list[str]] | None) -> Path:
    """``14-undo.png``: History's "Undo this run…" on the Enable run: the preview, nothing written."""
    window.tabs.setCurrentIndex(window.tabs.indexOf(window.history_table.parentWidget()))
    table = window.history_table
    first = next(i for i in range(table.rowCount()) if table.records.rows[i].get("kind") == "initial")
    table.selectRow(first)
    window.undo_selected_run()
    run_until(lambda: getattr(window, "undo_dialog", None) is not None and window.undo_dialog.isVisible(),
              60_000, extra_ms=300)
    dialog = window.undo_dialog
    if size is not None:
        dialog.resize(min(dialog.width(), size[0]), min(dialog.height(), size[1]))
    shot = _save(dialog, out, "14-undo.png", issues, size)
    dialog.reject()
    return shot


def _restore_screen(out: Path, size: tuple[int, int] | None, issues: dict[str, list[str]] | None) -> Path:
    """``15-restore.png``: the start-up dialog for a damaged database (the data folder's own, emptied
    after the app closed), offering the newest good copy the syncs left in ``backups/``."""
    from qbosync_desktop.core.paths import get_paths
    from qbosync_desktop.desktop.ui.dialogs.restore_dialog import open_workspace
    paths = get_paths()
    paths.db_path.write_bytes(b"")
    shot: list[Path] = []

    def ask(dialog) -> int:
        dialog.show()
        run_until(dialog.isVisible, 5000, extra_ms=200)
        shot.append(_save(dialog, out, "15-restore.png", issues, size))
        dialog.reject()
        return 0

    open_workspace(paths, ask=ask)
    return shot[0]


def _tax_codes_missing(ws, window, out: Path, size: tuple[int, int] | None,
                       issues: dict[str, list[str]] | None) -> Path:
    """``12-tax-codes-missing.png``: the mappings forgotten (saved without them, as Disconnect leaves
    them), the summary's x on Invoices with Sync Settings' what-to-do; the mappings are put back after."""
    settings, tax = ws.settings(), ws.tax_setup()
    ws.save_settings(settings.replace(tax_codes={}))
    window.refresh()
    run_until(lambda: window._tax is not None and not window.entity_rows["Invoices"].on, 30_000, extra_ms=300)
    window.body_scroll.verticalScrollBar().setValue(0)
    shot = _save(window, out, "12-tax-codes-missing.png", issues, size)
    ws.save_settings(settings, tax=tax)
    window.refresh()
    return shot


def render(out: Path, *, latency_ms: float = 15, size: tuple[int, int] | None = None,
           issues: dict[str, list[str]] | None = None, extra: bool = False, company: str = "us") -> list[Path]:
    """Render all screens into ``out``; ``latency_ms`` slows the practice servers so the Enable page is
    caught mid-run; ``size`` (width, height) renders the wizard and the window at that size;
    ``issues`` (when given) receives each screen's :func:`~qbosync_desktop.desktop.ui.layout_check.layout_issues`
    (sideways scrolling, clipped text) and unnamed controls as the screen was saved; ``extra`` adds the
    Map-the-concept dialog and the real-company Connect page (``10-…``, ``11-…``); ``company`` the
    practice QuickBooks company (``"us"`` or ``"ca"``, which adds ``12-…``)."""
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # read when the QApplication is created
    os.environ["QBOSYNC_HOME"] = tempfile.mkdtemp(prefix="qbosync-shots-")
    use_memory_keyring()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("QBO Sync")
    EnablePage.LAND_DELAY_MS = 1500
    shots: list[Path] = []
    ws = Workspace.open()
    args = argparse.Namespace(demo=True, tray=False, home=None, debug=False)
    practice_holder: list = []

    def factory(_ws):
        practice_holder.append(start_practice(throttle=False, latency_ms=latency_ms, qbo_company=company))
        return practice_holder[0]

    c = Controller(app, args, workspace=ws, practice_factory=factory, open_url=lambda url: None,
                   ask_on_close=False)
    try:
        wizard = c.wizard
        wizard.resize(*(size or (980, 900)))
        page = wizard.connect_page
        if not run_until(page.isComplete, 120_000, extra_ms=200):
            raise RuntimeError("connecting to the practice company took too long: " + page.status.text())
        shots.append(_save(wizard, out, "01-connect.png", issues, size))

        wizard.next()
        sp = wizard.settings_page
        run_until(lambda: sp.form is not None and sp.form.income_account.loaded and not sp.form.loading, 60_000,
                  extra_ms=200)
        shots.append(_save(wizard, out, "02-sync-settings.png", issues, size))

        wizard.next()
        run_until(lambda: wizard.currentPage() is wizard.review_page and wizard.review_page.isComplete(), 120_000,
                  extra_ms=200)
        shots.append(_save(wizard, out, "03-review.png", issues, size))

        wizard.next()
        enable = wizard.enable_page
        run_until(lambda: enable.table.rowCount() >= 3 or enable.summary is not None, 300_000, extra_ms=100)
        shots.append(_save(wizard, out, "04-enable.png", issues, size))
        run_until(lambda: c.integration is not None and c.integration.isVisible(), 600_000)

        window = c.integration
        window.resize(*(size or (1180, 900)))
        # The window at rest: the run listed, no run or check going on, no reload in flight (on a busy
        # machine the post-Enable work can still be running 300 ms after the history shows the run).
        run_until(lambda: window.history_table.rowCount() >= 1 and not c.session.service.busy
                  and not window._refreshing, 30_000, extra_ms=300)
        window.tabs.setCurrentIndex(window.tabs.count() - 1)  # Activity
        shots.append(_save(window, out, "05-integration.png", issues, size))

        # A new Work invoice concept that nobody mapped yet: every contractor bills "Overtime", the next
        # sync fails those bills for one reason, and the Problems tab shows them as one cause card
        user = practice_holder[0].work.user
        user.add_concept("Overtime", "Hours beyond the contract")
        for contractor in user.store.all("contractors"):
            if contractor.get("contracts"):
                user.add_contractor_invoice(contractor["id"], [{"concept": "Overtime", "amount": "180.00",
                                                                "description": "Crew overtime"}], status="approved")
        window.sync_now()
        run_until(lambda: not c.session.service.busy and any(g.concept == "Overtime" for g in window.groups),
                  120_000, extra_ms=300)
        window.tabs.setCurrentIndex(0)  # Problems
        if window.problems_table.rowCount():
            window.problems_table.selectRow(0)
        _scroll_to(window, window.tabs)
        shots.append(_save(window, out, "06-problems.png", issues, size))

        window.open_disconnect()
        run_until(lambda: window.dialog is not None and window.dialog.isVisible(), 5000, extra_ms=200)
        shots.append(_save(window.dialog, out, "07-disconnect.png", issues))
        window.dialog.reject()

        err = ErrorDialog(DuplicateName("A vendor named “Ann Lee” already exists in QuickBooks, and QuickBooks "
                                        "needs customer and vendor names to be different.", code="6240",
                                        intuit_tid="1-5f2c9a7e-8d0b4f", status=400))
        err.details_button.setChecked(True)
        err.show()
        run_until(lambda: err.isVisible(), 2000, extra_ms=200)
        shots.append(_save(err, out, "08-error.png", issues))
        err.close()

        window.tabs.setCurrentIndex(window.tabs.indexOf(window.matches_page))
        _scroll_to(window, window.tabs)
        run_until(lambda: False, 300)
        shots.append(_save(window, out, "09-matches.png", issues, size))
        if company != "us":
            shots.append(_tax_codes_missing(ws, window, out, size, issues))
        if extra:
            shots += _extra_screens(c, window, practice_holder[0], out, size, issues)
    finally:
        c.shutdown()
        run_until(lambda: not c.session.service.thread.is_alive(), 60_000)
        for p in practice_holder:
            p.stop()
        ws.close()
    if extra:
        shots.append(_restore_screen(out, size, issues))
    return shots


def main(argv: list[str] | None = None) -> int:
    """``screenshots [OUTDIR] [--size WxH ...]``: each ``--size`` renders every screen at that size
    into ``OUTDIR/WxH/`` (e.g. ``--size 900x650 --size 1600x1000``); without it, the README sizes."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m qbosync_desktop.desktop.ui.screenshots")
    parser.add_argument("out", nargs="?", default="docs/screenshots")
    parser.add_argument("--size", action="append", default=[], metavar="WxH",
                        help="render the wizard and the window at this size (repeatable)")
    parser.add_argument("--company", choices=("us", "ca"), default="us",
                        help="the practice QuickBooks company: us (Automated Sales Tax) or ca (tax codes; adds "
                             "12-tax-codes-missing.png)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    out = Path(args.out)
    found: dict[str, list[str]] = {}
    if not args.size:
        render(out, issues=found, extra=True, company=args.company)
    for text in args.size:
        width, height = (int(v) for v in text.lower().split("x", 1))
        shots: dict[str, list[str]] = {}
        render(out / f"{width}x{height}", size=(width, height), issues=shots, extra=True, company=args.company)
        found.update({f"{width}x{height}/{k}": v for k, v in shots.items()})
    for name, problems in found.items():
        for problem in problems:
            print(f"LAYOUT {name}: {problem}")
    return 1 if any(found.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
