"""Issue 17, bug 7: the CLI after ``qbosync demo``.

The tour runs the practice servers inside its own process; on a machine without a system keyring the
practice sign-in lives in that process's memory too. Both are gone when the command ends, so
``matches --accept``, ``sync`` and ``retry --all`` cannot work afterwards: they must say so plainly
(not blame the keyring), ``status`` must not claim "connected", a bad switch value must be a settings
error, and the tour itself exits 0.

Run as separate processes, as a person runs them, with the keyring library's "no keyring" backend.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def _qbosync(*argv, timeout=300):
    # QBOSYNC_HOME is the test's temp home (tests/conftest.py); no OS keyring, as on a bare Linux box
    env = dict(os.environ, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    return subprocess.run([sys.executable, "-m", "qbosync_desktop.cli.main", *argv], env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_commands_after_the_tour_say_the_practice_servers_are_gone(home):
    tour = _qbosync("demo", "--no-throttle")
    assert tour.returncode == 0, tour.stdout[-2000:] + tour.stderr[-2000:]
    assert "Initial sync finished" in tour.stdout

    for argv in (("sync",), ("retry", "--all"), ("matches", "--accept", "1")):
        done = _qbosync(*argv)
        err = done.stderr
        assert done.returncode != 0, (argv, done.stdout)
        assert "keyring is not available" not in err, (argv, err)
        assert "practice" in err and "not running" in err, (argv, err)
        assert "qbosync demo" in err, (argv, err)  # the way back

    status = _qbosync("status")
    first = status.stdout.splitlines()[0]
    assert "not running" in first and ": connected" not in first, status.stdout
    view = json.loads(_qbosync("status", "--json").stdout)
    assert view["practice_running"] is False

    bad = _qbosync("settings", "set", "invoices=maybe")
    assert bad.returncode == 3, bad.stderr
    assert "keyring" not in bad.stderr and "Invoices is a switch" in bad.stderr, bad.stderr
