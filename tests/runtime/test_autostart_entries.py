"""Start-at-login entries for every OS, generated and read back: .desktop Exec quoting, the macOS
LaunchAgent plist, the Windows Run key value."""

from __future__ import annotations

import plistlib
import subprocess

import pytest

from qbosync_desktop.runtime import autostart

TRICKY = [
    ["/opt/qbo/qbosync-desktop", "--tray"],
    ["/home/pat/My Apps/QBO Sync/qbosync-desktop", "--tray", "--home", "/home/pat/Company A"],
    ["/srv/a$b/`x`/q\"uote", "100%", "back\\slash", "semi;colon", ""],
]


def test_exec_arguments_with_spaces_are_double_quoted():
    value = autostart.desktop_exec_value(["/home/pat/My Apps/qbosync-desktop", "--tray"])
    assert value == '"/home/pat/My Apps/qbosync-desktop" --tray'


def test_exec_escapes_follow_the_desktop_entry_spec():
    # '$' gets a backslash inside quotes, and the string escape doubles it: \\$ in the file.
    assert autostart.desktop_exec_value(["/a$b"]) == '"/a\\\\$b"'
    # A literal backslash inside a quoted argument is four backslashes in the file.
    assert autostart.desktop_exec_value(["C:\\x y"]) == '"C:\\\\\\\\x y"'
    # '%' would be a field code; it is doubled.
    assert autostart.desktop_exec_value(["100%"]) == "100%%"


@pytest.mark.parametrize("args", TRICKY)
def test_exec_value_reads_back_to_the_same_arguments(args):
    assert autostart.parse_desktop_exec(autostart.desktop_exec_value(args)) == args


def test_launch_agent_plist_runs_once_at_login_in_the_gui_session():
    command = ["/Applications/QBO Sync.app/Contents/MacOS/qbosync-desktop", "--tray"]
    data = plistlib.loads(autostart.launch_agent_plist(command, "com.qbosync.desktop"))
    assert data == {
        "Label": "com.qbosync.desktop",
        "ProgramArguments": command,
        "RunAtLoad": True,
        "KeepAlive": False,
        "ProcessType": "Interactive",
        "LimitLoadToSessionType": "Aqua",
    }


def test_launch_agent_label_keeps_the_per_folder_suffix():
    assert autostart.launch_agent_label("qbosync-desktop") == "com.qbosync.desktop"
    assert autostart.launch_agent_label("qbosync-desktop-1a2b3c4d") == "com.qbosync.desktop.1a2b3c4d"


def test_launch_agent_file_round_trip(tmp_path):
    agent = autostart.LaunchAgent("qbosync-desktop-1a2b3c4d", agents_dir=tmp_path / "LaunchAgents")
    command = ["/Applications/QBO Sync.app/Contents/MacOS/qbosync-desktop", "--tray"]
    assert agent.status(command).enabled is False
    agent.enable(command)
    assert agent.path.name == "com.qbosync.desktop.1a2b3c4d.plist"
    st = agent.status(command)
    assert st.enabled and st.current and st.mechanism == "macOS LaunchAgent"
    assert not agent.status(["/elsewhere/qbosync-desktop", "--tray"]).current
    agent.disable()
    assert not agent.path.exists() and agent.status(command).enabled is False


def test_run_key_value_is_one_command_line_quoted_for_windows():
    command = ["C:\\Program Files\\QBO Sync\\qbosync-desktop.exe", "--tray", "--home", "D:\\Sync\\Company A"]
    data = autostart.run_key_data(command)
    assert data == '"C:\\Program Files\\QBO Sync\\qbosync-desktop.exe" --tray --home "D:\\Sync\\Company A"'
    assert autostart.reg_add_command("qbosync-desktop", command) == [
        "reg", "add", "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run",
        "/v", "qbosync-desktop", "/t", "REG_SZ", "/d", data, "/f",
    ]


class _Registry:
    """Just enough of ``winreg``'s surface (same names and exceptions) to exercise WindowsRunKey on Linux."""

    HKEY_CURRENT_USER = "HKCU"
    KEY_SET_VALUE = KEY_READ = 0
    REG_SZ = 1

    def __init__(self):
        self.values: dict[tuple[str, str], tuple[str, int]] = {}

    class _Key:
        def __init__(self, path):
            self.path = path

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def CreateKeyEx(self, root, path, reserved, access):
        return self._Key(path)

    def OpenKey(self, root, path, reserved, access):
        return self._Key(path)

    def SetValueEx(self, key, name, reserved, kind, data):
        self.values[(key.path, name)] = (data, kind)

    def QueryValueEx(self, key, name):
        try:
            return self.values[(key.path, name)]
        except KeyError:
            raise FileNotFoundError(name) from None

    def DeleteValue(self, key, name):
        if self.values.pop((key.path, name), None) is None:
            raise FileNotFoundError(name)


def test_run_key_is_written_read_and_removed_under_hkcu_run():
    reg = _Registry()
    run = autostart.WindowsRunKey("qbosync-desktop", registry=reg)
    command = ["C:\\Program Files\\QBO Sync\\qbosync-desktop.exe", "--tray"]
    run.enable(command)
    assert reg.values == {(autostart.RUN_KEY, "qbosync-desktop"): (autostart.run_key_data(command), reg.REG_SZ)}
    st = run.status(command)
    assert st.enabled and st.current
    assert st.location == "HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\qbosync-desktop"
    run.disable()
    run.disable()  # already gone: no error
    assert reg.values == {} and run.status(command).enabled is False


def test_each_platform_gets_its_own_mechanism():
    assert isinstance(autostart.backend_for("linux", "x"), autostart.XdgAutostart)
    assert isinstance(autostart.backend_for("freebsd14", "x"), autostart.XdgAutostart)
    assert isinstance(autostart.backend_for("darwin", "x"), autostart.LaunchAgent)
    assert isinstance(autostart.backend_for("win32", "x"), autostart.WindowsRunKey)


def test_windows_command_line_round_trips_through_the_standard_parser():
    """list2cmdline is the inverse of the MS C runtime's argv parsing; check a hard case both ways."""
    command = ['C:\\Apps\\QBO "Sync"\\q.exe', "--home", "D:\\dir with space\\"]
    data = autostart.run_key_data(command)
    assert subprocess.list2cmdline(command) == data
    assert data.startswith('"C:\\Apps\\QBO \\"Sync\\"\\q.exe"')


def test_in_the_bundle_the_cli_registers_the_gui_executable_beside_it(tmp_path, monkeypatch):
    """`qbosync autostart on` runs in the CLI executable, but login must start the desktop app."""
    import sys

    bundle = tmp_path / "QBO Sync"
    bundle.mkdir()
    (bundle / "qbosync").write_text("")
    (bundle / "qbosync-desktop").write_text("")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(bundle / "qbosync"))
    command = autostart.launch_command()
    assert command[:2] == [str(bundle / "qbosync-desktop"), "--tray"]


def test_from_a_python_install_login_runs_the_package_module():
    import sys

    command = autostart.launch_command()
    assert command[:4] == [sys.executable, "-m", "qbosync_desktop", "--tray"]


@pytest.mark.skipif(__import__("shutil").which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_the_autostart_entry_passes_desktop_file_validate(tmp_path):
    entry = tmp_path / "qbosync-desktop.desktop"
    entry.write_text(autostart.desktop_entry_text(TRICKY[1] + ["100%", "$HOME"]))
    r = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout
