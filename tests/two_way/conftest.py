"""Tests of clients ⇄ customers, two-way. Shared fixtures come from ``tests/fixtures`` (see ``tests/conftest.py``)."""
