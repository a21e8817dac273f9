"""The screenshot script renders every wizard page and the integration window from a real practice run."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QImage

from qbosync_desktop.desktop.ui.screenshots import render

EXPECTED = ["01-connect.png", "02-sync-settings.png", "03-review.png", "04-enable.png", "05-integration.png",
            "06-problems.png", "07-disconnect.png", "08-error.png", "09-matches.png"]


@pytest.mark.timeout(240)
def test_every_screen_renders_to_a_png(qtbot, tmp_path):
    shots = render(tmp_path / "shots", latency_ms=0)
    assert [p.name for p in shots] == EXPECTED
    for p in shots:
        image = QImage(str(p))
        assert not image.isNull() and image.width() >= 400 and image.height() >= 300, p.name
