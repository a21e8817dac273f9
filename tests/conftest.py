"""Test isolation for every test: offscreen Qt, a temp home, an in-memory keyring, a fresh database.

Fixture modules in ``tests/fixtures/`` are loaded as plugins (each feature adds its own file there,
e.g. the practice servers), so no feature needs to edit this file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")
for _var in ("QBOSYNC_HOME", "QBOSYNC_RESOURCES"):
    os.environ.pop(_var, None)

import keyring  # noqa: E402
import pytest  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))

pytest_plugins = sorted(
    f"fixtures.{p.stem}" for p in (Path(__file__).parent / "fixtures").glob("*.py") if p.stem != "__init__"
)


@pytest.fixture(autouse=True)
def memory_keyring():
    """Every test gets an empty in-memory keyring through the real ``keyring`` API."""
    from qbosync_desktop.core.keyring_memory import MemoryKeyring

    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """A temp ``QBOSYNC_HOME`` per test; returns the AppPaths."""
    from qbosync_desktop.core import paths

    root = tmp_path / "home"
    monkeypatch.setenv(paths.HOME_ENV, str(root))
    paths.set_home(None)
    yield paths.get_paths().ensure()
    paths.set_home(None)


@pytest.fixture
def db(home):
    """The app database opened (and migrated) in the temp home."""
    from qbosync_desktop.store import close_database, open_database

    database = open_database(home.db_path)
    yield database
    close_database()



def pytest_sessionfinish(session, exitstatus):
    """Bound the interpreter's exit.

    A test that leaks a non-daemon thread stuck in a call would keep the process (and CI) alive after
    the summary. A daemon watchdog waits 60 s after the session; if the process is still alive then,
    it prints every thread's stack (so the leak can be found) and exits with the session's status.
    """
    import faulthandler
    import threading

    status = int(exitstatus)

    def watchdog() -> None:
        import time

        time.sleep(60)
        lingering = [t.name for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
        sys.stderr.write(f"\nconftest: the process did not exit 60 s after the tests; threads: {lingering}\n")
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        sys.stderr.flush()
        os._exit(status or 1)

    threading.Thread(target=watchdog, name="exit-watchdog", daemon=True).start()
