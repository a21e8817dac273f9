"""An in-process keyring backend: secrets live in memory and vanish with the process.

Used by the tests (``keyring.set_keyring(MemoryKeyring())``) and by practice mode on a machine
without an OS keyring: the practice company's credentials are throwaway, and keeping them in memory
is not the plaintext-on-disk fallback the app refuses to choose silently.
"""

from __future__ import annotations

import threading

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    priority = 1
    #: Installed on purpose only (``keyring.set_keyring``): keyring's own detection considers every
    #: loaded backend class, and must never pick this one for a real company on a keyring-less machine.
    viable = False

    def __init__(self) -> None:
        super().__init__()
        self._data: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def get_password(self, service: str, username: str) -> str | None:
        with self._lock:
            return self._data.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._lock:
            self._data[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        with self._lock:
            if self._data.pop((service, username), None) is None:
                raise PasswordDeleteError(username)

    def values(self) -> list[str]:
        """Every stored secret (tests grep the data folder for these)."""
        with self._lock:
            return list(self._data.values())
