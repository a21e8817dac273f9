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
    QComboBox,
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

from qbosync_desktop.core.money import cents
from qbosync_desktop.desktop.ui.dialogs.error_dialog import show_error

#: action → button text
ACTION_TEXT = {
    "recreate": "Send Work's version again",
    "relink": "Re-link",
    "accept": "Keep QuickBooks' value",
    "ignore": "Ignore",
}


#: the scheduled check's choices: (days, words); 0 turns it off
SCHEDULE = ((1, "Every day"), (7, "Every week"), (14, "Every two weeks"), (30, "Every month"), (0, "Never"))


def _money(value: Any) -> str:
    return f"{cents(value):,.2f}"


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
        self.table.setTabKeyNavigation(False)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(0, 180)
        self.table.setColumnWidth(1, 380)
        self.table.itemSelectionChanged.connect(self._selected)
        self.table.setMinimumHeight(170)
        lay.addWidget(self.table, 3)
        fixes = QHBoxLayout()
        self.action_buttons: dict[str, QPushButton] = {}
        for action, text in ACTION_TEXT.items():
            b = QPushButton(self.tr(text), self)
            b.setEnabled(False)
            b.clicked.connect(lambda _checked=False, a=action: self.fix(a))
            self.action_buttons[action] = b
            fixes.addWidget(b)
        fixes.addStretch(1)
        lay.addLayout(fixes)
        self.reason = QLineEdit(self)
        self.reason.setPlaceholderText(self.tr("Why ignore it? (kept in the audit log)"))
        self.reason.setAccessibleName(self.tr("Reason for ignoring"))
        lay.addWidget(self.reason)

        totals_title = QLabel(self.tr("Totals, Work and QuickBooks side by side"), self)
        totals_title.setObjectName("SectionTitle")
        lay.addWidget(totals_title)
        self.totals = QTableWidget(0, 4, self)
        self.totals.setObjectName("ReconcileTotals")
        self.totals.setAccessibleName(self.tr("Invoices per month and open balance per customer, Work and QuickBooks"))
        self.totals.setHorizontalHeaderLabels([self.tr("Total"), self.tr("Work"), self.tr("QuickBooks"),
                                               self.tr("Same?")])
        self.totals.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.totals.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.totals.setTabKeyNavigation(False)
        self.totals.verticalHeader().setVisible(False)
        self.totals.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.totals.horizontalHeader().setStretchLastSection(True)
        for col, width in enumerate((200, 190, 190)):
            self.totals.setColumnWidth(col, width)
        self.totals.setMinimumHeight(140)
        lay.addWidget(self.totals, 2)

        row = QHBoxLayout()
        self.check_button = QPushButton(self.tr("Check now"), self)
        self.check_button.setObjectName("Primary")
        self.check_button.clicked.connect(self.check)
        row.addWidget(self.check_button)
        every = QLabel(self.tr("Check on its own:"), self)
        row.addWidget(every)
        self.schedule = QComboBox(self)
        self.schedule.setAccessibleName(self.tr("How often QBO Sync checks on its own"))
        every.setBuddy(self.schedule)
        for days, words in SCHEDULE:
            self.schedule.addItem(self.tr(words), days)
        self.schedule.setEnabled(False)  # until the saved choice has been read (off the GUI thread)
        self.schedule.currentIndexChanged.connect(self._schedule_chosen)
        row.addWidget(self.schedule)
        self.status = QLabel(self.tr("Not checked yet."), self)
        self.status.setObjectName("Muted")
        self.status.setWordWrap(True)
        row.addWidget(self.status, 1)
        lay.addLayout(row)
        self._schedule_days: int | None = None
        self.session.reconcile_schedule(on_done=self._schedule_read, on_error=lambda _exc: None)

    # -- the scheduled check -----------------------------------------------------------------------------
    def _schedule_read(self, days: Any) -> None:
        self._schedule_days = int(days)
        index = self.schedule.findData(self._schedule_days)
        if index < 0:  # a number of days set from the command line: shown as it is
            self.schedule.addItem(self.tr("Every %1 days").replace("%1", str(self._schedule_days)),
                                  self._schedule_days)
            index = self.schedule.count() - 1
        self.schedule.blockSignals(True)
        self.schedule.setCurrentIndex(index)
        self.schedule.blockSignals(False)
        self.schedule.setEnabled(True)

    def _schedule_chosen(self) -> None:
        days = self.schedule.currentData()
        if days is None or days == self._schedule_days:
            return
        self._schedule_days = int(days)
        words = self.schedule.currentText()
        self.session.set_reconcile_schedule(
            int(days), on_done=lambda _r: self.status.setText(
                self.tr("The check runs on its own: %1.").replace("%1", words.lower())
                if days else self.tr("The check no longer runs on its own; use Check now.")),
            on_error=self._failed)

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
        self._fill_totals(report)
        checked = sum(report.checked.values())
        words = (self.tr("In step: no differences.") if report.in_step
                 else self.tr("%n difference(s).", "", len(report.differences)))
        self.status.setText(self.tr("{words} Compared {n} records with {r} QuickBooks requests in {s:.1f} s.")
                            .format(words=words, n=checked, r=report.requests, s=report.seconds))
        self._selected()

    def _fill_totals(self, report: Any) -> None:
        """Every month's invoices (count and total) and each customer whose open balance differs; the
        customers that agree are counted in the last row (a company has thousands)."""
        t = self.totals
        t.setRowCount(0)
        rows: list[tuple[str, str, str, bool]] = []
        for m in report.invoices_per_month:
            rows.append((self.tr("Invoices of %1").replace("%1", m["month"]),
                         self.tr("%1 for %2").replace("%1", str(m["work_count"])).replace("%2", _money(m["work_total"])),
                         self.tr("%1 for %2").replace("%1", str(m["qbo_count"])).replace("%2", _money(m["qbo_total"])),
                         not m["differs"]))
        agree = 0
        for c in report.open_balance_per_customer:
            if not c["differs"]:
                agree += 1
                continue
            rows.append((self.tr("Open balance of %1").replace("%1", str(c["customer"])), _money(c["work_open"]),
                         _money(c["qbo_open"]), False))
        if report.open_balance_per_customer:
            rows.append((self.tr("Open balances of the other customers"),
                         self.tr("%n customer(s) agree", "", agree), "", True))
        for label, work, qbo, same in rows:
            r = t.rowCount()
            t.insertRow(r)
            for col, text in enumerate((label, work, qbo, self.tr("Same") if same else self.tr("Differs"))):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if col in (1, 2):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                t.setItem(r, col, item)

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
