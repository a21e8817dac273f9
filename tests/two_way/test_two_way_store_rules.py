"""The two-way tables themselves refuse what would corrupt a sync: a QuickBooks record in two
accepted matches, or two open conflicts for the same field of one record."""

from __future__ import annotations

import peewee
import pytest

from qbosync_desktop.store.models.conflicts import Conflict
from qbosync_desktop.store.models.onboarding import MatchProposal


def test_one_qbo_record_cannot_be_accepted_twice(db) -> None:
    MatchProposal.create(kind="client", work_id="C1", qbo_id="7", score=90, reason="same name", state="accepted")
    MatchProposal.create(kind="client", work_id="C2", qbo_id="7", score=90, reason="same name", state="proposed")
    with pytest.raises(peewee.IntegrityError), db.atomic():
        MatchProposal.update(state="accepted").where(MatchProposal.work_id == "C2").execute()
    # a vendor with the same id is another record: allowed
    MatchProposal.create(kind="vendor", work_id="K1", qbo_id="7", score=90, reason="same name", state="accepted")


def test_one_open_conflict_per_field(db) -> None:
    Conflict.create(kind="client", work_id="C1", field="city", work_value="A", qbo_value="B")
    with pytest.raises(peewee.IntegrityError), db.atomic():
        Conflict.create(kind="client", work_id="C1", field="city", work_value="A", qbo_value="C")
    Conflict.update(state="resolved").execute()
    c = Conflict.create(kind="client", work_id="C1", field="city", work_value="A", qbo_value="C")
    assert c.to_dict()["qbo_value"] == "C"
