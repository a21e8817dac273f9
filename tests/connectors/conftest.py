"""Tests of the QuickBooks and Work HTTP clients. Shared fixtures come from ``tests/fixtures`` (see ``tests/conftest.py``)."""
