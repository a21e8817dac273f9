"""Issue 16 part 6: the hostile-data corpus (see ``hostile_cases.py`` and ``test_hostile_corpus.py``).

The corpus's tally (tried / synced / one-problem / crashed) is written at the end of the test
session's terminal output, so CI logs carry it without ``-s``.
"""

from __future__ import annotations

from typing import Any


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from hostile_cases import TALLY

    for line in TALLY:
        terminalreporter.write_line(line)
