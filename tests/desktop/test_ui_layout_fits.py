"""Every screen fits at 900×650 and at 1600×1000: no sideways scrolling, no clipped text.

The screens are the real ones (the screenshot script drives the practice company through Connect,
Sync Settings, Review, Enable, the integration window, its Problems, Matches and Reconcile tabs, the
undo preview, Disconnect, Reconnect, an error dialog and the damaged-database dialog); each is measured with the layout checker as it is saved. The checker itself is
tested on widgets that are clipped on purpose, so a checker that finds nothing cannot pass for one
that works.
"""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QScrollArea, QTableWidget, QVBoxLayout, QWidget

from qbosync_desktop.desktop.ui.layout_check import layout_issues, unnamed_controls
from qbosync_desktop.desktop.ui.screenshots import render

EXPECTED = ["01-connect.png", "02-sync-settings.png", "03-review.png", "04-enable.png", "05-integration.png",
            "06-problems.png", "07-disconnect.png", "08-error.png", "09-matches.png", "10-map-concept.png",
            "11-connect-real.png", "13-reconcile.png", "14-undo.png", "16-reconnect.png",
            "17-history-held.png", "15-restore.png"]


def test_the_checker_finds_clipped_text_and_sideways_scrolling(qtbot):
    root = QWidget()
    qtbot.addWidget(root)
    lay = QVBoxLayout(root)
    label = QLabel("QuickBooks request count for the last run", root)
    label.setFixedWidth(60)
    button = QPushButton("Turn on “Use default state” and retry", root)
    button.setFixedWidth(80)
    table = QTableWidget(1, 2, root)
    table.setHorizontalHeaderLabels(["QuickBooks requests", "x"])
    table.setColumnWidth(0, 40)
    scroll = QScrollArea(root)
    inner = QWidget()
    inner.setMinimumWidth(2000)
    scroll.setWidget(inner)
    squeezed = QLabel("Invoice not in QuickBooks yet · 6 records", root)
    squeezed.setFixedHeight(6)
    for w in (label, button, table, scroll, squeezed):
        lay.addWidget(w)
    root.resize(400, 500)
    root.show()
    qtbot.waitExposed(root)
    found = "\n".join(layout_issues(root))
    assert "clips “QuickBooks request count" in found
    assert "clips “Turn on" in found
    assert "header “QuickBooks requests” clipped" in found
    assert "scrolls sideways" in found
    assert "squeezed (6 px high" in found
    label.setWordWrap(True)  # wrapping text is never clipped
    assert "QuickBooks request count" not in "\n".join(layout_issues(root))


def test_the_checker_finds_unnamed_controls(qtbot):
    root = QWidget()
    qtbot.addWidget(root)
    lay = QVBoxLayout(root)
    anonymous = QLineEdit(root)
    named = QLineEdit(root)
    named.setAccessibleName("Work address")
    labelled = QLineEdit(root)
    label = QLabel("Work API key", root)
    label.setBuddy(labelled)
    for w in (anonymous, named, label, labelled):
        lay.addWidget(w)
    root.show()
    qtbot.waitExposed(root)
    assert unnamed_controls(root) == ["QLineEdit() has no accessible name"]


@pytest.mark.timeout(420)
@pytest.mark.parametrize("size", [(900, 650), (1600, 1000)], ids=["900x650", "1600x1000"])
def test_every_screen_fits(qtbot, tmp_path, size):
    issues: dict[str, list[str]] = {}
    shots = render(tmp_path / "shots", latency_ms=0, size=size, issues=issues, extra=True)
    assert [p.name for p in shots] == EXPECTED and sorted(issues) == sorted(EXPECTED)
    problems = [f"{name}: {issue}" for name, found in issues.items() for issue in found]
    assert problems == []
