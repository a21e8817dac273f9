"""The "Start at login" switch for menus: a checkable action over :mod:`qbosync_desktop.runtime.autostart`.

Why it reads and writes off the GUI thread: the OS entry is a file (Linux, macOS) or a registry value
(Windows), and a slow home folder (network home, antivirus scanning the autostart folder) must not
freeze the tray menu. The check mark therefore shows the *OS entry's* state as last read, not a
remembered preference: an admin who removed the entry in their desktop's settings sees it unchecked.

Race: the user may click again while a write is still running; the action is disabled until the write
finishes, so two writes never overlap and the final mark matches the last one.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction

from qbosync_desktop.desktop.signals import emit
from qbosync_desktop.desktop.ui.background import run_in_background
from qbosync_desktop.desktop.ui.text import tr
from qbosync_desktop.runtime import autostart


class StartAtLoginAction(QAction):
    """Checked when the OS will start QBO Sync (in the tray) at login; toggling adds/removes the entry."""

    #: A write finished; carries the new :class:`~qbosync_desktop.runtime.autostart.AutostartStatus`.
    #: (Not named ``changed``: QAction already has a ``changed()`` signal that Qt emits itself.)
    written = Signal(object)
    #: A write failed; carries the ``QboSyncError`` (title, message, hint) for an error dialog.
    write_failed = Signal(object)

    def __init__(self, parent: QObject, backend: Any = None) -> None:
        """``parent`` (the menu) owns the action: background results are delivered to helper objects
        parented to it, so it must outlive them (a parentless action freed by Python crashed PySide6)."""
        super().__init__(tr("Start at login"), parent)
        self.setCheckable(True)
        self.setToolTip(tr("Start QBO Sync in the system tray when you log in to this computer, "
                           "so syncing continues after a restart."))
        self._backend = backend
        self.status: autostart.AutostartStatus | None = None
        self.toggled.connect(self._on_toggled)
        self.refresh()

    def refresh(self) -> None:
        """Re-read the OS entry (e.g. from the menu's ``aboutToShow``)."""
        run_in_background(self, autostart.status, None, self._backend, on_done=self._show,
                          on_error=lambda exc: self.setEnabled(True))

    def _show(self, status: autostart.AutostartStatus) -> None:
        self.status = status
        self.blockSignals(True)
        self.setChecked(status.enabled)
        self.blockSignals(False)
        self.setEnabled(True)

    def _on_toggled(self, checked: bool) -> None:
        self.setEnabled(False)
        run_in_background(self, autostart.set_enabled, checked, None, self._backend,
                          on_done=self._on_written, on_error=self._on_write_failed)

    def _on_written(self, status: autostart.AutostartStatus) -> None:
        self._show(status)
        emit(self.written, status)

    def _on_write_failed(self, exc: BaseException) -> None:
        self.refresh()  # show what the OS really has
        emit(self.write_failed, exc)
