"""Tokens and the client secret never reach a log record, and a keyring that fails never loses a token."""

from __future__ import annotations

import logging

import keyring
import keyring.errors
import pytest
from fixtures.qbo_client import connect_sandbox

from qbosync_desktop.connectors.qbo.client import QboClient
from qbosync_desktop.connectors.qbo.oauth.authorize import TokenManager
from qbosync_desktop.core import errors, secrets
from qbosync_desktop.core.keyring_memory import MemoryKeyring
from qbosync_desktop.core.secrets import SecretStore


def test_debug_logs_of_a_whole_session_hold_no_token_or_secret(make_qbo_connection, caplog, memory_keyring):
    caplog.set_level(logging.DEBUG)
    conn = make_qbo_connection()
    conn.client.count("Customer")
    conn.sandbox.clock.advance(3700)  # 401 → refresh → retry
    conn.client.create("Customer", {"DisplayName": "Log Check"}, requestid="log-1")
    conn.tokens.revoke()
    text = caplog.text
    assert "GET companyinfo" in text or "POST query" in text  # the request log is there...
    assert "intuit_tid=1-" in text
    issued = [v for v in memory_keyring.values() if len(v) > 8] + [conn.sandbox.config.client_secret]
    assert issued
    for value in issued:
        assert value not in text  # ...without a single credential
    assert "Bearer " not in text and "Basic " not in text


class WritesFail(MemoryKeyring):
    """A keyring that can be read but refuses writes (a locked wallet, a full disk)."""

    armed = False

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.armed:
            raise keyring.errors.PasswordSetError("locked")
        super().set_password(service, username, password)


def test_a_keyring_that_refuses_writes_stops_the_refresh_before_the_token_is_burnt(qbo_sandbox, home):
    backend = WritesFail()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        oauth, result = connect_sandbox(qbo_sandbox, home)
        store = SecretStore(home)
        tm = TokenManager(store, home, oauth, result.realm_id)
        before = tm.stored()
        backend.armed = True
        with pytest.raises(errors.KeyringUnavailable):
            tm.refresh(force=True)
        assert tm.stored() == before  # the keyring still holds a consistent set...
        backend.armed = False
        tm.refresh(force=True)  # ...whose refresh token was not burnt: the write was tested first
        assert tm.stored().refresh_token != before.refresh_token
    finally:
        keyring.set_keyring(previous)


def test_a_user_without_rights_to_the_company_needs_reconnect(qbo_connection):
    other = QboClient(qbo_connection.oauth.api_base, "1234567890", qbo_connection.tokens, max_retries=0)
    with pytest.raises(errors.NeedsReconnect) as info:
        other.count("Customer")
    assert info.value.details["code"] == "3100" and info.value.details["http_status"] == 403
    assert "Admin" in info.value.hint
    assert qbo_connection.secrets.get(secrets.QBO_REFRESH_TOKEN)  # nothing deleted: Reconnect decides
