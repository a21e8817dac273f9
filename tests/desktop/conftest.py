"""Tests of the Qt app: service, windows, wizard, tray. Shared fixtures come from ``tests/fixtures`` (see ``tests/conftest.py``)."""
