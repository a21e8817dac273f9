"""The desktop application: a ``QApplication`` on a qasync event loop.

Start-up order: parse arguments, pick the data folder, set up logging, make sure only one instance
runs (a second launch asks the first to show its window, via ``QLocalServer``), then show the main
window. The Qt event loop is a qasync loop so UI code can ``await loop.run_in_executor(...)`` for
keyring, network and database work instead of blocking the GUI thread.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import sys
from collections.abc import Sequence

from qbosync_desktop import APP_ID, APP_NAME, ORG_NAME, __version__
from qbosync_desktop.core.logs import setup_logging
from qbosync_desktop.core.paths import get_paths, set_home

log = logging.getLogger(__name__)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="qbosync-desktop", description=f"{APP_NAME} desktop app")
    p.add_argument("--version", action="version", version=f"qbosync-desktop {__version__}")
    p.add_argument("--demo", action="store_true", help="practice mode: local practice QuickBooks and Work servers")
    p.add_argument("--home", metavar="DIR", help="keep all data, settings and logs under DIR")
    p.add_argument("--tray", action="store_true", help="start in the system tray without opening a window")
    p.add_argument("--debug", action="store_true", help="verbose logging")
    p.add_argument("--quit-after", type=int, metavar="MS", help=argparse.SUPPRESS)  # smoke tests
    return p.parse_args(list(argv) if argv is not None else None)


def main(argv: Sequence[str] | None = None) -> int:
    # In a PyInstaller bundle the sync worker process (runtime/worker_process.py) starts this same
    # executable; freeze_support() turns that start into the worker and never returns there. So Qt
    # and the UI are imported below, after it: the worker never loads Qt (and --version stays fast).
    multiprocessing.freeze_support()
    args = parse_args(argv)
    if args.home:
        set_home(args.home)
    paths = get_paths().ensure()
    setup_logging(paths.log_dir, debug=args.debug)

    from PySide6.QtWidgets import QApplication

    if QApplication.instance() is None:
        from qbosync_desktop.desktop.qt_check import display_problem

        problem = display_problem()
        if problem:  # Qt would abort with a generic message; say what is missing instead (issue 17)
            log.error("%s", problem)
            print(problem, file=sys.stderr)
            return 3

    import qasync
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from qbosync_desktop.core.resources import icon_path
    from qbosync_desktop.desktop.single_instance import SingleInstance, instance_key

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORG_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(QIcon(str(icon_path("app"))))
    app.setQuitOnLastWindowClosed(False)

    single = SingleInstance(instance_key())
    if single.notify_running():
        log.info("Another instance is running; asked it to show its window.")
        return 0

    # The UI (every window, the engine through the service) is imported only once this is the
    # running instance, with the QApplication up: a second launch just asks the first and exits.
    from qbosync_desktop.core import writer_lock
    from qbosync_desktop.core.errors import DataFolderBusy
    from qbosync_desktop.desktop.ui.bootstrap import start_ui

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    writer_lock.set_program("app")
    controller = start_ui(app, args)  # may restore the database (it takes the app lock for that)
    if controller is None:
        log.info("%s did not start: the data folder cannot be used (see the dialog)", APP_NAME)
        return 1
    # Held while the app runs: 'qbosync restore' must not swap the database under an open app.
    app_lock: writer_lock.WriterLock | None = None
    lock = writer_lock.WriterLock(paths, writer_lock.APP)
    try:
        lock.acquire(timeout=0)
        app_lock = lock
    except DataFolderBusy as exc:
        log.warning("The app lock is held elsewhere (%s); starting anyway", exc.message)
    single.listen(controller.show_window)
    app.aboutToQuit.connect(controller.shutdown)
    if args.quit_after is not None:
        QTimer.singleShot(args.quit_after, app.quit)
    log.info("%s %s started (data folder %s)", APP_NAME, __version__, paths.data_dir)
    with loop:
        loop.run_until_complete(_until_quit(app))
    if app_lock is not None:
        app_lock.release()
    log.info("%s stopped", APP_NAME)
    return 0


async def _until_quit(app) -> None:
    fut = asyncio.get_event_loop().create_future()
    app.aboutToQuit.connect(lambda: fut.done() or fut.set_result(None))
    await fut
