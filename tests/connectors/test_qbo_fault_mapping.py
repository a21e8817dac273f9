"""Every QuickBooks fault code and shape becomes the right app error, in words an admin can act on."""

from __future__ import annotations

import json

import pytest

from qbosync_desktop.connectors.qbo.faults import (
    RULES,
    error_for_fault,
    error_for_response,
    fault_in_payload,
    parse_fault,
)
from qbosync_desktop.core import errors

# code -> (error class, a phrase the plain-language message must contain)  (QBO_API_NOTES.md "Errors")
TABLE = {
    "610": (errors.InvalidReference, "cannot find"),
    "620": (errors.CannotLinkTransaction, "payment"),
    "2020": (errors.QboValidationError, "filled in"),
    "2040": (errors.QboValidationError, "character"),
    "2050": (errors.QboValidationError, "too long"),
    "2500": (errors.InvalidReference, "does not exist"),
    "3001": (errors.Throttled, "too many requests"),
    "3100": (errors.NeedsReconnect, "admin"),
    "3200": (errors.NeedsReconnect, "sign-in"),
    "4000": (errors.QueryError, "search"),
    "5010": (errors.StaleObject, "changed"),
    "6000": (errors.QboValidationError, "did not accept"),
    "6070": (errors.QboValidationError, "quantity times its price"),
    "6090": (errors.QboValidationError, "neither an amount nor a percent"),
    "6100": (errors.QboValidationError, "tax code"),
    "6140": (errors.DuplicateDocNumber, "'1001'"),
    "6150": (errors.QboValidationError, "parent customer"),
    "6190": (errors.SubscriptionLapsed, "subscription"),
    "6210": (errors.PeriodClosed, "closed"),
    "6240": (errors.DuplicateName, "called 'Ann Lee'"),
}
STATUS = {"3001": 429, "3100": 403, "3200": 401}


def upper_body(code: str, element: str = "DisplayName") -> str:
    return json.dumps(
        {
            "Fault": {
                "Error": [{"Message": f"Message {code}", "Detail": f"Detail for {code}", "code": code, "element": element}],
                "type": "ValidationFault",
            },
            "time": "2026-11-22T10:00:00.000-08:00",
        }
    )


def test_the_table_covers_every_documented_code():
    assert set(RULES) == set(TABLE)


@pytest.mark.parametrize("code", sorted(TABLE, key=int))
def test_each_code_maps_to_its_class_with_plain_words_and_details(code):
    cls, phrase = TABLE[code]
    status = STATUS.get(code, 400)
    err = error_for_response(
        status,
        upper_body(code),
        intuit_tid="tid-123",
        context={"entity": "Customer", "name": "Ann Lee", "doc_number": "1001"},
    )
    assert type(err) is cls
    assert phrase.lower() in err.message.lower()
    assert err.title and err.hint
    assert err.details["code"] == code
    assert err.details["intuit_tid"] == "tid-123"
    assert err.details["detail"] == f"Detail for {code}"
    assert err.details["element"] == "DisplayName"
    assert "Detail for" in err.details_text()
    if isinstance(err, errors.QuickBooksError):
        assert (err.code, err.status, err.element) == (code, status, "DisplayName")


def test_duplicate_name_says_which_name_and_what_to_do():
    err = error_for_response(400, upper_body("6240"), context={"entity": "Customer", "name": "Ann Lee"})
    assert err.message == "QuickBooks already has a customer or vendor called 'Ann Lee'."
    assert err.hint == "Rename one of them, or link them in the Matches tab (or with 'qbosync matches')."
    anonymous = error_for_response(400, upper_body("6240"))
    assert "called" not in anonymous.message


def test_gateway_lower_case_fault_is_parsed():
    body = json.dumps(
        {
            "fault": {
                "error": [
                    {
                        "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                        "detail": "Token expired: eyJ...",
                    }
                ],
                "type": "AUTHENTICATION",
            }
        }
    )
    fault = parse_fault(body)
    assert fault is not None and fault.shape == "gateway"
    assert fault.code == "3200"  # recovered from errorCode=003200 in the message
    err = error_for_response(401, body, intuit_tid="t1")
    assert isinstance(err, errors.NeedsReconnect)
    assert err.details["code"] == "3200"


XML_THROTTLE = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="2026-11-22T10:00:00.000-08:00">
  <Fault type="SERVICE">
    <Error code="3001">
      <Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>
      <Detail>The request limit was reached.</Detail>
    </Error>
  </Fault>
</IntuitResponse>"""


def test_xml_fault_is_parsed_with_namespaces():
    fault = parse_fault(XML_THROTTLE.encode())
    assert fault is not None and fault.shape == "xml" and fault.type == "SERVICE"
    assert fault.code == "3001"
    err = error_for_response(429, XML_THROTTLE, retry_after=7.0)
    assert isinstance(err, errors.Throttled) and err.retry_after == 7.0
    assert err.transient


def test_xml_validation_fault_keeps_element():
    body = (
        '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3"><Fault type="ValidationFault">'
        '<Error code="006240" element="DisplayName"><Message>Duplicate Name Exists Error</Message>'
        "<Detail>The name supplied already exists.</Detail></Error></Fault></IntuitResponse>"
    )
    err = error_for_response(400, body, context={"name": "Maple Street Bakery"})
    assert isinstance(err, errors.DuplicateName)
    assert err.element == "DisplayName" and err.code == "6240"
    assert "Maple Street Bakery" in err.message


def test_fault_inside_a_200_body_or_batch_item_is_found():
    item = {"bId": "7", **json.loads(upper_body("6140", "DocNumber"))}
    fault = fault_in_payload(item)
    assert fault is not None and fault.code == "6140"
    err = error_for_fault(fault, context={"entity": "Invoice", "doc_number": "INV-9"})
    assert isinstance(err, errors.DuplicateDocNumber) and "INV-9" in err.message
    assert fault_in_payload({"bId": "1", "Customer": {"Id": "5"}}) is None


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (500, "<html>Internal error</html>", errors.ServerError),
        (503, "", errors.ServerError),
        (401, "", errors.NeedsReconnect),
        (403, "", errors.PermissionDenied),
        (429, "", errors.Throttled),
        (400, upper_body("9999"), errors.QboValidationError),  # unknown code, ValidationFault type
        (404, "not json", errors.QuickBooksError),
    ],
)
def test_unknown_codes_and_bodies_fall_back_on_the_http_status(status, body, cls):
    err = error_for_response(status, body)
    assert type(err) is cls
    assert err.message and err.hint
    assert err.details["http_status"] == status


def test_non_fault_bodies_are_not_faults():
    assert parse_fault('{"Customer": {"Id": "1"}}') is None
    assert parse_fault("<html></html>") is None
    assert parse_fault("{broken") is None
    assert parse_fault(None) is None
