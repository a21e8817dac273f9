"""Two-way client updates are validated before they are sent (issue 16, part 2): a field edited in Work
on an already-linked client that QuickBooks would refuse (longer than Intuit allows, an invalid e-mail
address) is one problem naming the client, the field and the value - not a QuickBooks fault after a
request - and invisible characters are removed the same way the create path removes them. The other
clients of the run still sync. Real HTTP against both practice servers; QuickBooks read back over REST."""

from __future__ import annotations

from typing import Any

import pytest
from fixtures.two_way import engine, qbo_customer, work_client

from qbosync_desktop.sync import problems

LONG_PHONE = "(720) 555-0100 ext. 12345678901234"  # 34 characters: Work takes 50, QuickBooks 30
BAD_EMAIL = "ann..lee@example.com"                  # Work's check lets it through; Intuit's does not


@pytest.fixture
def enabled(clients_workspace: Any, practice: Any, shared_practice: Any, memory_keyring: Any) -> Any:
    eng = engine(clients_workspace)
    shared_practice.reach("validate-enabled", clients_workspace, memory_keyring,
                          lambda: eng.run(initial=True))
    return eng


def _rest(ws: Any, practice: Any, name: str) -> dict[str, Any]:
    """The customer as QuickBooks' REST API returns it now."""
    return ws.qbo_client().get("Customer", str(qbo_customer(practice, name)["Id"]))


def _open(wid: str) -> list[dict[str, Any]]:
    return [p for p in problems.open_problems() if p["kind"] == "client" and p["work_id"] == wid]


def test_a_linked_clients_edit_quickbooks_would_refuse_is_one_problem_and_the_rest_sync(
        enabled: Any, clients_workspace: Any, practice: Any) -> None:
    ws = clients_workspace
    long_phone, bad_email, cleaned, fine = (work_client(practice, n) for n in (
        "Hank Rivera", "Ann Lee", "Harbor View Apartments", "Tom Becker"))
    before = {n: _rest(ws, practice, n) for n in ("Hank Rivera", "Ann Lee")}
    practice.work.user.edit_client(long_phone["id"], phone=LONG_PHONE)
    practice.work.user.edit_client(bad_email["id"], email=BAD_EMAIL)
    practice.work.user.edit_client(cleaned["id"], first_name="Har\u200bbor\u202e", phone="(206) 555-7001")
    practice.work.user.edit_client(fine["id"], phone="(303) 555-0142")

    summary = enabled.run()
    assert summary.state == "done", summary.error
    # each refused client counted once, in the phase that refused it (not again by the outbound phase)
    assert summary.counts["customers"]["failed"] == 2 and not summary.counts.get("clients", {}).get("failed")

    # refused before sending: QuickBooks still holds the old values ...
    assert _rest(ws, practice, "Hank Rivera").get("PrimaryPhone") == before["Hank Rivera"].get("PrimaryPhone")
    assert _rest(ws, practice, "Ann Lee").get("PrimaryEmailAddr") == before["Ann Lee"].get("PrimaryEmailAddr")
    # ... and each is one problem naming the client, the field and the value, in validate.py's words
    (phone,) = _open(long_phone["id"])
    assert "“Hank Rivera”" in phone["message"] and "phone number" in phone["message"]
    assert LONG_PHONE in phone["message"] and "at most 30" in phone["message"]
    assert "It was not sent to QuickBooks" in phone["message"]  # refused by the sync, not by a 2050 fault
    assert phone["details"]["field"] == "PrimaryPhone.FreeFormNumber" and phone["hint"].startswith("Open the client")
    (email,) = _open(bad_email["id"])
    assert "“Ann Lee”" in email["message"] and BAD_EMAIL in email["message"]
    assert email["details"]["field"] == "PrimaryEmailAddr.Address" and email["title"] == "E-mail address not valid"

    # invisible characters removed, as on the create path; the other clients synced
    assert _rest(ws, practice, "Harbor View Apartments")["GivenName"] == "Harbor"
    assert _rest(ws, practice, "Harbor View Apartments")["PrimaryPhone"]["FreeFormNumber"] == "(206) 555-7001"
    assert _rest(ws, practice, "Tom Becker")["PrimaryPhone"]["FreeFormNumber"] == "(303) 555-0142"
    assert not _open(cleaned["id"]) and not _open(fine["id"])

    # a second run: the same problems, not duplicated, nothing sent
    again = enabled.run()
    assert again.state == "done", again.error
    assert len(_open(long_phone["id"])) == 1 and len(_open(bad_email["id"])) == 1
    assert _rest(ws, practice, "Harbor View Apartments")["GivenName"] == "Harbor"  # stable: not re-sent

    # fixed in Work: it syncs and its problem closes by itself
    practice.work.user.edit_client(long_phone["id"], phone="(720) 555-0100 x1")
    practice.work.user.edit_client(bad_email["id"], email="ann.lee@example.com")
    fixed = enabled.run()
    assert fixed.state == "done", fixed.error
    assert _rest(ws, practice, "Hank Rivera")["PrimaryPhone"]["FreeFormNumber"] == "(720) 555-0100 x1"
    assert _rest(ws, practice, "Ann Lee")["PrimaryEmailAddr"]["Address"] == "ann.lee@example.com"
    assert not _open(long_phone["id"]) and not _open(bad_email["id"])
