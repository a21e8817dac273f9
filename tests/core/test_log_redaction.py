"""Secrets planted in log records and exceptions never reach the log file."""

from __future__ import annotations

import logging

import pytest

from qbosync_desktop.core.logs import REDACTED, redact, register_secret, setup_logging

CASES = [
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc.def", "eyJhbGciOiJIUzI1NiJ9"),
    ("headers={'Authorization': 'Basic Y2xpZW50OnNlY3JldA=='}", "Y2xpZW50OnNlY3JldA"),
    ('{"access_token": "AT-123456789", "token_type": "bearer"}', "AT-123456789"),
    ("{'refresh_token': 'RT-abcdefghijk'}", "RT-abcdefghijk"),
    ("grant_type=refresh_token&refresh_token=RT-zzzzzzzzz&x=1", "RT-zzzzzzzzz"),
    ("client_secret=s3cr3t-value-42", "s3cr3t-value-42"),
    ("GET /callback?code=AB12-one-time-code&state=xyz&realmId=123", "AB12-one-time-code"),
    ('{"api_key": "wk_live_abcdef123"}', "wk_live_abcdef123"),
]


@pytest.mark.parametrize("text,secret", CASES)
def test_redact_patterns(text, secret):
    out = redact(text)
    assert secret not in out
    assert REDACTED in out


def test_harmless_text_is_kept():
    text = "QuickBooks fault code=6240 element=DisplayName intuit_tid=1-abc"
    assert redact(text) == text


def test_planted_tokens_never_reach_the_log_file(home):
    log_file = setup_logging(home.log_dir)
    plain_secret = "plain-registered-secret-value-9876"
    register_secret(plain_secret)
    logger = logging.getLogger("qbosync_desktop.test")
    logger.warning("token response %s", {"access_token": "AT-leak-me-please", "expires_in": 3600})
    logger.warning("refreshing with %s", plain_secret)
    logger.warning(f"f-string Bearer BEARER-TOKEN-XYZ-123 in {'url'}")
    try:
        raise RuntimeError(f"request failed: refresh_token=RT-exception-secret and {plain_secret}")
    except RuntimeError:
        logger.exception("sync failed")
    for h in logging.getLogger().handlers:
        h.flush()
    content = log_file.read_text(encoding="utf-8")
    for secret in ("AT-leak-me-please", plain_secret, "BEARER-TOKEN-XYZ-123", "RT-exception-secret"):
        assert secret not in content
    assert "sync failed" in content and "RuntimeError" in content
    assert content.count(REDACTED) >= 4
