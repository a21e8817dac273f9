"""Tests of the Qt-free runtime: workspace, worker process, practice mode, autostart. Shared fixtures come from ``tests/fixtures`` (see ``tests/conftest.py``)."""
