"""Issue 15 part 4: a client linked by name in the outbound phase (not at onboarding review) never lets
QuickBooks' differing values reach Work unasked."""

from __future__ import annotations

from typing import Any

from fixtures.qbo_sandbox import qbo_session
from fixtures.two_way import engine

from qbosync_desktop.connectors.work.client import WorkClient
from qbosync_desktop.store.models.conflicts import Conflict
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.sync.clients import settle
from qbosync_desktop.sync.engine import Observer


class _Bookkeeper(Observer):
    """Adds the customer in QuickBooks while the sync runs, after the customers phase read QuickBooks
    and before the outbound clients phase looks names up."""

    def __init__(self, practice: Any) -> None:
        self.practice = practice
        self.qbo_id: str | None = None

    def phase(self, entity: str, done: int, total: int) -> None:
        if entity == "customers" and self.qbo_id is None:
            self.qbo_id = str(self.practice.qbo.user.create("Customer", {
                "DisplayName": "Zed Quarry Supply", "PrimaryPhone": {"FreeFormNumber": "(303) 555-0999"}})["Id"])


def _setup(clients_workspace: Any, practice: Any) -> tuple[Any, dict[str, Any], str]:
    """Onboarded; then a Work client is added while a bookkeeper adds the same customer in QuickBooks
    with another phone: the outbound phase links the two by name."""
    eng = engine(clients_workspace)
    for p in eng.matches():
        if p.kind == "client" and p.state == "proposed":
            eng.accept_match(p.id)
    assert eng.run(initial=True).ok
    w = practice.work.user.add_client(name="Zed Quarry Supply", phone="(303) 555-0100", email="work@zed.example")
    bk = _Bookkeeper(practice)
    s = eng.run(observer=bk)
    assert s.ok and s.counts.get("clients") == {"linked": 1}, s.counts
    assert bk.qbo_id is not None
    link = Link.get(kind="client", work_id=w["id"])
    assert (link.qbo_id, link.origin) == (bk.qbo_id, "linked_by_name")
    return eng, w, bk.qbo_id


def _work_phone(practice: Any, wid: str) -> str | None:
    return WorkClient(practice.work_config.base_url, practice.work_config.api_key).get_client(wid).phone


def _qbo_customer(practice: Any, qid: str) -> dict[str, Any]:
    with qbo_session(practice.qbo) as http:
        return http.get(f"{http.company_url}/customer/{qid}").json()["Customer"]


def test_a_client_linked_by_name_asks_instead_of_taking_quickbooks_values(clients_workspace, practice) -> None:
    eng, w, qid = _setup(clients_workspace, practice)
    # The next sync merges the pair for the first time: the differing phone is a conflict, counted;
    # neither side is overwritten (read back over both REST APIs).
    s = eng.run()
    assert s.ok and s.open_conflicts == 1 and s.to_dict()["open_conflicts"] == 1, (s.counts, s.open_conflicts)
    (c,) = Conflict.select().where((Conflict.work_id == w["id"]) & (Conflict.state == "open"))
    assert c.field == "phone"
    assert _work_phone(practice, w["id"]) == "(303) 555-0100"
    assert _qbo_customer(practice, qid)["PrimaryPhone"]["FreeFormNumber"] == "(303) 555-0999"
    # A later QuickBooks edit of another field does not carry the phone into Work either.
    practice.qbo.user.update_customer(qid, CompanyName="Zed Quarry Supply LLC")
    s = eng.run()
    assert s.ok and s.open_conflicts == 1, (s.counts, s.open_conflicts)
    assert _work_phone(practice, w["id"]) == "(303) 555-0100"
    assert WorkClient(practice.work_config.base_url, practice.work_config.api_key).get_client(
        w["id"]).company_name == "Zed Quarry Supply LLC"  # the one real QuickBooks change reached Work


def test_a_record_answer_settles_a_client_linked_by_name(clients_workspace, practice) -> None:
    eng, w, qid = _setup(clients_workspace, practice)
    # The person answers for this record (Review / --settle-record): phone from QuickBooks.
    settle.save(records={w["id"]: {"phone": "quickbooks"}})
    s = eng.run()
    assert s.ok and s.open_conflicts == 0, (s.counts, s.open_conflicts)
    assert _work_phone(practice, w["id"]) == "(303) 555-0999"
    # from then on a QuickBooks phone edit reaches Work by the normal merge
    practice.qbo.user.update_customer(qid, PrimaryPhone={"FreeFormNumber": "(303) 555-0123"})
    assert eng.run().ok
    assert _work_phone(practice, w["id"]) == "(303) 555-0123"
