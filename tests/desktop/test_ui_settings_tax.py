"""Sync Settings: "Tax amounts" under Invoices, and a tax-code table for a company outside the US
(issue 14), required while Invoices is on, with a what-to-do message when a rate has no code."""

from __future__ import annotations

import dataclasses

import pytest

from qbosync_desktop.desktop.ui.settings_form import SyncSettingsForm
from qbosync_desktop.sync.rules.settings import (
    LABELS,
    NOT_TAXABLE,
    TAX_AS_CHARGED,
    TAX_QBO_CALCULATES,
    SyncSettings,
    TaxSetup,
)

CA = TaxSetup(country="CA", rates={"tr_1": "Denver", "tr_2": "Boulder"},
              codes={"4": "GST", "5": "HST ON", "9": "Exempt"})


def _form(qtbot, chart, facts):
    f = SyncSettingsForm(load_accounts=lambda: chart, load_work=lambda: facts)
    qtbot.addWidget(f)
    # the accounts and the Work facts load on two background tasks: wait for both
    qtbot.waitUntil(lambda: not f.loading and f.income_account.loaded and f._work is not None, timeout=5000)
    return f


def _invoices_on(form):
    form.invoices.setChecked(True)
    form.income_account.setCurrentIndex(1)
    form.expense_account.setCurrentIndex(1)


def test_tax_amounts_defaults_to_as_charged_with_its_help(qtbot, chart_of_accounts, work_facts):
    form = _form(qtbot, chart_of_accounts, dataclasses.replace(
        work_facts, tax=TaxSetup(country="US", rates={"tr_1": "Denver"})))
    assert form.tax_amounts.currentData() == TAX_AS_CHARGED
    assert form.tax_amounts.currentText() == "As charged in Work"
    assert "differs from Work's is listed as a problem" in form.tax_help.text()
    assert not form.tax_codes.isVisibleTo(form), "a US company maps no tax codes"
    form.tax_amounts.setCurrentIndex(form.tax_amounts.findData(TAX_QBO_CALCULATES))
    assert form.settings().tax_amounts == TAX_QBO_CALCULATES


@pytest.mark.parametrize("mapped", [False, True])
def test_a_company_with_tax_codes_must_map_every_rate(qtbot, chart_of_accounts, work_facts, mapped):
    form = _form(qtbot, chart_of_accounts, dataclasses.replace(work_facts, tax=CA))
    assert form.tax_codes.isVisibleTo(form) and form.tax_codes.rowCount() == 3  # two rates + lines without tax
    assert form.tax_codes_label.text() == LABELS["tax_codes"]
    _invoices_on(form)
    assert not form.is_valid()
    assert "Boulder" in form.reason_text() and "Choose a QuickBooks tax code" in form.reason_text()
    if not mapped:
        return
    for rate, code in (("tr_1", "4"), ("tr_2", "5"), (NOT_TAXABLE, "9")):
        combo = form._tax_combos[rate]
        combo.setCurrentIndex(combo.findData(code))
    assert form.is_valid(), form.reason_text()
    assert form.settings().tax_codes == {"tr_1": "4", "tr_2": "5", NOT_TAXABLE: "9"}
    # Shown again as saved.
    again = _form(qtbot, chart_of_accounts, dataclasses.replace(work_facts, tax=CA))
    again.set_settings(form.settings())
    assert again._tax_combos["tr_2"].currentText() == "HST ON"


def test_the_window_summary_names_the_tax_choices_that_differ_from_the_default():
    from qbosync_desktop.desktop.ui.integration_window import entity_status

    base = SyncSettings(invoices=True, income_account="1", expense_account="2")
    assert entity_status(base, str)["Invoices"][1] == "Income: 1 · Expense: 2"
    changed = base.replace(tax_amounts=TAX_QBO_CALCULATES, tax_codes={"tr_1": "4", NOT_TAXABLE: "9"})
    assert entity_status(changed, str)["Invoices"][1] == ("Income: 1 · Expense: 2 · Tax calculated by QuickBooks"
                                                          " · 2 tax codes mapped")
