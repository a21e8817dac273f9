"""Tests of the qbosync command. Shared fixtures come from ``tests/fixtures`` (see ``tests/conftest.py``)."""
