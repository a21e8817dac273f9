"""Tests of kill drills and the responsiveness drill (slow). Shared fixtures come from ``tests/fixtures`` (see ``tests/conftest.py``)."""
