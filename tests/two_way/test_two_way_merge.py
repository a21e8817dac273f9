"""Three-way merge: one-side changes flow, both-sides changes follow the policy, "ask" records a
conflict and overwrites nothing, and a standing difference in representation never ping-pongs."""

from __future__ import annotations

import pytest

from qbosync_desktop.sync.clients.merge import FieldConflict, merge, resolve

BASE = {"name": "Ann Lee", "email": "ann@x.example", "phone": "555-010-2233", "city": "Springfield", "active": True}


def _m(work: dict, qbo: dict, policy: str = "ask", base_work: dict | None = BASE, base_qbo: dict | None = BASE):
    return merge(work, qbo, base_work=base_work, base_qbo=base_qbo, policy=policy)


def test_no_change_writes_nothing() -> None:
    res = _m(dict(BASE), dict(BASE))
    assert not res.changed and not res.conflicts
    assert res.base_work == BASE and res.base_qbo == BASE


def test_a_change_on_one_side_flows_to_the_other() -> None:
    res = _m({**BASE, "city": "Shelbyville"}, dict(BASE))
    assert res.to_qbo == {"city": "Shelbyville"} and res.to_work == {}
    res = _m(dict(BASE), {**BASE, "email": "ann@new.example"})
    assert res.to_work == {"email": "ann@new.example"} and res.to_qbo == {}
    assert res.base_work["email"] == res.base_qbo["email"] == "ann@new.example"


def test_different_fields_changed_on_each_side_both_flow() -> None:
    res = _m({**BASE, "city": "Shelbyville"}, {**BASE, "email": "ann@new.example"})
    assert res.to_qbo == {"city": "Shelbyville"}
    assert res.to_work == {"email": "ann@new.example"}
    assert not res.conflicts


@pytest.mark.parametrize(("policy", "winner_value"), [("work", "Shelbyville"), ("quickbooks", "Capital City")])
def test_same_field_changed_on_both_sides_follows_the_policy(policy: str, winner_value: str) -> None:
    res = _m({**BASE, "city": "Shelbyville"}, {**BASE, "city": "Capital City"}, policy=policy)
    assert not res.conflicts
    assert res.decided == [("city", policy)]
    assert res.base_work["city"] == res.base_qbo["city"] == winner_value
    if policy == "work":
        assert res.to_qbo == {"city": "Shelbyville"} and res.to_work == {}
    else:
        assert res.to_work == {"city": "Capital City"} and res.to_qbo == {}


def test_ask_records_a_conflict_and_overwrites_nothing() -> None:
    res = _m({**BASE, "city": "Shelbyville", "email": "w@x.example"}, {**BASE, "city": "Capital City"})
    assert res.conflicts == [FieldConflict("city", "Shelbyville", "Capital City", "Springfield")]
    assert "city" not in res.to_qbo and "city" not in res.to_work
    assert res.to_qbo == {"email": "w@x.example"}  # the unrelated change still flows
    # the conflicted field keeps its old base, so the next merge still sees it as a conflict
    assert res.base_work["city"] == res.base_qbo["city"] == "Springfield"
    again = _m({**BASE, "city": "Shelbyville"}, {**BASE, "city": "Capital City"}, base_work=res.base_work,
               base_qbo=res.base_qbo)
    assert [c.field for c in again.conflicts] == ["city"]


def test_the_same_new_value_on_both_sides_is_not_a_conflict() -> None:
    res = _m({**BASE, "city": "Shelbyville"}, {**BASE, "city": "shelbyville "})
    assert not res.conflicts and not res.changed


def test_a_conflict_resolves_either_way() -> None:
    c = FieldConflict("city", "Shelbyville", "Capital City", "Springfield")
    assert resolve(c, "work") == ({}, {"city": "Shelbyville"})
    assert resolve(c, "quickbooks") == ({"city": "Capital City"}, {})
    with pytest.raises(ValueError):
        resolve(c, "both")


def test_inactive_flows_both_ways() -> None:
    res = _m(dict(BASE), {**BASE, "active": False})
    assert res.to_work == {"active": False}
    res = _m({**BASE, "active": False}, dict(BASE))
    assert res.to_qbo == {"active": False}


def test_a_standing_representation_difference_does_not_ping_pong() -> None:
    base_w = {"name": "Brightside Dental", "phone": "555-010-2233"}
    base_q = {"name": "Brightside Dental LLC", "phone": "(555) 010-2233"}
    res = merge(dict(base_w), dict(base_q), base_work=base_w, base_qbo=base_q, policy="ask")
    assert not res.changed and not res.conflicts
    # a real change on the QuickBooks side still flows
    res = merge(dict(base_w), {**base_q, "name": "Brightside Family Dental LLC"}, base_work=base_w,
                base_qbo=base_q, policy="ask")
    assert res.to_work == {"name": "Brightside Family Dental LLC"}


def test_a_freshly_matched_pair_fills_gaps_and_asks_about_real_differences() -> None:
    work = {"name": "Carlos Nunez", "email": "", "phone": "555 111 2222", "city": "Austin"}
    qbo = {"name": "Carlos Núñez", "email": "carlos@x.example", "phone": "", "city": "Dallas"}
    res = merge(work, qbo, base_work=None, base_qbo=None, policy="ask")
    assert res.to_work == {"email": "carlos@x.example"}
    assert res.to_qbo == {"phone": "555 111 2222"}
    assert [c.field for c in res.conflicts] == ["city"]
    assert "name" not in res.to_work and "name" not in res.to_qbo  # equivalent names are left alone
    res = merge(work, qbo, base_work=None, base_qbo=None, policy="quickbooks")
    assert res.to_work == {"email": "carlos@x.example", "city": "Dallas"}


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError):
        _m(dict(BASE), dict(BASE), policy="newest")
