"""Non-negotiable: no token, client secret or API key in SQLite, settings, logs or exception text.

After the whole product has run (connect, enable, initial sync, a second sync, problems, audit export)
every value the keyring holds is searched for, byte for byte, in every file of the data folder: the
database with its WAL, the logs, the config files, exports. The practice servers' own storage is left
out: it plays Intuit's and Work's side, which of course knows the tokens it issued.
"""

from __future__ import annotations

import logging

from qbosync_desktop.cli import main as cli


def _app_files(root):
    for path in root.rglob("*"):
        if path.is_file() and "practice" not in path.relative_to(root).parts:
            yield path


def test_no_secret_reaches_any_file_of_the_data_folder(capsys, home, memory_keyring, tmp_path):
    logging.getLogger().setLevel(logging.DEBUG)  # debug logs too must be clean
    assert cli.main(["--debug", "demo", "--json", "--no-throttle"]) in (0, 1)
    assert cli.main(["demo", "--json", "--no-throttle"]) in (0, 1)  # a second, incremental sync
    assert cli.main(["problems", "--json"]) in (0, 1)
    assert cli.main(["audit", "export", "--csv", str(home.data_dir / "audit.csv")]) == 0
    output = capsys.readouterr()

    secrets = [v for v in memory_keyring.values() if len(v) >= 8 and not v.replace(".", "").isdigit()]
    # The grant (access + refresh token), the app's client secret and the Work API key at least.
    assert len(secrets) >= 4, "the tour should have stored tokens, the client secret and the Work API key"

    root = home.data_dir.parent
    files = list(_app_files(root))
    assert any(p.suffix == ".sqlite3" for p in files) and any(p.suffix == ".log" for p in files)
    assert _leaks(root, secrets) == []
    for stream in (output.out, output.err):
        assert not [s for s in secrets if s in stream]


def _leaks(root, secrets):
    return [(str(p.relative_to(root)), s[:6] + "…") for p in _app_files(root) for s in secrets
            if s.encode() in p.read_bytes()]


def test_no_secret_reaches_a_file_when_the_desktop_app_syncs_in_its_worker_process(qtbot, home, memory_keyring,
                                                                                  configured_workspace):
    """The desktop path: the worker process asks the app's keyring over its pipe and sends its log
    records to the app's (debug-level) log file; neither may carry a secret to disk."""
    from qbosync_desktop.core.logs import setup_logging
    from qbosync_desktop.desktop.ui.session import Session

    root_logger = logging.getLogger()
    level = root_logger.level
    log_file = setup_logging(home.log_dir, debug=True)
    configured_workspace.mark_enabled()
    session = Session(configured_workspace, schedule=False)
    try:
        for initial in (True, False):  # the first sync, then an incremental one
            with qtbot.waitSignal(session.service.finished, timeout=120_000):
                session.service.sync_now(initial=initial)
        assert session.service.worker_process.starts == 1
    finally:
        session.close()
        qtbot.waitUntil(lambda: not session.service.thread.is_alive(), timeout=30_000)
        for handler in [h for h in root_logger.handlers if getattr(h, "_qbosync", False)]:
            root_logger.removeHandler(handler)
            handler.close()
        root_logger.setLevel(level)
    assert "sync-worker/" in log_file.read_text(encoding="utf-8"), "the worker's own lines are in the log"
    secrets = [v for v in memory_keyring.values() if len(v) >= 8 and not v.replace(".", "").isdigit()]
    assert len(secrets) >= 4
    assert _leaks(home.data_dir.parent, secrets) == []
