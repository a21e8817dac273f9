"""Issue 16 part 6: a hostile-data corpus, one sync, and per case exactly one of two outcomes.

The cases (``hostile_cases.py``) go into an empty Work practice server; ONE initial sync runs for the
whole corpus against the QuickBooks practice server (real HTTP, real SQLite, the real keyring API
with an in-memory backend). Then every case is judged on what QuickBooks holds, read back over its
REST API with a plain HTTP session (not the app's connector), and on the app's open problems:

* **synced** - the record is in QuickBooks with Work's values: amounts to the cent, dates, references,
  text equal to Work's or its documented cleaned form, within Intuit's field lengths, and no control,
  bidi or zero-width character; or
* **one problem** - it is not in QuickBooks, and exactly one open problem names it (Work id, and its
  name or number in the message) with a next step.

The run not finishing is "crashed" in the tally; anything else - a record both written and in trouble,
two problems or none, garbage in QuickBooks, a record that should have been refused in QuickBooks - is
"wrong". The tally (tried / synced / one-problem / crashed / wrong) is written at the end of the test
session's output (``conftest.py``) and kept in ``docs/sync-engine.md`` ("Hostile-data corpus").
"""

from __future__ import annotations

import dataclasses
import re
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import keyring
import pytest
from fixtures.qbo_sandbox import qbo_session
from hostile_cases import START_DATE, TALLY, Case, Corpus, bad_chars, cleaned_forms, seed

from qbosync_desktop.connectors.qbo.query import quote
from qbosync_desktop.core import paths
from qbosync_desktop.core.keyring_memory import MemoryKeyring
from qbosync_desktop.runtime.practice import connect_practice, practice_settings, start_practice
from qbosync_desktop.runtime.workspace import Workspace
from qbosync_desktop.sync.flows.sites import display_name
from qbosync_desktop.sync.rules.names import normalise

CENT = Decimal("0.01")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ENTITIES = ("Customer", "Vendor", "Item", "Invoice", "Payment", "Bill", "CreditMemo", "RefundReceipt")


@dataclasses.dataclass
class Run:
    corpus: Corpus
    summary: Any = None
    crash: str | None = None
    problems: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    links: dict[tuple[str, str], str] = dataclasses.field(default_factory=dict)
    origins: dict[tuple[str, str], str] = dataclasses.field(default_factory=dict)
    qbo: dict[str, dict[str, dict[str, Any]]] = dataclasses.field(default_factory=dict)
    found_by_query: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    tally: Counter = dataclasses.field(default_factory=Counter)
    wall: float = 0.0  # seconds the first sync took, measured around it
    second: Any = None  # the summary of a second sync with nothing changed in Work
    second_writes: int = -1  # QuickBooks writes (single and batch requests) that second sync made
    problems_after_second: list[dict[str, Any]] = dataclasses.field(default_factory=list)


def _read_all(http: Any, entity: str) -> dict[str, dict[str, Any]]:
    """Every ``entity`` in the practice company, over its REST query endpoint, paged."""
    rows: dict[str, dict[str, Any]] = {}
    start = 1
    while True:
        where = " WHERE Active IN (true, false)" if entity in ("Customer", "Vendor", "Item") else ""
        q = f"select * from {entity}{where} STARTPOSITION {start} MAXRESULTS 1000"
        resp = http.get(f"{http.company_url}/query", params={"query": q}, timeout=30)
        assert resp.status_code == 200, resp.text
        page = resp.json()["QueryResponse"].get(entity, [])
        rows.update({str(r["Id"]): r for r in page})
        if len(page) < 1000:
            return rows
        start += 1000


def _lookups(ws: Workspace, corpus: Corpus) -> dict[str, list[str]]:
    """Names and numbers with quotes, backslashes and wildcards looked up through the app's own query
    quoting (``connectors.qbo.query.quote``) against the practice server's parser: the Ids found."""
    qbo = ws.qbo_client()
    out: dict[str, list[str]] = {}
    for case in corpus.cases:
        if not any(ch in case.label for ch in "'\\\"%_;"):
            continue
        entity, fld = {"client": ("Customer", "DisplayName"), "vendor": ("Vendor", "DisplayName"),
                       "item": ("Item", "Name"), "invoice": ("Invoice", "DocNumber")}.get(case.kind, (None, None))
        if entity is None:
            continue
        where = f"{fld} = {quote(case.label)}" + (" AND Active IN (true, false)" if entity != "Invoice" else "")
        out[case.id] = [str(r["Id"]) for r in qbo.query(entity, where=where)]
    return out


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """Seed the corpus, run one initial sync, read everything back; its own home and in-memory keyring
    (module-scoped, so it cannot use the per-test ``home`` / ``memory_keyring`` fixtures)."""
    from qbosync_desktop.store import close_database
    from qbosync_desktop.store.models.links import Link
    from qbosync_desktop.sync import problems
    from qbosync_desktop.sync.engine import SyncEngine

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    mp = pytest.MonkeyPatch()
    mp.setenv(paths.HOME_ENV, str(tmp_path_factory.mktemp("hostile-home")))
    paths.set_home(None)
    practice = start_practice(throttle=False, work_seed=None)
    ws = Workspace.open(paths.get_paths().ensure())
    try:
        connect_practice(ws, practice)
        run = Run(seed(practice.work))
        ws.save_settings(dataclasses.replace(practice_settings(ws), start_date=START_DATE))
        ws.mark_enabled()
        try:
            t0 = time.monotonic()
            run.summary = SyncEngine(ws).run(initial=True)
            run.wall = time.monotonic() - t0
            if run.summary.state != "done":
                run.crash = f"the run ended {run.summary.state}: {run.summary.error}"
        except Exception:  # a crash is an outcome the tally counts, not an error of every test
            run.crash = traceback.format_exc()
        run.problems = problems.open_problems()
        run.links = {(str(lk.kind), str(lk.work_id)): str(lk.qbo_id) for lk in Link.select()}
        run.origins = {(str(lk.kind), str(lk.work_id)): str(lk.origin) for lk in Link.select()}
        http = qbo_session(practice.qbo)
        try:
            run.qbo = {entity: _read_all(http, entity) for entity in ENTITIES}
        finally:
            http.close()
        run.found_by_query = _lookups(ws, run.corpus)
        if run.crash is None:
            before = practice.qbo.stats.get("write", 0) + practice.qbo.stats.get("batch", 0)
            run.second = SyncEngine(ws).run()
            run.second_writes = practice.qbo.stats.get("write", 0) + practice.qbo.stats.get("batch", 0) - before
            run.problems_after_second = problems.open_problems()
        yield run
        _report(run)
    finally:
        ws.close()
        close_database()
        practice.stop()
        keyring.set_keyring(previous)
        mp.undo()
        paths.set_home(None)


def _report(run: Run) -> None:
    """Judge every case (whichever tests ran) and print the tally; the terminal summary repeats it."""
    run.tally = Counter(judge(run, case)[0] for case in run.corpus.cases)
    tried = len(run.corpus.cases)
    line = (f"hostile-data corpus: tried {tried} / synced {run.tally['synced']} / one-problem "
            f"{run.tally['problem']} / crashed {run.tally['crashed']} / wrong {run.tally['wrong']} "
            "(wrong: garbage in QuickBooks, or not exactly one problem)")
    if run.summary is not None:
        line += f" (one sync, {run.summary.qbo_requests} QuickBooks requests)"
    TALLY.append(line)


# -- judging one case ------------------------------------------------------------------------------
def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def _text_ok(qbo_value: Any, work_value: str, limit: int | None = None) -> bool:
    """QuickBooks' text is Work's or its cleaned form; with an Intuit ``limit``, a cut to that length."""
    if not isinstance(qbo_value, str):
        return False
    forms = cleaned_forms(work_value)
    if limit is not None:  # free text over Intuit's length is shortened, ending in "…" (docs/sync-engine.md)
        forms |= {f[:limit - 1] + "…" for f in forms if len(f) > limit}
        if len(qbo_value) > limit:
            return False
    return qbo_value in forms


def _check_client(run: Run, case: Case, row: dict[str, Any]) -> list[str]:
    wrong = []
    f = case.fields
    if run.origins.get(("client", case.work_id)) != "created":
        # linked to a customer QuickBooks already had: its DisplayName is the same name, normalised
        if not {normalise(x) for x in cleaned_forms(f["name"])} & {normalise(row.get("DisplayName") or "")}:
            wrong.append(f"linked to {row.get('DisplayName')!r}, not the same name as {f['name']!r}")
    elif not _text_ok(row.get("DisplayName"), f["name"], case.limits.get("DisplayName")):
        wrong.append(f"DisplayName {row.get('DisplayName')!r} is not Work's name {f['name']!r} (or its cleaned form)")
    for work_key, qbo_key, sub in (("first_name", "GivenName", None), ("last_name", "FamilyName", None),
                                   ("company_name", "CompanyName", None),
                                   ("phone", "PrimaryPhone", "FreeFormNumber")):
        if not f.get(work_key):
            continue
        value = row.get(qbo_key)
        value = value.get(sub) if sub and isinstance(value, dict) else value
        limit = case.limits.get(sub or qbo_key)
        if value is None and limit is None:
            wrong.append(f"{qbo_key} is missing")
        elif value is not None and not _text_ok(value, f[work_key], limit):
            wrong.append(f"{qbo_key} {value!r} is not Work's {work_key} within {limit} characters")
    email = (row.get("PrimaryEmailAddr") or {}).get("Address")
    if f.get("email"):
        if EMAIL_RE.match(f["email"]) and email != f["email"]:
            wrong.append(f"e-mail {email!r} is not Work's {f['email']!r}")
        if not EMAIL_RE.match(f["email"]) and email is not None:
            wrong.append(f"an invalid e-mail address reached QuickBooks: {email!r}")
    return wrong + _address_wrong(row, f.get("billing_address"))


def _check_site(run: Run, case: Case, row: dict[str, Any]) -> list[str]:
    """A site is a sub-customer "Site (Client)" (docs: flows/sites.py, ':' sent as '-', cut at 500)."""
    wrong = []
    parent = run.links.get(("client", case.fields["client_id"]))
    if (row.get("ParentRef") or {}).get("value") != parent or not row.get("Job"):
        wrong.append(f"not a sub-customer of the client's customer {parent}: {row.get('ParentRef')}")
    client_name = run.qbo["Customer"].get(parent or "", {}).get("DisplayName", "")
    if row.get("DisplayName") not in {display_name(f, client_name) for f in cleaned_forms(case.fields["name"])}:
        wrong.append(f"DisplayName {row.get('DisplayName')!r} is not '{case.fields['name']} ({client_name})'")
    return wrong + _address_wrong(row, case.fields.get("address"))


def _address_wrong(row: dict[str, Any], addr: dict[str, Any] | None) -> list[str]:
    """Each part of Work's address is one of the QuickBooks BillAddr's values (or its cleaned form)."""
    qbo_parts = set((row.get("BillAddr") or {}).values())
    missing = [v for v in (addr or {}).values() if v and not qbo_parts & cleaned_forms(v)]
    return [f"BillAddr {row.get('BillAddr')} lacks {missing}"] if missing else []


def _txn_wrong(run: Run, row: dict[str, Any], total: Any, date: str, number: str | None,
               ref: tuple[str, str, str]) -> list[str]:
    """A transaction's TotalAmt (to the cent), TxnDate, DocNumber (when Work numbers it) and its
    customer or vendor (``ref`` = QBO field, link kind, Work id) against Work's."""
    wrong = []
    if _money(row["TotalAmt"]) != _money(total):
        wrong.append(f"TotalAmt {row['TotalAmt']} is not Work's {total}")
    if row.get("TxnDate") != date:
        wrong.append(f"TxnDate {row.get('TxnDate')} is not {date}")
    if number is not None and row.get("DocNumber") != number:
        wrong.append(f"DocNumber {row.get('DocNumber')!r} is not {number!r}")
    field, kind, work_id = ref
    if (row.get(field) or {}).get("value") != run.links.get((kind, work_id)):
        wrong.append(f"{field} is not the QuickBooks record of Work's {kind} {work_id}")
    return wrong


def _check_vendor(run: Run, case: Case, row: dict[str, Any]) -> list[str]:
    wrong = []
    if not _text_ok(row.get("DisplayName"), case.fields["name"], 500):
        wrong.append(f"DisplayName {row.get('DisplayName')!r} is not Work's name {case.fields['name']!r}")
    return wrong


def _check_bill(run: Run, case: Case, row: dict[str, Any]) -> list[str]:
    rec = case.fields
    wrong = _txn_wrong(run, row, rec["total"], rec["date"], rec["number"], ("VendorRef", "vendor", rec["contractor_id"]))
    lines = row.get("Line") or []
    if [_money(q["Amount"]) for q in lines] != [_money(w["amount"]) for w in rec["lines"]]:
        wrong.append(f"line amounts {[q['Amount'] for q in lines]} are not Work's")
    for q, w in zip(lines, rec["lines"], strict=False):
        if w.get("description") and not _text_ok(q.get("Description"), w["description"], 4000):
            wrong.append(f"line description {q.get('Description')!r} is not Work's {w['description']!r}")
    return wrong


def _check_credit_or_refund(run: Run, case: Case, row: dict[str, Any]) -> list[str]:
    """A credit memo or a refund receipt: Work's amount, date, customer (and the credit's number)."""
    rec = case.fields
    return _txn_wrong(run, row, rec["amount"], rec["date"], rec.get("number"), ("CustomerRef", "client", rec["client_id"]))


def _check_item(run: Run, case: Case, row: dict[str, Any]) -> list[str]:
    wrong = []
    if not _text_ok(row.get("Name"), case.fields["name"], 100):
        wrong.append(f"Name {row.get('Name')!r} is not Work's {case.fields['name']!r}")
    if _money(row.get("UnitPrice", 0)) != _money(case.fields["unit_price"]):
        wrong.append(f"UnitPrice {row.get('UnitPrice')} is not {case.fields['unit_price']}")
    return wrong


def _check_invoice(run: Run, case: Case, row: dict[str, Any]) -> list[str]:
    rec = case.fields
    wrong = _txn_wrong(run, row, rec["total"], rec["issue_date"], rec["number"], ("CustomerRef", "client", rec["client_id"]))
    lines = [ln for ln in row.get("Line") or [] if ln.get("DetailType") == "SalesItemLineDetail"]
    if len(lines) != len(rec["lines"]):
        wrong.append(f"{len(lines)} item lines in QuickBooks, {len(rec['lines'])} in Work")
    for n, (q, w) in enumerate(zip(lines, rec["lines"], strict=False)):
        if _money(q["Amount"]) != _money(w["amount"]):
            wrong.append(f"line {n + 1}: {q['Amount']} is not {w['amount']}")
        item = run.links.get(("item", w["item_id"]))
        if q["SalesItemLineDetail"]["ItemRef"]["value"] != item:
            wrong.append(f"line {n + 1}: not Work's item")
        text = q.get("Description") or ""
        if w.get("description") and not any(text.startswith(f) for f in cleaned_forms(w["description"])):
            wrong.append(f"line {n + 1}: description {text!r} is not Work's {w['description']!r}")
    if rec.get("notes") and not _text_ok(row.get("PrivateNote"), rec["notes"], 4000):
        wrong.append(f"PrivateNote {str(row.get('PrivateNote'))[:60]!r}... is not Work's notes")
    return wrong


def _check_payment(run: Run, case: Case, row: dict[str, Any]) -> list[str]:
    rec = case.fields
    wrong = _txn_wrong(run, row, rec["amount"], rec["date"], None, ("CustomerRef", "client", rec["client_id"]))
    linked = [t["TxnId"] for ln in row.get("Line") or [] for t in ln.get("LinkedTxn") or []
              if t.get("TxnType") == "Invoice"]
    if linked != [run.links.get(("invoice", rec["invoice_id"]))]:
        wrong.append(f"applied to {linked}, not to the invoice's QuickBooks invoice")
    ref = rec.get("reference")
    if ref and row.get("PaymentRefNum") != ref and row.get("PrivateNote") != f"Reference: {ref}":
        wrong.append(f"the reference {ref!r} is neither PaymentRefNum nor the private note")
    return wrong


ENTITY = {"client": ("Customer", _check_client), "site": ("Customer", _check_site), "item": ("Item", _check_item),
          "vendor": ("Vendor", _check_vendor), "bill": ("Bill", _check_bill),
          "credit_note": ("CreditMemo", _check_credit_or_refund), "refund": ("RefundReceipt", _check_credit_or_refund),
          "invoice": ("Invoice", _check_invoice), "payment": ("Payment", _check_payment)}


def _not_in_qbo(run: Run, case: Case) -> list[str]:
    """A refused record left nothing in QuickBooks under its name, number or amount."""
    if case.kind == "client":
        hits = [r["Id"] for r in run.qbo["Customer"].values() if r.get("DisplayName") == case.label]
    elif case.kind == "site":
        parent = run.links.get(("client", case.fields["client_id"]))
        hits = [r["Id"] for r in run.qbo["Customer"].values() if parent and (r.get("ParentRef") or {}).get(
            "value") == parent and r.get("DisplayName", "").startswith(case.label) and not _other_case_owns(run, case, r)]
    elif case.kind == "item":
        hits = [r["Id"] for r in run.qbo["Item"].values() if r.get("Name") == case.label]
    elif case.kind == "vendor":
        hits = [r["Id"] for r in run.qbo["Vendor"].values() if r.get("DisplayName") == case.label]
    elif case.kind == "bill":
        hits = [r["Id"] for r in run.qbo["Bill"].values() if r.get("DocNumber") == case.label]
    elif case.kind == "credit_note":
        hits = [r["Id"] for r in run.qbo["CreditMemo"].values() if r.get("DocNumber") == case.label]
    elif case.kind == "refund":
        synced = {run.links.get(("refund", c.work_id)) for c in run.corpus.cases if c.kind == "refund"}
        hits = [r["Id"] for r in run.qbo["RefundReceipt"].values() if r["Id"] not in synced
                and _money(r["TotalAmt"]) == _money(case.fields["amount"])]
    elif case.kind == "invoice":
        linked = set(run.links.values())
        hits = [r["Id"] for r in run.qbo["Invoice"].values()
                if r.get("DocNumber") == case.label and not (r["Id"] in linked and _other_case_owns(run, case, r))]
    else:
        # (not another record's payment, nor a credit's application: a Payment of 0.00 linking a CreditMemo)
        synced = {qbo_id for (kind, _), qbo_id in run.links.items() if kind in ("payment", "credit_application")}
        customer = run.links.get(("client", case.fields["client_id"]))
        hits = [r["Id"] for r in run.qbo["Payment"].values() if r["Id"] not in synced
                and (r.get("CustomerRef") or {}).get("value") == customer
                and _money(r["TotalAmt"]) == _money(case.fields["amount"])]
    return [f"yet QuickBooks holds {case.kind} Id {h} for it" for h in hits]


def _other_case_owns(run: Run, case: Case, row: dict[str, Any]) -> bool:
    return any(run.links.get((c.kind, c.work_id)) == row["Id"] for c in run.corpus.cases
               if c.kind == case.kind and c.work_id != case.work_id)


def judge(run: Run, case: Case) -> tuple[str, list[str]]:
    """``("synced"|"problem"|"crashed"|"wrong", what is wrong)``: "crashed" when the run itself did not
    finish, "wrong" for garbage in QuickBooks or anything but exactly one problem."""
    if run.crash:
        return "crashed", [run.crash]
    # every open problem of this Work record, whatever its kind (a synced invoice with an
    # "invoice_balance" problem, a credit with a "credit_application" one, is not "synced")
    mine = [p for p in run.problems if p["work_id"] == case.work_id]
    entity, check = ENTITY[case.kind]
    qbo_id = run.links.get((case.kind, case.work_id))
    if qbo_id is not None:
        row = run.qbo[entity].get(qbo_id)
        if row is None:
            return "wrong", [f"linked to {entity} {qbo_id}, which QuickBooks does not have"]
        wrong = check(run, case, row)
        wrong += [f"{k} holds {bad_chars(s)}: {s!r}" for k, s in
                  ((k, s) for k, v in row.items() for s in _strings(v)) if bad_chars(s)]
        if mine:
            wrong.append(f"synced, yet {len(mine)} open problem(s): {[p['message'] for p in mine]}")
        if case.expect == "problem":
            wrong.append(f"it reached QuickBooks ({entity} {qbo_id}); it should have been refused with one problem")
        return ("wrong", wrong) if wrong else ("synced", [])
    wrong = _not_in_qbo(run, case)
    if len(mine) != 1:
        wrong.append(f"not synced, and {len(mine)} open problems name it (Work id {case.work_id})")
    else:
        p = mine[0]
        # named in the message, or in the record label the problem list shows first (details.record)
        record = str((p["details"] or {}).get("record") or "")
        if not "".join(ch for ch in record if not bad_chars(ch)).strip():
            record = case.work_id  # no visible name: the problem list names it by its Work id
        shown = p["message"] + " " + record
        named = (case.work_id in shown or case.label.strip()[:40] in shown
                 or (case.kind == "payment" and f"Payment of {case.fields['amount']}" in shown))
        if not named:
            wrong.append(f"the problem does not name it: {p['message']!r}")
        if not (p["hint"] or "").strip():
            wrong.append("the problem says nothing about what to do")
    return ("wrong", wrong) if wrong else ("problem", [])


# -- the tests -------------------------------------------------------------------------------------
def _case_ids() -> list[str]:
    """The ids without seeding (seeding needs the servers): the same lists ``seed`` walks."""
    import hostile_cases as hc

    return ([c[0] for c in hc.CLIENTS] + [k[0] for k in hc.CONTRACTORS] + [i[0] for i in hc.ITEMS]
            + [s[0] for s in hc.SITES] + hc.INVOICE_IDS + hc.PAYMENT_IDS + hc.CREDIT_IDS + hc.POISON_IDS
            + hc.BILL_IDS)


def test_the_corpus_has_at_least_40_cases_and_the_run_did_not_crash(corpus_run: Run) -> None:
    ids = [c.id for c in corpus_run.corpus.cases]
    assert len(ids) >= 40 and len(set(ids)) == len(ids)
    assert ids == _case_ids()
    assert corpus_run.crash is None, corpus_run.crash
    # no problem about anything but a case: a refused record troubles nothing else (e.g. no balance
    # problem on the invoice a refused payment was for)
    ours = {c.work_id for c in corpus_run.corpus.cases}
    assert [(p["kind"], p["work_id"], p["message"]) for p in corpus_run.problems if p["work_id"] not in ours] == []
    # the run's reported duration is its own (it once subtracted a read-ahead counter from the clock)
    assert 0 < corpus_run.summary.seconds <= corpus_run.wall, (corpus_run.summary.seconds, corpus_run.wall)


@pytest.mark.parametrize("case_id", _case_ids())
def test_case_synced_or_one_problem(corpus_run: Run, case_id: str) -> None:
    case = corpus_run.corpus.by_id(case_id)
    outcome, wrong = judge(corpus_run, case)
    assert outcome in ("synced", "problem"), f"{case.id} ({case.what}): {outcome}: " + "; ".join(wrong)
    if case.expect is not None:
        assert outcome == case.expect, f"{case.id} ({case.what}): {outcome}, expected {case.expect}"


def test_names_with_quotes_and_backslashes_are_found_by_a_quickbooks_query(corpus_run: Run) -> None:
    """QBO query escaping: each synced name or number with a quote, backslash or wildcard is found by
    an equality query built with the app's ``quote`` - exactly its own record."""
    checked = 0
    for case_id, ids in corpus_run.found_by_query.items():
        case = corpus_run.corpus.by_id(case_id)
        qbo_id = corpus_run.links.get((case.kind, case.work_id))
        if qbo_id is not None:
            assert ids == [qbo_id], (case_id, ids, qbo_id)
            checked += 1
    assert checked >= 6


def test_no_garbage_anywhere_in_quickbooks(corpus_run: Run) -> None:
    """Whatever the outcome of each case: no control, bidi or zero-width character in any QuickBooks
    record, no invoice with a negative or absurd total, no credit memo, refund or bill of 0.00 or less
    or absurd, no payment of 0.00 or less (but a credit's application), no date outside 1900-2100."""
    wrong = []
    for entity, rows in corpus_run.qbo.items():
        for row in rows.values():
            wrong += [f"{entity} {row['Id']}: {bad_chars(s)} in {s!r}" for s in _strings(row) if bad_chars(s)]
            if "TxnDate" in row and not "1900-01-01" <= row["TxnDate"] <= "2100-12-31":
                wrong.append(f"{entity} {row['Id']} dated {row['TxnDate']}")
    for row in corpus_run.qbo["Invoice"].values():
        if not Decimal(0) <= Decimal(str(row["TotalAmt"])) < Decimal("1e12"):
            wrong.append(f"Invoice {row['Id']} ({row.get('DocNumber')}) totals {row['TotalAmt']}")
    for entity in ("CreditMemo", "RefundReceipt", "Bill"):
        for row in corpus_run.qbo[entity].values():
            if not Decimal(0) < Decimal(str(row["TotalAmt"])) < Decimal("1e12"):
                wrong.append(f"{entity} {row['Id']} ({row.get('DocNumber')}) totals {row['TotalAmt']}")
    for row in corpus_run.qbo["Payment"].values():
        credit_use = any(t.get("TxnType") == "CreditMemo" for ln in row.get("Line") or []
                         for t in ln.get("LinkedTxn") or [])
        if Decimal(str(row["TotalAmt"])) <= 0 and not credit_use:
            wrong.append(f"Payment {row['Id']} of {row['TotalAmt']}")
    assert not wrong, wrong


def test_a_second_sync_with_nothing_changed_sends_nothing_and_raises_nothing_new(corpus_run: Run) -> None:
    """Cleaned and refused records are stable: a cleaned name is not re-sent on every run (its
    fingerprint is of the cleaned body), and a refused one keeps its one problem without a new one."""
    assert corpus_run.second is not None and corpus_run.second.state == "done", corpus_run.second
    assert corpus_run.second_writes == 0
    assert [(p["id"], p["message"]) for p in corpus_run.problems_after_second] == [
        (p["id"], p["message"]) for p in corpus_run.problems]
