"""Tests of the Qt app: service, windows, wizard, tray. Shared fixtures come from ``tests/fixtures`` (see ``tests/conftest.py``)."""

from __future__ import annotations

import argparse

import pytest
from PySide6.QtWidgets import QApplication

from qbosync_desktop.desktop.ui.bootstrap import Controller
from qbosync_desktop.runtime.workspace import Workspace


@pytest.fixture
def make_controller(qtbot, home, make_practice):
    """The app's Controller on a fresh workspace with the practice servers; ``demo`` as ``--demo`` sets it.
    Shut down (and its service thread waited for) after the test."""
    made = []

    def make(*, demo: bool) -> Controller:
        ws = Workspace.open(home)
        args = argparse.Namespace(demo=demo, tray=False, home=None, debug=False)
        c = Controller(QApplication.instance(), args, workspace=ws, practice_factory=lambda _ws: make_practice(),
                       open_url=lambda url: None, ask_on_close=False)
        made.append((c, ws))
        return c

    yield make
    for c, ws in made:
        c.shutdown()
        qtbot.waitUntil(lambda c=c: not c.session.service.thread.is_alive(), timeout=30_000)
        ws.close()
