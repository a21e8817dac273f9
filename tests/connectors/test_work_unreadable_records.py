"""Issue 16: a Work record that does not parse is set aside by itself (field, value, reason) and the
list reads on; the run is never told "Work had a temporary problem" for it.

Real HTTP against the Work demo server. Malformed values go in through ``WorkStore.bulk_edit``, which
writes patches without the API's checks (the API rightly refuses them): test-only, see
docs/work-api.md, "Malformed records".
"""

from __future__ import annotations

from typing import Any

import pytest

CASES = [
    ("invoices", {"issue_date": "2026-02-30"}, "issue_date", "2026-02-30"),  # invalid date
    ("invoices", {"due_date": 20260301}, "due_date", 20260301),  # wrong type
    ("invoices", {"status": "archived"}, "status", "archived"),  # unknown enum value
    ("invoices", {"discount_amount": "12,50"}, "discount_amount", "12,50"),  # non-numeric money
    ("invoices", {"total": "NaN"}, "total", "NaN"),  # not a finite amount
    ("payments", {"amount": "ten"}, "amount", "ten"),
    ("payments", {"date": "2026-13-01"}, "date", "2026-13-01"),
    ("payments", {"status": "pending"}, "status", "pending"),
    ("clients", {"active": "no"}, "active", "no"),  # a flag as text: bool("no") would have been True
    ("items", {"active": 0}, "active", 0),
    ("invoices", {"lines": [{"item_id": "it_1", "description": None, "quantity": "1", "unit_price": "5.00",
                             "taxable": "false", "discount": None}]}, "lines[1].taxable", "false"),
]


@pytest.mark.parametrize(("resource", "patch", "field", "value"), CASES)
def test_one_bad_record_is_set_aside_and_the_list_reads_on(work_sandbox: Any, work_client: Any, resource: str,
                                                           patch: dict[str, Any], field: str, value: Any) -> None:
    lister = getattr(work_client, resource)
    before = list(lister())
    victim = before[len(before) // 2]
    work_sandbox.store.bulk_edit(resource, {victim.id: patch})

    after = list(lister())
    assert [r.id for r in after] == [r.id for r in before if r.id != victim.id]
    bad = work_client.take_unreadable(resource)
    assert len(bad) == 1
    u = bad[0]
    assert (u.id, u.field, u.value) == (victim.id, field, value)
    assert u.version == victim.version + 1 and u.updated_at is not None
    if resource == "invoices":
        assert u.number == victim.number
    assert work_client.take_unreadable(resource) == []  # taken once


def test_a_missing_required_field_is_named(work_sandbox: Any, work_client: Any) -> None:
    import json

    victim = list(work_client.invoices())[3]
    store = work_sandbox.store
    model = store.wdb.tables["invoices"]
    row_id = store.row_id("invoices", victim.id)
    with store.write_lock, store.wdb.connection() as db, db.atomic():
        data = json.loads(model.get_by_id(row_id).data)
        del data["client_id"]
        model.update(data=json.dumps(data), updated_at=store.clock.now()).where(model.id == row_id).execute()

    assert victim.id not in {inv.id for inv in work_client.invoices()}
    (u,) = work_client.take_unreadable("invoices")
    assert (u.id, u.field, u.value) == (victim.id, "client_id", None)
    assert "missing" in u.reason
