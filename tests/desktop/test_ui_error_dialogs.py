"""Error dialogs: title, plain message, what to do, copyable details; unexpected errors name the log file."""

from __future__ import annotations

import threading

from PySide6.QtGui import QGuiApplication

from qbosync_desktop.core.errors import DuplicateName
from qbosync_desktop.core.logs import register_secret
from qbosync_desktop.desktop.ui.crash import CrashReporter
from qbosync_desktop.desktop.ui.dialogs.error_dialog import ErrorDialog, show_error


def test_quickbooks_error_dialog_has_all_four_parts(qtbot):
    exc = DuplicateName("A customer named “Ann Lee” already exists in QuickBooks.", code="6240",
                        intuit_tid="1-abc-tid", status=400)
    d = ErrorDialog(exc)
    qtbot.addWidget(d)
    assert d.windowTitle() == "Name already used in QuickBooks"
    assert "Ann Lee" in d.message_label.text()
    assert "What to do" in d.hint_label.text() and "Rename one of them" in d.hint_label.text()
    assert not d.details.isVisibleTo(d)
    d.details_button.click()
    assert d.details.isVisibleTo(d)
    assert "code: 6240" in d.details.toPlainText() and "intuit_tid: 1-abc-tid" in d.details.toPlainText()
    d.copy_button.click()
    assert "1-abc-tid" in QGuiApplication.clipboard().text()


def test_unexpected_error_names_the_log_file_and_redacts_secrets(qtbot, home):
    secret = "sk-live-very-secret-token-123"
    register_secret(secret)
    try:
        raise RuntimeError(f"boom with {secret}")
    except RuntimeError as exc:
        d = ErrorDialog(exc, log_file=home.log_file)
    qtbot.addWidget(d)
    assert "unexpected" in d.windowTitle().lower()
    assert str(home.log_file) in d.hint_label.text()
    assert "RuntimeError" in d.details.toPlainText() and secret not in d.details.toPlainText()


def test_exception_in_a_worker_thread_reaches_a_dialog_on_the_gui_thread(qtbot):
    shown: list[tuple[BaseException, bool]] = []

    def show(exc: BaseException) -> None:
        shown.append((exc, threading.current_thread() is threading.main_thread()))
        qtbot.addWidget(show_error(exc))

    reporter = CrashReporter(show)
    reporter.install()
    try:
        t = threading.Thread(target=lambda: 1 / 0)
        t.start()
        t.join()
        qtbot.waitUntil(lambda: bool(shown), timeout=3000)
    finally:
        reporter.uninstall()
    exc, on_gui_thread = shown[0]
    assert isinstance(exc, ZeroDivisionError) and on_gui_thread


def test_exception_in_an_asyncio_task_reaches_a_dialog(qtbot):
    import asyncio

    shown: list[BaseException] = []
    reporter = CrashReporter(shown.append)
    loop = asyncio.new_event_loop()
    reporter.install(loop)
    try:
        loop.call_exception_handler({"message": "Task exception was never retrieved", "exception": KeyError("x")})
        qtbot.waitUntil(lambda: bool(shown), timeout=3000)
    finally:
        reporter.uninstall()
        loop.close()
    assert isinstance(shown[0], KeyError)
