"""Names, emails and phones that a person would call "the same" compare equal; different ones do not."""

from __future__ import annotations

import pytest

from qbosync_desktop.sync.onboarding.matching import email_key, name_differences, name_key, phone_key


@pytest.mark.parametrize(
    ("work", "qbo"),
    [
        ("Ann Lee", "Ann Lee"),
        ("ann  lee ", "Ann Lee"),
        ("Brightside Dental", "Brightside Dental LLC"),
        ("Brightside Dental", "Brightside Dental, Inc."),
        ("Carlos Nunez", "Carlos Núñez"),
        ("Green Valley H.O.A.", "Green Valley HOA"),
        ("Maple St. Bakery", "Maple Street Bakery"),
        ("Smith & Sons", "Smith and Sons"),
        ("O'Brien Plumbing", "OBrien Plumbing"),
        ("Lake Ave Dental", "Lake Avenue Dental"),
        ("Acme Corp.", "ACME"),
    ],
)
def test_equivalent_names_share_a_key(work: str, qbo: str) -> None:
    assert name_key(work) == name_key(qbo)
    assert name_key(work) != ""


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Ann Lee", "Anne Lee"),
        ("Brightside Dental", "Brightside Dentistry"),
        ("Maple St. Bakery", "Maple Bakery"),
        ("Green Valley HOA", "Green Valley"),
    ],
)
def test_different_names_do_not_share_a_key(a: str, b: str) -> None:
    assert name_key(a) != name_key(b)


def test_a_suffix_alone_is_still_a_name() -> None:
    assert name_key("Co") == "co"
    assert name_key("LLC") == "llc"


def test_the_reason_names_what_was_ignored() -> None:
    assert name_differences("Carlos Nunez", "Carlos Núñez") == ["accents"]
    assert name_differences("Brightside Dental", "Brightside Dental LLC") == ["company suffix"]
    assert name_differences("Green Valley H.O.A.", "Green Valley HOA") == ["punctuation"]
    assert name_differences("Maple St. Bakery", "Maple Street Bakery") == ["punctuation", "abbreviations"]
    assert name_differences("ann lee", "Ann Lee") == ["case and spacing"]


def test_emails_compare_without_case_and_phones_on_digits() -> None:
    assert email_key(" Ann@Example.COM ") == email_key("ann@example.com")
    assert phone_key("+1 (555) 010-2233") == phone_key("555.010.2233") == "5550102233"
    assert phone_key("12") == ""
    assert email_key(None) == "" and phone_key(None) == ""
