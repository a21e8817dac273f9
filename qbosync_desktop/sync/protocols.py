"""The engine's seams: what the sync code needs from the QuickBooks client, the Work client and the
workspace, as :class:`typing.Protocol` s.

Why protocols and not the concrete classes: the engine must run against the real connectors
(:class:`~qbosync_desktop.connectors.qbo.client.QboClient`,
:class:`~qbosync_desktop.connectors.work.client.WorkClient`) and against thin wrappers of them that
tests and drills use (a connector that "dies" at a chosen request, the engine's own
:class:`~qbosync_desktop.sync.context.RequestCounter`). A protocol names exactly the calls the engine
makes, so a wrapper implements those and nothing else, and the type checker (``python -m mypy``, see
``[tool.mypy]`` in pyproject.toml) refuses a call the seam does not list. This module may not use
``Any``: JSON documents are :data:`~qbosync_desktop.core.json_types.JsonObject`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import requests

from qbosync_desktop.connectors.qbo.client import BatchOp, BatchResult, ClientStats
from qbosync_desktop.connectors.work.models import (
    Client,
    Company,
    Concept,
    Contractor,
    ContractorInvoice,
    CreditNote,
    Invoice,
    Item,
    Payment,
    Refund,
    Site,
)
from qbosync_desktop.core.json_types import JsonObject

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.core.paths import AppPaths
    from qbosync_desktop.store.models.connection import Connection
    from qbosync_desktop.sync.rules.settings import SyncSettings

#: One QuickBooks object as JSON (a Customer, an Invoice, ...).
QboObject = JsonObject


class QboApi(Protocol):
    """The QuickBooks Online calls the engine makes (reads, writes with a ``requestid``, batch, CDC)."""

    def query(
        self, entity: str, where: str | None = None, order_by: str | None = None, page_size: int = 1000,
        fields: tuple[str, ...] | None = None,
    ) -> Iterator[QboObject]: ...

    def count(self, entity: str, where: str | None = None) -> int: ...

    def get(self, entity: str, id: str) -> QboObject: ...

    def company_info(self) -> QboObject: ...

    def accounts(self) -> dict[str, list[QboObject]]: ...

    def create(self, entity: str, body: Mapping[str, object], requestid: str) -> QboObject: ...

    def update(self, entity: str, body: Mapping[str, object], requestid: str, sparse: bool = True) -> QboObject: ...

    def void(self, entity: str, id: str, sync_token: str, requestid: str) -> QboObject: ...

    def delete(self, entity: str, id: str, sync_token: str, requestid: str) -> QboObject: ...

    def batch(self, ops: list[BatchOp], requestid: str) -> list[BatchResult]: ...

    def cdc(self, entities: list[str], since: datetime, *, now: datetime | None = None) -> dict[str, list[QboObject]]: ...

    def cdc_pages(self, entity: str, since: datetime, *, now: datetime | None = None) -> Iterator[list[QboObject]]: ...


class CountedQboApi(QboApi, Protocol):
    """A QuickBooks client that also reports its own HTTP request count (the real connector)."""

    @property
    def stats(self) -> ClientStats: ...


class WorkApi(Protocol):
    """The Work calls the engine makes. Listers take ``updated_since`` (an ISO timestamp cursor).

    ``session`` is there because many creates run on worker threads, each with a copy of the
    connector and its own ``requests.Session`` (sessions are not thread-safe).
    """

    session: requests.Session

    def company(self) -> Company: ...

    def clients(self, updated_since: datetime | str | None = None) -> Iterator[Client]: ...

    def sites(self, updated_since: datetime | str | None = None) -> Iterator[Site]: ...

    def contractors(self, updated_since: datetime | str | None = None) -> Iterator[Contractor]: ...

    def items(self, updated_since: datetime | str | None = None) -> Iterator[Item]: ...

    def invoices(self, updated_since: datetime | str | None = None) -> Iterator[Invoice]: ...

    def payments(self, updated_since: datetime | str | None = None) -> Iterator[Payment]: ...

    def credit_notes(self, updated_since: datetime | str | None = None) -> Iterator[CreditNote]: ...

    def refunds(self, updated_since: datetime | str | None = None) -> Iterator[Refund]: ...

    def get_invoice(self, invoice_id: str) -> Invoice: ...

    def get_payment(self, payment_id: str) -> Payment: ...

    def get_credit_note(self, credit_note_id: str) -> CreditNote: ...

    def contractor_invoices(self, updated_since: datetime | str | None = None) -> Iterator[ContractorInvoice]: ...

    def invoice_concepts(self) -> list[Concept]: ...

    def get_client(self, client_id: str) -> Client: ...

    def get_site(self, site_id: str) -> Site: ...

    def create_client(self, *, idempotency_key: str | None = None, **fields: object) -> Client: ...

    def update_client(self, client_id: str, version: int, *, idempotency_key: str | None = None,
                      **fields: object) -> Client: ...

    def create_site(self, *, idempotency_key: str | None = None, **fields: object) -> Site: ...

    def update_site(self, site_id: str, version: int, *, idempotency_key: str | None = None,
                    **fields: object) -> Site: ...


class CancelFlag(Protocol):
    """What a run asks of its cancel flag: only whether Cancel was pressed (a ``threading.Event``, or
    the worker process's "Cancel, or the app has gone")."""

    def is_set(self) -> bool: ...


class EngineWorkspace(Protocol):
    """What :class:`~qbosync_desktop.sync.engine.SyncEngine` needs from its workspace: the connectors,
    the saved settings, the data folder (for the run lock, optional) and the connection row (for the
    integration date and whether onboarding is over; optional). The real one is
    :class:`qbosync_desktop.runtime.workspace.Workspace`; :class:`~qbosync_desktop.sync.context.Parts`
    stands in where the caller already holds the connectors."""

    @property
    def paths(self) -> AppPaths | None: ...

    @property
    def connection(self) -> Connection | None: ...

    def qbo_client(self) -> CountedQboApi: ...

    def work_client(self) -> WorkApi: ...

    def settings(self) -> SyncSettings: ...


if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.connectors.qbo.client import QboClient
    from qbosync_desktop.connectors.work.client import WorkClient

    def _real_connectors_conform(qbo: QboClient, work: WorkClient) -> tuple[CountedQboApi, WorkApi]:
        """Never called: mypy fails here when a connector no longer provides what the seam lists."""
        return qbo, work
