"""One running app per data folder: a second launch asks the first to show its window.

The first instance listens on a ``QLocalServer`` named after the data folder; a later launch connects,
sends ``show`` and exits. Two ``--home`` folders get two names, so they run side by side.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from PySide6.QtNetwork import QLocalServer, QLocalSocket

from qbosync_desktop import APP_ID
from qbosync_desktop.core.paths import get_paths


def instance_key() -> str:
    """Single-instance key: one per data folder, so two --home folders can run side by side."""
    digest = hashlib.sha1(str(get_paths().data_dir).encode()).hexdigest()[:12]
    return f"{APP_ID}-{digest}"


class SingleInstance:
    """First instance listens on a local socket; later ones send 'show' and exit.

    Race: two launches at the same moment may both fail to connect; the one whose ``listen`` fails
    with AddressInUse after ``removeServer`` lost the race and tries to connect once more.
    """

    def __init__(self, key: str) -> None:
        self.key = key
        self.server: QLocalServer | None = None

    def notify_running(self) -> bool:
        sock = QLocalSocket()
        sock.connectToServer(self.key)
        if sock.waitForConnected(300):
            sock.write(b"show\n")
            sock.flush()
            sock.waitForBytesWritten(300)
            sock.disconnectFromServer()
            return True
        return False

    def listen(self, on_show: Callable[[], object]) -> bool:
        server = QLocalServer()
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.key):
            QLocalServer.removeServer(self.key)
            if not server.listen(self.key):
                return False

        def accept() -> None:
            conn = server.nextPendingConnection()
            if conn is None:
                return

            def read() -> None:
                if b"show" in bytes(conn.readAll().data()):
                    on_show()

            conn.readyRead.connect(read)

        server.newConnection.connect(accept)
        self.server = server
        return True
