"""Tests of bundles, icons and metadata. Shared fixtures come from ``tests/fixtures`` (see ``tests/conftest.py``)."""
