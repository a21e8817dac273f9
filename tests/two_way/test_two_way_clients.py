"""Two-way clients over HTTP against both practice servers: a change on either side propagates within
one sync, simultaneous edits follow each policy, an "ask me" conflict resolves either way, and
inactive flows both ways. Edits are made through the servers' "as a user would" handles."""

from __future__ import annotations

import pytest
from fixtures.two_way import engine, qbo_customer, with_settings, work_client

from qbosync_desktop.store.models.conflicts import Conflict

# An imported customer (not in the Work demo data), and a client Work sent to QuickBooks.
IMPORTED = "Harbor View Apartments"
SENT = "Hank Rivera"


@pytest.fixture
def enabled(clients_workspace, practice, shared_practice, memory_keyring):
    """After the first sync (run in the module's first test, restored in the others)."""
    eng = engine(clients_workspace)
    shared_practice.reach("clients-enabled", clients_workspace, memory_keyring, lambda: _first_sync(eng))
    return eng


def _first_sync(eng) -> None:
    assert eng.run(initial=True).ok


def test_a_change_on_each_side_propagates_within_one_sync(enabled, practice) -> None:
    w = work_client(practice, IMPORTED)
    q = qbo_customer(practice, SENT)
    practice.work.user.edit_client(w["id"], email="leasing@harborview.example.com")
    practice.qbo.user.update_customer(q["Id"], PrimaryPhone={"FreeFormNumber": "(720) 555-0199"})

    summary = enabled.run()

    assert summary.ok
    assert qbo_customer(practice, IMPORTED)["PrimaryEmailAddr"]["Address"] == "leasing@harborview.example.com"
    assert work_client(practice, SENT)["phone"] == "(720) 555-0199"
    # ... and QuickBooks kept it (the outbound phase did not push the client's old values back)
    assert qbo_customer(practice, SENT)["PrimaryPhone"]["FreeFormNumber"] == "(720) 555-0199"
    # nothing else was lost on either record
    assert work_client(practice, IMPORTED)["billing_address"]["city"] == "Seattle"
    assert qbo_customer(practice, SENT)["DisplayName"] == SENT


def test_different_fields_changed_on_both_sides_both_survive(enabled, practice) -> None:
    w = work_client(practice, IMPORTED)
    q = qbo_customer(practice, IMPORTED)
    practice.work.user.edit_client(w["id"], phone="(206) 555-7000")
    practice.qbo.user.update_customer(q["Id"], PrimaryEmailAddr={"Address": "office@harborview.example.com"})

    assert enabled.run().ok

    w2, q2 = work_client(practice, IMPORTED), qbo_customer(practice, IMPORTED)
    assert w2["phone"] == q2["PrimaryPhone"]["FreeFormNumber"] == "(206) 555-7000"
    assert w2["email"] == q2["PrimaryEmailAddr"]["Address"] == "office@harborview.example.com"
    assert not Conflict.select().where(Conflict.state == "open").count() or all(
        c.label != IMPORTED for c in Conflict.select())


@pytest.mark.parametrize("policy", ["work", "quickbooks"])
def test_simultaneous_edits_follow_the_policy(enabled, clients_workspace, practice, policy: str) -> None:
    with_settings(clients_workspace, conflict_policy=policy)
    w = work_client(practice, IMPORTED)
    q = qbo_customer(practice, IMPORTED)
    practice.work.user.edit_client(w["id"], email="work-side@harborview.example.com")
    practice.qbo.user.update_customer(q["Id"], PrimaryEmailAddr={"Address": "qbo-side@harborview.example.com"})

    assert enabled.run().ok

    expected = f"{'work' if policy == 'work' else 'qbo'}-side@harborview.example.com"
    assert work_client(practice, IMPORTED)["email"] == expected
    assert qbo_customer(practice, IMPORTED)["PrimaryEmailAddr"]["Address"] == expected
    assert not Conflict.select().where(Conflict.work_id == w["id"]).exists()


@pytest.mark.parametrize("keep", ["work", "quickbooks"])
def test_ask_me_records_a_conflict_that_resolves_either_way(enabled, practice, keep: str) -> None:
    w = work_client(practice, IMPORTED)
    q = qbo_customer(practice, IMPORTED)
    practice.work.user.edit_client(w["id"], email="work-side@harborview.example.com")
    practice.qbo.user.update_customer(q["Id"], PrimaryEmailAddr={"Address": "qbo-side@harborview.example.com"})

    assert enabled.run().ok

    # nothing overwritten silently: each side keeps its own value, the conflict holds both
    assert work_client(practice, IMPORTED)["email"] == "work-side@harborview.example.com"
    assert qbo_customer(practice, IMPORTED)["PrimaryEmailAddr"]["Address"] == "qbo-side@harborview.example.com"
    (conflict,) = [c for c in enabled.conflicts() if c["work_id"] == w["id"]]
    assert conflict["field"] == "email"
    assert conflict["work_value"] == "work-side@harborview.example.com"
    assert conflict["qbo_value"] == "qbo-side@harborview.example.com"
    # a second sync neither overwrites nor duplicates the conflict
    assert enabled.run().ok
    assert len([c for c in enabled.conflicts() if c["work_id"] == w["id"]]) == 1

    enabled.resolve(conflict["id"], keep)
    assert enabled.run().ok

    expected = f"{'work' if keep == 'work' else 'qbo'}-side@harborview.example.com"
    assert work_client(practice, IMPORTED)["email"] == expected
    assert qbo_customer(practice, IMPORTED)["PrimaryEmailAddr"]["Address"] == expected
    assert not [c for c in enabled.conflicts() if c["work_id"] == w["id"]]
    # settled: the next sync changes nothing
    before = (work_client(practice, IMPORTED)["version"], qbo_customer(practice, IMPORTED)["SyncToken"])
    assert enabled.run().ok
    assert (work_client(practice, IMPORTED)["version"], qbo_customer(practice, IMPORTED)["SyncToken"]) == before


def test_inactive_propagates_both_ways(enabled, practice) -> None:
    q = qbo_customer(practice, IMPORTED)
    practice.qbo.user.set_active("Customer", q["Id"], False)
    w = work_client(practice, SENT)
    practice.work.user.deactivate_client(w["id"])

    assert enabled.run().ok

    assert work_client(practice, IMPORTED)["active"] is False
    sent = [c for c in practice.qbo.store.all("Customer") if c["DisplayName"] == SENT]
    assert len(sent) == 1 and sent[0]["Active"] is False

    practice.qbo.user.set_active("Customer", q["Id"], True)
    assert enabled.run().ok
    assert work_client(practice, IMPORTED)["active"] is True


def test_a_rename_flows_and_a_name_quickbooks_refuses_is_a_problem(enabled, practice) -> None:
    from qbosync_desktop.store.models.problems import Problem

    w = work_client(practice, IMPORTED)
    q = qbo_customer(practice, IMPORTED)
    practice.work.user.edit_client(w["id"], name="Harbor View Apartment Homes")
    assert enabled.run().ok
    assert practice.qbo.store.get("Customer", q["Id"])["DisplayName"] == "Harbor View Apartment Homes"

    practice.work.user.edit_client(w["id"], name="Harbor View: Building A")
    assert enabled.run().ok
    assert practice.qbo.store.get("Customer", q["Id"])["DisplayName"] == "Harbor View Apartment Homes"
    problem = Problem.get((Problem.work_id == w["id"]) & (Problem.state == "open"))
    assert "colon" in problem.message and "Rename" in problem.hint

    practice.work.user.edit_client(w["id"], name="Harbor View - Building A")
    assert enabled.run().ok
    assert practice.qbo.store.get("Customer", q["Id"])["DisplayName"] == "Harbor View - Building A"
    assert not Problem.select().where((Problem.work_id == w["id"]) & (Problem.state == "open")).exists()
