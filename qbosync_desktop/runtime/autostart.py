""""Start at login": register QBO Sync with the operating system so it starts in the tray at login.

The app syncs continuously only while it runs, so an admin who reboots and forgets to reopen it
silently stops syncing; starting at login (in the tray, no window) closes that gap. Each OS has its
own mechanism, one small class each, all with the same three methods ``enable(command)``,
``disable()`` and ``status(command)``:

- Linux and other XDG desktops: a ``.desktop`` file in ``$XDG_CONFIG_HOME/autostart`` (default
  ``~/.config/autostart``), per the freedesktop "Desktop Application Autostart" spec.
- Windows: a value under ``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run`` (per-user, no
  admin rights needed). ``winreg`` is imported only when used, so this module imports everywhere.
- macOS: a LaunchAgent plist in ``~/Library/LaunchAgents`` with ``RunAtLoad``; launchd loads every
  agent in that folder at login, so no ``launchctl`` call (and no extra permission prompt) is needed.

The entry is named per data folder: a specialist who runs two companies with ``--home`` gets one
login entry per company, and turning one off leaves the other alone. The OS entry itself is the
truth (the user may delete it by hand in their OS settings); the ``start_at_login`` preference in
:mod:`qbosync_desktop.core.appconfig` only mirrors the last choice for the settings screen.

These calls touch the file system or the registry, so the UI calls them off the GUI thread.
"""

from __future__ import annotations

import hashlib
import os
import plistlib
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import platformdirs

from qbosync_desktop import APP_ID, APP_NAME, ORG_NAME
from qbosync_desktop.core import appconfig
from qbosync_desktop.core.errors import ConfigurationError
from qbosync_desktop.core.paths import AppPaths, get_paths

RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
LAUNCH_AGENT_PREFIX = "com.qbosync.desktop"


@dataclass(frozen=True)
class AutostartStatus:
    """What the OS will do at the next login.

    ``current`` is False when an entry exists but starts a different program (the app was moved or
    reinstalled elsewhere): the UI then offers to turn it off and on again to repair it.
    """

    enabled: bool
    location: str
    command: list[str] | None = None
    current: bool = False
    mechanism: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "location": self.location,
            "command": self.command,
            "current": self.current,
            "mechanism": self.mechanism,
        }


class Backend(Protocol):
    mechanism: str

    def location(self) -> str: ...

    def enable(self, command: list[str]) -> None: ...

    def disable(self) -> None: ...

    def status(self, command: list[str]) -> AutostartStatus: ...


# --------------------------------------------------------------------------- naming and command


def _home_override(paths: AppPaths | None) -> Path | None:
    """The one-folder home (``--home``/``QBOSYNC_HOME``) behind ``paths``, or None for the OS folders.

    A home folder holds ``data/``, ``config/`` and ``logs/`` (see :mod:`qbosync_desktop.core.paths`), so
    its root is the data folder's parent; the default data folder is platformdirs' own.
    """
    paths = paths or get_paths()
    if paths.data_dir == Path(platformdirs.user_data_dir(APP_ID, ORG_NAME)):
        return None
    return paths.data_dir.parent


def entry_name(paths: AppPaths | None = None) -> str:
    """``qbosync-desktop`` for the default data folder, ``qbosync-desktop-<8 hex>`` for a ``--home`` one.

    The suffix is a hash of the folder, not its name, so the entry reveals nothing about the folder.
    """
    home = _home_override(paths)
    if home is None:
        return APP_ID
    return f"{APP_ID}-{hashlib.sha1(str(home).encode()).hexdigest()[:8]}"


def launch_command(paths: AppPaths | None = None) -> list[str]:
    """The command the OS runs at login: the desktop app, started in the tray.

    In a PyInstaller bundle the GUI executable ``qbosync-desktop`` sits next to the ``qbosync`` CLI,
    so ``qbosync autostart on`` run from the CLI still registers the GUI. From a Python install it is
    ``python -m qbosync_desktop`` (``pythonw`` on Windows, so no console window opens at login).
    """
    if getattr(sys, "frozen", False):
        exe = Path(sys.executable)
        gui = exe.with_name(APP_ID + exe.suffix)
        command = [str(gui if gui.exists() else exe)]
    else:
        python = Path(sys.executable)
        if sys.platform == "win32":
            pythonw = python.with_name("pythonw.exe")
            if pythonw.exists():
                python = pythonw
        command = [str(python), "-m", "qbosync_desktop"]
    command.append("--tray")
    home = _home_override(paths)
    if home is not None:
        command += ["--home", str(home)]
    return command


class _FileEntry:
    """An autostart entry that is one file (XDG .desktop, macOS plist); subclasses give path and render."""

    @property
    def path(self) -> Path:
        raise NotImplementedError

    def render(self, command: list[str]) -> bytes:
        raise NotImplementedError

    def location(self) -> str:
        return str(self.path)

    def enable(self, command: list[str]) -> None:
        """Write atomically (temp file + rename) so a session manager or launchd never reads half a file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_bytes(self.render(command))
        os.replace(tmp, self.path)

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- Linux / XDG

_EXEC_RESERVED = re.compile(r"""[\s"'\\><~|&;$*?#()`]""")


def desktop_exec_value(args: list[str]) -> str:
    """Quote ``args`` for the ``Exec=`` key of a .desktop file (Desktop Entry spec, "The Exec key").

    An argument with a space or reserved character is wrapped in double quotes, inside which ``"``,
    `````, ``$`` and ``\\`` get a backslash; ``%`` (field codes) is doubled. Then the string-value
    escape applies on top, which doubles every backslash again — the spec's "four backslashes".
    """
    parts = []
    for arg in args:
        arg = arg.replace("%", "%%")
        if arg == "" or _EXEC_RESERVED.search(arg):
            arg = '"' + re.sub(r'(["`$\\])', r"\\\1", arg) + '"'
        parts.append(arg)
    return " ".join(parts).replace("\\", "\\\\")


def parse_desktop_exec(value: str) -> list[str]:
    """Inverse of :func:`desktop_exec_value` (used to tell whether an entry starts *this* program)."""
    value = value.replace("\\\\", "\\")  # undo the string-value escape first
    args: list[str] = []
    cur: list[str] = []
    in_quotes = started = False
    i = 0
    while i < len(value):
        ch = value[i]
        if in_quotes:
            if ch == "\\" and i + 1 < len(value):
                cur.append(value[i + 1])
                i += 1
            elif ch == '"':
                in_quotes = False
            else:
                cur.append(ch)
        elif ch == '"':
            in_quotes = started = True
        elif ch.isspace():
            if started:
                args.append("".join(cur))
                cur, started = [], False
        else:
            cur.append(ch)
            started = True
        i += 1
    if started:
        args.append("".join(cur))
    return [a.replace("%%", "%") for a in args]


def desktop_entry_text(command: list[str], *, icon: str = APP_ID) -> str:
    """The autostart .desktop file. ``X-GNOME-Autostart-enabled`` because GNOME honours it over Hidden."""
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        f"Name={APP_NAME}\n"
        "Comment=Keeps Work and QuickBooks Online in step (starts in the system tray)\n"
        f"Exec={desktop_exec_value(command)}\n"
        f"Icon={icon}\n"
        "Terminal=false\n"
        "StartupNotify=false\n"
        "Hidden=false\n"
        "X-GNOME-Autostart-enabled=true\n"
    )


def _desktop_keys(text: str) -> dict[str, str]:
    keys: dict[str, str] = {}
    in_main = False
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            in_main = line == "[Desktop Entry]"
        elif in_main and "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            keys[k.strip()] = v.strip()
    return keys


@dataclass
class XdgAutostart(_FileEntry):
    """``$XDG_CONFIG_HOME/autostart/<name>.desktop``; ``config_home`` overrides for tests."""

    name: str = APP_ID
    config_home: Path | None = None
    mechanism: str = "XDG autostart"

    @property
    def path(self) -> Path:
        base = self.config_home or Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        return Path(base) / "autostart" / f"{self.name}.desktop"

    def render(self, command: list[str]) -> bytes:
        return desktop_entry_text(command).encode("utf-8")

    def status(self, command: list[str]) -> AutostartStatus:
        try:
            keys = _desktop_keys(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError):
            return AutostartStatus(False, self.location(), mechanism=self.mechanism)
        enabled = (
            keys.get("Hidden", "false").lower() != "true"
            and keys.get("X-GNOME-Autostart-enabled", "true").lower() != "false"
        )
        found = parse_desktop_exec(keys.get("Exec", ""))
        return AutostartStatus(enabled, self.location(), found, enabled and found == command, self.mechanism)


# --------------------------------------------------------------------------- macOS


def launch_agent_label(name: str = APP_ID) -> str:
    """Reverse-DNS launchd label; the per-folder suffix of :func:`entry_name` is kept."""
    return LAUNCH_AGENT_PREFIX + name[len(APP_ID) :].replace("-", ".")


def launch_agent_plist(command: list[str], label: str) -> bytes:
    """The LaunchAgent: run once at login in the GUI (Aqua) session, never restarted by launchd.

    ``KeepAlive`` stays false: quitting from the tray must mean quit, not "launchd restarts it".
    """
    return plistlib.dumps(
        {
            "Label": label,
            "ProgramArguments": list(command),
            "RunAtLoad": True,
            "KeepAlive": False,
            "ProcessType": "Interactive",
            "LimitLoadToSessionType": "Aqua",
        },
        fmt=plistlib.FMT_XML,
        sort_keys=True,
    )


@dataclass
class LaunchAgent(_FileEntry):
    """``~/Library/LaunchAgents/<label>.plist``; ``agents_dir`` overrides for tests."""

    name: str = APP_ID
    agents_dir: Path | None = None
    mechanism: str = "macOS LaunchAgent"

    @property
    def label(self) -> str:
        return launch_agent_label(self.name)

    @property
    def path(self) -> Path:
        return (self.agents_dir or Path.home() / "Library" / "LaunchAgents") / f"{self.label}.plist"

    def render(self, command: list[str]) -> bytes:
        return launch_agent_plist(command, self.label)

    def status(self, command: list[str]) -> AutostartStatus:
        try:
            data = plistlib.loads(self.path.read_bytes())
        except (FileNotFoundError, NotADirectoryError, plistlib.InvalidFileException, ValueError):
            return AutostartStatus(False, self.location(), mechanism=self.mechanism)
        enabled = bool(data.get("RunAtLoad")) and not data.get("Disabled", False)
        found = [str(a) for a in data.get("ProgramArguments", [])]
        return AutostartStatus(enabled, self.location(), found, enabled and found == command, self.mechanism)


# --------------------------------------------------------------------------- Windows


def run_key_data(command: list[str]) -> str:
    """The Run value's data: one command line, quoted the way ``CreateProcess`` parses it."""
    return subprocess.list2cmdline(command)


def reg_add_command(name: str, command: list[str]) -> list[str]:
    """The equivalent ``reg.exe`` command, printed by ``qbosync autostart status`` for support staff."""
    return ["reg", "add", "HKCU\\" + RUN_KEY, "/v", name, "/t", "REG_SZ", "/d", run_key_data(command), "/f"]


@dataclass
class WindowsRunKey:
    """A ``REG_SZ`` value named ``name`` under HKCU's Run key. ``registry`` is the ``winreg`` module."""

    name: str = APP_ID
    registry: Any = field(default=None, repr=False)
    mechanism: str = "Windows Run key"

    def _winreg(self) -> Any:
        if self.registry is None:
            import winreg  # only exists on Windows

            self.registry = winreg
        return self.registry

    def location(self) -> str:
        return f"HKEY_CURRENT_USER\\{RUN_KEY}\\{self.name}"

    def enable(self, command: list[str]) -> None:
        reg = self._winreg()
        with reg.CreateKeyEx(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_SET_VALUE) as key:
            reg.SetValueEx(key, self.name, 0, reg.REG_SZ, run_key_data(command))

    def disable(self) -> None:
        reg = self._winreg()
        try:
            with reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_SET_VALUE) as key:
                reg.DeleteValue(key, self.name)
        except FileNotFoundError:
            pass

    def status(self, command: list[str]) -> AutostartStatus:
        reg = self._winreg()
        try:
            with reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_READ) as key:
                data, _kind = reg.QueryValueEx(key, self.name)
        except FileNotFoundError:
            return AutostartStatus(False, self.location(), mechanism=self.mechanism)
        found = str(data)
        return AutostartStatus(True, self.location(), [found], found == run_key_data(command), self.mechanism)


# --------------------------------------------------------------------------- facade


def backend_for(platform: str | None = None, name: str | None = None) -> Backend:
    """The mechanism for ``platform`` (default ``sys.platform``): win32, darwin, else XDG."""
    platform = platform or sys.platform
    name = name or entry_name()
    if platform == "win32":
        return WindowsRunKey(name)
    if platform == "darwin":
        return LaunchAgent(name)
    return XdgAutostart(name)


def set_enabled(enabled: bool, paths: AppPaths | None = None, backend: Backend | None = None) -> AutostartStatus:
    """Turn start-at-login on or off for this data folder and remember the choice; returns the new status.

    OS errors (read-only home, registry policy) become :class:`~qbosync_desktop.core.errors.ConfigurationError`
    with the location, so the settings screen can say what could not be written.
    """
    backend = backend or backend_for(name=entry_name(paths))
    command = launch_command(paths)
    try:
        if enabled:
            backend.enable(command)
        else:
            backend.disable()
    except OSError as exc:
        raise ConfigurationError(
            f"QBO Sync could not {'add' if enabled else 'remove'} its start-at-login entry.",
            title="Start at login not changed",
            hint=f"Check that you can write to {backend.location()}, then try again.",
            details={"location": backend.location(), "error": f"{type(exc).__name__}: {exc}"},
            field="start_at_login",
        ) from exc
    appconfig.set_value("start_at_login", enabled, paths)
    return backend.status(command)


def status(paths: AppPaths | None = None, backend: Backend | None = None) -> AutostartStatus:
    backend = backend or backend_for(name=entry_name(paths))
    return backend.status(launch_command(paths))
