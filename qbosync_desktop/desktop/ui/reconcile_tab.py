"""The integration window's Reconcile tab (issue 15): every difference between Work and QuickBooks,
one row each in plain words, with the safe fixes the row offers.

"Check now" and every fix run on the sync service's worker through :class:`~.session.Session` (the
GUI thread never waits); "Send Work's version again" then queues a sync, so the write goes through the
outbox like any other. The scheduled check's report (``SyncService.reconcile_checked``) lands here too.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from qbosync_desktop.desktop.ui.dialogs.error_dialog import show_error

#: action → button text
ACTION_TEXT = {
    "recreate": "Send Work's version again",
    "relink": "Re-link",
    "accept": "Keep QuickBooks' value",
    "ignore": "Ignore",
}


class ReconcileTab(QWidget):
    def __init__(self, session: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.report: Any = None
        self.dialog: QWidget | None = None
        lay = QVBoxLayout(self)
        hint = QLabel(self.tr("Compares every synced record in Work and in QuickBooks, without changing anything. "
                              "Each difference says what to do; pick a row to fix it."), self)
        hint.setWordWrap(True)
        hint.setObjectName("Muted")
        lay.addWidget(hint)
        self.table = QTableWidget(0, 3, self)
        self.table.setObjectName("Reconcile")
        self.table.setAccessibleName(self.tr("Differences between Work and QuickBooks"))
        self.table.setHorizontalHeaderLabels([self.tr("Record"), self.tr("What differs"), self.tr("What to do")])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(0, 180)
        self.table.setColumnWidth(1, 380)
        self.table.itemSelectionChanged.connect(self._selected)
        lay.addWidget(self.table)
        row = QHBoxLayout()
        self.check_button = QPushButton(self.tr("Check now"), self)
        self.check_button.setObjectName("Primary")
        self.check_button.clicked.connect(self.check)
        row.addWidget(self.check_button)
        self.action_buttons: dict[str, QPushButton] = {}
        for action, text in ACTION_TEXT.items():
            b = QPushButton(self.tr(text), self)
            b.setEnabled(False)
            b.clicked.connect(lambda _checked=False, a=action: self.fix(a))
            self.action_buttons[action] = b
            row.addWidget(b)
        self.reason = QLineEdit(self)
        self.reason.setPlaceholderText(self.tr("Why ignore it? (kept in the audit log)"))
        self.reason.setAccessibleName(self.tr("Reason for ignoring"))
        row.addWidget(self.reason, 1)
        lay.addLayout(row)
        self.status = QLabel(self.tr("Not checked yet."), self)
        self.status.setObjectName("Muted")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)

    # -- checking --------------------------------------------------------------------------------------
    def check(self) -> None:
        self.check_button.setEnabled(False)
        self.status.setText(self.tr("Checking… (reading both companies; nothing is changed)"))
        self.session.reconcile(on_done=self.show_report, on_error=self._failed)

    def show_report(self, report: Any) -> None:
        self.report = report
        self.check_button.setEnabled(True)
        t = self.table
        t.setRowCount(0)
        for d in report.differences:
            r = t.rowCount()
            t.insertRow(r)
            for col, text in enumerate((d.label, d.message, d.what_to_do)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                item.setData(Qt.ItemDataRole.UserRole, d.id)
                t.setItem(r, col, item)
        t.resizeRowsToContents()
        checked = sum(report.checked.values())
        words = (self.tr("In step: no differences.") if report.in_step
                 else self.tr("%n difference(s).", "", len(report.differences)))
        self.status.setText(self.tr("{words} Compared {n} records with {r} QuickBooks requests in {s:.1f} s.")
                            .format(words=words, n=checked, r=report.requests, s=report.seconds))
        self._selected()

    def _failed(self, exc: BaseException) -> None:
        self.check_button.setEnabled(True)
        self.status.setText(self.tr("The check did not finish."))
        self.dialog = show_error(exc, self)

    # -- fixing ----------------------------------------------------------------------------------------
    def selected(self) -> Any:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or self.report is None:
            return None
        row_id = self.table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)
        return self.report.row(row_id)

    def select_row(self, row_id: str) -> None:
        for r in range(self.table.rowCount()):
            if self.table.item(r, 0).data(Qt.ItemDataRole.UserRole) == row_id:
                self.table.selectRow(r)
                return

    def _selected(self) -> None:
        d = self.selected()
        for action, b in self.action_buttons.items():
            b.setEnabled(d is not None and action in d.actions)

    def fix(self, action: str) -> None:
        d = self.selected()
        if d is None:
            return
        for b in self.action_buttons.values():
            b.setEnabled(False)
        self.status.setText(self.tr("Applying the fix…"))
        self.session.reconcile_fix(d, action, self.reason.text(), on_done=self._fixed, on_error=self._failed)

    def _fixed(self, text: Any) -> None:
        self.reason.clear()
        self.status.setText(str(text))
        if self.report is not None:
            d = self.selected()
            if d is not None:
                self.report.differences.remove(d)
                self.show_report(self.report)
                self.status.setText(str(text))
