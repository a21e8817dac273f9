"""Races with the person using Work while a sync runs, and a crash in the middle of an import:
a stale Work version (409) is re-read and merged again, so the concurrent edit is kept and the
QuickBooks change still lands; an import interrupted after Work created the client is finished by
the next run with the same request, never duplicated."""

from __future__ import annotations

from fixtures.two_way import engine, qbo_customer, work_client, work_clients

from qbosync_desktop.store.db import database
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.outbox import WorkWrite
from qbosync_desktop.sync.engine import Observer
from qbosync_desktop.sync.work_writes import canonical_body

NAME = "Lakeside Veterinary Clinic"


class EditsWorkMeanwhile(Observer):
    """Between the customers phase's plan and its apply, a person edits the client in Work."""

    def __init__(self, practice, client_id: str) -> None:
        self.practice, self.client_id, self.done = practice, client_id, False

    def phase(self, entity: str, done: int, total: int) -> None:
        if entity == "customers" and not self.done:
            self.done = True
            self.practice.work.user.edit_client(self.client_id, phone="(503) 555-4242")


def test_a_stale_work_version_is_reread_and_merged_again(clients_workspace, practice) -> None:
    eng = engine(clients_workspace)
    assert eng.run(initial=True).ok
    w, q = work_client(practice, NAME), qbo_customer(practice, NAME)
    practice.qbo.user.update_customer(q["Id"], PrimaryEmailAddr={"Address": "care@lakesidevet.example.com"})
    observer = EditsWorkMeanwhile(practice, w["id"])

    assert eng.run(observer=observer).ok

    assert observer.done
    w2 = work_client(practice, NAME)
    assert w2["email"] == "care@lakesidevet.example.com"  # the QuickBooks change landed
    assert w2["phone"] == "(503) 555-4242"  # the concurrent Work edit was not overwritten
    assert eng.run().ok  # ... and it reaches QuickBooks by the next sync at the latest
    assert qbo_customer(practice, NAME)["PrimaryPhone"]["FreeFormNumber"] == "(503) 555-4242"


def test_an_interrupted_import_is_finished_without_a_duplicate(clients_workspace, practice) -> None:
    eng = engine(clients_workspace)
    preview = eng.preview()
    (planned,) = [c for c in preview.changes("customers", "import") if c.label == NAME]
    key = "qbosync-import-client-crash-test"
    with database.atomic():
        WorkWrite.create(kind="client", qbo_id=planned.qbo_id, body=planned.payload, idempotency_key=key,
                         meta={"qbo": planned.meta["qbo"]})
    # the request reached Work, then the process died before the link was committed
    practice_client = clients_workspace.work_client()
    practice_client.create_client(idempotency_key=key, **canonical_body(planned.payload))
    assert len(work_clients(practice, NAME)) == 1

    assert eng.run(initial=True).ok

    assert len(work_clients(practice, NAME)) == 1
    link = Link.get((Link.kind == "client") & (Link.qbo_id == planned.qbo_id))
    assert link.work_id == work_client(practice, NAME)["id"] and link.origin == "imported"
    assert WorkWrite.get(WorkWrite.idempotency_key == key).state == "done"
