"""The Disconnect confirmation: exactly what stays in QuickBooks, what is kept here, what is forgotten.

The seed promises the integration "will not affect your existing data in QuickBooks" and that concept
mappings are kept "unless you disconnect"; Workspace.disconnect implements that. This dialog says it
in the same three parts before anything happens, because "Disconnect" on a shared screen must not
make an admin wonder whether their books are about to change.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QLabel, QLayout, QVBoxLayout, QWidget

from qbosync_desktop.desktop.ui.text import tr

STAYS_IN_QUICKBOOKS = tr(
    "everything already synced — customers, sub-customers, items, invoices, payments, vendors and bills. "
    "Nothing in QuickBooks is changed or deleted.")
KEPT_LOCALLY = tr(
    "the links between Work and QuickBooks records, your sync settings, the Work connection, the sync "
    "history and the activity log — so reconnecting to the same company continues without duplicates.")
FORGOTTEN = tr(
    "the QuickBooks sign-in (access is revoked at Intuit and removed from the system keyring) and the "
    "concept → expense account mappings for contractor bills.")
FORGET_LINKS = tr("Also forget the links and the Work connection (start from scratch)")


class DisconnectDialog(QDialog):
    """Accept → the caller disconnects; :attr:`forget_links` tells whether to forget links too."""

    def __init__(self, company_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Disconnect from QuickBooks?"))
        self.setAccessibleName(self.windowTitle())
        self.setMinimumWidth(620)
        title = QLabel(self.tr("Disconnect “{0}”?").format(company_name or self.tr("QuickBooks")), self)
        title.setObjectName("PageTitle")
        title.setWordWrap(True)
        lead = QLabel(self.tr("Syncing stops. Here is exactly what happens:"), self)
        lead.setWordWrap(True)
        lead.setMinimumWidth(580)  # with SetMinimumSize the layout, not the dialog, sets the width
        self.parts: list[QLabel] = []
        layout = QVBoxLayout(self)
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)  # wrapped text is never clipped
        layout.setContentsMargins(22, 20, 22, 16)
        layout.setSpacing(12)
        layout.addWidget(title)
        layout.addWidget(lead)
        for heading, text in ((self.tr("Stays in QuickBooks"), STAYS_IN_QUICKBOOKS),
                              (self.tr("Kept on this computer"), KEPT_LOCALLY),
                              (self.tr("Forgotten"), FORGOTTEN)):
            label = QLabel(f"<b>{heading}:</b> {text}", self)
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setWordWrap(True)
            self.parts.append(label)
            layout.addWidget(label)
        self.forget = QCheckBox(FORGET_LINKS, self)
        self.forget.setAccessibleName(FORGET_LINKS)
        layout.addWidget(self.forget)
        buttons = QDialogButtonBox(self)
        self.cancel_button = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setDefault(True)  # the safe choice is the default on a destructive dialog
        self.disconnect_button = buttons.addButton(self.tr("Disconnect"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.disconnect_button.setObjectName("Danger")
        self.disconnect_button.setAutoDefault(False)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    @property
    def forget_links(self) -> bool:
        return self.forget.isChecked()

    def text(self) -> str:
        return "\n".join(p.text() for p in self.parts)
