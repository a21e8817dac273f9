"""The app's start-up with a damaged database: the dialog says so, Return restores the newest good copy
(the app then opens with every link), Escape quits with nothing changed. Driven from the keyboard."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest

from qbosync_desktop.desktop.ui.dialogs.restore_dialog import RestoreDialog, open_workspace
from qbosync_desktop.store import backups, close_database, database, open_database


def _damaged_with_a_copy(home, copy: bool = True) -> None:
    db = open_database(home.db_path)
    from qbosync_desktop.store.models.links import Link

    for n in range(50):
        Link.create(kind="client", work_id=str(n), qbo_id=str(500 + n), qbo_sync_token="0")
    if copy:
        backups.after_run(db, home, {"clients": {"created": 50}})
    close_database()
    home.db_path.write_bytes(b"")


def _keyboard(qtbot, key, seen):
    def ask(dialog):
        qtbot.addWidget(dialog)
        seen.append((dialog, getattr(dialog, "restore_button", None) is not None and dialog.restore_button.isDefault()))
        QTimer.singleShot(0, lambda: QTest.keyClick(dialog.focusWidget() or dialog, key))
        return dialog.exec()
    return ask


def test_return_restores_the_newest_good_copy_and_the_app_opens(qtbot, home):
    _damaged_with_a_copy(home)
    seen = []
    ws = open_workspace(home, ask=_keyboard(qtbot, Qt.Key.Key_Return, seen))
    try:
        assert ws is not None
        assert len(seen) == 1 and isinstance(seen[0][0], RestoreDialog)
        d, restore_was_default = seen[0]
        assert d.windowTitle() == "The database is damaged"
        assert "empty (0 bytes)" in d.message_label.text()
        assert "qbosync restore" in d.hint_label.text() and ".run." in d.hint_label.text()
        assert d.restore_button is not None and restore_was_default
        from qbosync_desktop.store.models.links import Link

        assert Link.select().count() == 50
        assert list(home.data_dir.glob("qbosync.sqlite3.damaged-*"))
    finally:
        if ws is not None:
            ws.close()


def test_escape_quits_and_changes_nothing(qtbot, home):
    _damaged_with_a_copy(home)
    seen = []
    assert open_workspace(home, ask=_keyboard(qtbot, Qt.Key.Key_Escape, seen)) is None
    assert home.db_path.read_bytes() == b""
    assert not list(home.data_dir.glob("qbosync.sqlite3.damaged-*"))
    assert database.obj is None


def test_without_a_good_copy_it_says_what_to_do_and_offers_no_restore(qtbot, home):
    _damaged_with_a_copy(home, copy=False)
    seen = []
    assert open_workspace(home, ask=_keyboard(qtbot, Qt.Key.Key_Return, seen)) is None
    d = seen[0][0]
    assert d.restore_button is None
    assert "no good copy" in d.hint_label.text()
    assert home.db_path.read_bytes() == b""


def test_the_app_start_offers_it_before_any_window(qtbot, qapp, home):
    """start_ui (what qbosync-desktop runs): the dialog comes first; Escape means the app does not start."""
    import argparse

    from PySide6.QtWidgets import QApplication

    from qbosync_desktop.desktop.ui.bootstrap import start_ui

    _damaged_with_a_copy(home)
    shown = []

    def press_escape():
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(20, press_escape)
            return
        shown.append(dialog.objectName())
        QTest.keyClick(dialog, Qt.Key.Key_Escape)

    QTimer.singleShot(0, press_escape)
    args = argparse.Namespace(demo=False, tray=False, home=None, debug=False, quit_after=None)
    assert start_ui(qapp, args) is None
    assert shown == ["RestoreDialog"]
    assert home.db_path.read_bytes() == b""
