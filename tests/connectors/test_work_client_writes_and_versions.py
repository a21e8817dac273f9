"""Creating and updating Work clients and sites through the connector: versions, conflicts, validation."""

from __future__ import annotations

import pytest

from qbosync_desktop.connectors.work.models import Address
from qbosync_desktop.core.errors import WorkConflict, WorkNotFound, WorkValidationError


def test_create_client_returns_the_stored_record_at_version_1(work_sandbox, work_client):
    address = Address(line1="1 Main St", city="Denver", state="CO", postal_code="80202", country="US")
    created = work_client.create_client(name="New Client LLC", email="new@example.com", billing_address=address)
    assert created.version == 1 and created.active is True and created.billing_address == address
    stored = work_sandbox.store.get("clients", created.id)
    assert stored["name"] == "New Client LLC" and stored["billing_address"]["city"] == "Denver"


def test_update_with_current_version_changes_only_sent_fields_and_bumps_version(work_client):
    ann = next(c for c in work_client.clients() if c.name == "Ann Lee")
    updated = work_client.update_client(ann.id, ann.version, phone="(720) 555-1111")
    assert updated.version == ann.version + 1 and updated.phone == "(720) 555-1111"
    assert (updated.email, updated.billing_address) == (ann.email, ann.billing_address)
    assert updated.updated_at > ann.updated_at and updated.created_at == ann.created_at


def test_update_that_changes_nothing_does_not_bump_the_version(work_client):
    ann = next(c for c in work_client.clients() if c.name == "Ann Lee")
    same = work_client.update_client(ann.id, ann.version, phone=ann.phone, email=ann.email)
    assert same == ann


def test_stale_version_is_a_work_conflict_and_changes_nothing(work_sandbox, work_client):
    ann = next(c for c in work_client.clients() if c.name == "Ann Lee")
    work_sandbox.user.edit_client(ann.id, phone="(303) 555-2222")  # someone edits in Work meanwhile
    with pytest.raises(WorkConflict) as caught:
        work_client.update_client(ann.id, ann.version, phone="(720) 555-9999")
    err = caught.value
    assert err.status == 409 and err.details["server_current_version"] == ann.version + 1
    assert "changed this client in Work" in err.message
    assert work_sandbox.store.get("clients", ann.id)["phone"] == "(303) 555-2222"


def test_update_sends_if_match_with_the_version(work_sandbox, work_client):
    ann = next(c for c in work_client.clients() if c.name == "Ann Lee")
    work_client.update_client(ann.id, ann.version, phone="(720) 555-3333")
    patch = [r for r in work_sandbox.recent if r.method == "PATCH"][-1]
    assert patch.if_match == f'"{ann.version}"' and patch.idempotency_key


@pytest.mark.parametrize("fields, field", [
    ({"name": ""}, "name"),
    ({"name": "x" * 256}, "name"),
    ({"name": "Ok", "email": "not-an-email"}, "email"),
    ({"name": "Ok", "billing_address": {"line1": "1 Main", "planet": "Mars"}}, "billing_address"),
    ({"name": "Ok", "active": "yes"}, "active"),
    ({"name": "Ok", "colour": "blue"}, "colour"),
])
def test_invalid_client_fields_are_validation_errors_naming_the_field(work_client, fields, field):
    with pytest.raises(WorkValidationError) as caught:
        work_client.create_client(**fields)
    assert caught.value.status == 400 and field in caught.value.details["server_fields"]
    assert caught.value.message.startswith("Work did not accept the record:")


def test_read_only_fields_cannot_be_written(work_client):
    ann = next(c for c in work_client.clients() if c.name == "Ann Lee")
    with pytest.raises(WorkValidationError) as caught:
        work_client.update_client(ann.id, ann.version, updated_at="2020-01-01T00:00:00Z")
    assert "updated_at" in caught.value.details["server_fields"]


def test_legacy_invalid_email_stays_until_someone_changes_it(work_client):
    dave = next(c for c in work_client.clients() if c.name == "Dave Ortiz")
    assert dave.email == "dave.ortiz@example"
    renamed = work_client.update_client(dave.id, dave.version, phone="(303) 555-4444")
    assert renamed.email == "dave.ortiz@example"
    with pytest.raises(WorkValidationError):
        work_client.update_client(dave.id, renamed.version, email="still@bad")


def test_updating_a_missing_client_is_not_found(work_client):
    with pytest.raises(WorkNotFound):
        work_client.update_client("cl_424242", 1, phone="1")


def test_sites_create_update_and_reference_rules(work_sandbox, work_client):
    ann = next(c for c in work_client.clients() if c.name == "Ann Lee")
    site = work_client.create_site(client_id=ann.id, name="Garage", address=None)
    assert (site.client_id, site.address, site.version) == (ann.id, None, 1)
    moved = work_client.update_site(site.id, site.version, address={"line1": "9 Oak St", "city": "Golden",
                                                                     "state": "CO", "postal_code": "80401",
                                                                     "country": "US"})
    assert moved.version == 2 and moved.address.city == "Golden"
    with pytest.raises(WorkConflict):
        work_client.update_site(site.id, site.version, name="Old version")
    with pytest.raises(WorkValidationError) as caught:
        work_client.create_site(client_id="cl_999999", name="Orphan")
    assert caught.value.status == 422
    other = next(c for c in work_client.clients() if c.name == "Brightside Dental")
    with pytest.raises(WorkValidationError) as moved_err:
        work_client.update_site(site.id, moved.version, client_id=other.id)
    assert moved_err.value.status == 422 and "cannot be moved" in moved_err.value.message


def test_retried_create_with_the_same_idempotency_key_creates_one_client(work_sandbox, work_client):
    before = work_sandbox.store.count("clients")
    first = work_client.create_client(name="Once Only", idempotency_key="outbox-17")
    again = work_client.create_client(name="Once Only", idempotency_key="outbox-17")
    assert first == again and work_sandbox.store.count("clients") == before + 1
    assert work_sandbox.recent[-1].replayed is True
    with pytest.raises(WorkValidationError) as caught:
        work_client.create_client(name="Something else", idempotency_key="outbox-17")
    assert caught.value.code == "idempotency_key_reused"
