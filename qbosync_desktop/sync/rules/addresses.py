"""Addresses between QuickBooks ``BillAddr`` and Work ``billing_address``, and the seed's state rules.

Why a module of its own: Work requires a State on every client and site, QuickBooks does not, so an
address read from QuickBooks may be incomplete. The seed fixes what happens then:

* Clients: with "Use default state" on, the Work company's default State fills the gap; with it off,
  the record fails with exactly this wording (the country in ``< >`` is the record's own)::

      The Client record has an unknown State of Country <United States>. Please add a State to the
      QuickBooks record or enable the 'Use default State' in the Work Sync settings and synchronize
      again.

* Sites (QuickBooks sub-customers, onboarding only): with "Use Client state/country when creating
  Client Sites in Work" on, a missing State/Country comes from the parent customer; off, the site
  fails with an equally clear message and fix.

Everything here is pure (no I/O), so the preview predicts exactly what the run will do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from qbosync_desktop.connectors.work.models import Address as WorkAddress
from qbosync_desktop.core.errors import QboSyncError

#: The seed's wording, verbatim (including "State of Country" and "'Use default State'").
MISSING_STATE_MESSAGE = (
    "The Client record has an unknown State of Country <{country}>. Please add a State to the "
    "QuickBooks record or enable the 'Use default State' in the Work Sync settings and synchronize again."
)
MISSING_STATE_HINT = (
    "Add a State to the customer's billing address in QuickBooks, or turn on 'Use default state' in "
    "Sync Settings, then press Sync now."
)
MISSING_SITE_STATE_MESSAGE = (
    "The Site record \u201c{name}\u201d has an unknown {missing} (it is a QuickBooks Sub-Customer of "
    "\u201c{parent}\u201d). Please add a {missing} to the QuickBooks Sub-Customer record or enable "
    "'Use Client state/country when creating Client Sites in Work' in the Work Sync settings and "
    "synchronize again."
)
MISSING_SITE_STATE_HINT = (
    "Add the {missing} to the sub-customer's address in QuickBooks, or turn on 'Use Client state/country "
    "when creating Client Sites in Work' in Sync Settings, then press Sync now."
)

#: Spellings of a country → the name the messages and Work use.
COUNTRY_NAMES: dict[str, str] = {
    "us": "United States",
    "usa": "United States",
    "u s": "United States",
    "u s a": "United States",
    "united states": "United States",
    "united states of america": "United States",
    "america": "United States",
    "ca": "Canada",
    "can": "Canada",
    "canada": "Canada",
    "gb": "United Kingdom",
    "uk": "United Kingdom",
    "united kingdom": "United Kingdom",
    "au": "Australia",
    "aus": "Australia",
    "australia": "Australia",
    "mx": "Mexico",
    "mex": "Mexico",
    "mexico": "Mexico",
}

US_STATES: dict[str, str] = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "district of columbia": "DC",
    "florida": "FL", "georgia": "GA", "hawaii": "HI", "idaho": "ID", "illinois": "IL", "indiana": "IN",
    "iowa": "IA", "kansas": "KS", "kentucky": "KY", "louisiana": "LA", "maine": "ME", "maryland": "MD",
    "massachusetts": "MA", "michigan": "MI", "minnesota": "MN", "mississippi": "MS", "missouri": "MO",
    "montana": "MT", "nebraska": "NE", "nevada": "NV", "new hampshire": "NH", "new jersey": "NJ",
    "new mexico": "NM", "new york": "NY", "north carolina": "NC", "north dakota": "ND", "ohio": "OH",
    "oklahoma": "OK", "oregon": "OR", "pennsylvania": "PA", "rhode island": "RI",
    "south carolina": "SC", "south dakota": "SD", "tennessee": "TN", "texas": "TX", "utah": "UT",
    "vermont": "VT", "virginia": "VA", "washington": "WA", "west virginia": "WV", "wisconsin": "WI",
    "wyoming": "WY", "puerto rico": "PR",
}

FIELDS = ("line1", "line2", "city", "state", "postal_code", "country")
_QBO_KEYS = {
    "line1": "Line1",
    "line2": "Line2",
    "city": "City",
    "state": "CountrySubDivisionCode",
    "postal_code": "PostalCode",
    "country": "Country",
}
#: Work's contract spells some keys differently in places; accept both when reading.
_WORK_ALIASES = {
    "line1": ("line1", "street", "address1", "street1"),
    "line2": ("line2", "address2", "street2"),
    "city": ("city",),
    "state": ("state", "region", "province"),
    "postal_code": ("postal_code", "zip", "postcode", "zip_code"),
    "country": ("country",),
}


def _clean(value: Any) -> str:
    return " ".join(str(value).split()) if value not in (None, "") else ""


def country_name(value: str | None) -> str:
    """Canonical country name: "US", "USA", "U.S.A." → "United States"; unknown spellings kept."""
    text = _clean(value)
    key = " ".join(text.replace(".", " ").casefold().split())
    return COUNTRY_NAMES.get(key, text)


def state_code(state: str | None, country: str | None) -> str:
    """US state names become their two-letter code ("California" → "CA"); anything else is kept."""
    text = _clean(state)
    if country_name(country) in ("United States", "") and text.casefold() in US_STATES:
        return US_STATES[text.casefold()]
    return text.upper() if len(text) == 2 else text


@dataclass(frozen=True)
class Address:
    """The address fields both systems share, cleaned (single spaces, "" for missing)."""

    line1: str = ""
    line2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""

    def is_empty(self) -> bool:
        return not any(asdict(self).values())

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _normalised(**values: Any) -> Address:
    raw = {f: _clean(values.get(f)) for f in FIELDS}
    country = country_name(raw["country"]) if raw["country"] else ""
    return Address(**{**raw, "country": country, "state": state_code(raw["state"], country)})


def from_qbo(bill_addr: Mapping[str, Any] | None) -> Address:
    """QuickBooks ``BillAddr`` → :class:`Address`."""
    bill_addr = bill_addr or {}
    return _normalised(**{f: bill_addr.get(k) for f, k in _QBO_KEYS.items()})


def to_qbo(addr: Address) -> dict[str, str]:
    """:class:`Address` → QuickBooks ``BillAddr`` (empty parts left out: QBO stores "" as a value)."""
    parts = addr.as_dict()
    return {k: parts[f] for f, k in _QBO_KEYS.items() if parts[f]}


def from_work(address: WorkAddress | Mapping[str, Any] | None) -> Address:
    """Work ``billing_address`` (the connector's address, or its JSON form as :func:`to_work` makes
    it for a planned import) → :class:`Address`."""
    if address is None:
        return Address()
    if isinstance(address, WorkAddress):
        address = address.to_api()
    values = {}
    for f, aliases in _WORK_ALIASES.items():
        values[f] = next((address[a] for a in aliases if address.get(a) not in (None, "")), "")
    return _normalised(**values)


def to_work(addr: Address) -> dict[str, str | None]:
    """:class:`Address` → Work ``billing_address`` (missing parts as None, which the Work API expects)."""
    return {f: (value or None) for f, value in addr.as_dict().items()}


class MissingState(QboSyncError):
    """A QuickBooks customer has no State and "Use default state" is off (the seed's exact message)."""

    title = "Client has no State"
    hint = MISSING_STATE_HINT

    def __init__(self, country: str, **details: Any) -> None:
        super().__init__(
            MISSING_STATE_MESSAGE.format(country=country),
            details={"code": "missing_state", "country": country, **details},
        )
        self.country = country


class MissingSiteState(QboSyncError):
    """A sub-customer has no State/Country and "Use Client state/country" is off."""

    title = "Site has no State or Country"

    def __init__(self, name: str, parent: str, missing: str, **details: Any) -> None:
        super().__init__(
            MISSING_SITE_STATE_MESSAGE.format(name=name, parent=parent, missing=missing),
            hint=MISSING_SITE_STATE_HINT.format(missing=missing),
            details={"code": "missing_site_state", "missing": missing, **details},
        )


def client_address_for_work(
    addr: Address,
    *,
    use_default_state: bool,
    default_state: str | None,
    default_country: str | None,
    qbo_id: str | None = None,
) -> Address:
    """The address a QuickBooks customer gets in Work, or :class:`MissingState`.

    The country shown in the message is the record's own; a record without a country is in the Work
    company's country (that is where Work will put it), and failing that the United States, which is
    what the seed's message shows.
    """
    country = addr.country or country_name(default_country) or "United States"
    if addr.state:
        return replace(addr, country=country)
    if use_default_state and _clean(default_state):
        return replace(addr, state=state_code(default_state, country), country=country)
    raise MissingState(country, qbo_id=qbo_id)


def site_address_for_work(
    addr: Address,
    parent: Address,
    *,
    use_client_address: bool,
    name: str,
    parent_name: str,
    qbo_id: str | None = None,
) -> Address:
    """The address a QuickBooks sub-customer gets as a Work site, or :class:`MissingSiteState`.

    ``parent`` is the parent client's address *as it is (or will be) in Work*, i.e. already completed
    by :func:`client_address_for_work`, so a parent that got the default State passes it on.
    The State is only taken from the parent when the site is in the parent's country (a State of
    another country would be wrong, not missing).
    """
    state, country = addr.state, addr.country
    if use_client_address:
        if not country:
            country = parent.country
        if not state and country == parent.country:
            state = parent.state
    missing = [label for label, value in (("State", state), ("Country", country)) if not value]
    if missing:
        raise MissingSiteState(name, parent_name, " and ".join(missing), qbo_id=qbo_id)
    return replace(addr, state=state, country=country)
