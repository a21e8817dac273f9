"""Invoices reach QuickBooks as billed, to the cent (issue 14): tax as Work charged it (US Automated
Sales Tax and a Canadian company with tax codes), discounts, terms, the 0.50 rounding line, and one
clear problem for what QuickBooks cannot hold. QuickBooks is read back over the practice REST API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fixtures.books import assert_books, cents, open_problems, rest
from fixtures.qbo_sandbox import qbo_session

from qbosync_desktop.runtime.practice import practice_settings
from qbosync_desktop.runtime.workspace import Workspace
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.problems import Problem
from qbosync_desktop.sync.engine import SyncEngine
from qbosync_desktop.sync.rules import amounts
from qbosync_desktop.sync.rules.settings import NOT_TAXABLE, TAX_QBO_CALCULATES, validate

BOOKS = ("INV-2001", "INV-2002", "INV-2003", "INV-2004", "INV-2005", "INV-2006")


def _rest_invoices(practice: Any) -> dict[str, dict]:
    http = qbo_session(practice.qbo)
    r = http.get(f"{http.company_url}/query", params={"query": "SELECT * FROM Invoice MAXRESULTS 1000"}, timeout=30)
    r.raise_for_status()
    return {str(i["Id"]): i for i in r.json()["QueryResponse"].get("Invoice", [])}


def _open(kind: str, work_id: str) -> list[Problem]:
    return list(Problem.select().where((Problem.kind == kind) & (Problem.work_id == work_id)
                                       & (Problem.state == "open")))


def _every_invoice_to_the_cent(ws: Workspace, practice: Any) -> dict[str, dict]:
    """Every linked Work invoice has QuickBooks' TotalAmt = Work's total; returns QBO invoices by number."""
    qbo = _rest_invoices(practice)
    by_number = {}
    for inv in ws.work_client().invoices():
        link = Link.get_or_none(kind="invoice", work_id=inv.id)
        if link is None or inv.status == "void":
            continue
        q = qbo[link.qbo_id]
        assert Decimal(str(q["TotalAmt"])) == inv.total, inv.number
        by_number[inv.number] = q
    return by_number


def test_us_company_invoices_carry_work_tax_discounts_terms_and_the_rounded_line(engine, configured_workspace,
                                                                                practice):
    ws = configured_workspace
    summary = engine.run(initial=True)
    assert summary.state == "done", summary.error
    work = {i.number: i for i in ws.work_client().invoices()}
    for number in BOOKS:
        assert Link.get_or_none(kind="invoice", work_id=work[number].id) is not None, number
        assert not _open("invoice", work[number].id), number
    q = _every_invoice_to_the_cent(ws, practice)

    # Denver 8.81 %: Work's tax is the override, lines TAX/NON by `taxable`, terms by name.
    inv = work["INV-2001"]
    assert inv.tax is not None and Decimal(str(q["INV-2001"]["TxnTaxDetail"]["TotalTax"])) == inv.tax.amount
    codes = [ln["SalesItemLineDetail"]["TaxCodeRef"]["value"] for ln in q["INV-2001"]["Line"]
             if ln.get("DetailType") == "SalesItemLineDetail"]
    assert codes == ["TAX" if ln.taxable else "NON" for ln in inv.lines]
    terms = {t["Name"]: str(t["Id"]) for t in practice.qbo.store.all("Term")}
    assert q["INV-2001"]["SalesTermRef"]["value"] == terms["Net 30"]
    assert q["INV-2002"]["SalesTermRef"]["value"] == terms["Net 15"]
    # A line discount and an invoice discount: one QuickBooks discount line of both.
    (discount,) = [ln for ln in q["INV-2002"]["Line"] if ln.get("DetailType") == "DiscountLineDetail"]
    w2 = work["INV-2002"]
    assert Decimal(str(discount["Amount"])) == w2.discount_amount + sum(ln.discount_amount for ln in w2.lines)
    assert Decimal(str(discount["Amount"])) == Decimal("93.00")  # 68.00 on the line + 25.00 off the invoice
    # The tax-exempt client: no tax although its goods are taxable.
    assert Decimal(str(q["INV-2003"]["TxnTaxDetail"]["TotalTax"])) == 0
    # 1.5 × 0.33 = 0.495 → 0.50 is sent as it is, never refused.
    rounded = [ln for ln in q["INV-2005"]["Line"] if ln.get("DetailType") == "SalesItemLineDetail"
               and Decimal(str(ln["Amount"])) == Decimal("0.50")]
    assert len(rounded) == 1
    detail = rounded[0]["SalesItemLineDetail"]
    assert (Decimal(str(detail["Qty"])), Decimal(str(detail["UnitPrice"]))) == (Decimal("1.5"), Decimal("0.33"))

    # Nothing changed: a second run writes nothing.
    requests_before = practice.qbo.stats["requests"]
    again = engine.run()
    assert again.state == "done"
    assert practice.qbo.stats["requests"] - requests_before <= 2


def test_let_quickbooks_calculate_reports_the_difference_and_as_charged_fixes_it(engine, configured_workspace,
                                                                                practice):
    ws = configured_workspace
    ws.save_settings(ws.settings().replace(tax_amounts=TAX_QBO_CALCULATES))
    assert engine.run(initial=True).state == "done"
    work = {i.number: i for i in ws.work_client().invoices()}
    inv = work["INV-2001"]
    (problem,) = _open("invoice", inv.id)
    link = Link.get(kind="invoice", work_id=inv.id)
    qbo_total = Decimal(str(_rest_invoices(practice)[link.qbo_id]["TotalAmt"]))
    assert qbo_total != inv.total  # AST computed the tax from the addresses (Oregon: none)
    assert problem.title == "QuickBooks total differs from Work"
    assert problem.message.startswith("The invoice 'INV-2001' is in QuickBooks with a total of ")
    assert amounts.fmt(inv.total) in problem.message
    assert amounts.fmt(qbo_total) in problem.message and "recalculated the tax" in problem.message
    assert "As charged in Work" in problem.hint
    # Invoices without tax still match, so they have no problem.
    untaxed = [i for i in work.values() if i.tax is None and Link.get_or_none(kind="invoice", work_id=i.id)]
    assert len(untaxed) > 50
    assert not [i.number for i in untaxed for p in _open("invoice", i.id) if p.title == problem.title]

    # An unchanged run neither re-sends it nor drops the problem.
    before = practice.qbo.stats["requests"]
    engine.run()
    assert practice.qbo.stats["requests"] - before <= 2 and len(_open("invoice", inv.id)) == 1

    # "As charged in Work": sent again with Work's tax, the problem closes itself.
    ws.save_settings(ws.settings().replace(tax_amounts="work"))
    assert engine.run().state == "done"
    assert not _open("invoice", inv.id)
    _every_invoice_to_the_cent(ws, practice)


def test_negative_invoice_is_one_problem_and_never_a_negative_invoice(engine, configured_workspace, practice):
    ws = configured_workspace
    work = practice.work
    clients = {c["name"]: c["id"] for c in work.store.all("clients")}
    items = {i["name"]: i["id"] for i in work.store.all("items")}
    neg = work.user.add_invoice(clients["Ann Lee"], [{"item_id": items["Service Call"], "unit_price": "-89.00"}],
                                number="INV-NEG-1")
    summary = engine.run(initial=True)
    assert summary.state == "done"
    (problem,) = _open("invoice", neg["id"])
    assert problem.title == "Negative invoice total" and "INV-NEG-1" in problem.message and "-89.00" in problem.message
    assert "credit note" in problem.hint
    assert Link.get_or_none(kind="invoice", work_id=neg["id"]) is None
    assert not [i for i in _rest_invoices(practice).values() if i.get("DocNumber") == "INV-NEG-1"]
    _every_invoice_to_the_cent(ws, practice)  # the rest of the run went on


def test_canadian_company_maps_tax_rates_to_tax_codes_and_keeps_work_tax(ca_workspace):
    practice, ws = ca_workspace
    tax = ws.tax_setup()
    assert tax.country == "CA" and tax.uses_tax_codes and tax.codes
    settings = practice_settings(ws)
    assert settings.invoices and NOT_TAXABLE in settings.tax_codes
    assert set(tax.rates) <= set(settings.tax_codes)
    ws.save_settings(settings, tax=tax)
    assert set(ws.tax_code_mappings()) == set(settings.tax_codes)
    assert ws.tax_code_mappings()[NOT_TAXABLE].code_name == "Exempt"
    ws.mark_enabled()
    assert SyncEngine(ws).run(initial=True).state == "done"
    work = {i.number: i for i in ws.work_client().invoices()}
    for number in BOOKS:
        assert Link.get_or_none(kind="invoice", work_id=work[number].id) is not None, number
    q = _every_invoice_to_the_cent(ws, practice)
    assert len(q) > 50
    inv = work["INV-2004"]  # Mountain Resort District 9.975 %, a 5 % invoice discount
    assert inv.tax is not None
    detail = q["INV-2004"]["TxnTaxDetail"]
    assert Decimal(str(detail["TotalTax"])) == inv.tax.amount == Decimal("147.21")
    for ln, work_line in zip([ln for ln in q["INV-2004"]["Line"] if ln.get("DetailType") == "SalesItemLineDetail"],
                             inv.lines, strict=True):
        key = inv.tax.rate_id if work_line.taxable else NOT_TAXABLE
        assert ln["SalesItemLineDetail"]["TaxCodeRef"]["value"] == settings.tax_codes[key]

    # Nothing changed: the tax codes, rates and terms are kept, so a second run costs at most the
    # change-feed reads.
    before = practice.qbo.stats["requests"]
    assert SyncEngine(ws).run().state == "done"
    assert practice.qbo.stats["requests"] - before <= 2

    # Disconnect forgets the tax-code mappings, like the concept mappings.
    ws.disconnect()
    assert ws.tax_code_mappings() == {} and ws.settings().tax_codes == {}


def test_a_tax_rate_without_a_tax_code_is_one_problem_per_invoice_and_the_run_goes_on(ca_workspace):
    practice, ws = ca_workspace
    tax = ws.tax_setup()
    settings = practice_settings(ws)
    work = {i.number: i for i in ws.work_client().invoices()}
    lakewood = work["INV-2006"].tax
    assert lakewood is not None
    unmapped = settings.replace(tax_codes={k: v for k, v in settings.tax_codes.items() if k != lakewood.rate_id})
    # Sync Settings say what to do before saving ...
    issues = [i for i in validate(unmapped, tax=tax) if i.field == "tax_codes"]
    assert len(issues) == 1 and "Lakewood" in issues[0].message and "Choose a QuickBooks tax code" in issues[0].hint
    # ... and a mapping gone anyway (saved without the check, as an older app would) is a problem per invoice.
    ws.save_settings(unmapped)
    ws.mark_enabled()
    assert SyncEngine(ws).run(initial=True).state == "done"
    (problem,) = _open("invoice", work["INV-2006"].id)
    assert problem.title == "Tax rate not mapped to a QuickBooks tax code"
    assert "INV-2006" in problem.message and "Lakewood" in problem.message and "Sync Settings" in problem.hint
    assert Link.get_or_none(kind="invoice", work_id=work["INV-2006"].id) is None
    for number in ("INV-2001", "INV-2002", "INV-2004", "INV-2005"):
        assert Link.get_or_none(kind="invoice", work_id=work[number].id) is not None, number
    _every_invoice_to_the_cent(ws, practice)

    # Mapping it: the next run sends it.
    ws.save_settings(settings, tax=tax)
    assert SyncEngine(ws).run().state == "done"
    assert not _open("invoice", work["INV-2006"].id)
    assert Link.get_or_none(kind="invoice", work_id=work["INV-2006"].id) is not None
    _every_invoice_to_the_cent(ws, practice)


def test_line_form_keeps_the_billed_amount():
    d = Decimal
    assert amounts.line_form(d("1.5"), d("0.33"), d("0.50")) == (d("1.5"), d("0.33"), None)
    # More decimals than QuickBooks keeps: Qty 1 × the billed amount, Work's figures in the description.
    assert amounts.line_form(d("3"), d("0.333333333"), d("1.00")) == (d(1), d("1.00"), "3 × 0.333333333")
    assert amounts.prorate(d("147.21"), [d("5"), d("9.975")]) == [d("49.15"), d("98.06")]
    assert amounts.prorate(d("1.00"), [d(0), d(0)]) == [d("1.00"), d(0)]


def test_cli_settings_sets_tax_amounts_and_tax_codes_by_name(ca_workspace, capsys):
    from qbosync_desktop.cli import main as cli

    _practice, ws = ca_workspace
    ws.save_settings(practice_settings(ws), tax=ws.tax_setup())
    ws.close()
    assert cli.main(["settings", "set", "tax_amounts=quickbooks", "tax_code.Lakewood=HST ON",
                     "tax_code.not-taxable=Zero-rated"]) == 0
    out = capsys.readouterr().out
    assert "Let QuickBooks calculate" in out and "Lakewood -> HST ON" in out.replace("→", "->")
    assert "Lines without tax -> Zero-rated" in out.replace("→", "->")
    assert cli.main(["settings", "set", "tax_code.Lakewood=No such code"]) == 3
    assert "no tax code 'No such code'" in capsys.readouterr().err
    assert cli.main(["settings", "set", "tax_amounts=sometimes"]) == 3
    ws2 = Workspace.open(ws.paths)
    try:
        s = ws2.settings()
        codes = {n: c for c, n in ws2.tax_setup().codes.items()}
        rates = {n: r for r, n in ws2.tax_setup().rates.items()}
        assert s.tax_amounts == TAX_QBO_CALCULATES
        assert s.tax_codes[rates["Lakewood"]] == codes["HST ON"] and s.tax_codes[NOT_TAXABLE] == codes["Zero-rated"]
    finally:
        ws2.close()


def test_enable_with_a_canadian_company_books_match_work_to_the_cent(ca_workspace, capsys):
    """`qbosync enable` against the seeded practice data with the non-US company: refused while tax
    codes are missing; then every synced invoice's TotalAmt and Balance, every credit memo's and refund
    receipt's TotalAmt, read over REST, equal Work's to the cent, and credit memos and refund receipts
    carry the mapped QuickBooks tax codes as invoices do (issue 14)."""
    from qbosync_desktop.cli import main as cli

    practice, ws = ca_workspace
    tax = ws.tax_setup()
    settings = practice_settings(ws)
    ws.save_settings(settings.replace(tax_codes={}))
    ws.close()
    assert cli.main(["enable"]) == 3
    err = capsys.readouterr().err
    assert "has no QuickBooks tax code" in err and "Choose a QuickBooks tax code" in err

    # The 9.975 % rate filed under a two-rate code (GST 5 % + QST 9.975 %): Work's tax is shared out.
    codes = {n: c for c, n in tax.codes.items()}
    rates = {n: r for r, n in tax.rates.items()}
    mountain = rates["Mountain Resort District"]
    settings = settings.replace(tax_codes={**settings.tax_codes, mountain: codes["GST/QST QC"]})
    ws2 = Workspace.open(ws.paths)
    try:
        ws2.save_settings(settings, tax=tax)
    finally:
        ws2.close()
    assert cli.main(["enable", "--json"]) in (0, 1)  # 1: the seed's deliberate problems are open
    capsys.readouterr()
    ws3 = Workspace.open(ws.paths)
    try:
        counted = assert_books(ws3, practice)
        assert counted["credit_memos"] == 2 and counted["refund_receipts"] == 2
        wc = ws3.work_client()
        memos, receipts = rest(practice, "CreditMemo"), rest(practice, "RefundReceipt")
        cn2 = next(cn for cn in wc.credit_notes() if cn.number == "CN-0002")
        assert cn2.tax is not None and cn2.tax.rate_id == mountain
        q = memos[Link.get(kind="credit_note", work_id=cn2.id).qbo_id]
        item_lines = [ln for ln in q["Line"] if ln.get("DetailType") == "SalesItemLineDetail"]
        assert [ln["SalesItemLineDetail"]["TaxCodeRef"]["value"] for ln in item_lines] == [
            settings.tax_codes[mountain if ln.taxable else NOT_TAXABLE] for ln in cn2.lines]
        assert cents(q["TxnTaxDetail"]["TotalTax"]) == cn2.tax.amount
        assert len(q["TxnTaxDetail"]["TaxLine"]) == 2  # GST and QST
        assert sum(cents(t["Amount"]) for t in q["TxnTaxDetail"]["TaxLine"]) == cn2.tax.amount
        for rf in wc.refunds():  # money paid back carries no tax: the "Lines without tax" code
            link = Link.get_or_none(kind="refund", work_id=rf.id)
            if link is not None and rf.status == "active":
                (line,) = [ln for ln in receipts[link.qbo_id]["Line"] if ln.get("DetailType") == "SalesItemLineDetail"]
                assert line["SalesItemLineDetail"]["TaxCodeRef"]["value"] == settings.tax_codes[NOT_TAXABLE]
                assert cents(receipts[link.qbo_id]["TxnTaxDetail"]["TotalTax"]) == 0

        # "Lines without tax" unmapped (an older app saved it so): a new plain credit and a refund are
        # one problem each, in the invoices' words, and sent once it is mapped again.
        pay = next(p for p in wc.payments() if p.status == "active" and Link.get_or_none(kind="payment", work_id=p.id))
        client = pay.client_id
        credit = practice.work.user.add_credit_note(client, amount="4.00", notes="goodwill")
        refund = practice.work.user.add_refund("1.00", payment_id=pay.id)
        ws3.save_settings(settings.replace(tax_codes={k: v for k, v in settings.tax_codes.items()
                                                      if k != NOT_TAXABLE}))
        assert SyncEngine(ws3).run().state == "done"
        for kind, work_id, what in (("credit_note", credit["id"], "credit note"), ("refund", refund["id"], "refund")):
            (problem,) = open_problems(kind, work_id)
            assert problem.title == "Tax rate not mapped to a QuickBooks tax code", kind
            assert f"The {what} '" in problem.message and "lines without tax" in problem.message
            assert "Sync Settings" in problem.hint
            assert Link.get_or_none(kind=kind, work_id=work_id) is None
        ws3.save_settings(settings, tax=tax)
        assert SyncEngine(ws3).run().state == "done"
        assert not open_problems("credit_note", credit["id"]) and not open_problems("refund", refund["id"])
        assert assert_books(ws3, practice)["credit_memos"] == 3
    finally:
        ws3.close()


def test_terms_quickbooks_lacks_are_one_problem_until_added_there(engine, configured_workspace, practice):
    work = practice.work
    clients = {c["name"]: c["id"] for c in work.store.all("clients")}
    items = {i["name"]: i["id"] for i in work.store.all("items")}
    inv = work.user.add_invoice(clients["Ann Lee"], [{"item_id": items["Service Call"]}], number="INV-N45",
                                terms="Net 45")
    assert engine.run(initial=True).state == "done"
    (problem,) = _open("invoice", inv["id"])
    assert problem.title == "Payment terms not in QuickBooks"
    assert "INV-N45" in problem.message and "'Net 45'" in problem.hint
    assert Link.get_or_none(kind="invoice", work_id=inv["id"]) is None

    practice.qbo.user.create("Term", {"Name": "Net 45", "DueDays": 45, "Type": "STANDARD", "Active": True})
    assert engine.run().state == "done"
    assert not _open("invoice", inv["id"])
    q = _rest_invoices(practice)[Link.get(kind="invoice", work_id=inv["id"]).qbo_id]
    term = next(t for t in practice.qbo.store.all("Term") if t["Name"] == "Net 45")
    assert q["SalesTermRef"]["value"] == str(term["Id"])
