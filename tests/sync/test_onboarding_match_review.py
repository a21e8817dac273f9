"""Match review over HTTP on the demo data: the seeded near-matches are proposed with a score and a
reason, unambiguous exact ones pre-accepted, and after accepting the first sync creates no second
customer (or client) for any of them. A rejected proposal syncs both records on their own."""

from __future__ import annotations

from fixtures.two_way import engine, qbo_customers, work_clients

from qbosync_desktop.store.models.links import Link

SEEDED = {
    "Ann Lee": "Ann Lee",
    "Brightside Dental": "Brightside Dental LLC",
    "Carlos Nunez": "Carlos Núñez",
    "Green Valley H.O.A.": "Green Valley HOA",
    "Maple St. Bakery": "Maple Street Bakery",
}


def _by_pair(proposals) -> dict[tuple[str, str], object]:
    return {(p.work_name, p.qbo_name): p for p in proposals if p.kind == "client"}


def test_the_seeded_near_matches_are_proposed(clients_workspace, practice) -> None:
    proposals = engine(clients_workspace).matches()
    pairs = _by_pair(proposals)
    for work_name, qbo_name in SEEDED.items():
        p = pairs[(work_name, qbo_name)]
        assert p.score >= 50 and p.reason
    # exact and unambiguous: pre-accepted; the others wait for the person
    assert pairs[("Ann Lee", "Ann Lee")].state == "accepted"
    assert pairs[("Carlos Nunez", "Carlos Núñez")].state == "accepted"
    assert "accents" in pairs[("Carlos Nunez", "Carlos Núñez")].reason
    assert pairs[("Brightside Dental", "Brightside Dental LLC")].state == "proposed"
    # a refresh keeps decisions and adds no duplicates
    again = engine(clients_workspace).matches()
    assert len(again) == len(proposals)


def test_accepted_matches_create_no_second_customer(clients_workspace, practice) -> None:
    eng = engine(clients_workspace)
    for p in eng.matches():
        if p.kind == "client" and p.state == "proposed" and SEEDED.get(p.work_name) == p.qbo_name:
            eng.accept_match(p.id)

    assert eng.run(initial=True).ok
    assert eng.run().ok

    for work_name, qbo_name in SEEDED.items():
        # one record per side for each pair (the helpers compare names the way matching does)
        assert len(qbo_customers(practice, qbo_name)) == 1, qbo_name
        assert len(work_clients(practice, work_name)) == 1, work_name
        (wc,) = work_clients(practice, work_name)
        (qc,) = qbo_customers(practice, qbo_name)
        link = Link.get((Link.kind == "client") & (Link.work_id == wc["id"]))
        assert link.qbo_id == str(qc["Id"]) and link.origin == "matched"


def test_undecided_matches_hold_both_records(clients_workspace, practice) -> None:
    eng = engine(clients_workspace)
    assert eng.run(initial=True).ok
    assert eng.run().ok
    # neither created next to "Brightside Dental LLC" in QuickBooks nor imported next to the client
    assert [c["DisplayName"] for c in qbo_customers(practice, "Brightside Dental")] == ["Brightside Dental LLC"]
    assert [c["name"] for c in work_clients(practice, "Brightside Dental LLC")] == ["Brightside Dental"]


def test_a_rejected_match_syncs_both_records_on_their_own(clients_workspace, practice) -> None:
    eng = engine(clients_workspace)
    (p,) = [p for p in eng.matches() if p.work_name == "Brightside Dental"]
    eng.reject_match(p.id)
    assert eng.run(initial=True).ok
    assert sorted(c["DisplayName"] for c in qbo_customers(practice, "Brightside Dental")) == [
        "Brightside Dental", "Brightside Dental LLC"]
    assert sorted(c["name"] for c in work_clients(practice, "Brightside Dental")) == [
        "Brightside Dental", "Brightside Dental LLC"]
    assert engine(clients_workspace).matches()  # still listed, with its decision
    assert [m.state for m in eng.matches() if m.id == p.id] == ["rejected"]


def test_one_qbo_customer_cannot_be_accepted_for_two_clients(clients_workspace, practice) -> None:
    import pytest

    from qbosync_desktop.core.errors import ConfigurationError
    from qbosync_desktop.store.models.onboarding import MatchProposal

    eng = engine(clients_workspace)
    (ann,) = [p for p in eng.matches() if p.work_name == "Ann Lee"]
    other = MatchProposal.create(kind="client", work_id="cl_999", qbo_id=ann.qbo_id, work_name="Ann  Lee",
                                 qbo_name="Ann Lee", score=90, reason="test", state="proposed")
    with pytest.raises(ConfigurationError):
        eng.accept_match(other.id)


def test_a_customer_added_later_in_quickbooks_is_matched_not_imported_twice(clients_workspace, practice) -> None:
    eng = engine(clients_workspace)
    assert eng.run(initial=True).ok
    # "Smith: Residential" cannot go to QuickBooks (colon); the accountant adds it there by hand
    (smith,) = work_clients(practice, "Smith: Residential")
    practice.qbo.user.create("Customer", {"DisplayName": "Smith Residential"})

    assert eng.run().ok

    assert len(work_clients(practice, "Smith Residential")) == 1  # no second client imported
    link = Link.get((Link.kind == "client") & (Link.work_id == smith["id"]))
    assert link.origin == "matched"
    assert link.qbo_id == str(qbo_customers(practice, "Smith Residential")[0]["Id"])
