"""Match review proposals: seeded near-matches are found, exact unambiguous ones pre-accepted,
ambiguous ones left for the person, and one QuickBooks record never ends up in two accepted links."""

from __future__ import annotations

import pytest

from qbosync_desktop.core.errors import ConfigurationError
from qbosync_desktop.sync.onboarding.matching import Candidate, check_accept, propose

WORK = ["Ann Lee", "Brightside Dental", "Carlos Nunez", "Green Valley H.O.A.", "Maple St. Bakery", "Zoe Park"]
QBO = ["Ann Lee", "Brightside Dental LLC", "Carlos Núñez", "Green Valley HOA", "Maple Street Bakery", "Yuri Tan"]


def _work(*names: str, **kw: str) -> list[Candidate]:
    return [Candidate(f"w{i}", n, **kw) for i, n in enumerate(names)]


def _qbo(*names: str, **kw: str) -> list[Candidate]:
    return [Candidate(f"q{i}", n, **kw) for i, n in enumerate(names)]


def test_seeded_near_matches_are_proposed_and_preaccepted() -> None:
    proposals = propose(_work(*WORK), _qbo(*QBO))
    pairs = {(p.work_name, p.qbo_name): p for p in proposals}
    for w, q in zip(WORK[:5], QBO[:5], strict=True):
        p = pairs[(w, q)]
        assert p.exact and p.accepted, p
        assert p.score >= 90
        assert p.reason
    assert not any(p.work_name == "Zoe Park" or p.qbo_name == "Yuri Tan" for p in proposals)
    reason = pairs[("Carlos Nunez", "Carlos Núñez")].reason
    assert "accents" in reason and "Carlos Núñez" in reason


def test_two_qbo_records_with_the_same_name_are_left_for_the_person() -> None:
    proposals = propose(_work("Ann Lee"), _qbo("Ann Lee", "ANN LEE"))
    assert len(proposals) == 2
    assert not any(p.accepted for p in proposals)
    assert all("choose" in p.reason for p in proposals)


def test_two_work_records_wanting_one_qbo_record_are_left_for_the_person() -> None:
    proposals = propose(_work("Ann Lee", "Ann  Lee"), _qbo("Ann Lee"))
    assert {p.work_id for p in proposals} == {"w0", "w1"}
    assert not any(p.accepted for p in proposals)


def test_contradicting_contact_details_block_preaccept() -> None:
    work = [Candidate("w1", "Ann Lee", email="ann@home.example")]
    qbo = [Candidate("q1", "Ann Lee", email="ann.lee@office.example")]
    (p,) = propose(work, qbo)
    assert p.exact and not p.accepted
    assert "email differs" in p.reason
    assert p.score < 90


def test_same_email_with_different_name_is_proposed_not_accepted() -> None:
    work = [Candidate("w1", "Dr. Priya Shah", email="priya@clinic.example")]
    qbo = [Candidate("q1", "Shah Family Clinic", email="PRIYA@clinic.example")]
    (p,) = propose(work, qbo)
    assert not p.exact and not p.accepted
    assert p.score >= 80 and "same email" in p.reason.lower()


def test_matching_phone_supports_a_name_match() -> None:
    work = [Candidate("w1", "Ann Lee", phone="(555) 010-2233", email="a@x.example")]
    qbo = [Candidate("q1", "Ann Lee", phone="+1 555 010 2233", email="b@y.example")]
    (p,) = propose(work, qbo)
    assert p.accepted and "same phone number" in p.reason.lower()


def test_similar_names_are_proposed_with_a_lower_score() -> None:
    (p,) = propose(_work("Brightside Dental Care"), _qbo("Brightside Dental Cares"))
    assert not p.exact and not p.accepted
    assert 50 <= p.score < 90
    assert "similar name" in p.reason.lower()


def test_already_linked_records_are_not_proposed_again() -> None:
    proposals = propose(_work("Ann Lee", "Carlos Nunez"), _qbo("Ann Lee", "Carlos Núñez"), linked_qbo={"q0"})
    assert [(p.work_id, p.qbo_id) for p in proposals] == [("w1", "q1")]


def test_one_qbo_record_is_never_in_two_accepted_links() -> None:
    with pytest.raises(ConfigurationError) as info:
        check_accept("w2", "q1", [("w1", "q1")])
    assert "already linked" in info.value.message
    with pytest.raises(ConfigurationError):
        check_accept("w1", "q2", [("w1", "q1")])
    check_accept("w1", "q1", [("w1", "q1")])  # re-accepting the same pair is harmless
    check_accept("w2", "q2", [("w1", "q1")])


def test_many_records_are_matched_by_index_quickly() -> None:
    import time

    work = [Candidate(f"w{i}", f"Client Number {i}") for i in range(3000)]
    qbo = [Candidate(f"q{i}", f"client number {i} llc") for i in range(0, 3000, 2)]
    t0 = time.perf_counter()
    proposals = propose(work, qbo)
    elapsed = time.perf_counter() - t0
    accepted = [p for p in proposals if p.accepted]
    assert len(accepted) == 1500
    assert all(p.work_id[1:] == p.qbo_id[1:] for p in accepted)
    assert elapsed < 10


def test_weak_guesses_are_few_per_record_and_common_words_do_not_match() -> None:
    qbo = [Candidate(f"q{i}", f"Brightside Dental Care {i}") for i in range(20)]
    proposals = propose([Candidate("w1", "Brightside Dental Care")], qbo)
    assert 1 <= len(proposals) <= 3
    assert all("similar name" in p.reason.lower() and not p.accepted for p in proposals)
    # a word shared by very many records ("Client") is not evidence on its own
    many = [Candidate(f"q{i}", f"Client {i:04d}") for i in range(200)]
    assert propose([Candidate("w1", "Client Services")], many) == []
