"""Non-negotiable: no token, client secret or API key in SQLite, settings, logs or exception text.

After the whole product has run (connect, enable, initial sync, a second sync, problems, audit export)
every value the keyring holds is searched for, byte for byte, in every file of the data folder: the
database with its WAL, the logs, the config files, exports. The practice servers' own storage is left
out: it plays Intuit's and Work's side, which of course knows the tokens it issued.
"""

from __future__ import annotations

import logging

from qbosync_desktop import cli


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
    leaks = []
    for path in files:
        data = path.read_bytes()
        leaks += [(str(path.relative_to(root)), s[:6] + "…") for s in secrets if s.encode() in data]
    assert leaks == []
    for stream in (output.out, output.err):
        assert not [s for s in secrets if s in stream]
