"""The integration window shows missing tax-code mappings of a company outside the US (issue 14) as
an x on Invoices, in Sync Settings' words, not only when the integration is enabled: with the tax
setup read live when the window opens, and after Disconnect (which forgets the mappings) from the
country the last sync kept. Against the Canadian practice company, over real HTTP."""

from __future__ import annotations

import pytest

from qbosync_desktop.desktop.ui.integration_window import IntegrationWindow
from qbosync_desktop.desktop.ui.session import Session
from qbosync_desktop.runtime.practice import connect_practice, practice_settings
from qbosync_desktop.runtime.workspace import Workspace
from qbosync_desktop.sync.engine import SyncEngine
from qbosync_desktop.sync.rules.settings import NOT_TAXABLE, validate


@pytest.fixture
def ca(qtbot, make_practice, home, memory_keyring):
    practice = make_practice(qbo_company="ca")
    ws = Workspace.open(home)
    sessions: list[Session] = []

    def session() -> Session:
        s = Session(ws, schedule=False, open_url=lambda url: None)
        sessions.append(s)
        return s

    try:
        connect_practice(ws, practice, timeout=30)
        yield practice, ws, session
    finally:
        for s in sessions:
            s.close()
            qtbot.waitUntil(lambda s=s: not s.service.thread.is_alive(), timeout=10_000)
        ws.close()


def _window(qtbot, session: Session) -> IntegrationWindow:
    w = IntegrationWindow(session)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.company_label.text() not in ("", "QuickBooks"), timeout=10_000)
    return w


def _refreshed(qtbot, w: IntegrationWindow) -> None:
    with qtbot.waitSignal(w.refreshed, timeout=10_000):
        w.refresh()


def test_missing_tax_codes_are_an_x_on_invoices_with_what_to_do(qtbot, ca):
    practice, ws, session = ca
    tax = ws.tax_setup()
    settings = practice_settings(ws)
    assert settings.invoices and settings.payments and settings.tax_codes
    boulder = next(r for r, n in tax.rates.items() if n == "Boulder")
    # Saved without the Boulder rate's code (as an older app could): the window says so before any run.
    partial = settings.replace(tax_codes={k: v for k, v in settings.tax_codes.items() if k != boulder})
    ws.save_settings(partial)
    w = _window(qtbot, session())
    qtbot.waitUntil(lambda: w._tax is not None, timeout=10_000)  # read from QuickBooks and Work
    rows = w.entity_rows
    qtbot.waitUntil(lambda: not rows["Invoices"].on, timeout=5000)
    (issue,) = [i for i in validate(partial, tax=tax) if i.field == "tax_codes"]
    detail = rows["Invoices"].detail.text()
    assert detail == f"{issue.message} {issue.hint}"  # Sync Settings' own words
    assert "the Work tax rate 'Boulder' has no QuickBooks tax code" in detail
    assert "Choose a QuickBooks tax code" in detail
    assert rows["Invoices"].icon.state == "off" and rows["Invoices"].accessibleName() == "Invoices: Needs attention"
    assert rows["Invoices"].action.isVisibleTo(w) and rows["Invoices"].action.text() == "Map tax codes…"
    assert not rows["Credit notes"].on and "tax codes" in rows["Credit notes"].detail.text()
    assert rows["Refunds"].on  # lines without tax still have their code
    assert rows["Payments"].on and rows["Clients"].on

    # The next step opens Sync Settings.
    rows["Invoices"].action.click()
    assert w.dialog is not None and type(w.dialog).__name__ == "SettingsDialog"
    w.dialog.reject()

    # Mapped again: checks.
    ws.save_settings(settings, tax=tax)
    _refreshed(qtbot, w)
    assert rows["Invoices"].on and rows["Credit notes"].on and rows["Refunds"].on
    assert not rows["Invoices"].action.isVisibleTo(w)

    # A sync keeps the company's country; Disconnect forgets every mapping. A window opened then
    # (QuickBooks cannot be asked: the grant is gone) still shows the x, from the kept country.
    ws.mark_enabled()
    assert SyncEngine(ws).run(initial=True).state == "done"
    ws.disconnect()
    assert ws.settings().tax_codes == {}
    w2 = _window(qtbot, session())
    rows2 = w2.entity_rows
    qtbot.waitUntil(lambda: not rows2["Invoices"].on, timeout=5000)
    assert w2._tax is None and w2.snapshot.country == "CA"
    text = rows2["Invoices"].detail.text()
    assert "invoice lines without tax has no QuickBooks tax code" in text and "Choose a QuickBooks tax code" in text
    assert rows2["Invoices"].action.text() == "Map tax codes…"
    assert not rows2["Credit notes"].on
    assert not rows2["Refunds"].on and "lines without tax" in rows2["Refunds"].detail.text()
    assert NOT_TAXABLE not in ws.settings().tax_codes


def test_a_us_company_never_shows_tax_codes_as_missing():
    from qbosync_desktop.desktop.ui.integration_window import entity_status
    from qbosync_desktop.sync.rules.settings import SyncSettings, TaxSetup

    s = SyncSettings(invoices=True, income_account="1", expense_account="2", payments=True, deposit_account="3")
    assert entity_status(s, str, TaxSetup(country="US", rates={"tr_1": "Denver"}))["Invoices"][0]
    assert entity_status(s, str, None)["Invoices"][0]  # country not known: nothing claimed
    rows = entity_status(s, str, TaxSetup(country="CA", rates={}))
    assert not rows["Invoices"][0] and not rows["Credit notes"][0] and not rows["Refunds"][0]
    assert not entity_status(s.replace(invoices=False), str, TaxSetup(country="CA", rates={}))["Invoices"][0]
    assert entity_status(s.replace(invoices=False), str, TaxSetup(country="CA", rates={}))["Invoices"][1] == ""
