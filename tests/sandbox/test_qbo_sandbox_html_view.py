"""The read-only HTML view shows the practice company so a person can see what a sync did."""

from __future__ import annotations

import pytest
import requests


@pytest.mark.parametrize(("path", "expected"), [
    ("/", "Cedar &amp; Pine Home Services"),
    ("/customers", "Green Valley HOA:Clubhouse"),
    ("/invoices", "1003"),
    ("/payments", "Undeposited Funds"),
    ("/vendors", "Northwest Plumbing Supply"),
    ("/bills", "NWP-20931"),
])
def test_pages(qbo_sandbox, path, expected):
    resp = requests.get(qbo_sandbox.config.base_url + path, timeout=10)
    assert resp.status_code == 200 and "text/html" in resp.headers["Content-Type"]
    assert expected in resp.text


def test_view_escapes_names_and_is_read_only(qbo_sandbox):
    qbo_sandbox.user.create("Customer", {"DisplayName": "<script>alert(1)</script>"})
    page = requests.get(qbo_sandbox.config.base_url + "/customers", timeout=10).text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert requests.post(qbo_sandbox.config.base_url + "/customers", timeout=10).status_code == 404
