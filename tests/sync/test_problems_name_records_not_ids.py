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
        # issue 17, bug 6: the wizard's Review page is gone after Enable; the window's Matches tab is not
        assert "Matches tab" in p["hint"] and "Review page" not in p["hint"]
    # e.g. the Work demo's "Green Valley H.O.A." against the practice company's "Green Valley HOA"
    assert any("Green Valley H.O.A." in p["message"] and "Green Valley HOA" in p["message"] for p in held)


BARE_ID = re.compile(r"\b(?:cl|in|pa|co|ci|si)_\d+\b")


def test_no_problem_message_shows_a_bare_work_id(synced):
    for p in problems_mod.open_problems():
        assert not BARE_ID.search(p["message"] + " " + p["hint"]), p


def test_the_preview_names_failed_references_too(engine):
    """A preview stores no problems, so a failing reference is named from the plan itself."""
    failures = [ch for _, changes in engine.preview().phases for ch in changes if ch.action == "fail"]
    assert any("cannot be sent because its client 'Smith: Residential'" in ch.reason for ch in failures)
    for ch in failures:
        assert not BARE_ID.search(ch.reason), ch.reason
