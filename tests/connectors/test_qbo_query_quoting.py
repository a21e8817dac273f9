"""Every value reaches a QuickBooks query through quote(): apostrophes, backslashes, lists, dates."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from qbosync_desktop.connectors.qbo.query import Select, condition, in_list, quote


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Ann Lee", "'Ann Lee'"),
        ("O'Brien Plumbing", r"'O\'Brien Plumbing'"),
        ("back\\slash", r"'back\\slash'"),
        # the backslash is escaped first, so the escape added for the quote is not doubled
        ("a\\'b", r"'a\\\'b'"),
        ("", "''"),
        ("Café Núñez 中文", "'Café Núñez 中文'"),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (12.5, "12.5"),
        (date(2026, 11, 1), "'2026-11-01'"),
        (datetime(2026, 11, 1, 8, 30, tzinfo=timezone(timedelta(hours=-8))), "'2026-11-01T08:30:00-08:00'"),
        (datetime(2026, 11, 1, 8, 30), "'2026-11-01T08:30:00+00:00'"),
        (["Bank", "Other Current Asset"], "('Bank', 'Other Current Asset')"),
        ((True, False), "(true, false)"),
    ],
)
def test_quote_renders_qbo_literals(value, expected):
    assert quote(value) == expected


def test_quote_refuses_values_it_cannot_render_safely():
    with pytest.raises(TypeError):
        quote(object())
    with pytest.raises(ValueError):
        quote([])


def test_select_builds_paged_and_counted_queries():
    sel = Select("Customer").where("DisplayName", "=", "O'Brien").where("Active", "IN", [True, False]).order_by("Id")
    assert sel.sql() == r"SELECT * FROM Customer WHERE DisplayName = 'O\'Brien' AND Active IN (true, false) ORDERBY Id ASC"
    assert sel.page(1001).endswith("ORDERBY Id ASC STARTPOSITION 1001 MAXRESULTS 1000")
    assert Select("Invoice", count=True).where("DocNumber", "LIKE", "10%").sql() == (
        "SELECT count(*) FROM Invoice WHERE DocNumber LIKE '10%'"
    )
    assert Select("Item").order_by("Name DESC").sql() == "SELECT * FROM Item ORDERBY Name DESC"
    assert in_list("Id", ["1", "2"]) == "Id IN ('1', '2')"


@pytest.mark.parametrize(
    "bad",
    [
        lambda: condition("DisplayName", "OR", "x"),  # the grammar has no OR
        lambda: condition("Name; DROP", "=", "x"),  # field names are ours, never data
        lambda: Select("Customer WHERE 1=1"),
        lambda: Select("Customer").page(0),
        lambda: Select("Customer").page(1, 1001),
        lambda: Select("Invoice", fields=("Balance", "Id) FROM Bill --")),
    ],
)
def test_builder_rejects_what_the_grammar_does_not_allow(bad):
    with pytest.raises(ValueError):
        bad()


def test_a_field_list_asks_for_those_fields_only():
    sql = Select("Invoice", fields=("Balance", "TotalAmt")).where_raw("Id IN ('1', '2')").order_by("Id").sql()
    assert sql == "SELECT Balance, TotalAmt FROM Invoice WHERE Id IN ('1', '2') ORDERBY Id ASC"
