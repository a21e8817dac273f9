"""Build the installable one-folder app for the current OS with PyInstaller, and optionally smoke-test it.

    python -m pip install -e ".[package]"      # PyInstaller (once)
    python packaging/build.py                  # → dist/qbosync-desktop/ (macOS: also dist/QBO Sync.app)
    python packaging/build.py --smoke          # … then run the built binaries (what CI does)
    python packaging/build.py --archive        # … and pack dist/qbosync-desktop-<version>-<os>-<arch>.tar.gz/.zip

PyInstaller cannot cross-compile: build the Windows bundle on Windows, the macOS one on macOS.

On Linux the bundle also gets a ``share/`` tree (the .desktop file, AppStream metadata and the
hicolor icons) and ``install.sh``, which installs it for the current user under ``~/.local`` without
root, so the app appears in the desktop's application menu with its icon.

The smoke test runs what a user (and CI) would: ``qbosync-desktop --version``, ``qbosync --version``,
``qbosync doctor --json``, a whole practice sync (``qbosync demo --json``: both practice servers,
sign-in, preview, initial sync) and an offscreen start of the desktop app (which must start its sync worker process) that quits after 8 s,
with ``QBOSYNC_HOME`` pointing at a temporary folder so nothing touches the real user folders. It
checks the app's own log for the "started"/"stopped" lines rather than trusting the exit code alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import bundle_config as cfg  # noqa: E402

from qbosync_desktop import __version__  # noqa: E402

DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"
HICOLOR_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


class BuildFailed(RuntimeError):
    pass


def exe_suffix() -> str:
    return ".exe" if sys.platform == "win32" else ""


def bundle_dir() -> Path:
    return DIST / cfg.BUNDLE_NAME


def run_pyinstaller(clean: bool) -> float:
    """Run PyInstaller on the spec; returns the seconds it took."""
    try:
        import PyInstaller  # noqa: F401
    except ImportError as exc:
        raise BuildFailed("PyInstaller is not installed. Run: python -m pip install -e \".[package]\"") from exc
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
           "--distpath", str(DIST), "--workpath", str(WORK), str(HERE / "qbosync.spec")]
    if clean:
        cmd.insert(4, "--clean")
    started = time.monotonic()
    subprocess.run(cmd, check=True, cwd=ROOT)
    return time.monotonic() - started


def add_linux_share(bundle: Path) -> None:
    """Desktop integration files inside the bundle, laid out as under /usr/share (install.sh copies them)."""
    share = bundle / "share"
    (share / "applications").mkdir(parents=True, exist_ok=True)
    shutil.copy2(HERE / "linux" / "qbosync-desktop.desktop", share / "applications" / "qbosync-desktop.desktop")
    (share / "metainfo").mkdir(parents=True, exist_ok=True)
    shutil.copy2(HERE / "linux" / f"{cfg.BUNDLE_ID}.metainfo.xml", share / "metainfo" / f"{cfg.BUNDLE_ID}.metainfo.xml")
    icons = ROOT / "resources" / "icons"
    for size in HICOLOR_SIZES:
        target = share / "icons" / "hicolor" / f"{size}x{size}" / "apps"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(icons / "png" / f"app-{size}.png", target / "qbosync-desktop.png")
    scalable = share / "icons" / "hicolor" / "scalable" / "apps"
    scalable.mkdir(parents=True, exist_ok=True)
    shutil.copy2(icons / "app.svg", scalable / "qbosync-desktop.svg")
    shutil.copy2(HERE / "linux" / "install.sh", bundle / "install.sh")
    (bundle / "install.sh").chmod(0o755)


def archive(bundle: Path) -> Path:
    """Pack the bundle: .zip on Windows, .tar.gz elsewhere (keeps the executable bits)."""
    os_name = {"win32": "windows", "darwin": "macos"}.get(sys.platform, "linux")
    stem = f"{cfg.BUNDLE_NAME}-{__version__}-{os_name}-{platform.machine().lower()}"
    if sys.platform == "win32":
        target = DIST / f"{stem}.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in bundle.rglob("*"):
                zf.write(f, Path(cfg.BUNDLE_NAME) / f.relative_to(bundle))
        return target
    target = DIST / f"{stem}.tar.gz"
    source = DIST / cfg.MAC_APP_NAME if sys.platform == "darwin" else bundle
    with tarfile.open(target, "w:gz") as tf:
        tf.add(source, arcname=source.name)
    return target


def _run(cmd: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if r.returncode != 0:
        raise BuildFailed(f"{' '.join(cmd)} exited {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


#: Files a bundle must contain, as globs under the bundle folder. Without the SVG plugins every icon is
#: silently blank (Qt does not complain), so their presence is checked rather than trusted.
REQUIRED_IN_BUNDLE = (
    "**/resources/icons/app.svg",
    "**/resources/styles/app.qss",
    "**/plugins/iconengines/*qsvgicon*",
    "**/plugins/imageformats/*qsvg*",
    "**/plugins/platforms/*offscreen*",
)


def missing_from_bundle(bundle: Path) -> list[str]:
    return [pattern for pattern in REQUIRED_IN_BUNDLE if next(bundle.glob(pattern), None) is None]


def practice_sync(cli: Path, env: dict[str, str], home: Path) -> str:
    """``qbosync demo --json`` in its own folder: practice servers, sign-in, preview and a full sync.

    This reaches every layer (werkzeug servers, OAuth, peewee, the engine's phases, which are imported
    by name), so a module PyInstaller's analysis missed fails here instead of at a user's desk.
    Exit 1 is expected: the demo data contains records that must end as problems.
    """
    r = subprocess.run([str(cli), "--home", str(home), "demo", "--json"], capture_output=True, text=True,
                       env=env, timeout=300)
    try:
        data = json.loads(r.stdout)
        run = data["run"]
    except (ValueError, KeyError, TypeError):
        raise BuildFailed(f"qbosync demo exited {r.returncode} without its JSON summary\n{r.stdout}\n{r.stderr}") from None
    created = sum(c.get("created", 0) for c in run.get("counts", {}).values())
    if r.returncode not in (0, 1) or run.get("state") != "done" or not created:
        raise BuildFailed(f"qbosync demo did not finish a sync (exit {r.returncode}, run {run})")
    return f"{created} records created, {data.get('open_problems')} expected problems, {run.get('seconds')} s"


def smoke(bundle: Path, quit_after_ms: int = 8000) -> dict[str, object]:
    """Run the built binaries the way CI does; raise BuildFailed with their output if anything is off."""
    gui = bundle / (cfg.GUI_NAME + exe_suffix())
    cli = bundle / (cfg.CLI_NAME + exe_suffix())
    results: dict[str, object] = {}
    missing = missing_from_bundle(bundle)
    if missing:
        raise BuildFailed(f"the bundle lacks {', '.join(missing)}")
    with tempfile.TemporaryDirectory(prefix="qbosync-smoke-") as tmp:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QBOSYNC_HOME=tmp)
        env.pop("QBOSYNC_RESOURCES", None)
        for exe in (gui, cli):
            out = _run([str(exe), "--version"], env).stdout.strip()
            if out != f"{exe.stem} {__version__}":
                raise BuildFailed(f"{exe.name} --version printed {out!r}, expected '{exe.stem} {__version__}'")
            results[f"{exe.name} --version"] = out
        doctor = json.loads(_run([str(cli), "doctor", "--json"], env).stdout)
        if doctor.get("qbosync") != __version__ or "libraries" not in doctor:
            raise BuildFailed(f"qbosync doctor --json looks wrong: {doctor}")
        results["doctor keyring backend"] = doctor.get("keyring_backend")
        results["practice sync"] = practice_sync(cli, env, Path(tmp) / "practice")
        started = time.monotonic()
        _run([str(gui), "--quit-after", str(quit_after_ms)], env, timeout=120)
        results["offscreen start+quit seconds"] = round(time.monotonic() - started, 2)
        log = Path(tmp) / "logs" / "qbosync.log"
        text = log.read_text(encoding="utf-8") if log.exists() else ""
        if "started" not in text or "stopped" not in text:
            raise BuildFailed(f"the app did not log a clean start and stop; log was:\n{text}")
        # The app starts its sync worker process at start-up: the bundled executable, started again
        # as the worker through multiprocessing.freeze_support().
        if "Sync worker process started" not in text:
            raise BuildFailed(f"the app did not start its sync worker process; log was:\n{text}")
        results["sync worker process"] = "started"
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Build the QBO Sync one-folder app for this OS.")
    p.add_argument("--clean", action="store_true", help="drop PyInstaller's cache first (slower)")
    p.add_argument("--smoke", action="store_true", help="run the built binaries afterwards")
    p.add_argument("--smoke-only", action="store_true", help="only smoke-test an existing dist/ bundle")
    p.add_argument("--archive", action="store_true", help="also pack a .tar.gz / .zip for download")
    args = p.parse_args(argv)
    bundle = bundle_dir()
    try:
        if not args.smoke_only:
            seconds = run_pyinstaller(args.clean)
            if sys.platform.startswith("linux"):
                add_linux_share(bundle)
            size_mb = sum(f.stat().st_size for f in bundle.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6
            print(f"built {bundle} in {seconds:.0f} s ({size_mb:.0f} MB)")
            if args.archive:
                print(f"packed {archive(bundle)}")
        if args.smoke or args.smoke_only:
            for key, value in smoke(bundle).items():
                print(f"smoke: {key}: {value}")
            print("smoke: OK")
    except (BuildFailed, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
