"""One keep-alive connection survives every kind of early answer (401, 429, injected 500, bad JSON)
with a request body in flight: the next request on the same connection is answered correctly."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

from tests.fixtures.qbo_sandbox import qbo_session


def _conn(sb):
    return http.client.HTTPConnection(urlsplit(sb.config.base_url).netloc, timeout=10)


def _post(conn, path, body, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = token
    conn.request("POST", path, body=body if isinstance(body, bytes) else json.dumps(body).encode(), headers=headers)
    resp = conn.getresponse()
    return resp.status, resp.read(), resp


def test_early_answers_leave_the_connection_usable(make_qbo_sandbox):
    sb = make_qbo_sandbox(throttle=True)
    token = qbo_session(sb).headers["Authorization"]
    path = f"/v3/company/{sb.config.realm_id}/customer"
    conn = _conn(sb)
    big = {"DisplayName": "Unauthorised", "Notes": "x" * 20000}
    status, body, _ = _post(conn, path, big)  # no token: 401 before the body is used
    sock = conn.sock
    assert status == 401 and json.loads(body)["fault"]["error"][0]["code"] == "3200"
    status, body, _ = _post(conn, path, b"{not json", token)
    assert status == 400
    status, body, resp = _post(conn, path, {"DisplayName": "Kept Alive"}, token)
    assert status == 200 and json.loads(body)["Customer"]["DisplayName"] == "Kept Alive"
    assert resp.getheader("Connection") != "close" and resp.getheader("intuit_tid")
    sb.set_faults(fault_rate=1.0)
    sb._rng.seed(4)  # first injected fault of this seed is a 500, not a dropped connection
    status, _, _ = _post(conn, path, {"DisplayName": "Faulted"}, token)
    assert status in (500, 503)
    sb.set_faults(fault_rate=0.0)
    status, body, _ = _post(conn, path, {"DisplayName": "After Fault"}, token)
    assert status == 200
    assert conn.sock is sock  # everything above went over the one connection
    conn.close()
