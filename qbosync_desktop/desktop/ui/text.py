"""Translation entry point for texts that do not belong to one widget class.

Widgets call ``self.tr(...)``; module-level helpers and tables call :func:`tr` so every user-facing
string goes through Qt's translator and a ``.ts`` file can be extracted later without code changes.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

CONTEXT = "QboSync"


def tr(text: str, context: str = CONTEXT) -> str:
    return QCoreApplication.translate(context, text)


def heading(text: str) -> str:
    """A wizard page title large enough for a shared screen (QWizard's header ignores style sheets)."""
    safe = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'<span style="font-size:20px; font-weight:600; color:#11202b;">{safe}</span>'
