"""Rotating refresh tokens: persisted before use, one refresh at a time, reconnect and disconnect."""

from __future__ import annotations

import multiprocessing
import threading

import pytest
import requests

from qbosync_desktop.connectors.qbo.oauth.authorize import TokenManager
from qbosync_desktop.core import errors, secrets
from qbosync_desktop.core.secrets import SecretStore


def refresh_at_sandbox(conn, refresh_token: str) -> requests.Response:
    """A plain token request, as any client would send it (to probe whether a token is alive)."""
    cfg = conn.sandbox.config
    return requests.post(
        conn.oauth.token_endpoint,
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(cfg.client_id, cfg.client_secret),
        headers={"Accept": "application/json"},
        timeout=10,
    )


def test_refresh_rotates_and_the_old_refresh_token_is_dead(qbo_connection):
    conn = qbo_connection
    before = conn.tokens.stored()
    conn.tokens.refresh(force=True)
    after = conn.tokens.stored()
    assert after.refresh_token != before.refresh_token
    assert after.access_token != before.access_token
    assert after.access_expires_at >= before.access_expires_at
    dead = refresh_at_sandbox(conn, before.refresh_token)
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"
    # a restart: new objects over the same keyring keep working without another refresh
    restarted = TokenManager(SecretStore(conn.paths), conn.paths, conn.oauth, conn.realm_id)
    client = conn.new_client(tokens=restarted)
    assert client.company_info()["CompanyName"]
    assert restarted.refresh_count == 0


def test_an_access_token_near_expiry_is_refreshed_before_use(qbo_connection):
    conn = qbo_connection
    first = conn.tokens.access_token()
    assert conn.tokens.access_token() == first and conn.tokens.refresh_count == 0
    late = TokenManager(conn.secrets, conn.paths, conn.oauth, conn.realm_id, early_refresh=3600 + 60)
    assert late.access_token() != first and late.refresh_count == 1


def test_a_401_refreshes_once_and_retries(qbo_connection):
    conn = qbo_connection
    conn.client.count("Customer")
    conn.sandbox.clock.advance(3700)  # the sandbox expires the token; our stored expiry still says valid
    old = conn.tokens.stored().refresh_token
    assert conn.client.count("Customer") > 0
    assert conn.client.stats.refreshes == 1 and conn.tokens.refresh_count == 1
    assert conn.tokens.stored().refresh_token != old
    assert conn.client.stats.by_status[401] == 1


def test_threads_share_one_refresh(qbo_connection):
    conn = qbo_connection
    rejected = conn.tokens.access_token()
    barrier = threading.Barrier(8)
    got: list[str] = []

    def worker() -> None:
        barrier.wait()
        got.append(conn.tokens.refresh(force=True, rejected=rejected))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(got) == 8 and len(set(got)) == 1 and got[0] != rejected
    assert conn.tokens.refresh_count == 1


def test_a_revoked_grant_needs_reconnect(qbo_connection):
    conn = qbo_connection
    cfg = conn.sandbox.config
    stored = conn.tokens.stored()
    requests.post(conn.oauth.revocation_endpoint, json={"token": stored.refresh_token},
                  auth=(cfg.client_id, cfg.client_secret), timeout=10).raise_for_status()
    with pytest.raises(errors.NeedsReconnect) as info:
        conn.client.count("Customer")  # 401 → forced refresh → invalid_grant
    assert info.value.details["oauth_error"] == "invalid_grant"
    assert conn.tokens.stored().refresh_token == stored.refresh_token  # nothing overwritten


def test_disconnect_revokes_at_the_server_and_deletes_the_tokens(qbo_connection):
    conn = qbo_connection
    stored = conn.tokens.stored()
    result = conn.tokens.revoke()
    assert result.revoked_at_intuit and result.problem is None
    assert conn.secrets.get(secrets.QBO_REFRESH_TOKEN) is None
    assert conn.secrets.get(secrets.QBO_ACCESS_TOKEN) is None
    assert conn.secrets.get(secrets.QBO_CLIENT_SECRET)  # the app's key stays for a reconnect
    assert refresh_at_sandbox(conn, stored.refresh_token).json()["error"] == "invalid_grant"
    with pytest.raises(errors.NotConnected):
        conn.tokens.access_token()


def test_disconnect_while_offline_still_forgets_the_tokens(qbo_connection):
    conn = qbo_connection
    conn.sandbox.stop()
    result = conn.tokens.revoke()
    assert not result.revoked_at_intuit
    assert isinstance(result.problem, errors.ConnectionProblem)
    assert conn.secrets.get(secrets.QBO_REFRESH_TOKEN) is None


def _child(paths, oauth, realm_id, barrier, out) -> None:
    """Another process on the same data folder (the tray app and a cron `qbosync sync`)."""
    from qbosync_desktop.connectors.qbo.client import QboClient
    from qbosync_desktop.connectors.qbo.oauth.tokens import TokenManager as TM

    try:
        tm = TM(SecretStore(paths), paths, oauth, realm_id)
        client = QboClient(oauth.api_base, realm_id, tm, max_retries=1)
        barrier.wait(30)
        count = client.count("Customer")
        out.put(("ok", count, tm.refresh_count))
    except Exception as exc:  # report, the parent asserts
        out.put(("error", repr(exc), 0))


def test_two_processes_with_an_expired_token_both_work_and_keep_the_newest(qbo_connection):
    from qbosync_desktop.core.secrets import enable_insecure_file_secrets

    conn = qbo_connection
    # the in-memory keyring is per process: this test opts in to the file store so both share it
    original = conn.tokens.stored()
    enable_insecure_file_secrets(conn.paths)
    store = SecretStore(conn.paths)
    store.set_many(
        {
            secrets.QBO_CLIENT_SECRET: conn.sandbox.config.client_secret,
            secrets.QBO_ACCESS_TOKEN: original.access_token,
            secrets.QBO_ACCESS_EXPIRES_AT: "0",  # both processes find it expired
            secrets.QBO_REFRESH_TOKEN: original.refresh_token,
        }
    )
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_child, args=(conn.paths, conn.oauth, conn.realm_id, barrier, out)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    assert [r[0] for r in results] == ["ok", "ok"], results
    assert sorted(r[2] for r in results) == [0, 1]  # exactly one refreshed; the other re-read its tokens
    newest = store.get(secrets.QBO_REFRESH_TOKEN)
    assert newest != original.refresh_token
    assert refresh_at_sandbox(conn, original.refresh_token).json()["error"] == "invalid_grant"
    assert refresh_at_sandbox(conn, newest).status_code == 200  # the stored one is the live one
