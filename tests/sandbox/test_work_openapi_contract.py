"""resources/work-api.yaml is a valid OpenAPI 3.1 document, and the demo server's real answers — for
every operation, successes and each documented error — match the response schemas it declares."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[2] / "resources" / "work-api.yaml"
BASE = "urn:work-api"
READ_ONLY = ["items", "invoices", "payments", "contractors", "contractor-invoices", "invoice-concepts",
             "tax-rates", "credit-notes", "refunds"]


@pytest.fixture(scope="module")
def spec():
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def registry(spec):
    return Registry().with_resource(BASE, Resource.from_contents(spec, default_specification=DRAFT202012))


class Checker:
    """Sends real requests and validates each answer against the operation's declared response."""

    def __init__(self, spec, registry, ws):
        self.spec, self.registry, self.ws = spec, registry, ws
        cfg = ws.start()
        self.base = cfg.base_url + "/api/v1"
        self.auth = {"Authorization": f"Bearer {cfg.api_key}"}
        self.seen: set[tuple[str, str, int]] = set()

    def _resolve(self, node):
        while "$ref" in node and node["$ref"].startswith("#/components/responses/"):
            node = self.spec["components"]["responses"][node["$ref"].rsplit("/", 1)[1]]
        return node

    def schema_validator(self, schema):
        root = {"$ref": BASE + schema["$ref"]} if "$ref" in schema else schema
        return Draft202012Validator(root, registry=self.registry, format_checker=Draft202012Validator.FORMAT_CHECKER)

    def call(self, method, template, status, *, path=None, auth=True, body=None, headers=None, params=None):
        op = self.spec["paths"][template][method.lower()]
        if body is not None:
            request_schema = op["requestBody"]["content"]["application/json"]["schema"]
            errors = list(self.schema_validator(request_schema).iter_errors(body))
            if status < 400:
                assert not errors, f"test sent a body the contract does not allow: {errors[0].message}"
        url = self.base + (path or template)
        all_headers = {**(self.auth if auth else {}), **(headers or {})}
        response = requests.request(method, url, json=body, headers=all_headers, params=params, timeout=10)
        assert response.status_code == status, response.text
        declared = op["responses"].get(str(status))
        assert declared is not None, f"{method} {template} answered {status}, which the contract does not declare"
        declared = self._resolve(declared)
        schema = declared["content"]["application/json"]["schema"]
        errors = sorted(self.schema_validator(schema).iter_errors(response.json()), key=lambda e: list(e.path))
        assert not errors, f"{method} {template} {status}: {errors[0].message} at {list(errors[0].path)}"
        for header in declared.get("headers", {}):
            assert header in response.headers, f"{method} {template} {status} lacks header {header}"
        self.seen.add((template, method.lower(), status))
        return response.json()


@pytest.fixture
def checker(spec, registry, work_sandbox):
    return Checker(spec, registry, work_sandbox)


def test_the_document_is_valid_openapi_3_1(spec):
    validate(spec)
    assert spec["openapi"].startswith("3.1")


def test_every_operation_answers_as_documented(spec, checker, work_sandbox):
    c = checker
    c.call("GET", "/company", 200)
    c.call("GET", "/company", 401, auth=False)
    for resource in ["clients", "sites", *READ_ONLY]:
        first = c.call("GET", f"/{resource}", 200, params={"limit": 2})
        assert len(first["data"]) == 2 and first["next_cursor"]
        c.call("GET", f"/{resource}", 200, params={"limit": 500, "cursor": first["next_cursor"]})
        c.call("GET", f"/{resource}", 200, params={"updated_since": "2000-01-01T00:00:00Z"})
        c.call("GET", f"/{resource}", 400, params={"limit": 0})
        c.call("GET", f"/{resource}", 401, auth=False)
        record_id = first["data"][0]["id"]
        c.call("GET", f"/{resource}/{{id}}", 200, path=f"/{resource}/{record_id}")
        c.call("GET", f"/{resource}/{{id}}", 404, path=f"/{resource}/nope_1")
        c.call("GET", f"/{resource}/{{id}}", 401, path=f"/{resource}/{record_id}", auth=False)

    client_id = c.call("POST", "/clients", 201, body={
        "name": "Contract Test Co", "email": "ct@example.com",
        "billing_address": {"line1": "1 Main", "line2": None, "city": "Denver", "state": "CO",
                            "postal_code": "80202", "country": "US"}})["id"]
    c.call("POST", "/clients", 400, body={"email": "x@example.com"})
    c.call("POST", "/clients", 401, auth=False, body={"name": "x"})
    c.call("POST", "/clients", 201, body={"name": "Key first"}, headers={"Idempotency-Key": "k2"})
    c.call("POST", "/clients", 201, body={"name": "Key first"}, headers={"Idempotency-Key": "k2"})  # replay
    c.call("POST", "/clients", 422, body={"name": "Key second"}, headers={"Idempotency-Key": "k2"})
    item = f"/clients/{client_id}"
    c.call("PATCH", "/clients/{id}", 200, path=item, body={"phone": "1"}, headers={"If-Match": '"1"'})
    c.call("PATCH", "/clients/{id}", 409, path=item, body={"phone": "2"}, headers={"If-Match": "1"})
    c.call("PATCH", "/clients/{id}", 428, path=item, body={"phone": "2"})
    c.call("PATCH", "/clients/{id}", 400, path=item, body={"active": "no"}, headers={"If-Match": "2"})
    c.call("PATCH", "/clients/{id}", 404, path="/clients/cl_999999", body={"phone": "2"}, headers={"If-Match": "1"})
    c.call("PATCH", "/clients/{id}", 401, path=item, auth=False, body={"phone": "2"}, headers={"If-Match": "2"})

    site_id = c.call("POST", "/sites", 201, body={"client_id": client_id, "name": "Yard", "address": None})["id"]
    c.call("POST", "/sites", 400, body={"name": "No client"})
    c.call("POST", "/sites", 401, auth=False, body={"client_id": client_id, "name": "x"})
    c.call("POST", "/sites", 422, body={"client_id": "cl_999999", "name": "Orphan"})
    site = f"/sites/{site_id}"
    c.call("PATCH", "/sites/{id}", 200, path=site, body={"name": "Back yard"}, headers={"If-Match": "1"})
    c.call("PATCH", "/sites/{id}", 409, path=site, body={"name": "Stale"}, headers={"If-Match": "1"})
    c.call("PATCH", "/sites/{id}", 428, path=site, body={"name": "x"})
    c.call("PATCH", "/sites/{id}", 400, path=site, body={"colour": "red"}, headers={"If-Match": "2"})
    c.call("PATCH", "/sites/{id}", 404, path="/sites/si_999999", body={"name": "x"}, headers={"If-Match": "1"})
    c.call("PATCH", "/sites/{id}", 401, path=site, auth=False, body={"name": "x"}, headers={"If-Match": "2"})
    c.call("PATCH", "/sites/{id}", 422, path=site, body={"client_id": "cl_1"}, headers={"If-Match": "2"})
    c.call("PATCH", "/clients/{id}", 422, path=item, body={"name": "Reuse"},
           headers={"If-Match": "2", "Idempotency-Key": "k2"})

    # 429 and 500 on every operation, injected before the request touches any data
    for template, methods in spec["paths"].items():
        for method in (m for m in methods if m in ("get", "post", "patch")):
            path = template.replace("{id}", {"/clients/{id}": client_id, "/sites/{id}": site_id}.get(template, "x_1"))
            body = {"name": "x"} if method in ("post", "patch") else None
            for status in (429, 500):
                work_sandbox.fail_next(status, 1, retry_after=1 if status == 429 else None)
                c.call(method.upper(), template, status, path=path, body=body, headers={"If-Match": "1"})

    operations = {(p, m) for p, methods in spec["paths"].items() for m in methods if m in ("get", "post", "patch")}
    for template, method in operations:
        declared = {int(s) for s in spec["paths"][template][method]["responses"]}
        exercised = {s for (p, m, s) in c.seen if (p, m) == (template, method)}
        assert declared == exercised, f"{method.upper()} {template}: declared {sorted(declared)}, tested {sorted(exercised)}"


def test_the_connector_models_cover_every_documented_field(spec):
    """A field added to the contract but not to the dataclasses would be silently dropped by the sync."""
    import dataclasses

    from qbosync_desktop.connectors.work import models

    pairs = {"Company": models.Company, "Client": models.Client, "Site": models.Site, "Item": models.Item,
             "Invoice": models.Invoice, "InvoiceLine": models.InvoiceLine, "Payment": models.Payment,
             "Contract": models.Contract, "Contractor": models.Contractor,
             "ContractorInvoice": models.ContractorInvoice, "ContractorInvoiceLine": models.ContractorInvoiceLine,
             "InvoiceConcept": models.Concept, "Address": models.Address,
             "Discount": models.Discount, "InvoiceTax": models.InvoiceTax, "TaxRate": models.TaxRate,
             "CreditNote": models.CreditNote, "CreditNoteLine": models.CreditNoteLine, "Refund": models.Refund}
    schemas = spec["components"]["schemas"]

    def documented(name):
        schema = schemas[name]
        fields = set(schema.get("properties", {}))
        for part in schema.get("allOf", []):
            fields |= documented(part["$ref"].rsplit("/", 1)[1])
        return fields

    for name, cls in pairs.items():
        assert documented(name) == {f.name for f in dataclasses.fields(cls)}, name
