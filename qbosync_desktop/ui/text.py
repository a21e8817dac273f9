"""Translation entry point for texts that do not belong to one widget class.

Widgets call ``self.tr(...)``; module-level helpers and tables call :func:`tr` so every user-facing
string goes through Qt's translator and a ``.ts`` file can be extracted later without code changes.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

CONTEXT = "QboSync"


def tr(text: str, context: str = CONTEXT) -> str:
    return QCoreApplication.translate(context, text)
