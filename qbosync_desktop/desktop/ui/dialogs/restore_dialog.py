"""Start-up: open the data folder, and when its database is damaged offer to restore a good copy.

The app opens the database before any window (``bootstrap.start_ui``). A damaged database (empty,
truncated, failing SQLite's integrity check, missing tables: ``store.db``) is never opened as a new
one. Instead this dialog says so in words and offers one action, **Restore** the newest good copy
from ``backups/`` (``store.backups``, through the session's helpers; the damaged file is kept,
renamed). Return/Enter restores, Escape quits; nothing is changed unless the person chooses Restore. A read-only database or a full
disk gets the plain error dialog and the app does not start (there is nothing to offer but the fix).

The dialogs run modally before the event loop starts: no window exists yet, so nothing waits on the
GUI thread. Restoring copies one file (a 95 MB database copies in well under a second).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QWidget

from qbosync_desktop.core.errors import DatabaseDamaged, QboSyncError
from qbosync_desktop.core.paths import AppPaths, get_paths
from qbosync_desktop.desktop.ui.dialogs.error_dialog import ErrorDialog


def _when(stamp: str) -> str:
    return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]} {stamp[9:11]}:{stamp[11:13]}" if len(stamp) == 15 else stamp


class RestoreDialog(ErrorDialog):
    """The damaged-database error, plus "Restore the copy of <date>" (default button) when one exists."""

    def __init__(self, exc: DatabaseDamaged, backup: Any, parent: QWidget | None = None) -> None:
        super().__init__(exc, parent, icon="warning")
        self.setObjectName("RestoreDialog")
        self.backup = backup
        self.restore_button = None
        self.ok_button.setText(self.tr("Quit"))
        if backup is not None:
            self.restore_button = self.buttons.addButton(
                self.tr("Restore the copy of {0}").format(_when(backup.taken_at)),
                QDialogButtonBox.ButtonRole.AcceptRole)
            self.restore_button.setObjectName("Primary")
            self.restore_button.clicked.connect(self.accept)
            self.restore_button.setAccessibleName(self.tr("Restore the newest good copy"))
            # Return restores (the one action offered), Escape or Quit closes without changing anything.
            self.ok_button.setAutoDefault(False)
            self.ok_button.setDefault(False)
            self.restore_button.setDefault(True)
            self.hint_label.setText(self.hint_label.text() + "<br><br>" + self.tr(
                "The newest good copy is <b>{0}</b>, taken {1}.").format(backup.name, _when(backup.taken_at)))
            self.restore_button.setFocus()
        else:
            self.hint_label.setText(self.tr(
                "<b>What to do:</b> There is no good copy in the backups folder ({0}). Move the damaged "
                "file out of the data folder and set QBO Sync up again; existing QuickBooks records are "
                "matched, not created again. Keep the damaged file for support.").format(
                    str(get_paths().backup_dir)))


def open_workspace(paths: AppPaths | None = None, *,
                   ask: Callable[[QDialog], int] | None = None) -> Any:
    """The opened :class:`Workspace`, or ``None`` when the app must not start (the person chose Quit,
    or the data folder cannot be used). ``ask`` shows a dialog and returns its result (``exec``)."""
    from qbosync_desktop.desktop.ui.session import newest_good_copy, restore_copy
    from qbosync_desktop.runtime.workspace import Workspace

    ask = ask or (lambda dialog: dialog.exec())
    paths = paths or get_paths()
    restored = False
    while True:
        try:
            return Workspace.open(paths)
        except DatabaseDamaged as exc:
            newest = None if restored else newest_good_copy(paths)
            dialog = RestoreDialog(exc, newest)
            if ask(dialog) not in (1, QDialog.DialogCode.Accepted) or newest is None:
                return None
            try:
                restore_copy(paths, newest.name)
                restored = True
            except QboSyncError as err:
                ask(ErrorDialog(err))
                return None
        except QboSyncError as exc:  # read-only, disk full, newer version: the fix is outside the app
            ask(ErrorDialog(exc, icon="warning"))
            return None
