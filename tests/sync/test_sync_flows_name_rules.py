"""QuickBooks' DisplayName rules are checked before sending, with a fix in plain words."""

from __future__ import annotations

import pytest

from qbosync_desktop.sync.rules.fingerprint import fingerprint
from qbosync_desktop.sync.rules.names import check_name, collision_problem, normalise, renamed


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("Smith: Residential", "contains a colon"),
        ("Tab\there", "contains a tab"),
        ("Two\nlines", "contains a line break"),
        ("x" * 501, "at most 500"),
        ("   ", "has no name"),
    ],
)
def test_names_quickbooks_refuses_become_problems_with_a_fix(name, fragment):
    problem = check_name(name, what="client")
    assert problem is not None and fragment in problem.message
    assert "Work" in problem.hint and "Retry" in problem.hint


def test_colon_problem_suggests_a_usable_name():
    problem = check_name("Smith: Residential", what="client")
    assert "'Smith - Residential'" in problem.hint


@pytest.mark.parametrize("name", ["Ann Lee", "Carlos Núñez", "中文客户", "x" * 500])
def test_valid_names_pass(name):
    assert check_name(name, what="client") is None


def test_item_names_have_their_own_limit():
    assert "at most 100" in check_name("i" * 101, what="item", limit=100).message


def test_normalised_names_ignore_case_and_runs_of_spaces():
    assert normalise("Joe Plumbing") == normalise("joe   plumbing ") == "joe plumbing"
    assert normalise("Carlos Nunez") != normalise("Carlos Núñez")


def test_normalised_names_ignore_the_unicode_form():
    """"é" composed (NFC) or "e" + a combining accent (NFD) look identical: the same name (issue 16)."""
    assert normalise("Crème Brûlée") == normalise("Cre\u0300me Bru\u0302le\u0301e") == "crème brûlée"


def test_rename_is_deterministic_and_explained():
    assert renamed(" Ann Lee ", "1042") == "Ann Lee (Work 1042)"
    p = collision_problem("Ann Lee", what="contractor", other="customer")
    assert "customer called 'Ann Lee'" in p.message and "Rename on name collision" in p.hint
    assert p.details["code"] == "6240"


def test_fingerprint_ignores_sync_token_and_key_order():
    a = {"DisplayName": "A", "Id": "1", "SyncToken": "0", "BillAddr": {"City": "X", "Line1": "1"}}
    b = {"BillAddr": {"Line1": "1", "City": "X"}, "SyncToken": "7", "DisplayName": "A"}
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(a) != fingerprint({**b, "DisplayName": "B"})

