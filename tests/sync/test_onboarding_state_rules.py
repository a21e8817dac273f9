"""The seed's state rules over HTTP: QuickBooks customers without a State import with the Work
company's default when "Use default state" is on; off, the record fails with exactly the seed's
message and imports once the user adds the State or turns the option on. Sub-customers become sites
with their parent's State/Country when that option is on, and a clear problem otherwise."""

from __future__ import annotations

from fixtures.two_way import engine, qbo_customer, with_settings, work_client

from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.problems import Problem

SEED_MESSAGE = (
    "The Client record has an unknown State of Country <United States>. Please add a State to the "
    "QuickBooks record or enable the 'Use default State' in the Work Sync settings and synchronize again."
)
NO_STATE = "Jenna Morales"  # seeded in QuickBooks without a State (Country USA)


def _open_problem_for(qbo_id: str) -> Problem | None:
    return Problem.get_or_none((Problem.kind == "client") & (Problem.work_id == f"qbo:{qbo_id}")
                               & (Problem.state == "open"))


def test_default_state_fills_the_gap(clients_workspace, practice) -> None:
    assert engine(clients_workspace).run(initial=True).ok
    client = work_client(practice, NO_STATE)
    default = practice.work.store.company()["default_state"]
    assert client["billing_address"]["state"] == default
    assert client["billing_address"]["city"] == "Hood River"
    # QuickBooks is not changed by the fill-in: the default is Work's, not the customer's real State
    assert "CountrySubDivisionCode" not in qbo_customer(practice, NO_STATE)["BillAddr"]


def test_without_default_state_the_seed_message_then_import_after_adding_the_state(clients_workspace,
                                                                                   practice) -> None:
    with_settings(clients_workspace, use_default_state=False)
    eng = engine(clients_workspace)
    assert eng.run(initial=True).ok
    q = qbo_customer(practice, NO_STATE)
    problem = _open_problem_for(q["Id"])
    assert problem is not None
    assert problem.message == SEED_MESSAGE
    assert "Use default state" in problem.hint
    assert not [c for c in practice.work.store.all("clients") if c["name"] == NO_STATE]

    practice.qbo.user.update_customer(q["Id"], BillAddr={**q["BillAddr"], "CountrySubDivisionCode": "OR"})
    assert eng.run().ok
    assert work_client(practice, NO_STATE)["billing_address"]["state"] == "OR"
    assert _open_problem_for(q["Id"]) is None


def test_without_default_state_the_record_imports_after_turning_the_option_on(clients_workspace,
                                                                              practice) -> None:
    with_settings(clients_workspace, use_default_state=False)
    eng = engine(clients_workspace)
    assert eng.run(initial=True).ok
    q = qbo_customer(practice, NO_STATE)
    assert _open_problem_for(q["Id"]) is not None
    assert eng.run().ok  # seen again: still one problem, nothing imported
    assert Problem.select().where(Problem.work_id == f"qbo:{q['Id']}").count() == 1

    with_settings(clients_workspace, use_default_state=True)
    assert eng.run().ok
    assert work_client(practice, NO_STATE)["billing_address"]["state"] == practice.work.store.company()["default_state"]
    assert _open_problem_for(q["Id"]) is None


def _accept_all(eng) -> None:
    for p in eng.matches():
        if p.kind == "client" and p.state == "proposed":
            try:
                eng.accept_match(p.id)
            except Exception:  # a record already taken by another accepted proposal
                pass


def test_sub_customers_become_sites_with_the_parents_state(clients_workspace, practice) -> None:
    with_settings(clients_workspace, sites=True, sites_use_client_address=True)
    eng = engine(clients_workspace)
    _accept_all(eng)
    assert eng.run(initial=True).ok
    sites = {s["name"]: s for s in practice.work.store.all("sites")}
    warehouse = sites["Maple Street Bakery - Warehouse"]  # no State in QuickBooks; parent is in OR
    assert warehouse["address"]["state"] == "OR"
    assert warehouse["address"]["city"] == "Salem"
    assert warehouse["client_id"] == work_client(practice, "Maple St. Bakery")["id"]
    elm = sites["12 Elm Court"]  # parent imported in the same run
    assert elm["client_id"] == work_client(practice, "Oakridge Property Management")["id"]
    # the client's existing Work site with the sub-customer's name is linked, not duplicated
    assert [s["name"] for s in practice.work.store.all("sites")].count("Clubhouse") == 1
    club = Link.get((Link.kind == "site") & (Link.qbo_id == qbo_customer(practice, "Clubhouse")["Id"]))
    assert club.origin == "matched"
    # Work's own sites of linked clients became sub-customers of their client's customer
    created = list(Link.select().where((Link.kind == "site") & (Link.origin == "created")))
    assert created
    for link in created:
        site = practice.work.store.get("sites", link.work_id)
        sub = practice.qbo.store.get("Customer", link.qbo_id)
        parent_link = Link.get((Link.kind == "client") & (Link.work_id == site["client_id"]))
        assert sub["Job"] is True and sub["ParentRef"]["value"] == parent_link.qbo_id
        assert site["name"] in sub["DisplayName"]


def test_without_the_parent_option_a_site_without_state_is_a_clear_problem(clients_workspace, practice) -> None:
    with_settings(clients_workspace, sites=True, sites_use_client_address=False)
    eng = engine(clients_workspace)
    _accept_all(eng)
    assert eng.run(initial=True).ok
    q = qbo_customer(practice, "Maple Street Bakery - Warehouse")
    problem = Problem.get((Problem.kind == "site") & (Problem.work_id == f"qbo:{q['Id']}"))
    assert "Maple Street Bakery - Warehouse" in problem.message and "unknown State" in problem.message
    assert "Use Client state/country when creating Client Sites in Work" in problem.hint
    assert "Maple Street Bakery - Warehouse" not in {s["name"] for s in practice.work.store.all("sites")}


def test_sites_stop_syncing_after_onboarding(clients_workspace, practice) -> None:
    with_settings(clients_workspace, sites=True)
    eng = engine(clients_workspace)
    assert eng.run(initial=True).ok
    parent = qbo_customer(practice, "Oakridge Property Management")
    practice.qbo.user.create("Customer", {"DisplayName": "77 Spruce Way", "Job": True, "BillWithParent": True,
                                          "ParentRef": {"value": parent["Id"]},
                                          "BillAddr": {"City": "Gresham", "CountrySubDivisionCode": "OR"}})
    client = work_client(practice, "Oakridge Property Management")
    practice.work.user.add_site(client["id"], "Back Lot")
    sites_before = len(practice.work.store.all("sites"))

    summary = eng.run()

    assert summary.ok and "sites" not in summary.counts
    assert len(practice.work.store.all("sites")) == sites_before
    assert not [c for c in practice.qbo.store.all("Customer") if "Back Lot" in c["DisplayName"]]


def test_enable_again_after_onboarding_brings_no_sites_back(clients_workspace, practice) -> None:
    with_settings(clients_workspace, sites=True)
    eng = engine(clients_workspace)
    assert eng.run(initial=True).ok
    clients_workspace.mark_onboarding_done()
    client = work_client(practice, "Oakridge Property Management")
    practice.work.user.add_site(client["id"], "Back Lot")

    summary = eng.run(initial=True)

    assert summary.ok and "sites" not in summary.counts
    assert "sites" not in eng.preview().counts()
    assert not [c for c in practice.qbo.store.all("Customer") if "Back Lot" in c["DisplayName"]]
