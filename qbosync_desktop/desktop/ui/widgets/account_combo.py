"""A drop-down of QuickBooks accounts that shows its own loading / failed state.

The accounts come from the network, so the combo exists before its items do: it says "Loading
accounts…" (disabled) until the list arrives, "Accounts could not be loaded" on failure, and keeps the
account the settings already name selected once they arrive (editing settings must not lose a choice
just because the list was slow).
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QWidget

from qbosync_desktop.desktop.signals import emit


class AccountCombo(QComboBox):
    """Items: a "Choose …" placeholder (data ``None``) then ``Name`` per account (data = Id)."""

    account_changed = Signal(object)  # Id or None

    def __init__(self, accessible_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(accessible_name)
        self.setMinimumContentsLength(28)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
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

    def set_accounts(self, accounts: Mapping[str, str]) -> None:
        """Fill with ``{Id: Name}`` sorted by name; re-select the previously chosen Id if present."""
        self.blockSignals(True)
        self.clear()
        self.addItem(self.tr("Choose an account…"), None)
        for acct_id, name in sorted(accounts.items(), key=lambda kv: (kv[1].lower(), kv[0])):
            self.addItem(name, acct_id)
        index = self.findData(self._wanted) if self._wanted else 0
        self.setCurrentIndex(max(index, 0))
        self.blockSignals(False)
        self._loaded = True
        self.setEnabled(True)

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
