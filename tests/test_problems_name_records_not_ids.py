"""Problems speak of records by their names and say why they wait, never by internal ids."""

from __future__ import annotations

import re

from qbosync_desktop.sync import problems as problems_mod


def test_an_invoice_of_a_client_held_for_match_review_says_so(synced):
    problems = problems_mod.open_problems()
    held = [p for p in problems if p["title"] == "Waiting for match review"]
    assert held, [p["title"] for p in problems]
    for p in held:
        assert "match review" in p["message"] and "may be" in p["message"]
        assert "Review page" in p["hint"]
    # e.g. the Work demo's "Green Valley H.O.A." against the practice company's "Green Valley HOA"
    assert any("Green Valley H.O.A." in p["message"] and "Green Valley HOA" in p["message"] for p in held)


def test_no_problem_message_shows_a_bare_work_id(synced):
    for p in problems_mod.open_problems():
        assert not re.search(r"\b(?:cl|in|pa|co|ci|si)_\d+\b", p["message"] + " " + p["hint"]), p
