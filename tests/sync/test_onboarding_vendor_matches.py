"""Match review covers contractors too: a QuickBooks vendor that is a Work contractor under a slightly
different name is proposed, and once accepted the contractor is linked to it (add-only: the vendor is
not edited) instead of a second vendor being created."""

from __future__ import annotations

from fixtures.two_way import engine

from qbosync_desktop.store.models.links import Link


def test_an_accepted_vendor_match_creates_no_second_vendor(configured_workspace, practice) -> None:
    vendor = practice.qbo.user.create("Vendor", {"DisplayName": "Marquez HVAC, Inc.", "CompanyName": "Marquez HVAC",
                                                 "PrimaryPhone": {"FreeFormNumber": "720-555-0144"}})
    eng = engine(configured_workspace)
    (p,) = [m for m in eng.matches() if m.kind == "vendor" and m.qbo_id == str(vendor["Id"])]
    assert p.work_name == "Sofia Marquez" and "same company" in p.reason.lower() and p.state == "proposed"

    # undecided: the contractor is held, so no second vendor appears meanwhile
    assert eng.run(initial=True).ok
    assert "Sofia Marquez" not in [v["DisplayName"] for v in practice.qbo.store.all("Vendor")]

    eng.accept_match(p.id)
    assert eng.run().ok

    link = Link.get((Link.kind == "vendor") & (Link.qbo_id == str(vendor["Id"])))
    assert link.origin == "matched" and link.work_id == p.work_id
    names = [v["DisplayName"] for v in practice.qbo.store.all("Vendor")]
    assert "Sofia Marquez" not in names
    assert practice.qbo.store.get("Vendor", vendor["Id"])["SyncToken"] == vendor["SyncToken"]  # not edited
