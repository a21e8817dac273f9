"""The connection, the sync settings and the concept mappings.

One data folder holds one company connection, so :class:`Connection` is a single row (``id = 1``).
It keeps only what is needed to rebuild the connectors: the realm, the OAuth endpoints' discovery
address, the public client id, the redirect address and the API base. The client secret, the
tokens and the Work API key are *never* here: they live in the keyring (``secrets.SecretStore``).

:class:`SettingValue` stores each sync setting as one JSON value under its key, so adding a setting
later needs no migration; :class:`ConceptMapping` keeps the contractor seed's "map each invoice
concept once to an expense account" — a table of its own because the seed says the mappings are
forgotten on disconnect while the other settings are kept.

Schema version 2 creates these tables (:mod:`qbosync_desktop.store.schema`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import peewee

from qbosync_desktop.store.models.base import BaseModel, JSONField

CONNECTED = "connected"
NEEDS_RECONNECT = "needs_reconnect"
DISCONNECTED = "disconnected"
CONNECTION_STATES = (CONNECTED, NEEDS_RECONNECT, DISCONNECTED)


class Connection(BaseModel):
    """The company this data folder is connected to. Single row, ``id = 1``.

    ``state`` is ``connected``, ``needs_reconnect`` (the grant was revoked or the refresh token died:
    only a new sign-in fixes it, links and settings are kept) or ``disconnected`` (the user pressed
    Disconnect; ``realm_id`` is kept so that reconnecting to the same company resumes its links).
    """

    id = peewee.IntegerField(primary_key=True, default=1)
    realm_id = peewee.CharField(null=True)
    company_name = peewee.CharField(null=True)
    environment = peewee.CharField(default="sandbox")
    discovery_url = peewee.CharField(null=True)
    client_id = peewee.CharField(null=True)
    redirect_uri = peewee.CharField(null=True)
    api_base = peewee.CharField(null=True)
    #: The discovered OAuth endpoints (public), so building a client needs no discovery request.
    oauth_endpoints = JSONField(null=True)
    work_base_url = peewee.CharField(null=True)
    work_company_name = peewee.CharField(null=True)
    state = peewee.CharField(default=DISCONNECTED)
    connected_at = peewee.DateTimeField(null=True)
    integration_enabled_at = peewee.DateTimeField(null=True)
    onboarding_done_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "connection"

    @property
    def qbo_connected(self) -> bool:
        return self.state == CONNECTED and bool(self.realm_id)

    @property
    def work_connected(self) -> bool:
        return bool(self.work_base_url)

    def to_dict(self) -> dict[str, Any]:
        """Stable shape for ``qbosync status --json`` (nothing secret is in this row)."""

        def iso(value: dt.datetime | None) -> str | None:
            return value.isoformat() + "Z" if value else None

        return {
            "realm_id": self.realm_id,
            "company_name": self.company_name,
            "environment": self.environment,
            "state": self.state,
            "connected_at": iso(self.connected_at),
            "integration_enabled_at": iso(self.integration_enabled_at),
            "onboarding_done_at": iso(self.onboarding_done_at),
            "work_base_url": self.work_base_url,
            "work_company_name": self.work_company_name,
        }


class SettingValue(BaseModel):
    """One sync setting: ``key`` is a :class:`qbosync_desktop.sync.rules.settings.SyncSettings` field name."""

    key = peewee.CharField(primary_key=True)
    value = JSONField(null=True)

    class Meta:
        table_name = "setting_value"


class ConceptMapping(BaseModel):
    """A Work invoice concept (e.g. "Travel") → the QBO expense account its bill lines go to."""

    concept = peewee.CharField(primary_key=True)
    account_id = peewee.CharField()
    account_name = peewee.CharField(null=True)

    class Meta:
        table_name = "concept_mapping"



class TaxCodeMapping(BaseModel):
    """A Work tax rate (or "not-taxable": lines Work charged no tax on) → the QBO TaxCode its invoice
    lines carry, in a company outside the US (issue 14). Forgotten on Disconnect like the concept
    mappings: tax codes belong to one QuickBooks company."""

    rate = peewee.CharField(primary_key=True)
    rate_name = peewee.CharField(null=True)
    code_id = peewee.CharField()
    code_name = peewee.CharField(null=True)

    class Meta:
        table_name = "tax_code_mapping"
