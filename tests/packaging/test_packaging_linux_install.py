"""The Linux bundle's desktop integration: build.py lays out share/, install.sh installs it for one user
(menu entry that starts the installed copy, icons, commands) and --uninstall removes exactly that."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux installer")


def _fake_bundle(root: Path, build_script) -> Path:
    """A bundle folder shaped like PyInstaller's output; the executables are tiny shell scripts."""
    bundle = root / "qbosync-desktop"
    (bundle / "_internal").mkdir(parents=True)
    (bundle / "_internal" / "libpython.so").write_bytes(b"\0" * 16)
    for name in ("qbosync-desktop", "qbosync"):
        exe = bundle / name
        exe.write_text(f"#!/bin/sh\necho {name} ran\n")
        exe.chmod(0o755)
    build_script.add_linux_share(bundle)
    return bundle


def test_share_tree_has_desktop_file_metainfo_and_every_hicolor_size(tmp_path, build_script):
    bundle = _fake_bundle(tmp_path, build_script)
    share = bundle / "share"
    assert (share / "applications" / "qbosync-desktop.desktop").is_file()
    assert (share / "metainfo" / "com.qbosync.desktop.metainfo.xml").is_file()
    for size in build_script.HICOLOR_SIZES:
        assert (share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "qbosync-desktop.png").is_file()
    assert (share / "icons" / "hicolor" / "scalable" / "apps" / "qbosync-desktop.svg").is_file()
    assert os.access(bundle / "install.sh", os.X_OK)


def test_install_then_uninstall_for_the_current_user(tmp_path, build_script):
    bundle = _fake_bundle(tmp_path / "unpacked", build_script)
    prefix = tmp_path / "home with space" / ".local"
    env = dict(os.environ, HOME=str(tmp_path / "home with space"), PREFIX=str(prefix))
    r = subprocess.run(["sh", str(bundle / "install.sh")], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    appdir = prefix / "lib" / "qbosync-desktop"
    assert (appdir / "_internal" / "libpython.so").is_file()
    assert not (appdir / "share").exists() and not (appdir / "install.sh").exists()
    for name in ("qbosync-desktop", "qbosync"):
        link = prefix / "bin" / name
        assert subprocess.run([str(link)], capture_output=True, text=True).stdout.strip() == f"{name} ran"
    desktop = (prefix / "share" / "applications" / "qbosync-desktop.desktop").read_text()
    # The menu entry starts the installed copy by absolute path, quoted (the prefix has a space).
    assert f'Exec="{appdir}/qbosync-desktop"' in desktop.splitlines()
    assert (prefix / "share" / "icons" / "hicolor" / "48x48" / "apps" / "qbosync-desktop.png").is_file()

    keep = prefix / "share" / "applications" / "someone-else.desktop"
    keep.write_text("[Desktop Entry]\n")
    r = subprocess.run(["sh", str(bundle / "install.sh"), "--uninstall"], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert not appdir.exists() and not (prefix / "bin" / "qbosync").exists()
    assert not list((prefix / "share").rglob("qbosync-desktop*")) and keep.exists()
