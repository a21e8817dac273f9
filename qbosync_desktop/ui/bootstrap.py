"""Builds the UI for :func:`qbosync_desktop.app.main` (the desktop issue replaces the placeholder)."""

from __future__ import annotations

import argparse

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

from qbosync_desktop import APP_NAME


class Controller(QObject):
    def __init__(self, app: QApplication, args: argparse.Namespace) -> None:
        super().__init__()
        self.app = app
        self.window = QMainWindow()
        self.window.setWindowTitle(APP_NAME + (" — Practice company" if args.demo else ""))
        label = QLabel(f"{APP_NAME}\n\nNothing is connected yet.")
        label.setMargin(40)
        self.window.setCentralWidget(label)
        self.window.resize(900, 600)
        if not args.tray:
            self.window.show()

    def show_window(self) -> None:
        self.window.show()
        self.window.raise_()
        self.window.activateWindow()

    def shutdown(self) -> None:
        self.window.close()


def start_ui(app: QApplication, args: argparse.Namespace) -> Controller:
    return Controller(app, args)
