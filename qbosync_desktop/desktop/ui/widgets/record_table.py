"""A read-only table of records backed by a model, so thousands of rows render without a stall.

``QTableWidget`` builds an item object per cell up front: 2,000 activity rows × 6 columns took
150-400 ms on the GUI thread in the responsiveness test — a visible freeze at the end of every large
sync. A model hands Qt the rows lazily (only the visible ones are ever asked for), so replacing the
rows is one cheap reset however long the list is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

Index = QModelIndex | QPersistentModelIndex


class RecordModel(QAbstractTableModel):
    """Rows are any objects; ``cells(row) -> tuple[str, ...]`` turns one into its column texts."""

    def __init__(self, headers: Sequence[str], cells: Callable[[Any], Sequence[Any]],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.headers = list(headers)
        self._cells = cells
        self.rows: list[Any] = []
        self._texts: dict[int, list[str]] = {}

    def set_rows(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self._texts = {}
        self.endResetModel()

    def texts(self, row: int) -> list[str]:
        cached = self._texts.get(row)
        if cached is None:
            cached = ["" if v is None else str(v) for v in self._cells(self.rows[row])]
            self._texts[row] = cached
        return cached

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.headers)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return self.texts(index.row())[index.column()]
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.headers[section]
        return None


def fit_headers(view: QTableView, widths: Sequence[int] = ()) -> None:
    """Set the columns' widths (``widths``, in order) but never narrower than their header text in
    the semi-bold header font plus its padding, so no header is cut off ("uickBooks request")."""
    header = view.horizontalHeader()
    model = view.model()
    bold = QFont(header.font())
    bold.setWeight(QFont.Weight.DemiBold)
    fm = QFontMetrics(bold)
    for col in range(header.count()):
        text = str(model.headerData(col, Qt.Orientation.Horizontal) or "") if model is not None else ""
        need = fm.horizontalAdvance(text) + 24
        want = widths[col] if col < len(widths) else header.sectionSize(col)
        if header.sectionResizeMode(col) == QHeaderView.ResizeMode.Interactive:
            view.setColumnWidth(col, max(want, need))


class RecordTable(QTableView):
    """Row selection, no editing, keyboard friendly (Tab leaves the table), alternating rows."""

    def __init__(self, headers: Sequence[str], cells: Callable[[Any], Sequence[Any]], name: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setAccessibleName(name)
        self.records = RecordModel(headers, cells, self)
        self.setModel(self.records)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setTabKeyNavigation(False)
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.horizontalHeader().setStretchLastSection(True)

    def set_rows(self, rows: Sequence[Any]) -> None:
        self.records.set_rows(rows)

    def rowCount(self) -> int:
        return self.records.rowCount()

    def text(self, row: int, column: int) -> str:
        return self.records.texts(row)[column]

    def selected_row(self) -> Any | None:
        rows = self.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.records.rows):
            return None
        return self.records.rows[rows[0].row()]
