"""Tests of the sync engine's one-way flows, onboarding and problems. Shared fixtures come from ``tests/fixtures`` (see ``tests/conftest.py``)."""
