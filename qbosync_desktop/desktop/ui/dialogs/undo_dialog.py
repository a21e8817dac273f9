"""The "Undo this run…" preview dialog of the History tab (issue 15 part 2).

It shows every write the undo would make (from :func:`qbosync_desktop.sync.undo.preview`, read off the
GUI thread by the session) and every record it must keep, with the reason. The person chooses "Undo
and hold these records" or "Undo, then sync again"; when records are blocked, the undo only goes ahead
after "Undo the rest and keep those records" is ticked. The dialog itself does no I/O.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListView,
    QListWidget,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

HOLD = "hold"
SYNC = "sync"


def _words(name: str) -> str:
    """``CreditMemo`` → ``credit memo``, ``sub_customer`` → ``sub customer``."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).replace("_", " ").lower()


class UndoDialog(QDialog):
    def __init__(self, plan: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plan = plan
        self.setObjectName("UndoDialog")
        self.setWindowTitle(self.tr("Undo sync run %1").replace("%1", str(plan["run_id"])))
        lay = QVBoxLayout(self)
        writes = [s for s in plan["steps"] if not s["blocked"]]
        blocked = [s for s in plan["steps"] if s["blocked"]]
        summary = self.tr("Undoing this run makes these %1 change(s). Nothing is written until you press Undo.") \
            .replace("%1", str(plan["writes"]))
        if not plan["steps"]:
            summary = self.tr("This run wrote nothing that is still in place: there is nothing to undo.")
        head = QLabel(summary, self)
        head.setWordWrap(True)
        lay.addWidget(head)
        self.by_kind = QLabel(self._by_kind(writes), self)
        self.by_kind.setObjectName("UndoByKind")
        self.by_kind.setWordWrap(True)
        self.by_kind.setVisible(bool(writes))
        lay.addWidget(self.by_kind)
        self.writes_list = QListWidget(self)
        self.writes_list.setObjectName("UndoWrites")
        self.writes_list.setAccessibleName(self.tr("What the undo changes"))
        self.writes_list.setWordWrap(True)
        self.writes_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.writes_list.setResizeMode(QListView.ResizeMode.Adjust)
        for s in writes:
            self.writes_list.addItem(s["text"])
        lay.addWidget(self.writes_list)
        self.blocked_list = QListWidget(self)
        self.blocked_list.setObjectName("UndoBlocked")
        self.keep_blocked = QCheckBox(self.tr("Undo the rest and keep these records as they are"), self)
        if blocked:
            why = QLabel(self.tr("These records cannot be undone because later work depends on them:"), self)
            why.setWordWrap(True)
            lay.addWidget(why)
            for s in blocked:
                self.blocked_list.addItem(f"{s['label']}: {s['blocked']}")
            self.blocked_list.setWordWrap(True)
            self.blocked_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            self.blocked_list.setResizeMode(QListView.ResizeMode.Adjust)
            lay.addWidget(self.blocked_list)
            lay.addWidget(self.keep_blocked)
        else:
            self.blocked_list.hide()
            self.keep_blocked.hide()
        self.hold = QRadioButton(self.tr("Undo and hold these records (the next syncs skip them until you let "
                                         "them go in the History tab)"), self)
        self.sync_again = QRadioButton(self.tr("Undo, then sync again (the next sync may send them again)"), self)
        self.hold.setChecked(True)
        lay.addWidget(self.hold)
        lay.addWidget(self.sync_again)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.undo_button = self.buttons.addButton(self.tr("Undo"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.keep_blocked.toggled.connect(self._sync_button)
        self._sync_button()
        self.resize(640, 420)

    def _by_kind(self, writes: list[dict[str, Any]]) -> str:
        """"In QuickBooks: delete 96 invoices, 64 payments; make 48 customers inactive. In Work: …" """
        groups: dict[str, dict[str, Counter[str]]] = {}
        verbs = {"delete": self.tr("delete %1"), "deactivate": self.tr("make %1 inactive"),
                 "restore": self.tr("put back the previous values of %1")}
        for s in writes:
            if s["side"] not in ("quickbooks", "work") or s["action"] not in verbs:
                continue  # only this app's own records change: nothing is written
            side = self.tr("In QuickBooks") if s["side"] == "quickbooks" else self.tr("In Work")
            what = s["entity"] if s["side"] == "quickbooks" else s["kind"]
            groups.setdefault(side, {}).setdefault(s["action"], Counter())[_words(what)] += 1
        parts = []
        for side, per_action in groups.items():
            said = [verbs[action].replace("%1", ", ".join(f"{n} {what}{'s' if n != 1 else ''}"
                                                          for what, n in sorted(counts.items())))
                    for action, counts in per_action.items()]
            parts.append(f"{side}: {'; '.join(said)}.")
        return " ".join(parts)

    def _sync_button(self) -> None:
        blocked = any(s["blocked"] for s in self.plan["steps"])
        self.undo_button.setEnabled(bool(self.plan["writes"] or self.plan["steps"])
                                    and (not blocked or self.keep_blocked.isChecked()))

    @property
    def mode(self) -> str:
        return HOLD if self.hold.isChecked() else SYNC

    @property
    def skip_blocked(self) -> bool:
        return self.keep_blocked.isChecked()
