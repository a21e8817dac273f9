"""What goes into the PyInstaller bundle, as plain data the spec file reads and the tests check.

Why a separate module: a ``.spec`` file only runs inside PyInstaller, so a wrong hidden-import name
or a missing resource would surface only in a slow build (or, worse, at a user's first launch on a
machine without a keyring). Keeping the lists here lets a fast test import every hidden module and
check every data path on each commit.

The reasons for each hidden import:

- keyring chooses its backend at run time through entry points, so static analysis sees none of
  them: SecretService/libsecret (GNOME, KDE ≥ 5.97 via the Secret Service API), kwallet (older KDE),
  Windows (Credential Manager), macOS (Keychain), plus fail/chainer/null which the selection logic
  itself imports. The stdlib-hook collects keyring's metadata; these names make sure the modules are
  there even if that hook changes.
- SecretService talks D-Bus through ``secretstorage`` and ``jeepney`` (imported lazily).
- Every module of the app is reached by a plain ``import`` (tests/core/test_layers.py forbids importing
  by name), which PyInstaller follows; the whole package is still collected as submodules, as a net.
- Qt: QtSvg brings the SVG image-format and icon-engine plugins (every icon is SVG); QtNetwork the
  single-instance socket; the platform plugins (xcb, wayland, offscreen, cocoa, windows) come with the
  PySide6 hooks.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: The one-folder bundle's name (``dist/<BUNDLE_NAME>/``) and the GUI executable's name.
BUNDLE_NAME = "qbosync-desktop"
GUI_NAME = "qbosync-desktop"
CLI_NAME = "qbosync"
MAC_APP_NAME = "QBO Sync.app"
BUNDLE_ID = "com.qbosync.desktop"

GUI_SCRIPT = ROOT / "main.py"
CLI_SCRIPT = ROOT / "packaging" / "qbosync_cli.py"

KEYRING_BACKENDS = (
    "keyring.backends.SecretService",
    "keyring.backends.libsecret",
    "keyring.backends.kwallet",
    "keyring.backends.Windows",
    "keyring.backends.macOS",
    "keyring.backends.fail",
    "keyring.backends.chainer",
    "keyring.backends.null",
)

HIDDEN_IMPORTS = (
    *KEYRING_BACKENDS,
    "secretstorage",
    "jeepney",
    "platformdirs",
    "qasync",
    "peewee",
    "filelock",
    "requests_oauthlib",
    "werkzeug",
    "PySide6.QtSvg",
    "PySide6.QtNetwork",
)

#: Packages whose submodules are all collected (a net: every module is also reached by a plain import).
COLLECT_SUBMODULES = ("qbosync_desktop",)

#: Distributions whose metadata must be in the bundle: keyring finds backends through entry points,
#: and ``qbosync doctor`` reports versions through importlib.metadata.
COPY_METADATA = (
    "keyring",
    "PySide6-Essentials",
    "requests",
    "requests-oauthlib",
    "peewee",
    "qasync",
    "platformdirs",
    "werkzeug",
)

#: Never shipped: test tooling and the large Qt modules the app does not use.
EXCLUDES = (
    "tkinter",
    "pytest",
    "pytestqt",
    "PySide6.QtWebEngineCore",
    "PySide6.QtWebEngineWidgets",
    "PySide6.QtQml",
    "PySide6.QtQuick",
    "PySide6.Qt3DCore",
    "PySide6.QtMultimedia",
)


def datas() -> list[tuple[str, str]]:
    """(source, destination-in-bundle) pairs. ``resources/`` lands where ``resources.py`` looks."""
    return [(str(ROOT / "resources"), "resources")]


def icon_for(platform: str) -> str | None:
    """The executable's icon: .ico on Windows, .icns on macOS; Linux uses the hicolor theme instead."""
    icons = ROOT / "resources" / "icons"
    if platform == "win32":
        return str(icons / "app.ico")
    if platform == "darwin":
        return str(icons / "app.icns")
    return None
