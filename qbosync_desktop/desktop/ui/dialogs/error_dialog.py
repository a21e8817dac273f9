"""The one error dialog: a title, what happened, what to do, and copyable technical details.

Every error that reaches a person is a :class:`qbosync_desktop.core.errors.QboSyncError`, which already
carries those four parts; anything else is a bug, shown as "unexpected" with the log file's location
so the admin can send it to support (never a silent failure). Dialogs are opened with ``open()`` —
window-modal but not blocking a nested event loop — so a background sync keeps reporting and tests
can drive them.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLayout,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from qbosync_desktop.core.errors import QboSyncError
from qbosync_desktop.core.logs import current_log_file, redact
from qbosync_desktop.desktop.ui.style import pixmap
from qbosync_desktop.desktop.ui.text import tr


def describe(exc: BaseException, log_file: Path | None = None) -> tuple[str, str, str, str]:
    """(title, message, hint, details) for any exception; secrets are redacted from the details."""
    if isinstance(exc, QboSyncError):
        return exc.title, exc.message, exc.hint, redact(exc.details_text())
    where = log_file or current_log_file()
    location = str(where) if where else tr("the log folder")
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return (
        tr("Something unexpected went wrong"),
        tr("QBO Sync hit an error it did not expect. Nothing already synced was lost."),
        tr("Please send the log file to support: {0}").format(location),
        redact(details),
    )


class ErrorDialog(QDialog):
    """Title, message, "What to do", and a Details area (hidden until asked for) with a Copy button."""

    def __init__(self, exc: BaseException, parent: QWidget | None = None, *, log_file: Path | None = None,
                 icon: str = "warning") -> None:
        super().__init__(parent)
        self.error = exc
        title, message, hint, details = describe(exc, log_file)
        self.setWindowTitle(title)
        self.setObjectName("ErrorDialog")
        self.setAccessibleName(title)
        self.setMinimumWidth(520)

        icon_label = QLabel(self)
        icon_label.setPixmap(pixmap(icon, 40))
        self.title_label = QLabel(title, self)
        self.title_label.setObjectName("PageTitle")
        self.title_label.setWordWrap(True)
        self.message_label = QLabel(message, self)
        self.message_label.setWordWrap(True)
        self.message_label.setMinimumWidth(440)  # with SetMinimumSize the layout, not the dialog, sets the width
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hint_label = QLabel(self.tr("<b>What to do:</b> ") + _escape(hint), self)
        self.hint_label.setWordWrap(True)
        self.hint_label.setTextFormat(Qt.TextFormat.RichText)

        self.details = QPlainTextEdit(details, self)
        self.details.setObjectName("Details")
        self.details.setReadOnly(True)
        self.details.setAccessibleName(self.tr("Technical details"))
        self.details.setMinimumHeight(140)
        self.details.setVisible(False)

        self.buttons = QDialogButtonBox(self)
        self.details_button = QPushButton(self.tr("Show details"), self)
        self.details_button.setCheckable(True)
        self.details_button.toggled.connect(self._toggle_details)
        self.copy_button = QPushButton(self.tr("Copy details"), self)
        self.copy_button.clicked.connect(self.copy_details)
        self.buttons.addButton(self.details_button, QDialogButtonBox.ButtonRole.HelpRole)
        self.buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.HelpRole)
        self.ok_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.ok_button.setDefault(True)
        self.buttons.rejected.connect(self.reject)
        self.buttons.accepted.connect(self.accept)

        head = QHBoxLayout()
        head.setSpacing(14)
        head.addWidget(icon_label, 0, Qt.AlignmentFlag.AlignTop)
        text = QVBoxLayout()
        text.setSpacing(10)
        text.addWidget(self.title_label)
        text.addWidget(self.message_label)
        text.addWidget(self.hint_label)
        head.addLayout(text, 1)
        layout = QVBoxLayout(self)
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)  # wrapped text is never clipped
        layout.setContentsMargins(22, 20, 22, 16)
        layout.setSpacing(14)
        layout.addLayout(head)
        layout.addWidget(self.details)
        layout.addWidget(self.buttons)

    def _toggle_details(self, shown: bool) -> None:
        self.details.setVisible(shown)
        self.details_button.setText(self.tr("Hide details") if shown else self.tr("Show details"))
        self.adjustSize()

    def copy_details(self) -> None:
        text = f"{self.title_label.text()}\n{self.message_label.text()}\n\n{self.details.toPlainText()}"
        QGuiApplication.clipboard().setText(text)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def show_error(exc: BaseException, parent: QWidget | None = None, **kw) -> ErrorDialog:
    """Open (non-blocking, window-modal) an :class:`ErrorDialog` and return it."""
    dialog = ErrorDialog(exc, parent, **kw)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
