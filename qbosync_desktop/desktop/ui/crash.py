"""Unexpected exceptions become a dialog with the log location, never a silent failure.

Python's default ``sys.excepthook`` prints to a console a desktop user never sees, and a Qt slot that
raises is otherwise lost. We chain three hooks — ``sys.excepthook`` (GUI-thread slots),
``threading.excepthook`` (worker threads) and the asyncio loop's exception handler (qasync tasks) —
log the exception (redacted by the log filter) and ask the GUI thread to show it. Worker threads must
not touch widgets, so the report goes through a queued signal.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot

from qbosync_desktop.desktop.signals import emit

log = logging.getLogger(__name__)


class CrashReporter(QObject):
    """Owns the hooks; ``report`` is emitted (queued to the GUI thread) for each unexpected exception."""

    report = Signal(object)

    def __init__(self, show: Callable[[BaseException], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._show = show
        self._previous: tuple = ()
        self.report.connect(self._on_report)

    @Slot(object)
    def _on_report(self, exc: BaseException) -> None:
        self._show(exc)

    def handle(self, exc: BaseException) -> None:
        log.error("Unexpected error", exc_info=(type(exc), exc, exc.__traceback__))
        emit(self.report, exc)

    def install(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._previous = (sys.excepthook, threading.excepthook)

        def excepthook(exc_type, exc, tb) -> None:
            if issubclass(exc_type, KeyboardInterrupt):
                sys.__excepthook__(exc_type, exc, tb)
                return
            self.handle(exc.with_traceback(tb))

        def thread_hook(args: threading.ExceptHookArgs) -> None:
            if args.exc_value is not None and not isinstance(args.exc_value, SystemExit):
                self.handle(args.exc_value)

        sys.excepthook = excepthook
        threading.excepthook = thread_hook
        if loop is not None:
            def loop_handler(_loop: asyncio.AbstractEventLoop, context: dict) -> None:
                exc = context.get("exception")
                if exc is None:
                    log.error("asyncio: %s", context.get("message"))
                    return
                self.handle(exc)

            loop.set_exception_handler(loop_handler)

    def uninstall(self) -> None:
        if self._previous:
            sys.excepthook, threading.excepthook = self._previous
            self._previous = ()
