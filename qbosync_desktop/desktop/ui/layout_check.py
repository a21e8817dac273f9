"""Find what a person would see as broken layout: sideways scrolling and clipped text.

Used by the layout test (every screen at 900×650 and 1600×1000) and by the screenshot script, which
prints what it finds. Text is measured with the widget's own :class:`QFontMetrics` against the space
the widget really has, so a label that is cut off ("uickBooks request") is caught even though Qt draws
it without complaint. Widgets that elide on purpose (with the full text in a tooltip) and labels that
wrap are not clipped by definition.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractScrollArea,
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QTabBar,
    QWidget,
)

#: An indicator (check box / radio) plus its spacing.
INDICATOR = 22
#: A header section's padding (app.qss: 8 px a side) and a border.
HEADER_PADDING = 18


def _shown(w: QWidget) -> bool:
    return w.isVisible() and w.width() > 0 and w.height() > 0


def _name(w: QWidget) -> str:
    return f"{type(w).__name__}({w.objectName() or w.accessibleName() or ''})"


def _plain(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def layout_issues(root: QWidget) -> list[str]:
    """Every sideways scroll bar and every clipped text under ``root`` (visible widgets only)."""
    issues: list[str] = []
    widgets = [root, *root.findChildren(QWidget)]
    for w in widgets:
        if not _shown(w):
            continue
        if isinstance(w, QAbstractScrollArea) and not isinstance(w, QHeaderView):
            bar = w.horizontalScrollBar()
            if bar.isVisible() and bar.maximum() > 0:
                issues.append(f"{_name(w)} scrolls sideways ({bar.maximum()} px)")
        if isinstance(w, QLabel | QAbstractButton) and (w.text() if isinstance(w, QLabel) else True):
            # squeezed vertically: lines drawn over each other (a layout gave less than the minimum)
            need_h = (w.heightForWidth(w.width()) if isinstance(w, QLabel) and w.wordWrap()
                      else w.minimumSizeHint().height())
            if need_h > w.height() + 2:
                issues.append(f"{_name(w)} squeezed ({w.height()} px high, needs {need_h})")
        if w.property("elides"):  # ElidedLabel and friends: full text in the tooltip and Details
            continue
        fm = w.fontMetrics()
        if isinstance(w, QLabel):
            text = w.text()
            if not text or w.wordWrap() or w.textFormat() == Qt.TextFormat.RichText or text.lstrip().startswith("<"):
                continue
            if not w.pixmap().isNull():
                continue
            need = max(fm.horizontalAdvance(line) for line in text.split("\n"))
            have = w.contentsRect().width() - 2 * w.margin() - 2 * max(w.indent(), 0)
            if need > have + 1:
                issues.append(f"{_name(w)} clips “{text}” ({need} px text in {have} px)")
        elif isinstance(w, QAbstractButton) and w.text():
            text = _plain(w.text())
            if isinstance(w, QPushButton):  # the style's own size (padding, border, bold Primary) for this text
                need = w.minimumSizeHint().width()
            else:
                extra = INDICATOR if isinstance(w, QCheckBox | QRadioButton) else 8
                if not w.icon().isNull():
                    extra += w.iconSize().width() + 4
                need = fm.horizontalAdvance(text) + extra
            if need > w.width() + 1:
                issues.append(f"{_name(w)} clips “{text}” ({need} px in {w.width()} px)")
        elif isinstance(w, QHeaderView) and w.orientation() == Qt.Orientation.Horizontal:
            model = w.model()
            if model is None:
                continue
            bold = QFont(w.font())
            bold.setWeight(QFont.Weight.DemiBold)  # app.qss: header sections are semi-bold
            hfm = QFontMetrics(bold)
            for section in range(w.count()):
                if w.isSectionHidden(section):
                    continue
                text = str(model.headerData(section, Qt.Orientation.Horizontal) or "")
                need = hfm.horizontalAdvance(text) + HEADER_PADDING
                if text and need > w.sectionSize(section) + 1:
                    issues.append(f"{_name(w.parentWidget() or w)} header “{text}” clipped "
                                  f"({need} px in {w.sectionSize(section)} px)")
        elif isinstance(w, QTabBar):
            bold = QFont(w.font())
            bold.setWeight(QFont.Weight.DemiBold)  # the selected tab is semi-bold
            tfm = QFontMetrics(bold)
            for i in range(w.count()):
                text = _plain(w.tabText(i))
                need = tfm.horizontalAdvance(text)
                if need > w.tabRect(i).width() - 8:
                    issues.append(f"tab “{text}” clipped")
    return issues


def unnamed_controls(root: QWidget) -> list[str]:
    """Visible controls a screen reader could only call "edit" or "combo box": no accessible name, no
    text of their own (a button's words name it) and no label pointing at them (a form's buddy label)."""
    named_by_label = {id(label.buddy()) for label in root.findChildren(QLabel) if label.buddy() is not None}
    found = []
    for w in root.findChildren(QWidget):
        if not _shown(w) or w.focusPolicy() == Qt.FocusPolicy.NoFocus:
            continue
        if not isinstance(w, QAbstractButton | QComboBox | QLineEdit | QAbstractSpinBox | QAbstractItemView
                          | QTabBar | QProgressBar):
            continue
        if isinstance(w, QLineEdit) and isinstance(w.parentWidget(), QComboBox | QAbstractSpinBox):
            continue  # the editor inside a combo or spin box: the outer control carries the name
        if w.accessibleName() or id(w) in named_by_label:
            continue
        if isinstance(w, QAbstractButton) and _plain(w.text()).strip():
            continue
        if isinstance(w, QTabBar):
            continue  # each tab is named by its text
        found.append(f"{_name(w)} has no accessible name")
    return found


__all__ = ["layout_issues", "unnamed_controls"]
