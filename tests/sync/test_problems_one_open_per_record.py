"""A failing record has exactly one open problem; it closes itself when the record syncs; retry marks it."""

from __future__ import annotations

import peewee
import pytest

from qbosync_desktop.core.errors import DuplicateName, QboSyncError
from qbosync_desktop.store.models.problems import Problem
from qbosync_desktop.sync import problems


def _dup() -> DuplicateName:
    return DuplicateName("QuickBooks already has a customer or vendor called 'Ann Lee'.", code="6240",
                         intuit_tid="tid-1")


def test_repeated_failures_keep_one_open_problem_with_code_and_tid(db):
    for run in (1, 2, 3):
        problems.open_problem("client", "42", _dup(), run_id=run)
    rows = list(Problem.select())
    assert len(rows) == 1
    p = problems.open_problems()[0]
    assert p["code"] == "6240" and p["details"]["intuit_tid"] == "tid-1"
    assert p["hint"] and p["message"].startswith("QuickBooks already has")
    assert p["first_seen_run"] == 1


def test_database_refuses_a_second_open_problem_for_the_same_record(db):
    problems.open_problem("client", "7", _dup(), run_id=1)
    with pytest.raises(peewee.IntegrityError):
        Problem.create(kind="client", work_id="7", title="t", message="m", state="open")


def test_problem_closes_when_record_syncs_and_a_new_failure_opens_a_fresh_one(db):
    problems.open_problem("invoice", "9", _dup(), run_id=1)
    assert problems.close_problem("invoice", "9") == 1
    assert problems.open_problems() == []
    problems.open_problem("invoice", "9", _dup(), run_id=3)
    assert Problem.select().count() == 2
    assert [p["first_seen_run"] for p in problems.open_problems()] == [3]


def test_retry_marks_one_or_all_and_refuses_unknown_ids(db):
    a = problems.open_problem("client", "1", _dup(), run_id=1)
    problems.open_problem("client", "2", _dup(), run_id=1)
    assert problems.request_retry(a.id) == 1
    assert [p["retry_requested"] for p in problems.open_problems()] == [True, False]
    assert problems.request_retry() == 2
    with pytest.raises(QboSyncError, match="no open problem number 999"):
        problems.request_retry(999)
