"""The only module that uses the keyring (with :mod:`.keyring_memory`, the in-memory backend).

Secrets: the QuickBooks access token, its expiry, the rotating refresh token, the Intuit app's client
secret and the Work API key. They live in the OS keyring under the service name ``qbosync-desktop``,
with account names ``<install id>/<name>`` so two data folders (two companies) never collide.

Why a lock: the keyring backends (Secret Service over D-Bus in particular) are not safe to call from
several threads at once, and the token refresh path reads-then-writes. Every call is serialised.

Why no silent fallback: a token written to a plaintext file is a liability the user did not agree
to. Only when the user opted in explicitly (``appconfig: insecure_file_secrets = true``, which the UI
sets after a warning) are secrets kept in a 0600 JSON file in the data folder.

The sync worker process has no keyring of its own: :func:`use_relay_keyring` installs a backend that
asks the app, which answers with :func:`relay_request` from its own keyring.

Never call this from the GUI thread: a locked keyring may show a password prompt and block.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from qbosync_desktop import APP_ID
from qbosync_desktop.core import appconfig
from qbosync_desktop.core.errors import KeyringUnavailable
from qbosync_desktop.core.keyring_memory import MemoryKeyring
from qbosync_desktop.core.paths import AppPaths, get_paths

log = logging.getLogger(__name__)

SERVICE = APP_ID

# Well-known secret names.
QBO_ACCESS_TOKEN = "qbo.access_token"
QBO_ACCESS_EXPIRES_AT = "qbo.access_expires_at"
QBO_REFRESH_TOKEN = "qbo.refresh_token"
QBO_REFRESH_EXPIRES_AT = "qbo.refresh_expires_at"
QBO_CLIENT_SECRET = "qbo.client_secret"
WORK_API_KEY = "work.api_key"
ALL_NAMES = (
    QBO_ACCESS_TOKEN,
    QBO_ACCESS_EXPIRES_AT,
    QBO_REFRESH_TOKEN,
    QBO_REFRESH_EXPIRES_AT,
    QBO_CLIENT_SECRET,
    WORK_API_KEY,
)

_lock = threading.RLock()


def _unavailable(exc: BaseException | None, action: str) -> KeyringUnavailable:
    backend = type(keyring.get_keyring()).__name__
    return KeyringUnavailable(details={"backend": backend, "action": action, "error": type(exc).__name__ if exc else None})


class SecretStore:
    """Named secrets for one data folder."""

    def __init__(self, paths: AppPaths | None = None) -> None:
        self.paths = paths or get_paths()
        self._namespace: str | None = None

    # -- public API -------------------------------------------------------------------------------
    def get(self, name: str) -> str | None:
        with _lock:
            if self._file_mode():
                return self._file_load().get(name)
            try:
                return keyring.get_password(SERVICE, self._account(name))
            except keyring.errors.KeyringError as exc:
                raise _unavailable(exc, "read") from None

    def set(self, name: str, value: str) -> None:
        with _lock:
            if self._file_mode():
                data = self._file_load()
                data[name] = value
                self._file_save(data)
                return
            try:
                keyring.set_password(SERVICE, self._account(name), value)
            except keyring.errors.KeyringError as exc:
                raise _unavailable(exc, "write") from None

    def set_many(self, values: dict[str, str]) -> None:
        """Store several secrets under one lock hold (used for a token response)."""
        with _lock:
            for k, v in values.items():
                self.set(k, v)

    def delete(self, name: str) -> None:
        with _lock:
            if self._file_mode():
                data = self._file_load()
                if data.pop(name, None) is not None:
                    self._file_save(data)
                return
            try:
                keyring.delete_password(SERVICE, self._account(name))
            except keyring.errors.PasswordDeleteError:
                pass  # already gone
            except keyring.errors.KeyringError as exc:
                raise _unavailable(exc, "delete") from None

    def clear(self, names: tuple[str, ...] = ALL_NAMES) -> None:
        for n in names:
            self.delete(n)

    @staticmethod
    def backend_name() -> str:
        kr = keyring.get_keyring()
        return f"{type(kr).__module__}.{type(kr).__name__}"

    def check(self) -> None:
        """Raise :class:`KeyringUnavailable` unless secrets can be stored (used at start-up/doctor)."""
        if self._file_mode():
            return
        kr = keyring.get_keyring()
        priority = getattr(kr, "priority", 1)
        name = type(kr).__name__
        if name in {"Keyring", "ChainerBackend"} and type(kr).__module__.startswith("keyring.backends.fail"):
            raise _unavailable(None, "check")
        try:
            if priority is not None and float(priority) < 0:
                raise _unavailable(None, "check")
        except TypeError:
            pass

    # -- internals --------------------------------------------------------------------------------
    def _account(self, name: str) -> str:
        if self._namespace is None:
            self._namespace = self.paths.install_id()
        return f"{self._namespace}/{name}"

    def _file_mode(self) -> bool:
        return bool(appconfig.get("insecure_file_secrets", False, self.paths))

    @property
    def _file(self) -> Path:
        return self.paths.data_dir / "secrets-insecure.json"

    def _file_load(self) -> dict[str, str]:
        try:
            data = json.loads(self._file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _file_save(self, data: dict[str, str]) -> None:
        self.paths.ensure()
        tmp = self._file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, self._file)
        os.chmod(self._file, 0o600)


def use_memory_keyring() -> None:
    """Keep secrets in this process's memory from now on: practice mode on a machine without an OS
    keyring (throwaway credentials), and the screenshot renderer. Never for a real company."""
    keyring.set_keyring(MemoryKeyring())


#: How the sync worker asks the app: ``ask(op, service, username, value) -> (status, result)`` with
#: the answer of :func:`relay_request`; raises ``ConnectionError`` when the app is gone.
Ask = Callable[[str, str, str, str | None], tuple[str, object]]


class RelayKeyring(KeyringBackend):
    """The sync worker process's keyring: every call is answered by the app's own keyring."""

    priority = 1
    viable = False  # installed on purpose only, never by keyring's detection (see MemoryKeyring)

    def __init__(self, ask: Ask) -> None:
        super().__init__()
        self._ask = ask

    def _call(self, op: str, service: str, username: str, value: str | None = None) -> object:
        try:
            status, result = self._ask(op, service, username, value)
        except ConnectionError:
            raise keyring.errors.KeyringError("The app that started the sync has closed.") from None
        if status == "ok":
            return result
        if status == "delete_error":
            raise keyring.errors.PasswordDeleteError(username)
        raise keyring.errors.KeyringError(f"The app's keyring refused the request ({result}).")

    def get_password(self, service: str, username: str) -> str | None:
        return self._call("get", service, username)  # type: ignore[return-value]

    def set_password(self, service: str, username: str, password: str) -> None:
        self._call("set", service, username, password)

    def delete_password(self, service: str, username: str) -> None:
        self._call("delete", service, username)


def use_relay_keyring(ask: Ask) -> None:
    """The sync worker process: every keyring call from now on is answered by the app (``ask``)."""
    keyring.set_keyring(RelayKeyring(ask))


def relay_request(op: str, service: str, username: str, value: str | None) -> tuple[str, object]:
    """Answer a keyring request from the sync worker process (runtime/worker_process.py), which has no
    keyring of its own: the app stays the only keyring user. Only this app's service name is served;
    errors go back by class name only, never with a value. Called on the desktop service's thread."""
    if service != SERVICE:
        return "error", "not this app's secret"
    with _lock:
        try:
            if op == "get":
                return "ok", keyring.get_password(service, username)
            if op == "set":
                keyring.set_password(service, username, value or "")
                return "ok", None
            if op == "delete":
                keyring.delete_password(service, username)
                return "ok", None
        except keyring.errors.PasswordDeleteError:
            return "delete_error", None
        except Exception as exc:
            return "error", type(exc).__name__
    return "error", f"unknown request {op!r}"


def enable_insecure_file_secrets(paths: AppPaths | None = None) -> None:
    """The user's explicit opt-in (after the UI/CLI warned them). Logged as a warning."""
    log.warning("Secrets will be kept in a plaintext file (0600) because the user chose to; no keyring available.")
    appconfig.set_value("insecure_file_secrets", True, paths)


def insecure_file_secrets_enabled(paths: AppPaths | None = None) -> bool:
    return bool(appconfig.get("insecure_file_secrets", False, paths))


def disable_insecure_file_secrets(paths: AppPaths | None = None) -> int:
    """Move the secrets from the plaintext file into the OS keyring and delete the file.

    Refuses (``KeyringUnavailable``) while no keyring works, so nothing is ever lost: the file is only
    removed after every secret was written to the keyring. Returns how many secrets moved.
    """
    paths = paths or get_paths()
    with _lock:
        file_store = SecretStore(paths)
        data = file_store._file_load() if file_store._file_mode() else {}
        appconfig.set_value("insecure_file_secrets", False, paths)
        keyring_store = SecretStore(paths)
        try:
            keyring_store.check()
            for name, value in data.items():
                keyring_store.set(name, value)
        except KeyringUnavailable:
            appconfig.set_value("insecure_file_secrets", True, paths)
            raise
        try:
            file_store._file.unlink()
        except FileNotFoundError:
            pass
        log.info("Secrets moved from the plaintext file into the keyring (%d entries)", len(data))
        return len(data)
