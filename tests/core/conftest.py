"""Tests of errors, paths, logs, the keyring and the store. Shared fixtures come from ``tests/fixtures`` (see ``tests/conftest.py``)."""
