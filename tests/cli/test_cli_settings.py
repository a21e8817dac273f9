"""`qbosync settings show/set`, `status`, `audit export` and `disconnect` before any server is involved:
argument parsing, the stable JSON shapes, and exit code 3 naming the field for anything invalid."""

from __future__ import annotations

import csv
import json

import pytest

from qbosync_desktop.cli import main as cli


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_settings_set_then_show_json_round_trip(capsys):
    code, out, err = run(capsys, "settings", "set", "invoices=on", "income_account=11", "expense_account=12",
                         "payments=yes", "deposit_account=13", "conflict_policy=work-wins",
                         "start_date=2025-02-03", "schedule_minutes=30", "rename_on_collision=on",
                         "concept.Travel=14", "use_default_state=off")
    assert code == 0, err
    code, out, _ = run(capsys, "settings", "show", "--json")
    assert code == 0
    s = json.loads(out)["settings"]
    assert s == {
        "clients": True, "use_default_state": False, "sites": False, "sites_use_client_address": True,
        "invoices": True, "income_account": "11", "expense_account": "12", "payments": True,
        "deposit_account": "13", "bills": False, "ap_account": None, "concepts": {"Travel": "14"},
        "conflict_policy": "work", "start_date": "2025-02-03", "schedule_minutes": 30,
        "rename_on_collision": True, "tax_amounts": "work", "tax_codes": {},
    }
    assert json.loads(out)["labels"]["income_account"] == "Use this Income Account"


def test_settings_show_text_uses_the_seeds_labels(capsys):
    code, out, _ = run(capsys, "settings", "show")
    assert code == 0
    assert "Create Work Sites from QuickBooks Sub-Customers during onboarding" in out
    assert "the integration date" in out


@pytest.mark.parametrize(
    ("assignments", "field_words"),
    [
        (["payments=on"], "“Payments” can only be on while “Invoices” is on"),
        (["invoices=on"], "“Use this Income Account” is required"),
        (["clients=off", "invoices=on", "income_account=1", "expense_account=2"], "“Clients” cannot be turned off"),
        (["colour=blue"], "There is no setting called 'colour'"),
        (["invoices"], "'invoices' is not a KEY=VALUE assignment"),
        (["invoices=maybe"], "Invoices is a switch: use on or off (not 'maybe')"),
        (["conflict_policy=newest"], "When a client changed in both places: 'newest' is not a choice"),
        (["start_date=yesterday"], "'yesterday' is not a date"),
        (["schedule_minutes=2"], "at least 5"),
        (["schedule_minutes=often"], "is not a whole number of minutes"),
        (["invoices=on", "income_account=Services"], "can only be looked up by name once QuickBooks is connected"),
    ],
)
def test_invalid_settings_exit_3_naming_the_field_and_save_nothing(capsys, assignments, field_words):
    code, out, err = run(capsys, "settings", "set", *assignments)
    assert code == cli.EXIT_USAGE
    assert field_words in err
    assert "What to do:" in err
    code, out, _ = run(capsys, "settings", "show", "--json")
    assert json.loads(out)["settings"]["invoices"] is False


def test_invalid_settings_json_error_names_the_field(capsys):
    code, out, _ = run(capsys, "settings", "set", "--json", "payments=on")
    assert code == 3
    err = json.loads(out)["error"]
    assert err["type"] == "ConfigurationError" and err["details"]["field"] == "payments"


def test_unmapping_a_concept(capsys):
    assert run(capsys, "settings", "set", "concept.Travel=5", "concept.Meals=6")[0] == 0
    assert run(capsys, "settings", "set", "concept.Travel=none")[0] == 0
    _, out, _ = run(capsys, "settings", "show", "--json")
    assert json.loads(out)["settings"]["concepts"] == {"Meals": "6"}


def test_status_before_connecting_says_so_and_exits_3(capsys):
    code, out, _ = run(capsys, "status", "--json")
    view = json.loads(out)
    assert code == 3 and view["exit_code"] == 3
    assert view["connection"] is None and view["enabled"] is False and view["open_problems"] == 0
    assert view["entities"] == {"clients": True, "sites": False, "invoices": False, "payments": False, "bills": False}
    code, out, _ = run(capsys, "status")
    assert "not connected" in out and "✔ Clients" in out and "✘ Invoices" in out


@pytest.mark.parametrize("command", [["sync"], ["enable"], ["accounts"], ["retry", "--all"]])
def test_commands_that_need_a_connection_exit_3_with_a_next_step(capsys, command):
    code, out, err = run(capsys, *command)
    assert code == 3
    assert "Not connected yet" in err and "qbosync connect" in err


def test_audit_export_of_an_empty_log_writes_the_header(capsys, tmp_path):
    target = tmp_path / "out" / "audit.csv"
    code, out, _ = run(capsys, "audit", "export", "--csv", str(target))
    assert code == 0 and "Wrote 0 audit entries" in out
    with open(target, newline="", encoding="utf-8-sig") as fh:
        assert list(csv.reader(fh)) == [["id", "run_id", "at", "action", "kind", "work_id", "qbo_id", "message",
                                         "before", "after"]]


def test_disconnect_forgets_concept_mappings_but_keeps_other_settings(capsys):
    assert run(capsys, "settings", "set", "concept.Travel=5", "schedule_minutes=20")[0] == 0
    code, out, _ = run(capsys, "disconnect", "--json")
    assert code == 0 and json.loads(out) == {"disconnected": True, "forgot_links": False}
    _, out, _ = run(capsys, "settings", "show", "--json")
    s = json.loads(out)["settings"]
    assert s["concepts"] == {} and s["schedule_minutes"] == 20
