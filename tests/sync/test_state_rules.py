"""The seed's state rules: default state for clients, the exact missing-state message, and sites
taking State/Country from their parent customer."""

from __future__ import annotations

import pytest

from qbosync_desktop.core.errors import QboSyncError
from qbosync_desktop.sync.rules.addresses import (
    Address,
    MissingSiteState,
    MissingState,
    client_address_for_work,
    country_name,
    from_qbo,
    from_work,
    site_address_for_work,
    to_qbo,
    to_work,
)

SEED_MESSAGE = (
    "The Client record has an unknown State of Country <United States>. Please add a State to the "
    "QuickBooks record or enable the 'Use default State' in the Work Sync settings and synchronize again."
)


def test_qbo_bill_addr_round_trips_through_the_canonical_address() -> None:
    bill = {"Line1": "12 Oak St", "City": "Austin", "CountrySubDivisionCode": "tx", "PostalCode": "78701",
            "Country": "USA"}
    addr = from_qbo(bill)
    assert addr == Address("12 Oak St", "", "Austin", "TX", "78701", "United States")
    assert to_qbo(addr) == {"Line1": "12 Oak St", "City": "Austin", "CountrySubDivisionCode": "TX",
                            "PostalCode": "78701", "Country": "United States"}
    work = to_work(addr)
    assert work["line2"] is None and work["state"] == "TX"
    assert from_work(work) == addr


def test_country_spellings_map_to_one_name() -> None:
    for spelling in ("US", "usa", "U.S.A.", "United States of America"):
        assert country_name(spelling) == "United States"
    assert country_name("Canada") == "Canada"
    assert country_name("Narnia") == "Narnia"
    assert from_qbo({"CountrySubDivisionCode": "California", "Country": "US"}).state == "CA"


def test_missing_state_uses_the_work_default_when_the_option_is_on() -> None:
    addr = from_qbo({"Line1": "1 Main", "City": "Reno", "Country": "US"})
    done = client_address_for_work(addr, use_default_state=True, default_state="NV", default_country="United States")
    assert done.state == "NV" and done.country == "United States" and done.line1 == "1 Main"


def test_missing_state_fails_with_the_seed_wording_when_the_option_is_off() -> None:
    addr = from_qbo({"Line1": "1 Main", "City": "Reno", "Country": "USA"})
    with pytest.raises(MissingState) as info:
        client_address_for_work(addr, use_default_state=False, default_state="NV", default_country="United States")
    err = info.value
    assert isinstance(err, QboSyncError)
    assert err.message == SEED_MESSAGE
    assert "Use default state" in err.hint


def test_the_message_names_the_records_own_country() -> None:
    addr = from_qbo({"City": "Toronto", "Country": "CA"})
    with pytest.raises(MissingState) as info:
        client_address_for_work(addr, use_default_state=False, default_state="NV", default_country="United States")
    assert "<Canada>" in info.value.message


def test_a_record_without_country_is_in_the_company_country() -> None:
    with pytest.raises(MissingState) as info:
        client_address_for_work(Address(), use_default_state=False, default_state=None, default_country="US")
    assert info.value.message == SEED_MESSAGE
    # option on but the Work company has no default state: still the same clear failure
    with pytest.raises(MissingState):
        client_address_for_work(Address(), use_default_state=True, default_state="", default_country="US")


def test_a_state_present_is_kept_even_with_the_option_on() -> None:
    addr = from_qbo({"CountrySubDivisionCode": "OR", "Country": "US"})
    assert client_address_for_work(addr, use_default_state=True, default_state="NV", default_country="US").state == "OR"


def test_a_site_takes_state_and_country_from_its_parent() -> None:
    parent = Address(city="Austin", state="TX", country="United States")
    site = from_qbo({"Line1": "400 Lake Rd", "City": "Round Rock"})
    done = site_address_for_work(site, parent, use_client_address=True, name="Lake Office", parent_name="Ann Lee")
    assert (done.state, done.country, done.city) == ("TX", "United States", "Round Rock")


def test_a_site_in_another_country_does_not_take_the_parents_state() -> None:
    parent = Address(state="TX", country="United States")
    site = from_qbo({"City": "Toronto", "Country": "Canada"})
    with pytest.raises(MissingSiteState) as info:
        site_address_for_work(site, parent, use_client_address=True, name="North", parent_name="Ann Lee")
    assert "unknown State" in info.value.message


def test_a_site_without_state_fails_clearly_when_the_option_is_off() -> None:
    parent = Address(state="TX", country="United States")
    with pytest.raises(MissingSiteState) as info:
        site_address_for_work(Address(city="Round Rock"), parent, use_client_address=False, name="Lake Office",
                              parent_name="Ann Lee")
    err = info.value
    assert "\u201cLake Office\u201d" in err.message and "\u201cAnn Lee\u201d" in err.message
    assert "State and Country" in err.message
    assert "Use Client state/country when creating Client Sites in Work" in err.hint
