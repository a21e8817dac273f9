"""Packaging metadata agrees with the code: versions, ids, names, hidden imports, bundled data."""

from __future__ import annotations

import ast
import configparser
import importlib
import importlib.metadata
import plistlib
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from qbosync_desktop import APP_ID, APP_NAME, __version__

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "packaging"
DESKTOP = PKG / "linux" / "qbosync-desktop.desktop"
METAINFO = PKG / "linux" / "com.qbosync.desktop.metainfo.xml"


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_file_is_named_and_iconed_like_the_running_app(bundle_config):
    """Wayland and GNOME match windows to menu entries through the desktop-file name Qt reports."""
    assert DESKTOP.stem == APP_ID  # app.py: setDesktopFileName(APP_ID)
    entry = _desktop_entry()
    assert entry["Type"] == "Application" and entry["Name"] == APP_NAME
    assert entry["Exec"].split()[0] == bundle_config.GUI_NAME
    assert entry["Icon"] == APP_ID and entry["StartupWMClass"] == APP_ID
    assert entry["Categories"].endswith(";") and entry["Terminal"] == "false"


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_desktop_file_passes_desktop_file_validate():
    r = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True)
    assert r.returncode == 0 and "error" not in r.stdout.lower(), r.stdout


def test_appstream_metainfo_points_at_the_desktop_file_and_binaries(bundle_config):
    root = ET.parse(METAINFO).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == bundle_config.BUNDLE_ID
    assert root.findtext("launchable") == DESKTOP.name
    assert {b.text for b in root.iter("binary")} == {bundle_config.GUI_NAME, bundle_config.CLI_NAME}
    assert root.find("releases/release").get("version") == __version__


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstream not installed")
def test_appstream_metainfo_validates():
    r = subprocess.run(["appstreamcli", "validate", "--no-net", str(METAINFO)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_macos_info_plist_matches_the_app(bundle_config):
    info = plistlib.loads((PKG / "macos" / "Info.plist").read_bytes())
    assert info["CFBundleIdentifier"] == bundle_config.BUNDLE_ID
    assert info["CFBundleShortVersionString"] == __version__ == info["CFBundleVersion"]
    assert info["CFBundleName"] == APP_NAME and info["NSHighResolutionCapable"] is True


def test_windows_version_resource_matches_the_app():
    text = (PKG / "windows" / "version_info.txt").read_text(encoding="utf-8")
    tree = ast.parse(text)  # the file is a Python expression PyInstaller evaluates
    assert isinstance(tree.body[0], ast.Expr)
    numbers = tuple(int(n) for n in re.findall(r"\d+", __version__)[:3]) + (0,)
    for key in ("filevers", "prodvers"):
        found = re.search(rf"{key}=\(([^)]*)\)", text)
        assert found and tuple(int(n) for n in found.group(1).split(",")) == numbers, key
    for key in ("FileVersion", "ProductVersion"):
        assert f"StringStruct('{key}', '{__version__}')" in text


def test_changelog_has_an_entry_for_this_version():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## \[?([0-9][^\]\s]*)", text, flags=re.M)
    assert headings and headings[0] == __version__


def test_every_hidden_import_exists(bundle_config):
    """A misspelt hidden import is only a warning in PyInstaller, and then a missing keyring at run time."""
    for name in bundle_config.HIDDEN_IMPORTS:
        importlib.import_module(name)
    for dist in bundle_config.COPY_METADATA:
        importlib.metadata.version(dist)


def test_every_keyring_backend_module_is_listed(bundle_config):
    import pkgutil

    import keyring.backends

    shipped = {f"keyring.backends.{m.name}" for m in pkgutil.iter_modules(keyring.backends.__path__)}
    assert shipped <= set(bundle_config.KEYRING_BACKENDS)


def test_bundled_files_and_entry_scripts_exist(bundle_config):
    for source, dest in bundle_config.datas():
        assert Path(source).is_dir() and dest == "resources"  # where qbosync_desktop.core.resources looks
    assert bundle_config.GUI_SCRIPT.is_file() and bundle_config.CLI_SCRIPT.is_file()
    for platform, suffix in (("win32", ".ico"), ("darwin", ".icns")):
        icon = Path(bundle_config.icon_for(platform))
        assert icon.suffix == suffix and icon.is_file()
    assert bundle_config.icon_for("linux") is None


def test_spec_reads_everything_from_bundle_config():
    spec = (PKG / "qbosync.spec").read_text(encoding="utf-8")
    compile(spec, "qbosync.spec", "exec")
    for name in ("HIDDEN_IMPORTS", "COLLECT_SUBMODULES", "COPY_METADATA", "EXCLUDES", "datas()", "GUI_SCRIPT",
                 "CLI_SCRIPT", "BUNDLE_NAME", "MAC_APP_NAME", "BUNDLE_ID", "icon_for"):
        assert f"cfg.{name}" in spec, name


def test_the_bundle_cli_entry_script_runs_the_cli(tmp_path):
    r = subprocess.run([sys.executable, str(PKG / "qbosync_cli.py"), "--version"], capture_output=True, text=True,
                       timeout=60, cwd=ROOT)
    assert r.returncode == 0 and r.stdout.strip() == f"qbosync {__version__}"


def test_the_smoke_check_names_what_a_bundle_lacks(tmp_path, build_script):
    """Without Qt's SVG plugins every icon is blank and Qt says nothing: the smoke test must notice."""
    bundle = tmp_path / "qbosync-desktop"
    internal = bundle / "_internal"
    shutil.copytree(ROOT / "resources", internal / "resources")
    plugins = internal / "PySide6" / "Qt" / "plugins"
    for rel in ("iconengines/libqsvgicon.so", "imageformats/libqsvg.so", "platforms/libqoffscreen.so"):
        (plugins / rel).parent.mkdir(parents=True, exist_ok=True)
        (plugins / rel).write_bytes(b"")
    assert build_script.missing_from_bundle(bundle) == []
    (plugins / "iconengines" / "libqsvgicon.so").unlink()
    assert build_script.missing_from_bundle(bundle) == ["**/plugins/iconengines/*qsvgicon*"]
    with pytest.raises(build_script.BuildFailed, match="qsvgicon"):
        build_script.smoke(bundle)
