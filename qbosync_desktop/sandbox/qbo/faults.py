"""QuickBooks Online fault bodies, with the codes and wording Intuit uses.

Three shapes exist and clients must parse all of them (QBO_API_NOTES.md, "Errors"):

* the API's upper-case ``{"Fault": {"Error": [{"Message", "Detail", "code", "element"}], "type"}}``,
  sent with HTTP 400 (also inside batch items, with no HTTP status of its own);
* the gateway's lower-case 401 ``{"fault": {"error": [{"message", "detail", "code": "3200"}]}}``;
* throttling (429, code 3001), as JSON, or as XML when the sandbox is asked to mimic that variant.
"""

from __future__ import annotations

from typing import Any

NOT_FOUND_DETAIL = (
    "Object Not Found : Something you're trying to use has been made inactive. "
    "Check the fields with accounts, customers, items, vendors or employees."
)


class ApiFault(Exception):
    """One QBO validation/system error; raised by the rules, rendered by the WSGI app."""

    def __init__(
        self,
        code: int | str,
        message: str,
        detail: str = "",
        element: str = "",
        *,
        status: int = 400,
        fault_type: str = "ValidationFault",
    ) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.code = str(code)
        self.message = message
        self.detail = detail or message
        self.element = element
        self.status = status
        self.fault_type = fault_type

    def fault(self) -> dict[str, Any]:
        """The ``Fault`` object as it appears at top level and inside batch items."""
        return {
            "Error": [{"Message": self.message, "Detail": self.detail, "code": self.code, "element": self.element}],
            "type": self.fault_type,
        }

    def body(self, time: str) -> dict[str, Any]:
        return {"Fault": self.fault(), "time": time}


def not_found(element: str = "") -> ApiFault:
    return ApiFault(610, "Object Not Found", NOT_FOUND_DETAIL, element)


def required(element: str) -> ApiFault:
    return ApiFault(
        2020,
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {element} is missing in the request",
        element,
    )


def invalid_character(element: str) -> ApiFault:
    return ApiFault(
        2040,
        "Invalid Character",
        f"Invalid character found in {element}: colons (:), tabs and new lines are not allowed",
        element,
    )


def bad_length(element: str, limit: int, supplied: int) -> ApiFault:
    return ApiFault(
        2050,
        "String length is either shorter or longer than supported by specification",
        f"String length specified does not match the supported length. Min:1 Max:{limit} supplied length:{supplied}",
        element,
    )


def invalid_reference(element: str, value: object) -> ApiFault:
    return ApiFault(2500, "Invalid Reference Id", f"Invalid Reference Id : {element} {value} does not exist", element)


def invalid_request(detail: str) -> ApiFault:
    return ApiFault(2010, "Request has invalid or unsupported property", detail)


def stale_object() -> ApiFault:
    return ApiFault(
        5010,
        "Stale Object Error",
        "Stale Object Error : You and root were working on this at the same time. "
        "root finished before you did, so your work was not saved.",
    )


def business(detail: str, element: str = "") -> ApiFault:
    return ApiFault(
        6000, "A business validation error has occurred while processing your request", f"Business Validation Error: {detail}", element
    )


def duplicate_name() -> ApiFault:
    return ApiFault(
        6240,
        "Duplicate Name Exists Error",
        "The name supplied already exists. : Another customer, vendor or employee is already using this name. "
        "Please use a different name.",
    )


def duplicate_item_name() -> ApiFault:
    return ApiFault(6240, "Duplicate Name Exists Error", "The name supplied already exists. : Another product or service is already using this name.")


def duplicate_doc_number(doc_number: str, txn_type: str, txn_id: str) -> ApiFault:
    return ApiFault(
        6140,
        "Duplicate Document Number Error",
        "Duplicate Document Number Error : You must specify a different number. This number has already been used. "
        f"DocNumber={doc_number} is assigned to TxnType={txn_type} with TxnId={txn_id}",
    )


def amount_mismatch(amount: float, expected: float) -> ApiFault:
    return ApiFault(
        6070,
        "Amount is not equal to UnitPrice * Qty",
        f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount}, expected:{expected}",
        "Line.Amount",
    )


def cannot_link(txn_id: str) -> ApiFault:
    return ApiFault(
        620,
        "Transaction cannot be linked",
        f"Transaction cannot be linked : Invoice {txn_id} does not belong to the customer of this payment",
        "Line.LinkedTxn",
    )


def parent_required() -> ApiFault:
    return ApiFault(6150, "ParentRef required", "Business Validation Error: A sub-customer must have a ParentRef", "ParentRef")


def unsupported_operation(operation: str, entity: str) -> ApiFault:
    return ApiFault(500, "Unsupported Operation", f"Operation {operation} is not supported for {entity}")


def query_parse(detail: str) -> ApiFault:
    return ApiFault(4000, "Error parsing query", f"QueryParserError: {detail}")


def query_invalid(detail: str) -> ApiFault:
    return ApiFault(4001, "Invalid query", f"QueryValidationError: {detail}")


def authorization_failed(detail: str) -> ApiFault:
    return ApiFault(
        3100,
        "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
        detail,
        status=403,
        fault_type="SECURITY",
    )


def system_failure() -> ApiFault:
    return ApiFault(
        10000,
        "An application error has occurred while processing your request",
        "System Failure Error: An unexpected error occurred while accessing or saving your data. Please wait a few minutes and try again.",
        status=500,
        fault_type="SystemFault",
    )


def auth_body(detail: str, time: str) -> dict[str, Any]:
    """The gateway's 401: lower-case keys, code 3200, type AUTHENTICATION."""
    return {
        "fault": {
            "error": [
                {
                    "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                    "detail": detail,
                    "code": "3200",
                }
            ],
            "type": "AUTHENTICATION",
        },
        "time": time,
    }


THROTTLE_MESSAGE = "message=ThrottleExceeded; errorCode=003001; statusCode=429"


def throttle_body(detail: str, time: str) -> dict[str, Any]:
    return {
        "Fault": {"Error": [{"Message": THROTTLE_MESSAGE, "Detail": detail, "code": "3001", "element": ""}], "type": "ThrottleExceeded"},
        "time": time,
    }


def throttle_xml(detail: str, time: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="{time}">'
        f'<Fault type="ThrottleExceeded"><Error code="3001"><Message>{THROTTLE_MESSAGE}</Message>'
        f"<Detail>{detail}</Detail></Error></Fault></IntuitResponse>"
    )
