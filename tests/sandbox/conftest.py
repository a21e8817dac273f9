"""Tests of the practice servers (QuickBooks v3 + OAuth, Work demo server). Shared fixtures come from ``tests/fixtures`` (see ``tests/conftest.py``)."""
