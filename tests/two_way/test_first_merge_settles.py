"""Issue 15 part 4: a client matched at onboarding whose fields differ is settled once, by the person's
Review answer, so a baseline exists after Enable and later QuickBooks edits reach Work - and any
conflict still open is counted in every run's summary."""

from __future__ import annotations

from fixtures.qbo_sandbox import qbo_session
from fixtures.two_way import engine, with_settings

from qbosync_desktop.connectors.work.client import WorkClient
from qbosync_desktop.store.models.conflicts import Conflict
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.sync.clients import settle


def _accept_all(eng) -> None:
    for p in eng.matches():
        if p.kind == "client" and p.state == "proposed":
            eng.accept_match(p.id)


def _work(practice) -> WorkClient:
    return WorkClient(practice.work_config.base_url, practice.work_config.api_key)


def _ann(practice):
    (ann,) = [c for c in _work(practice).clients() if c.name == "Ann Lee"]
    return ann


def test_review_answer_settles_the_first_merge_and_a_quickbooks_phone_edit_reaches_work(
        clients_workspace, practice) -> None:
    eng = engine(clients_workspace)
    _accept_all(eng)
    ann = _ann(practice)
    link_q = next(p.qbo_id for p in eng.matches() if p.work_id == ann.id)
    with qbo_session(practice.qbo) as http:
        q_before = http.get(f"{http.company_url}/customer/{link_q}").json()["Customer"]
    assert ann.phone != q_before["PrimaryPhone"]["FreeFormNumber"], "the seed's matched pair differs"
    # The person's Review answer: phone and address from QuickBooks (the defaults), email from Work.
    settle.save(groups={"email": "work"})

    summary = eng.run(initial=True)
    assert summary.ok and summary.open_conflicts == 0, summary.counts
    assert not Conflict.select().where(Conflict.state == "open").exists()
    assert _ann(practice).phone == q_before["PrimaryPhone"]["FreeFormNumber"]

    # A QuickBooks edit of the phone now reaches Work on the next sync (read over Work's REST API).
    practice.qbo.user.update_customer(link_q, PrimaryPhone={"FreeFormNumber": "(503) 555-0199"})
    s = eng.run()
    assert s.ok and s.counts.get("customers", {}).get("updated") == 1, s.counts
    assert _ann(practice).phone == "(503) 555-0199"
    assert Link.get(kind="client", work_id=ann.id).qbo_id == link_q


def test_open_conflicts_are_counted_in_every_run(clients_workspace, practice) -> None:
    eng = engine(clients_workspace)
    _accept_all(eng)
    # Ask-me on a field edited in both places after the baseline: one conflict stays open.
    assert eng.run(initial=True).ok
    with_settings(clients_workspace, conflict_policy="ask")
    ann = _ann(practice)
    qid = Link.get(kind="client", work_id=ann.id).qbo_id
    practice.work.user.edit_client(ann.id, email="work-side@example.com")
    practice.qbo.user.update_customer(qid, PrimaryEmailAddr={"Address": "qbo-side@example.com"})
    first = eng.run()
    assert first.open_conflicts == 1 and first.to_dict()["open_conflicts"] == 1
    again = eng.run()  # nothing new happened: the conflict is still reported, never `counts {}` alone
    assert again.open_conflicts == 1
