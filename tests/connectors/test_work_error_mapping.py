"""Every HTTP and transport failure of the Work API reaches the app as an errors.py class, with retries
only where retrying can help, bounded, honouring Retry-After."""

from __future__ import annotations

import socket
import time

import pytest

from qbosync_desktop.connectors.work.client import WorkClient
from qbosync_desktop.core import logs
from qbosync_desktop.core.errors import (
    ConnectionProblem,
    NotConnected,
    WorkApiError,
    WorkAuthError,
    WorkServerError,
    WorkThrottled,
    WorkValidationError,
)
from qbosync_desktop.core.secrets import WORK_API_KEY, SecretStore


def _client(ws, **kw):
    cfg = ws.start()
    return WorkClient(cfg.base_url, kw.pop("api_key", cfg.api_key), **{"timeout": 5, "backoff": 0.01, **kw})


def test_wrong_api_key_is_an_auth_error_without_the_key_in_it(work_sandbox):
    client = _client(work_sandbox, api_key="wk_wrong_key_123456")
    with pytest.raises(WorkAuthError) as caught:
        client.company()
    err = caught.value
    assert err.status == 401 and err.fatal and "API key" in err.message
    assert "wk_wrong_key_123456" not in f"{err.message} {err.hint} {err.details_text()}"
    assert logs.redact("key wk_wrong_key_123456") == "key [REDACTED]"
    assert len([r for r in work_sandbox.recent if r.status == 401]) == 1  # auth failures are not retried


def test_missing_key_is_not_connected():
    with pytest.raises(NotConnected):
        WorkClient("http://127.0.0.1:9", "")


def test_from_secrets_reads_the_key_from_the_keyring(work_sandbox, home):
    store = SecretStore(home)
    with pytest.raises(NotConnected):
        WorkClient.from_secrets(work_sandbox.base_url, store)
    store.set(WORK_API_KEY, work_sandbox.start().api_key)
    assert WorkClient.from_secrets(work_sandbox.base_url, store).test_connection().startswith("Connected to ")


def test_429_is_retried_after_retry_after_then_succeeds(work_sandbox):
    client = _client(work_sandbox)
    work_sandbox.fail_next(429, 2, retry_after=0.2)
    started = time.monotonic()
    assert client.company().name == "Summit Field Services"
    assert time.monotonic() - started >= 0.4
    assert [r.status for r in work_sandbox.recent] == [429, 429, 200]


def test_429_that_outlasts_the_retries_is_work_throttled_with_retry_after(work_sandbox):
    client = _client(work_sandbox, max_retries=1)
    work_sandbox.fail_next(429, 5, retry_after=0.05)
    with pytest.raises(WorkThrottled) as caught:
        list(client.clients())
    assert caught.value.retry_after == pytest.approx(0.05) and caught.value.transient
    assert len(work_sandbox.recent) == 2


def test_a_long_retry_after_is_handed_to_the_caller_instead_of_slept(work_sandbox):
    client = _client(work_sandbox, max_wait=5)
    work_sandbox.fail_next(429, 1, retry_after=120)
    started = time.monotonic()
    with pytest.raises(WorkThrottled) as caught:
        client.company()
    assert caught.value.retry_after == 120 and time.monotonic() - started < 2


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_with_backoff(work_sandbox, status):
    client = _client(work_sandbox)
    work_sandbox.fail_next(status, 2)
    assert len(list(client.items())) == 14
    assert [r.status for r in work_sandbox.recent][:3] == [status, status, 200]


def test_server_errors_beyond_the_retry_budget_are_work_server_error(work_sandbox):
    client = _client(work_sandbox, max_retries=2)
    work_sandbox.fail_next(503, 10)
    with pytest.raises(WorkServerError) as caught:
        client.company()
    assert caught.value.status == 503 and caught.value.transient and "HTTP 503" in caught.value.message
    assert len(work_sandbox.recent) == 3  # first try + 2 retries, then it stops


def test_a_retried_create_after_a_server_error_creates_once(work_sandbox):
    client = _client(work_sandbox)
    before = work_sandbox.store.count("clients")
    work_sandbox.fail_next(502, 1, path_prefix="/api/v1/clients")
    client.create_client(name="Retry Safe Co")
    assert work_sandbox.store.count("clients") == before + 1
    posts = [r for r in work_sandbox.recent if r.method == "POST"]
    assert [p.status for p in posts] == [502, 201] and posts[0].idempotency_key == posts[1].idempotency_key


@pytest.mark.parametrize("status, cls", [(400, WorkValidationError), (403, WorkAuthError),
                                         (418, WorkApiError), (501, WorkServerError)])
def test_other_statuses_map_to_their_error_class(work_sandbox, status, cls):
    client = _client(work_sandbox, max_retries=0)
    work_sandbox.fail_next(status, 1)
    with pytest.raises(cls) as caught:
        client.company()
    assert caught.value.status == status and caught.value.message and caught.value.hint


def test_validation_errors_from_bad_parameters_are_not_retried(work_sandbox):
    client = _client(work_sandbox)
    with pytest.raises(WorkValidationError) as caught:
        client.page("clients", limit=501)
    assert caught.value.status == 400 and "limit" in caught.value.message
    with pytest.raises(WorkValidationError):
        client.page("clients", updated_since="yesterday")
    with pytest.raises(WorkValidationError):
        client.page("clients", cursor="garbage!")
    assert len(work_sandbox.recent) == 3


def test_refused_connection_is_a_connection_problem_after_bounded_retries():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = WorkClient(f"http://127.0.0.1:{port}", "wk_some_key_000", timeout=2, backoff=0.01, max_retries=2)
    with pytest.raises(ConnectionProblem) as caught:
        client.company()
    assert caught.value.transient and f"127.0.0.1:{port}" in caught.value.message


def test_a_server_slower_than_the_timeout_is_a_connection_problem(work_sandbox):
    client = _client(work_sandbox, timeout=0.2, max_retries=1)
    work_sandbox.set_latency(600)
    started = time.monotonic()
    with pytest.raises(ConnectionProblem) as caught:
        client.company()
    assert "did not answer within 0.2 seconds" in caught.value.message
    assert time.monotonic() - started < 2


def test_wrong_method_and_unknown_address_are_refused(work_sandbox):
    import requests

    cfg = work_sandbox.start()
    auth = {"Authorization": f"Bearer {cfg.api_key}"}
    r = requests.post(f"{cfg.base_url}/api/v1/invoices", json={}, headers=auth, timeout=5)
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"
    r = requests.get(f"{cfg.base_url}/api/v1/widgets", headers=auth, timeout=5)
    assert r.status_code == 404 and set(r.json()) == {"error", "message", "details"}
    r = requests.patch(f"{cfg.base_url}/api/v1/clients/cl_1", json={"phone": "1"}, headers=auth, timeout=5)
    assert r.status_code == 428
    r = requests.get(f"{cfg.base_url}/api/v1/clients", params={"colour": "red"}, headers=auth, timeout=5)
    assert r.status_code == 400 and r.json()["details"]["parameter"] == "colour"


def test_503_with_retry_after_waits_as_told(work_sandbox):
    client = _client(work_sandbox, backoff=5)  # the backoff alone would wait seconds
    work_sandbox.fail_next(503, 1, retry_after=0.1)
    started = time.monotonic()
    assert client.company().currency == "USD"
    assert 0.1 <= time.monotonic() - started < 2


def test_a_create_whose_answer_is_lost_is_retried_and_answered_from_the_first_write(work_sandbox):
    client = _client(work_sandbox, timeout=0.5)
    before = work_sandbox.store.count("clients")
    work_sandbox.delay_response_next(1.0, path_prefix="/api/v1/clients")
    created = client.create_client(name="Lost Answer Ltd")
    assert work_sandbox.store.count("clients") == before + 1
    assert work_sandbox.store.get("clients", created.id)["name"] == "Lost Answer Ltd"
    posts = [r for r in work_sandbox.recent if r.method == "POST"]
    assert len(posts) >= 2 and not posts[0].replayed and all(p.replayed for p in posts[1:])
    assert len({p.idempotency_key for p in posts}) == 1


def test_an_update_whose_answer_is_lost_is_not_reported_as_a_conflict(work_sandbox):
    client = _client(work_sandbox, timeout=0.5)
    ann = next(c for c in _client(work_sandbox).clients() if c.name == "Ann Lee")
    work_sandbox.delay_response_next(1.0, path_prefix="/api/v1/clients/")
    updated = client.update_client(ann.id, ann.version, phone="(720) 555-7777")
    assert updated.version == ann.version + 1 and updated.phone == "(720) 555-7777"
    assert work_sandbox.store.get("clients", ann.id)["version"] == ann.version + 1
