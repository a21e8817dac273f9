"""The integration window: what is synced, how the last sync went, and what needs a person.

Layout follows the seed's integration page: the company and **Disconnect** in the upper right, then
the **Sync Settings** with a large green check or red x per entity, then the sync controls and the
tabs for problems, conflicts, history and activity. All data arrives through
:func:`~qbosync_desktop.desktop.ui.snapshot.load_snapshot` on a background thread; every action goes to the
sync service's worker, so nothing here blocks the GUI thread.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from qbosync_desktop.core.errors import NeedsReconnect, QboSyncError
from qbosync_desktop.desktop.service import Progress
from qbosync_desktop.desktop.signals import emit
from qbosync_desktop.desktop.ui.background import run_in_background
from qbosync_desktop.desktop.ui.dialogs.disconnect import DisconnectDialog
from qbosync_desktop.desktop.ui.dialogs.error_dialog import ErrorDialog, show_error
from qbosync_desktop.desktop.ui.dialogs.reconnect import ReconnectDialog
from qbosync_desktop.desktop.ui.dialogs.settings_dialog import SettingsDialog
from qbosync_desktop.desktop.ui.dialogs.undo_dialog import UndoDialog
from qbosync_desktop.desktop.ui.problem_groups import (
    DIRECT_FIXES,
    ProblemGroup,
    group_problems,
    problem_code,
    record_links,
)
from qbosync_desktop.desktop.ui.qsettings import ui_settings
from qbosync_desktop.desktop.ui.reconcile_tab import ReconcileTab
from qbosync_desktop.desktop.ui.snapshot import Snapshot, load_snapshot
from qbosync_desktop.desktop.ui.status_line import SyncStatus, exact_time, relative_time
from qbosync_desktop.desktop.ui.style import icon
from qbosync_desktop.desktop.ui.text import tr
from qbosync_desktop.desktop.ui.widgets.elided_label import ElidedLabel
from qbosync_desktop.desktop.ui.widgets.record_table import RecordTable, fit_headers
from qbosync_desktop.desktop.ui.widgets.status_icon import EntityStatus
from qbosync_desktop.sync.rules.settings import (
    NOT_TAXABLE,
    TAX_QBO_CALCULATES,
    SyncSettings,
    TaxSetup,
    account_groups,
    validate,
)
from qbosync_desktop.sync.skips import run_text

log = logging.getLogger(__name__)

#: Cause cards above the problem list (the rest are in the list, which can be filtered by cause).
MAX_CAUSE_CARDS = 3

#: The entities of the settings summary, in the seed's order (issue 14 adds credits and refunds).
ENTITIES = ("Clients", "Sites", "Invoices", "Credit notes", "Payments", "Refunds", "Contractor bills")


HEALTH_TEXT = {
    "connected": tr("Connected"),
    "needs_reconnect": tr("QuickBooks needs to be reconnected"),
    "disconnected": tr("Not connected"),
}


def fmt_time(value: Any) -> str:
    """Local, human time for a naive-UTC database timestamp (or an ISO string)."""
    if not value:
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.rstrip("Z"))
    local = value.replace(tzinfo=dt.timezone.utc).astimezone()
    return local.strftime("%Y-%m-%d %H:%M")


def fmt_counts(counts: dict[str, dict[str, int]] | None) -> str:
    parts = []
    for entity, outcomes in (counts or {}).items():
        done = ", ".join(f"{n:,} {o.replace('_', ' ')}" for o, n in outcomes.items() if n)
        if done:
            parts.append(f"{entity.replace('_', ' ')}: {done}")
    return "; ".join(parts)


def fmt_left_out(skips: dict[str, dict[str, int]] | None) -> str:
    """The records a run left out on purpose, in plain words ("invoices: 12 drafts skipped…")."""
    text = run_text(skips)
    return tr("left out on purpose: {0}").format(text) if text else ""


def fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return tr("about {0} s left").format(max(1, round(seconds)))
    return tr("about {0} min left").format(round(seconds / 60))


def show_fraction(bar: QProgressBar, fraction: float | None) -> None:
    """A determinate bar when the total is known, a busy bar otherwise (never a bar stuck at 0%)."""
    if fraction is None:
        bar.setRange(0, 0)
    else:
        bar.setRange(0, 1000)
        bar.setValue(int(fraction * 1000))


def tax_code_issue(settings: SyncSettings, tax: TaxSetup | None) -> str:
    """What Sync Settings would say about the tax-code mapping, in their words ("" when nothing is
    missing, Invoices is off, the company is in the US, or its country is not known yet)."""
    if not settings.invoices or tax is None or not tax.uses_tax_codes:
        return ""
    issues = [i for i in validate(settings, tax=tax) if i.field == "tax_codes"]
    if not issues:
        return ""
    text = f"{issues[0].message} {issues[0].hint}"
    more = len(issues) - 1
    if more:
        text += " " + (tr("(and 1 more thing to fix)") if more == 1 else tr("(and {0} more things to fix)").format(more))
    return text


def entity_status(settings: SyncSettings, name_of, tax: TaxSetup | None = None) -> dict[str, tuple[bool, str, str]]:
    """(on, detail, action) per entity for the summary: the chosen accounts are the detail of an
    entity that is on; one that is off shows just "Off" (no accounts: they are not used). An entity
    that is on but cannot sync shows the red x, the reason and the next step (``action``).

    ``tax`` (the company's country, its tax codes and Work's rates; None when not known) lets a
    company outside the US show the missing tax-code mappings (forgotten by Disconnect, say) on
    Invoices, in Sync Settings' words, and on the credit notes and refunds that need the same codes."""
    def acct(label: str, acct_id: str | None) -> str:
        return f"{label}: {name_of(acct_id)}" if acct_id else ""

    rows: dict[str, tuple[bool, str, str]] = {
        "Clients": (settings.clients, tr("Two-way with QuickBooks customers") + (
            tr(" · default state used when missing") if settings.use_default_state else "") if settings.clients else "",
            ""),
        "Sites": (settings.sites, tr("Sub-customers ⇄ Work Sites during onboarding") if settings.sites else "", ""),
        "Invoices": (settings.invoices, " · ".join(filter(None, [
            acct(tr("Income"), settings.income_account), acct(tr("Expense"), settings.expense_account),
            # only what differs from the default: tax as charged in Work, a US company (no codes)
            tr("Tax calculated by QuickBooks") if settings.tax_amounts == TAX_QBO_CALCULATES else "",
            tr("{0} tax codes mapped").format(len(settings.tax_codes)) if settings.tax_codes else ""]))
            if settings.invoices else "", ""),
        "Payments": (settings.payments, acct(tr("Deposit to"), settings.deposit_account) if settings.payments else "",
                     ""),
        # Credit notes follow Invoices; refunds follow Payments and are paid from its account.
        "Credit notes": (settings.invoices, tr("Credit memos, applied to their invoices") if settings.invoices else "",
                         ""),
        "Refunds": (settings.payments and settings.invoices,
                    acct(tr("Refund receipts paid from"), settings.deposit_account)
                    if settings.payments and settings.invoices else "", ""),
    }
    missing_tax = tax_code_issue(settings, tax)
    if missing_tax:
        rows["Invoices"] = (False, missing_tax, tr("Map tax codes…"))
        rows["Credit notes"] = (False, tr("Waits for the tax codes Invoices needs: credit memos use the same "
                                          "codes"), "")
        if rows["Refunds"][0] and not settings.tax_codes.get(NOT_TAXABLE):
            rows["Refunds"] = (False, tr("Waits for the tax code of lines without tax (see Invoices): every "
                                         "refund receipt line needs it"), "")
    if settings.bills and not settings.concepts:
        # Disconnect forgets the concept mappings: every bill would fail until they are mapped again.
        rows["Contractor bills"] = (False, tr("Needs mapping: no Work invoice concept has an expense account, "
                                              "so no bill can be sent"), tr("Map concepts…"))
    else:
        rows["Contractor bills"] = (settings.bills, " · ".join(filter(None, [
            acct(tr("A/P"), settings.ap_account),
            tr("{0} concepts mapped").format(len(settings.concepts))])) if settings.bills else "", "")
    return rows


def _table(headers: list[str], name: str, parent: QWidget) -> QTableWidget:
    t = QTableWidget(0, len(headers), parent)
    t.setObjectName(name)
    t.setAccessibleName(name)
    t.setHorizontalHeaderLabels(headers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setAlternatingRowColors(True)
    t.setWordWrap(True)
    t.verticalHeader().setVisible(False)
    t.setTabKeyNavigation(False)
    header = t.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    return t


def _item(text: Any, data: Any = None) -> QTableWidgetItem:
    item = QTableWidgetItem("" if text is None else str(text))
    if data is not None:
        item.setData(Qt.ItemDataRole.UserRole, data)
    item.setToolTip(item.text())
    return item


class IntegrationWindow(QMainWindow):
    """The main window once the integration is enabled."""

    refreshed = Signal()
    disconnected = Signal()
    edit_requested = Signal()
    status_changed = Signal(str, str)  # the status line's text and level (ok / syncing / attention)

    def __init__(self, session: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.service = session.service
        self.snapshot = Snapshot()
        self._account_names: dict[str, str] = {}
        self._tax: TaxSetup | None = None  # read from QuickBooks and Work when the window opens
        self._refreshing = False
        self._refresh_again = False
        self._manual_run = False
        self.failure_text = ""
        self.status = SyncStatus()
        self.status_text = ""
        self._progress: Progress | None = None
        self._group_filter: str | None = None  # the cause card whose records the table shows
        self.groups: list[ProblemGroup] = []
        self.quit_on_close = False
        self.dialog: QWidget | None = None  # the dialog currently open (tests drive it)
        self.undo_dialog: UndoDialog | None = None
        self.setObjectName("IntegrationWindow")
        self.setWindowTitle(self.tr("QBO Sync"))
        self.setWindowIcon(icon("app"))
        self._build()
        self._connect_service()
        self.restore_geometry()
        self.refresh()
        run_in_background(self, session.load_accounts, on_done=self._accounts_loaded, on_error=lambda _e: None)
        self._load_tax()
        # "synced 40 seconds ago" ages by itself (no database read: the words are recomputed)
        self._clock = QTimer(self)
        self._clock.setInterval(10_000)
        self._clock.timeout.connect(self._tick)
        self._clock.start()

    # ------------------------------------------------------------------ build
    def _build(self) -> None:
        central = QWidget(self)
        root = QVBoxLayout(central)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)

        # Header: company, health, Reconnect; Disconnect upper right (the seed)
        header = QFrame(central)
        header.setObjectName("Header")
        hl = QHBoxLayout(header)
        hl.setContentsMargins(24, 16, 24, 16)
        names = QVBoxLayout()
        self.company_label = QLabel("", header)
        self.company_label.setObjectName("CompanyName")
        self.company_label.setAccessibleName(self.tr("QuickBooks company"))
        self.work_label = QLabel("", header)
        self.work_label.setObjectName("Muted")
        self.status_line = QLabel("", header)
        self.status_line.setObjectName("StatusLine")
        self.status_line.setWordWrap(True)
        self.status_line.setAccessibleName(self.tr("Sync status"))
        self.status_line.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                                 | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        names.addWidget(self.company_label)
        names.addWidget(self.work_label)
        names.addWidget(self.status_line)
        hl.addLayout(names, 1)
        self.health_label = QLabel("", header)
        self.health_label.setObjectName("Health")
        self.health_label.setAccessibleName(self.tr("Connection health"))
        hl.addWidget(self.health_label)
        self.reconnect_button = QPushButton(self.tr("Reconnect"), header)
        self.reconnect_button.setObjectName("Primary")
        self.reconnect_button.clicked.connect(self.open_reconnect)
        self.reconnect_button.setVisible(False)
        hl.addWidget(self.reconnect_button)
        self.disconnect_button = QPushButton(self.tr("Disconnect"), header)
        self.disconnect_button.setObjectName("Danger")
        self.disconnect_button.setAccessibleName(self.tr("Disconnect from QuickBooks"))
        self.disconnect_button.clicked.connect(self.open_disconnect)
        hl.addWidget(self.disconnect_button)
        root.addWidget(header)

        # The body scrolls vertically (never sideways), so the window fits a 900×650 screen
        self.body_scroll = QScrollArea(central)
        self.body_scroll.setObjectName("BodyScroll")
        self.body_scroll.setWidgetResizable(True)
        self.body_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.body_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = _Body(self.body_scroll)
        bl = QGridLayout(body)
        bl.setContentsMargins(24, 18, 24, 18)
        bl.setHorizontalSpacing(18)
        bl.setVerticalSpacing(18)

        # Sync Settings summary: a large check or x per entity
        settings_card = QFrame(body)
        settings_card.setObjectName("Card")
        sl = QVBoxLayout(settings_card)
        sl.setContentsMargins(18, 14, 18, 14)
        top = QHBoxLayout()
        title = QLabel(self.tr("Sync Settings"), settings_card)
        title.setObjectName("SectionTitle")
        top.addWidget(title, 1)
        self.edit_button = QPushButton(self.tr("Edit settings"), settings_card)
        self.edit_button.clicked.connect(lambda: self.open_settings())
        top.addWidget(self.edit_button)
        sl.addLayout(top)
        self.entity_rows: dict[str, EntityStatus] = {}
        for name in ENTITIES:
            row = EntityStatus(self.tr(name), settings_card)
            row.action.clicked.connect(lambda: self.open_settings())  # the next step is always in the settings
            self.entity_rows[name] = row
            sl.addWidget(row)
        sl.addStretch(1)
        bl.addWidget(settings_card, 0, 0)

        # Sync card: Sync now, last sync, next sync, pause/resume, progress
        sync_card = QFrame(body)
        sync_card.setObjectName("Card")
        cl = QVBoxLayout(sync_card)
        cl.setContentsMargins(18, 14, 18, 14)
        cl.setSpacing(10)
        title = QLabel(self.tr("Sync"), sync_card)
        title.setObjectName("SectionTitle")
        cl.addWidget(title)
        buttons = QHBoxLayout()
        self.sync_button = QPushButton(self.tr("Sync now"), sync_card)
        self.sync_button.setObjectName("Primary")
        self.sync_button.clicked.connect(self.sync_now)
        self.pause_button = QPushButton(self.tr("Pause"), sync_card)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.cancel_button = QPushButton(self.tr("Cancel"), sync_card)
        self.cancel_button.setAccessibleName(self.tr("Cancel the running sync after the current batch"))
        self.cancel_button.clicked.connect(self.service.cancel)
        self.cancel_button.setVisible(False)
        for b in (self.sync_button, self.pause_button, self.cancel_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        cl.addLayout(buttons)
        self.last_sync_label = QLabel(self.tr("Last sync: never"), sync_card)
        self.last_sync_label.setWordWrap(True)
        self.next_sync_label = QLabel("", sync_card)
        self.next_sync_label.setObjectName("Muted")
        self.progress_bar = QProgressBar(sync_card)
        self.progress_bar.setAccessibleName(self.tr("Sync progress"))
        self.progress_bar.setVisible(False)
        self.progress_label = QLabel("", sync_card)
        self.progress_label.setObjectName("Muted")
        self.progress_label.setWordWrap(True)
        for w in (self.last_sync_label, self.next_sync_label, self.progress_bar, self.progress_label):
            cl.addWidget(w)
        cl.addStretch(1)
        bl.addWidget(sync_card, 0, 1)
        bl.setColumnStretch(0, 3)
        bl.setColumnStretch(1, 2)

        # Tabs
        self.tabs = QTabWidget(body)
        self.tabs.setAccessibleName(self.tr("Problems, conflicts, history and activity"))
        self._build_problems()
        self._build_conflicts()
        self._build_matches()
        self._build_history()
        self._build_activity()
        # Row heights of wrapped cells are measured at the width the table has when it is shown (a
        # hidden tab measured them at its tiny hidden width: rows hundreds of pixels tall)
        self.tabs.currentChanged.connect(lambda _i: QTimer.singleShot(0, self._fit_rows))
        self.reconcile_tab = ReconcileTab(self.session, self.tabs)
        self.tabs.addTab(self.reconcile_tab, self.tr("Reconcile"))
        bl.addWidget(self.tabs, 1, 0, 1, 2)
        bl.setRowStretch(1, 1)
        self.body_scroll.setWidget(body)
        root.addWidget(self.body_scroll, 1)
        self.setCentralWidget(central)
        QShortcut(QKeySequence.StandardKey.Refresh, self, activated=self.refresh)

    def _build_problems(self) -> None:
        """Cause cards on top (one per root cause, each with the button that fixes all its records),
        the records below, and every action's result right under the list."""
        page = QWidget()
        lay = QVBoxLayout(page)
        self.causes_box = QWidget(page)
        self.causes_layout = QVBoxLayout(self.causes_box)
        self.causes_layout.setContentsMargins(0, 0, 0, 0)
        self.causes_layout.setSpacing(6)
        self.cause_cards: list[QFrame] = []
        self._causes_shown: list[tuple[object, ...]] = []
        lay.addWidget(self.causes_box)
        filter_row = QHBoxLayout()
        self.filter_label = QLabel("", page)
        self.filter_label.setObjectName("Muted")
        self.filter_label.setWordWrap(True)
        self.show_all_button = QPushButton(self.tr("Show all problems"), page)
        self.show_all_button.clicked.connect(lambda: self.show_group(None))
        filter_row.addWidget(self.filter_label, 1)
        filter_row.addWidget(self.show_all_button)
        self.filter_label.setVisible(False)
        self.show_all_button.setVisible(False)
        lay.addLayout(filter_row)
        self.problems_table = RecordTable([self.tr("Record"), self.tr("What happened"), self.tr("What to do")],
                                          _problem_cells, self.tr("Problems"), page)
        self.problems_table.selectionModel().selectionChanged.connect(lambda *_a: self._problem_selected())
        fit_headers(self.problems_table, (180, 360))
        self.problems_table.setMinimumHeight(110)
        lay.addWidget(self.problems_table, 1)
        row = QHBoxLayout()
        self.retry_button = QPushButton(self.tr("Retry"), page)
        self.retry_button.setAccessibleName(self.tr("Retry the selected problem"))
        self.retry_button.clicked.connect(self.retry_selected)
        self.retry_all_button = QPushButton(self.tr("Retry all"), page)
        self.retry_all_button.setAccessibleName(self.tr("Retry all problems"))
        self.retry_all_button.clicked.connect(lambda: self.retry(None))
        self.details_button = QPushButton(self.tr("Details…"), page)
        self.details_button.setAccessibleName(self.tr("Details of the selected problem"))
        self.details_button.clicked.connect(self.show_problem_details)
        self.copy_button = QPushButton(self.tr("Copy"), page)
        self.copy_button.setAccessibleName(self.tr("Copy the selected problem's text"))
        self.copy_button.setToolTip(self.tr("Copy the record, what happened and what to do (Ctrl+C)"))
        self.copy_button.clicked.connect(self.copy_problem)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Copy), self.problems_table, self.copy_problem)
        self.fix_button = QPushButton("", page)
        self.fix_button.setObjectName("Primary")
        self.fix_button.setAccessibleName(self.tr("Apply the suggested fix and retry"))
        self.fix_button.clicked.connect(self.apply_direct_fix)
        self.fix_button.setVisible(False)
        for b in (self.retry_button, self.retry_all_button, self.details_button, self.copy_button):
            row.addWidget(b)
        row.addStretch(1)
        lay.addLayout(row)
        links = QHBoxLayout()
        self.open_qbo_button = QPushButton(self.tr("Open in QuickBooks"), page)
        self.open_qbo_button.setAccessibleName(self.tr("Open the selected record in QuickBooks"))
        self.open_qbo_button.clicked.connect(lambda: self.open_record("qbo"))
        self.open_work_button = QPushButton(self.tr("Open in Work"), page)
        self.open_work_button.setAccessibleName(self.tr("Open the selected record in Work"))
        self.open_work_button.clicked.connect(lambda: self.open_record("work"))
        #: the result of Retry / a fix, next to the list it is about (not far away in the Sync card)
        self.problems_status = QLabel("", page)
        self.problems_status.setObjectName("Muted")
        self.problems_status.setWordWrap(True)
        self.problems_status.setAccessibleName(self.tr("Result of the last action on problems"))
        row.addWidget(self.open_qbo_button)
        row.addWidget(self.open_work_button)
        # Under the list: the selected record's own fix and the result of the last action on the list
        links.addWidget(self.fix_button)
        links.addWidget(self.problems_status, 1)
        lay.addLayout(links)
        self.tabs.addTab(page, self.tr("Problems"))

    def _build_conflicts(self) -> None:
        page = QWidget()
        lay = QVBoxLayout(page)
        hint = QLabel(self.tr("These fields changed differently in Work and in QuickBooks since the last sync. "
                              "Choose which value to keep for each; the next sync writes it to the other side."),
                      page)
        hint.setWordWrap(True)
        hint.setObjectName("Muted")
        lay.addWidget(hint)
        self.conflicts_table = _table([self.tr("Record"), self.tr("Field"), self.tr("In Work"),
                                       self.tr("In QuickBooks"), self.tr("Keep")], self.tr("Conflicts"), page)
        fit_headers(self.conflicts_table, (180, 100, 170, 170))
        lay.addWidget(self.conflicts_table)
        self.tabs.addTab(page, self.tr("Conflicts"))

    def _build_matches(self) -> None:
        """Match review after onboarding: the proposals the engine stored (clients and contractors
        that may already be in QuickBooks), each accepted or rejected here, off the GUI thread."""
        self.matches_page = page = QWidget()
        lay = QVBoxLayout(page)
        hint = QLabel(self.tr("A Work record that looks like one already in QuickBooks waits here until you decide. "
                              "Accept links the two (no duplicate is created); Reject lets each sync on its own."),
                      page)
        hint.setWordWrap(True)
        hint.setObjectName("Muted")
        lay.addWidget(hint)
        self.matches_table = _table([self.tr("In Work"), self.tr("In QuickBooks"), self.tr("Why they match"),
                                     self.tr("Decision")], self.tr("Matches"), page)
        fit_headers(self.matches_table, (170, 150))
        header = self.matches_table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)  # the reason wraps; the buttons keep their size
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        header.sectionResized.connect(lambda *_a: self.matches_table.resizeRowsToContents())
        lay.addWidget(self.matches_table)
        self.matches_status = QLabel("", page)
        self.matches_status.setObjectName("Muted")
        lay.addWidget(self.matches_status)
        self.tabs.addTab(page, self.tr("Matches"))

    def _build_history(self) -> None:
        page = QWidget()
        lay = QVBoxLayout(page)
        self.history_table = RecordTable([self.tr("Started"), self.tr("Kind"), self.tr("Result"), self.tr("Duration"),
                                          self.tr("QuickBooks requests"), self.tr("What happened")],
                                         _run_cells, self.tr("History"), page)
        fit_headers(self.history_table, (150, 90, 90, 90, 160))
        # Records held after "Undo and hold": said here, with the one way to let syncs send them again
        held = QHBoxLayout()
        self.holds_label = QLabel("", page)
        self.holds_label.setWordWrap(True)
        held.addWidget(self.holds_label, 1)
        self.release_button = QPushButton(self.tr("Let syncs send them again"), page)
        self.release_button.setObjectName("ReleaseHolds")
        self.release_button.setToolTip(self.tr("Releases the records held after an undo: the next sync treats "
                                               "them as usual and may send them to QuickBooks again."))
        self.release_button.clicked.connect(self.release_holds)
        held.addWidget(self.release_button)
        self.holds_row = QFrame(page)
        self.holds_row.setObjectName("HoldsNotice")
        self.holds_row.setLayout(held)
        self.holds_row.setVisible(False)
        lay.addWidget(self.holds_row)  # above the runs: it changes what the next syncs do
        lay.addWidget(self.history_table)
        row = QHBoxLayout()
        self.undo_button = QPushButton(self.tr("Undo this run…"), page)
        self.undo_button.setObjectName("UndoRun")
        self.undo_button.setToolTip(self.tr("Shows what undoing the selected sync would change, then asks."))
        self.undo_button.setEnabled(False)
        self.undo_button.clicked.connect(self.undo_selected_run)
        row.addWidget(self.undo_button)
        self.undo_status = QLabel("", page)
        self.undo_status.setObjectName("Muted")
        self.undo_status.setWordWrap(True)
        row.addWidget(self.undo_status, 1)
        lay.addLayout(row)
        self.history_table.selectionModel().selectionChanged.connect(lambda *_a: self._undo_enabled())
        self.tabs.addTab(page, self.tr("History"))

    def _undo_enabled(self) -> None:
        run = self.history_table.selected_row()
        self.undo_button.setEnabled(run is not None and run.get("kind") not in ("undo", "preview")
                                    and run.get("state") != "running")

    def undo_selected_run(self) -> None:
        """Read the undo's preview off the GUI thread, then show it; nothing is written before Undo."""
        run = self.history_table.selected_row()
        if run is None:
            return
        self.undo_button.setEnabled(False)
        self.undo_status.setText(self.tr("Reading what undoing this run would change…"))

        def failed(exc: BaseException) -> None:
            self.undo_status.setText("")
            self._undo_enabled()
            self.dialog = show_error(exc, self)

        self.session.undo_preview(int(run["id"]), on_done=lambda plan: self._show_undo(plan, failed),
                                  on_error=failed)

    def _show_undo(self, plan: dict[str, Any], failed: Any) -> None:
        self.undo_status.setText("")
        self._undo_enabled()
        self.undo_dialog = dlg = UndoDialog(plan, self)

        def chosen() -> None:
            self.undo_status.setText(self.tr("Undoing sync run %1…").replace("%1", str(plan["run_id"])))
            self.undo_button.setEnabled(False)
            self.session.undo_run(plan["run_id"], dlg.mode, dlg.skip_blocked, on_done=self._undone, on_error=failed)

        dlg.accepted.connect(chosen)
        dlg.open()

    def _undo_progress(self, phase: str, done: int, total: int) -> None:
        if not self.undo_button.isEnabled() and self.undo_dialog is not None:
            self.undo_status.setText(self.tr("Undoing sync run %1… %2: %3 of %4").replace(
                "%1", str(self.undo_dialog.plan["run_id"])).replace("%2", phase).replace(
                "%3", f"{done:,}").replace("%4", f"{total:,}"))

    def _undone(self, result: dict[str, Any]) -> None:
        parts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in sorted(result["counts"].items()))
        text = self.tr("Sync run %1 undone: %2.").replace("%1", str(result["undone_run_id"])).replace(
            "%2", parts or self.tr("nothing to write"))
        if result["kept"]:
            text += " " + self.tr("%1 record(s) kept as they were.").replace("%1", str(len(result["kept"])))
        if result["failed"]:
            text += " " + self.tr("%1 change(s) failed: see Problems.").replace("%1", str(len(result["failed"])))
        self.undo_status.setText(text)
        self.refresh()

    def _build_activity(self) -> None:
        page = QWidget()
        lay = QVBoxLayout(page)
        row = QHBoxLayout()
        self.activity_filter = QLineEdit(page)
        self.activity_filter.setPlaceholderText(self.tr("Filter: name, id or message"))
        self.activity_filter.setAccessibleName(self.tr("Filter the activity"))
        self.activity_filter.setClearButtonEnabled(True)
        self.activity_filter.textChanged.connect(self._fill_activity)
        self.activity_kind = QComboBox(page)
        self.activity_kind.setAccessibleName(self.tr("Record kind"))
        self.activity_kind.addItem(self.tr("All records"), None)
        for kind in ("client", "site", "item", "invoice", "payment", "vendor", "bill"):
            self.activity_kind.addItem(kind.capitalize(), kind)
        self.activity_kind.currentIndexChanged.connect(self._fill_activity)
        self.export_button = QPushButton(self.tr("Export CSV…"), page)
        self.export_button.clicked.connect(self.export_csv)
        row.addWidget(self.activity_filter, 1)
        row.addWidget(self.activity_kind)
        row.addWidget(self.export_button)
        lay.addLayout(row)
        self.activity_table = RecordTable([self.tr("When"), self.tr("Action"), self.tr("Record"), self.tr("Work id"),
                                           self.tr("QuickBooks id"), self.tr("Message")], _audit_cells,
                                          self.tr("Activity"), page)
        fit_headers(self.activity_table, (150, 80, 80, 100, 120))
        lay.addWidget(self.activity_table)
        self.export_status = QLabel("", page)
        self.export_status.setObjectName("Muted")
        lay.addWidget(self.export_status)
        self.tabs.addTab(page, self.tr("Activity"))

    # ------------------------------------------------------------------ service
    def _connect_service(self) -> None:
        s = self.service
        s.progress.connect(self._on_progress)
        s.run_started.connect(lambda _rid: self._set_running(True))
        s.finished.connect(self._on_finished)
        s.failed.connect(self._on_failed)
        s.schedule_changed.connect(self._on_schedule)
        s.reconcile_checked.connect(self._on_reconcile_checked)
        s.undo_progress.connect(self._undo_progress)
        s.state_changed.connect(lambda _state: self._sync_controls())
        self._on_schedule(s.next_run)
        self._set_running(s.busy)

    def _on_reconcile_checked(self, report: Any) -> None:
        """The scheduled reconcile check ran: its rows go to the Reconcile tab, its problem (if any) to
        the Problems tab."""
        self.reconcile_tab.show_report(report)
        self.refresh()

    def _set_running(self, running: bool) -> None:
        was = self.status.running
        self.progress_bar.setVisible(running)
        self.cancel_button.setVisible(running)
        self.sync_button.setEnabled(not running and self.snapshot.state == "connected")
        if running and not was:
            self.progress_bar.setRange(0, 0)
            self.progress_label.setText(self.tr("Syncing…"))
        if not running:
            self._progress = None
        self.status.running = running
        self._update_status()

    def _sync_controls(self) -> None:
        self._set_running(self.service.busy)
        self.pause_button.setText(self.tr("Resume") if self.service.paused else self.tr("Pause"))
        self.pause_button.setAccessibleName(self.tr("Resume scheduled syncs") if self.service.paused
                                            else self.tr("Pause scheduled syncs"))

    def _on_progress(self, p: Progress) -> None:
        self._set_running(True)
        self._progress = p
        show_fraction(self.progress_bar, p.fraction)
        bits = [f"{p.entity}: {p.done:,} of {p.total:,}" if p.total else p.entity, fmt_counts(p.counts), fmt_eta(p.eta_seconds)]
        self.progress_label.setText(" · ".join(b for b in bits if b))
        self._update_status()

    def _on_finished(self, summary: Any) -> None:
        self._manual_run = False
        self.failure_text = ""
        self._set_running(False)
        counts = " · ".join(t for t in (fmt_counts(summary.counts), fmt_left_out(getattr(summary, "skips", None))) if t)
        self.progress_label.setText(self.tr("Sync finished: {0}").format(counts) if counts
                                    else self.tr("Sync finished: nothing to change"))
        if self.problems_status.text() == self.tr("Retrying…"):
            self.problems_status.setText(self.tr("Retried. {0} problems remain open.").format(
                int(getattr(summary, "open_problems", 0) or 0)))
        self.refresh()

    # ------------------------------------------------------------------ status line
    def _update_status(self) -> None:
        """The one line that says where things stand, here and in the tray (status_changed)."""
        snap, st = self.snapshot, self.status
        st.connection = snap.state
        st.paused = bool(self.service.paused)
        p = self._progress
        st.done, st.total = ((p.done_overall, p.total_overall) if p is not None and p.total_overall
                             else (p.done, p.total) if p is not None else (0, 0))
        last = snap.last_run
        st.last_sync = (last["finished_at"] or last["started_at"]) if last else None
        st.last_failed = self.failure_text.split(":", 1)[0] if self.failure_text else ""
        st.problems = len(snap.problems)
        st.waiting = len(snap.conflicts) + sum(1 for m in snap.matches if m.get("state") == "proposed")
        text, level = st.text(), st.level
        self.status_line.setText(text)
        self.status_line.setToolTip(self.tr("Last sync finished {0}").format(exact_time(st.last_sync))
                                    if st.last_sync else "")
        if self.status_line.property("level") != level:
            self.status_line.setProperty("level", level)
            self.status_line.style().unpolish(self.status_line)
            self.status_line.style().polish(self.status_line)
        if (text, level) != (self.status_text, getattr(self, "_status_level", "")):
            self.status_text, self._status_level = text, level
            emit(self.status_changed, text, level)

    def _tick(self) -> None:
        self._show_last_sync()
        self._update_status()

    def _show_last_sync(self) -> None:
        snap = self.snapshot
        last = snap.last_run
        if last:
            result = {"done": self.tr("finished"), "failed": self.tr("stopped with an error"),
                      "cancelled": self.tr("cancelled")}.get(last["state"], last["state"])
            problems = len(snap.problems)
            extra = self.tr(" · {0} open problems").format(problems) if problems else ""
            when = last["finished_at"] or last["started_at"]
            self.last_sync_label.setText(self.tr("Last sync: {0}, {1}{2}").format(relative_time(when), result, extra))
            self.last_sync_label.setToolTip(exact_time(when))
        else:
            self.last_sync_label.setText(self.tr("Last sync: never"))
        if self.failure_text:
            self.last_sync_label.setText(self.last_sync_label.text() + "\n" +
                                         self.tr("The last attempt stopped — {0}").format(self.failure_text))

    def _on_failed(self, exc: BaseException) -> None:
        """A run stopped. A dialog when a person asked for the run (or it is not a passing problem);
        a scheduled run that met a network hiccup only says so in the window — a dialog every 15
        minutes while the internet is down teaches people to dismiss dialogs unread."""
        manual, self._manual_run = self._manual_run, False
        self._set_running(False)
        self.refresh()
        self.failure_text = f"{getattr(exc, 'title', type(exc).__name__)}: {getattr(exc, 'message', exc)}"
        self._show_last_sync()
        self._update_status()
        if self.problems_status.text() == self.tr("Retrying…"):
            self.problems_status.setText(self.tr("The retry stopped: {0}").format(self.failure_text))
        if isinstance(exc, NeedsReconnect):
            return  # the header shows Reconnect and the controller opens the reconnect dialog
        if manual or not getattr(exc, "transient", False):
            self.dialog = show_error(exc, self)

    def _on_schedule(self, next_run: dt.datetime | None) -> None:
        if self.service.paused:
            self.next_sync_label.setText(self.tr("Scheduled syncs are paused"))
        elif next_run is None:
            self.next_sync_label.setText(self.tr("No sync scheduled"))
        else:
            self.next_sync_label.setText(self.tr("Next sync: {0}").format(next_run.strftime("%H:%M")))
        self._sync_controls()

    # ------------------------------------------------------------------ data
    def refresh(self) -> None:
        """Reload everything off the GUI thread (coalesced: one load at a time, one more if asked)."""
        if self._refreshing:
            self._refresh_again = True
            return
        self._refreshing = True
        run_in_background(self, load_snapshot, self.session.workspace, on_done=self._render,
                          on_error=self._refresh_failed)

    def _refresh_failed(self, exc: BaseException) -> None:
        self._refreshing = False
        if not self.isVisible():  # nobody is looking (tray only, or closing): the next refresh retries
            log.warning("Refreshing the hidden integration window failed: %s", exc)
            return
        self.dialog = show_error(exc, self)

    def _accounts_loaded(self, accounts: Any) -> None:
        for group in account_groups(accounts).values():
            self._account_names.update(group)
        self._render(self.snapshot, from_refresh=False)

    def _load_tax(self) -> None:
        """Read the company's tax setup off the GUI thread (two QuickBooks reads, one Work read); until
        it is known (offline: never) the country the last sync kept stands in for it."""
        run_in_background(self, self.session.load_tax, on_done=self._tax_loaded,
                          on_error=lambda e: log.info("Could not read the tax setup for the window: %s", e))

    def _tax_loaded(self, tax: Any) -> None:
        self._tax = tax if isinstance(tax, TaxSetup) else None
        self._render(self.snapshot, from_refresh=False)

    def tax_setup(self) -> TaxSetup | None:
        """The tax setup the summary checks the mapping against: as read when the window opened (or
        the settings were saved, or QuickBooks reconnected), else the country the last sync kept."""
        if self._tax is not None:
            return self._tax
        if self.snapshot.country:
            return TaxSetup(country=self.snapshot.country, rates={})
        return None

    def account_name(self, acct_id: str | None) -> str:
        """The account's name: from QuickBooks when it could be read, else as saved with the settings
        (so a restart without QuickBooks still shows names), else the id."""
        if not acct_id:
            return ""
        key = str(acct_id)
        return self._account_names.get(key) or self.snapshot.account_names.get(key) or key

    def _render(self, snap: Snapshot, from_refresh: bool = True) -> None:
        if from_refresh:
            self._refreshing = False
        self.snapshot = snap
        conn = snap.connection or {}
        self.company_label.setText(snap.company_name or self.tr("QuickBooks"))
        work = conn.get("work_company_name")
        env = conn.get("environment")
        self.work_label.setText(" · ".join(filter(None, [
            self.tr("Work: {0}").format(work) if work else "",
            self.tr("Practice company") if env == "practice" else ""])))
        state = snap.state
        self.health_label.setText(HEALTH_TEXT.get(state, state))
        self.health_label.setProperty("state", state)
        self.health_label.style().unpolish(self.health_label)
        self.health_label.style().polish(self.health_label)
        self.reconnect_button.setVisible(state == "needs_reconnect")
        self.disconnect_button.setEnabled(state != "disconnected")
        self.sync_button.setEnabled(state == "connected" and not self.service.busy)
        for name, (on, detail, action) in entity_status(snap.settings, self.account_name, self.tax_setup()).items():
            self.entity_rows[name].set_status(on, detail, action=action)
        self._show_last_sync()
        self._fill_problems()
        self._fill_conflicts()
        self._fill_history()
        self._fill_activity()
        self.tabs.setTabText(0, self.tr("Problems ({0})").format(len(snap.problems)) if snap.problems
                             else self.tr("Problems"))
        self.tabs.setTabText(1, self.tr("Conflicts ({0})").format(len(snap.conflicts)) if snap.conflicts
                             else self.tr("Conflicts"))
        self._fill_matches()
        self.service.set_attention(bool(snap.problems) or state == "needs_reconnect")
        self._update_status()
        emit(self.refreshed)
        if self._refresh_again and from_refresh:
            self._refresh_again = False
            self.refresh()

    def _fill_problems(self) -> None:
        """Refill the list keeping the selected problem selected (a refresh after Retry must not
        jump to another row); the cause cards are rebuilt from the same snapshot."""
        t = self.problems_table
        before = self.selected_problem()
        self.groups = group_problems(self.snapshot.problems)
        if self._group_filter is not None and not any(g.key == self._group_filter for g in self.groups):
            self._group_filter = None
        group = next((g for g in self.groups if g.key == self._group_filter), None)
        rows = [p for p in self.snapshot.problems if group is None or p["id"] in group.ids]
        t.set_rows(rows)
        has = bool(self.snapshot.problems)
        self.retry_all_button.setEnabled(has)
        if rows:
            keep = next((i for i, p in enumerate(rows) if before is not None and p["id"] == before["id"]), 0)
            t.selectRow(keep)
        self.filter_label.setVisible(group is not None)
        self.show_all_button.setVisible(group is not None)
        if group is not None:
            self.filter_label.setText(self.tr("Showing the {0} records of “{1}”").format(group.count, group.title))
        self._fill_causes()
        self._problem_selected()

    def _fill_causes(self) -> None:
        """Rebuild the cause cards only when the causes changed (a reload after the tax setup or the
        accounts arrive must not pull the keyboard focus out from under a user tabbing through them);
        when they are rebuilt, the focus stays on the same button of the same cause."""
        # Causes with a fix of their own first (mapping a concept, a settings switch), then the biggest
        candidates = [g for g in self.groups if g.count > 1 or g.concept is not None or g.fix is not None]
        shown = sorted(candidates, key=lambda g: (g.concept is None and g.fix is None, -g.count))[:MAX_CAUSE_CARDS]
        signature = [(g.key, g.title, g.hint, tuple(g.ids), g.concept, repr(g.fix)) for g in shown]
        if signature == self._causes_shown:
            return
        self._causes_shown = signature
        focused = QApplication.focusWidget()
        refocus: tuple[str, int] | None = None
        for card in self.cause_cards:
            buttons = card.findChildren(QPushButton)
            if focused in buttons:
                refocus = (str(card.property("cause")), buttons.index(focused))
            card.setParent(None)
            card.deleteLater()
        self.cause_cards = []
        for g in shown:
            self.cause_cards.append(self._cause_card(g))
            self.causes_layout.addWidget(self.cause_cards[-1])
            # Shown now, not on the layout's queued show: until then the card is out of the Tab chain
            self.cause_cards[-1].show()
        self.causes_box.setVisible(bool(shown))
        if refocus is not None:
            card = next((c for c in self.cause_cards if c.property("cause") == refocus[0]), None)
            buttons = card.findChildren(QPushButton) if card is not None else []
            target = buttons[refocus[1]] if refocus[1] < len(buttons) else self.problems_table
            target.setFocus(Qt.FocusReason.OtherFocusReason)

    def _cause_card(self, g: ProblemGroup) -> QFrame:
        card = QFrame(self.causes_box)
        card.setObjectName("CauseCard")
        card.setProperty("cause", g.key)
        row = QHBoxLayout(card)
        row.setContentsMargins(12, 8, 12, 8)
        words = QVBoxLayout()
        # One line each, elided with the full text in the tooltip: a card never grows taller than two
        # lines, however narrow the window (wrapped cards were squeezed into each other)
        title = ElidedLabel(self.tr("{0} · {1} records").format(g.title, g.count) if g.count > 1 else g.title, card)
        title.setObjectName("CauseTitle")
        hint = ElidedLabel(g.hint, card)
        hint.setObjectName("Muted")
        hint.setVisible(bool(g.hint) and g.concept is None)
        words.addWidget(title)
        words.addWidget(hint)
        row.addLayout(words, 1)
        fix = QPushButton(g.action, card)
        if g.concept is not None or g.fix is not None:
            fix.setObjectName("Primary")  # a real fix; a plain retry is not the highlighted action
        fix.setAccessibleName(self.tr("{0} (fixes {1} records)").format(g.action, g.count))
        fix.clicked.connect(lambda _=False, group=g: self.fix_group(group))
        show = QPushButton(self.tr("Show"), card)
        show.setAccessibleName(self.tr("Show the {0} records of: {1}").format(g.count, g.title))
        show.clicked.connect(lambda _=False, key=g.key: self.show_group(key))
        row.addWidget(fix, 0, Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(show, 0, Qt.AlignmentFlag.AlignVCenter)
        card.setAccessibleName(title.full_text())
        card.setToolTip("\n".join(filter(None, [title.full_text(), g.hint])))
        return card

    def _fit_rows(self) -> None:
        for table in (self.matches_table, self.conflicts_table):
            if table.isVisible():
                table.resizeRowsToContents()

    def show_group(self, key: str | None) -> None:
        """Show only the records of one cause (None: all problems)."""
        self._group_filter = key
        self._fill_problems()

    def fix_group(self, group: ProblemGroup) -> None:
        """The cause card's button: open the concept mapping (then retry the group when saved), apply
        the direct settings fix and retry, or retry the group."""
        if group.concept is not None:
            dialog = self.open_settings(focus_concept=group.concept)
            dialog.accepted.connect(lambda ids=list(group.ids): self.retry_ids(ids))
            return
        if group.fix is not None:
            self._change_settings(group.fix[1])
        self.retry_ids(group.ids)

    def retry_ids(self, ids: list[int]) -> None:
        """Mark these problems for retry (on the worker) and run once."""
        self.problems_status.setText(self.tr("Retrying…"))
        self.session.request_retry(ids, on_done=lambda _n: self.sync_now(),
                                   on_error=lambda e: setattr(self, "dialog", show_error(e, self)))

    def copy_problem(self) -> None:
        p = self.selected_problem()
        if p is None:
            return
        QGuiApplication.clipboard().setText("\n".join(_problem_cells(p)))
        self.problems_status.setText(self.tr("Copied the problem's text."))

    def open_record(self, where: str) -> None:
        p = self.selected_problem()
        if p is None:
            return
        qbo, work = record_links(p, self.snapshot.connection)
        url = qbo if where == "qbo" else work
        if url:
            self.session.open_url(url)
            self.problems_status.setText(self.tr("Opened {0}").format(url))

    def selected_problem(self) -> dict[str, Any] | None:
        return self.problems_table.selected_row()

    def _problem_selected(self) -> None:
        p = self.selected_problem()
        self.retry_button.setEnabled(p is not None)
        self.details_button.setEnabled(p is not None)
        self.copy_button.setEnabled(p is not None)
        qbo, work = record_links(p, self.snapshot.connection) if p is not None else (None, None)
        self.open_qbo_button.setEnabled(bool(qbo))
        self.open_qbo_button.setToolTip(qbo or self.tr("QuickBooks has no address for this record yet"))
        self.open_work_button.setEnabled(bool(work))
        self.open_work_button.setToolTip(work or self.tr("Work has no web address for this record"))
        fix = DIRECT_FIXES.get(problem_code(p or {}))
        self.fix_button.setVisible(fix is not None)
        if fix is not None:
            self.fix_button.setText(fix[0])

    def _fill_conflicts(self) -> None:
        t = self.conflicts_table
        t.setRowCount(len(self.snapshot.conflicts))
        for row, c in enumerate(self.snapshot.conflicts):
            t.setItem(row, 0, _item(c.get("label") or f"{c['kind'].capitalize()} {c['work_id']}", c["id"]))
            t.setItem(row, 1, _item(c["field"]))
            t.setItem(row, 2, _item(_show(c.get("work_value"))))
            t.setItem(row, 3, _item(_show(c.get("qbo_value"))))
            cell = QWidget(t)
            cl = QHBoxLayout(cell)
            cl.setContentsMargins(4, 2, 4, 2)
            for keep, text in (("work", self.tr("Keep Work")), ("quickbooks", self.tr("Keep QuickBooks"))):
                b = QPushButton(text, cell)
                b.setObjectName(f"keep_{keep}_{c['id']}")
                b.setAccessibleName(f"{text}: {c['field']}")
                b.clicked.connect(lambda _=False, cid=c["id"], k=keep: self.resolve_conflict(cid, k))
                cl.addWidget(b)
            t.setCellWidget(row, 4, cell)
        t.resizeRowsToContents()

    def _fill_matches(self) -> None:
        t = self.matches_table
        rows = self.snapshot.matches
        waiting = sum(1 for m in rows if m["state"] == "proposed")
        index = self.tabs.indexOf(self.matches_page)
        self.tabs.setTabText(index, self.tr("Matches ({0})").format(waiting) if waiting else self.tr("Matches"))
        t.setRowCount(len(rows))
        for row, m in enumerate(rows):
            kind = self.tr("Client") if m["kind"] == "client" else self.tr("Contractor")
            t.setItem(row, 0, _item(f"{kind}: {m['work_name']}", m["id"]))
            t.setItem(row, 1, _item(m["qbo_name"]))
            t.setItem(row, 2, _item(self.tr("{0} (score {1})").format(m["reason"], m["score"])))
            cell = QWidget(t)
            cl = QHBoxLayout(cell)
            cl.setContentsMargins(4, 2, 4, 2)
            if m["state"] == "proposed":
                for action, text, slot in (("accept", self.tr("Accept"), self.accept_match),
                                           ("reject", self.tr("Reject"), self.reject_match)):
                    b = QPushButton(text, cell)
                    b.setObjectName(f"match_{action}_{m['id']}")
                    b.setAccessibleName(f"{text}: {m['work_name']} = {m['qbo_name']}")
                    b.clicked.connect(lambda _=False, mid=m["id"], fn=slot: fn(mid))
                    cl.addWidget(b)
            else:
                by = self.tr(" (automatically: exact match)") if m.get("decided_by") == "auto" else ""
                words = self.tr("Accepted") if m["state"] == "accepted" else self.tr("Rejected")
                cl.addWidget(QLabel(words + by, cell))
            t.setCellWidget(row, 3, cell)
        t.resizeRowsToContents()

    def accept_match(self, match_id: int) -> None:
        self._decide_match(match_id, "accept")

    def reject_match(self, match_id: int) -> None:
        self._decide_match(match_id, "reject")

    def _decide_match(self, match_id: int, decision: str) -> None:
        """Accept or reject on the sync worker (database writes stay off the GUI thread); the records
        it held back sync in the next run."""
        self.matches_status.setText(self.tr("Saving your decision…"))

        def decide(engine: Any) -> Any:
            return engine.accept_match(match_id) if decision == "accept" else engine.reject_match(match_id)

        def done(_result: Any) -> None:
            self.matches_status.setText(self.tr("Saved. The records it held back sync in the next run."))
            self.refresh()

        def failed(exc: BaseException) -> None:
            self.matches_status.setText("")
            self.dialog = show_error(exc, self)

        self.service.submit(decide, on_done=done, on_error=failed)

    def _fill_history(self) -> None:
        self.history_table.set_rows(self.snapshot.runs)
        holds = self.snapshot.holds
        runs = sorted({int(h["run_id"]) for h in holds})
        self.holds_row.setVisible(bool(holds))
        if holds:
            self.holds_label.setText(
                self.tr("%n record(s) held after undoing sync run %1: syncs skip them until you let them "
                        "go.", "", len(holds)).replace("%1", ", ".join(str(r) for r in runs)))

    def release_holds(self) -> None:
        runs = sorted({int(h["run_id"]) for h in self.snapshot.holds})
        if not runs:
            return
        self.release_button.setEnabled(False)

        def done(n: Any) -> None:
            self.release_button.setEnabled(True)
            self.undo_status.setText(self.tr("%n record(s) released: the next sync treats them as usual.", "",
                                             int(n)))
            self.refresh()

        def failed(exc: BaseException) -> None:
            self.release_button.setEnabled(True)
            self.dialog = show_error(exc, self)

        self.session.release_holds(runs, on_done=done, on_error=failed)

    def _fill_activity(self, *_args: Any) -> None:
        needle = self.activity_filter.text().strip().casefold()
        kind = self.activity_kind.currentData()
        rows = [e for e in self.snapshot.audit
                if (kind is None or e["kind"] == kind)
                and (not needle or needle in " ".join(str(e.get(k) or "") for k in
                                                      ("action", "kind", "work_id", "qbo_id", "message")).casefold())]
        self.activity_table.set_rows(rows)

    # ------------------------------------------------------------------ actions
    def sync_now(self) -> None:
        if self.service.sync_now():
            self._manual_run = True
            self._set_running(True)

    def toggle_pause(self) -> None:
        if self.service.paused:
            self.service.resume()
        else:
            self.service.pause()
        self._on_schedule(self.service.next_run)

    def retry(self, problem_id: int | None) -> None:
        self._manual_run = True
        self.problems_status.setText(self.tr("Retrying…"))
        self.service.retry(problem_id)
        self._set_running(True)

    def retry_selected(self) -> None:
        p = self.selected_problem()
        if p is not None:
            self.retry(p["id"])

    def show_problem_details(self) -> None:
        p = self.selected_problem()
        if p is None:
            return
        details = dict(p.get("details") or {})
        details.pop("record", None)  # shown first, as the person knows it
        details.setdefault("code", p.get("code"))
        exc = QboSyncError(p["message"], title=p.get("title") or self.tr("Problem"), hint=p.get("hint") or "",
                           details={"record": problem_record_label(p), "work_id": p.get("work_id"),
                                    "quickbooks_id": p.get("qbo_id"), **details})
        dialog = ErrorDialog(exc, self, icon="info")
        dialog.details_button.setChecked(True)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.dialog = dialog

    def apply_direct_fix(self) -> None:
        p = self.selected_problem()
        fix = DIRECT_FIXES.get(problem_code(p or {}))
        if p is None or fix is None:
            return
        self._change_settings(fix[1])
        self.retry(p["id"])

    def _change_settings(self, change: dict[str, Any]) -> None:
        """Save the settings with ``change`` applied, on the sync worker (queued before the retry)."""
        workspace = self.session.workspace

        def turn_on(_engine: Any) -> SyncSettings:
            return workspace.save_settings(workspace.settings().replace(**change))

        self.service.submit(turn_on, on_done=lambda _s: self.refresh(),
                            on_error=lambda e: setattr(self, "dialog", show_error(e, self)))

    def resolve_conflict(self, conflict_id: int, keep: str) -> None:
        self.service.submit(lambda engine: engine.resolve(conflict_id, keep), on_done=lambda _r: self.refresh(),
                            on_error=lambda e: setattr(self, "dialog", show_error(e, self)))

    def export_csv(self, path: str | None = None) -> None:
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, self.tr("Export the activity log"), "qbosync-activity.csv",
                                                  self.tr("CSV files (*.csv)"))
        if not path:
            return
        self.export_status.setText(self.tr("Exporting…"))
        run_in_background(self, self.session.export_audit, path,
                          on_done=lambda n: self.export_status.setText(
                              self.tr("Exported {0} rows to {1}").format(n, path)),
                          on_error=lambda e: setattr(self, "dialog", show_error(e, self)))

    def open_settings(self, focus_concept: str | None = None) -> SettingsDialog:
        dialog = SettingsDialog(self.session, self.snapshot.settings, self)
        if focus_concept:
            dialog.form.focus_concept(focus_concept)
        dialog.accepted.connect(self._settings_saved)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.dialog = dialog
        return dialog

    def _settings_saved(self) -> None:
        dialog = self.dialog
        saved = getattr(dialog, "saved", None)
        if saved is not None:
            self.service.set_schedule(saved.schedule_minutes)
        self.refresh()
        self._load_tax()

    def open_disconnect(self) -> None:
        dialog = DisconnectDialog(self.snapshot.company_name, self)
        dialog.accepted.connect(lambda: self._disconnect(dialog.forget_links))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.dialog = dialog

    def _disconnect(self, forget: bool) -> None:
        self.service.cancel()
        self.service.pause()
        self.service.submit(lambda _engine: self.session.disconnect(forget),
                            on_done=lambda _r: (self.refresh(), emit(self.disconnected)),
                            on_error=lambda e: setattr(self, "dialog", show_error(e, self)))

    def open_reconnect(self, error: QboSyncError | None = None) -> ReconnectDialog:
        if isinstance(self.dialog, ReconnectDialog) and self.dialog.isVisible():
            return self.dialog
        dialog = ReconnectDialog(self.session.reconnect, error, self)
        dialog.accepted.connect(self._reconnected)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.dialog = dialog
        return dialog

    def _reconnected(self) -> None:
        self.service.set_attention(False)
        self.refresh()
        self._load_tax()
        self.service.sync_now()

    # ------------------------------------------------------------------ window
    def restore_geometry(self) -> None:
        data = ui_settings().value("integration/geometry")
        if isinstance(data, QByteArray) and not data.isEmpty():
            self.restoreGeometry(data)
        else:
            self.resize(1080, 820)

    def save_geometry(self) -> None:
        s = ui_settings()
        s.setValue("integration/geometry", self.saveGeometry())
        s.sync()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        # The keyboard starts on "Sync now", not on the first control in Tab order (Disconnect, in
        # the header): a stray Space or Enter must not open the one destructive dialog.
        focused = QApplication.focusWidget()
        if focused is None or focused is self.disconnect_button or not self.isAncestorOf(focused):
            self.sync_button.setFocus(Qt.FocusReason.OtherFocusReason)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_geometry()
        super().closeEvent(event)


class _Body(QWidget):
    """The scrolling body: as tall as its minimum needs, the rest goes to the tabs. (A scroll area asks
    a height-for-width widget for its *preferred* height, and the tables' preferred heights made the
    body taller than a 1600×1000 window: a scroll bar for nothing.)"""

    def heightForWidth(self, width: int) -> int:
        layout = self.layout()
        return layout.minimumSize().height() if layout is not None else -1


def problem_record_label(p: dict[str, Any]) -> str:
    """The record as a person knows it ("Client Smith: Residential", "Invoice INV-1018"); the Work id
    only when the problem carries no name (it stays under Details for support)."""
    kind = str(p.get("kind") or "record").replace("_", " ")
    name = str((p.get("details") or {}).get("record") or "").strip()
    if not name:
        return f"{kind.capitalize()} {p.get('work_id')}"
    words = {kind.split()[0].lower(), "contractor", "payment", "invoice"}
    return name if name.split()[0].lower() in words else f"{kind.capitalize()} {name}"


def _problem_cells(p: dict[str, Any]) -> tuple[str, str, str]:
    what = f"{p['title']}: {p['message']}" if p.get("title") else p["message"]
    return problem_record_label(p), what, p.get("hint") or ""


#: a run's kind and state in the History tab's words
RUN_KIND_WORDS = {"initial": "First sync", "incremental": "Sync", "undo": "Undo", "preview": "Preview",
                  "retry": "Retry"}
RUN_STATE_WORDS = {"running": "Running", "done": "Finished", "failed": "Stopped", "cancelled": "Cancelled"}


def _run_cells(r: dict[str, Any]) -> tuple[Any, ...]:
    duration = f"{r['seconds']:.1f} s" if r["seconds"] is not None else ""
    what = " · ".join(t for t in (fmt_counts(r["counts"]), fmt_left_out(r.get("skips"))) if t) \
        or (r.get("error") or {}).get("message", "")
    return (fmt_time(r["started_at"]), RUN_KIND_WORDS.get(r["kind"], r["kind"]),
            RUN_STATE_WORDS.get(r["state"], r["state"]), duration, r["qbo_requests"], what)


def _audit_cells(e: dict[str, Any]) -> tuple[Any, ...]:
    message = e["message"]
    if not message and isinstance(e.get("after"), dict):  # name the record when the engine left no message
        after = e["after"]
        message = next((str(after[k]) for k in ("DisplayName", "DocNumber", "Name", "name", "number") if after.get(k)),
                       "")
    return fmt_time(e["at"]), e["action"], e["kind"], e["work_id"], e["qbo_id"], message


def _show(value: Any) -> str:
    if value is None or value == "":
        return tr("(empty)")
    if isinstance(value, dict):
        return ", ".join(str(v) for v in value.values() if v)
    return str(value)
