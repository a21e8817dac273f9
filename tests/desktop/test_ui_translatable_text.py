"""Every user-visible string in desktop/ goes through tr() (QCoreApplication.translate / self.tr), so
a translation can be added without code changes: no bare string literal (or f-string with words of
its own) is handed to a text-setting call. Checked on the source (AST), so new code is held to it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import qbosync_desktop.desktop as desktop_pkg

#: Calls whose first argument is text a person reads (QMessageBox: its title and text too).
TEXT_CALLS = {"setText", "setToolTip", "setPlaceholderText", "setWindowTitle", "setTitle", "setSubTitle", "addItem",
              "QLabel", "QPushButton", "QCheckBox", "QRadioButton", "QAction", "QToolButton", "setAccessibleName",
              "setAccessibleDescription", "setStatusTip", "addTab", "setTabText", "showMessage",
              "setSpecialValueText", "setSuffix", "setPrefix", "setHorizontalHeaderLabels", "setHeaderLabels",
              "QMessageBox", "information", "warning", "critical", "question"}
TAGS = re.compile(r"<[^>]+>|\{[^}]*\}")


def _words(text: str) -> bool:
    return bool(re.search(r"[A-Za-z]{2,}", TAGS.sub("", text)))


def bare_literals(source: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
        if name not in TEXT_CALLS:
            continue
        if name in ("information", "warning", "critical", "question") and not (
                isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "QMessageBox"):
            continue  # log.warning(...) is for the log, not for a person
        args = node.args[:3] if name in ("QMessageBox", "information", "warning", "critical", "question") else node.args[:1]
        for arg in args:
            items = arg.elts if isinstance(arg, ast.List | ast.Tuple) else [arg]
            for item in items:
                if isinstance(item, ast.Constant) and isinstance(item.value, str) and _words(item.value):
                    found.append((node.lineno, f"{name}({item.value!r})"))
                elif isinstance(item, ast.JoinedStr):
                    literal = "".join(v.value for v in item.values if isinstance(v, ast.Constant))
                    if _words(literal):
                        found.append((node.lineno, f"{name}(f-string {literal!r})"))
    return found


def test_the_check_finds_bare_text():
    assert bare_literals("QLabel('Hello there', self)") == [(1, "QLabel('Hello there')")]
    assert bare_literals("b.setText(f'Retry {n} records')")
    assert bare_literals("b.setText(self.tr('Retry'))") == []
    assert bare_literals("t.setHorizontalHeaderLabels(['Record', self.tr('Field')])")
    assert bare_literals("b.setAccessibleName(f'{text}: {field}')") == []
    assert bare_literals("log.warning('Refreshing failed')") == []
    assert bare_literals("QMessageBox.warning(self, 'Oops', 'It broke')")


def test_no_bare_user_visible_string_in_desktop():
    root = Path(desktop_pkg.__file__).parent
    problems = [f"{path.relative_to(root)}:{line}: {what}"
                for path in sorted(root.rglob("*.py")) for line, what in bare_literals(path.read_text(encoding="utf-8"))]
    assert problems == []
