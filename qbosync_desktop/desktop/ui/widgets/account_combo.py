"""A drop-down of QuickBooks accounts that shows its own loading / failed state.

The accounts come from the network, so the combo exists before its items do: it says "Loading
accounts…" (disabled) until the list arrives, "Accounts could not be loaded" on failure, and keeps the
account the settings already name selected once they arrive (editing settings must not lose a choice
just because the list was slow).

Real charts of accounts run to hundreds of entries, so the combo is searchable: typing filters the list
(any part of the name, case-insensitive) and Enter takes the highlighted account; the accounts are
grouped under their QuickBooks account type ("Expense", "Cost of Goods Sold", …) as non-selectable
headings. Text typed that names no account leaves the choice empty (never a made-up account).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QComboBox, QCompleter, QWidget

from qbosync_desktop.desktop.signals import emit

#: Headings only help a long list: a handful of accounts reads better without them.
GROUP_FROM = 8


class AccountCombo(QComboBox):
    """Items: a "Choose …" placeholder (data ``None``) then ``Name`` per account (data = Id)."""

    account_changed = Signal(object)  # Id or None

    def __init__(self, accessible_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(accessible_name)
        self.setMinimumContentsLength(22)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        completer = QCompleter(self.model(), self)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.setCompleter(completer)
        edit = self.lineEdit()
        assert edit is not None  # editable
        edit.setAccessibleName(accessible_name)
        edit.setPlaceholderText(self.tr("Type to search the accounts"))
        edit.editingFinished.connect(self._typed)
        self._wanted: str | None = None
        self._loaded = False
        self.currentIndexChanged.connect(self._emit)
        self.set_loading()

    def _emit(self, _index: int) -> None:
        if self._loaded:
            self._wanted = self.current_id()
            emit(self.account_changed, self._wanted)

    def _placeholder(self, text: str) -> None:
        self._loaded = False
        self.blockSignals(True)
        self.clear()
        self.addItem(text, None)
        self.blockSignals(False)
        self.setEnabled(False)

    def set_loading(self) -> None:
        self._placeholder(self.tr("Loading accounts…"))

    def set_failed(self) -> None:
        self._placeholder(self.tr("Accounts could not be loaded"))

    def _typed(self) -> None:
        """Typed text that is exactly an account's name selects it; anything else goes back to the
        current choice's name (a half-typed search never becomes the value)."""
        if not self._loaded:
            return
        text = self.currentText().strip().casefold()
        for i in range(self.count()):
            if self.itemData(i) and self.itemText(i).casefold() == text:
                self.setCurrentIndex(i)
                return
        self.setEditText(self.itemText(self.currentIndex()))

    def set_accounts(self, accounts: Mapping[str, str], types: Mapping[str, str] | None = None) -> None:
        """Fill with ``{Id: Name}`` sorted by name, under a heading per account type when ``types``
        (Id → AccountType) names more than one and the list is long (:data:`GROUP_FROM`); re-select the previously chosen Id if present."""
        self.blockSignals(True)
        self.clear()
        self.addItem(self.tr("Choose an account…"), None)
        ordered = sorted(accounts.items(), key=lambda kv: (kv[1].lower(), kv[0]))
        kinds = sorted({(types or {}).get(i) or "" for i, _n in ordered})
        model = self.model()
        grouped = len(kinds) > 1 and len(ordered) >= GROUP_FROM
        for kind in kinds if grouped else [None]:
            if kind is not None and isinstance(model, QStandardItemModel):
                heading = QStandardItem(self._type_label(kind))
                heading.setFlags(Qt.ItemFlag.NoItemFlags)  # a heading, not a choice
                font = heading.font()
                font.setBold(True)
                heading.setFont(font)
                model.appendRow(heading)
            for acct_id, name in ordered:
                if kind is None or ((types or {}).get(acct_id) or "") == kind:
                    self.addItem(name, acct_id)
        index = self.findData(self._wanted) if self._wanted else 0
        self.setCurrentIndex(max(index, 0))
        self.blockSignals(False)
        self._loaded = True
        self.setEnabled(True)

    def _type_label(self, kind: str) -> str:
        """The heading for an AccountType ("Cost of Goods Sold"; a run-together "OtherExpense" is split)."""


        words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", kind).strip()
        return words or self.tr("Other")

    @property
    def loaded(self) -> bool:
        return self._loaded

    def current_id(self) -> str | None:
        if not self._loaded:
            return self._wanted
        data = self.currentData()
        return str(data) if data else None

    def select_id(self, acct_id: str | None) -> None:
        """Choose ``acct_id`` now if the list is loaded, otherwise as soon as it is."""
        self._wanted = acct_id
        if self._loaded:
            index = self.findData(acct_id) if acct_id else 0
            self.setCurrentIndex(max(index, 0))
