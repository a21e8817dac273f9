"""Wizard page 4 — Enable Integration: the initial sync with progress, counts, ETA and Cancel.

The seed: "select Enable Integration to start the initial sync. This will bring you back to your
QuickBooks Online Integration page." The run goes through the sync service's worker like every
other run; Cancel sets the cooperative cancel event, so the batch in flight finishes and is applied
(nothing half-written) and the next sync continues from there. When the run is done the wizard
closes by itself and the integration window opens.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWizardPage,
)

from qbosync_desktop.core.errors import QboSyncError
from qbosync_desktop.desktop.service import Progress
from qbosync_desktop.desktop.signals import emit
from qbosync_desktop.desktop.ui.integration_window import fmt_eta, show_fraction
from qbosync_desktop.desktop.ui.text import heading

COLUMNS = ("created", "updated", "linked", "imported", "skipped", "failed")


class EnablePage(QWizardPage):
    """Starts the initial sync on entry; complete once the run has ended (any way)."""

    #: how long the finished page stays before the integration window opens (a screen share sees it)
    LAND_DELAY_MS = 800

    def __init__(self, ctx: Any) -> None:
        super().__init__()
        self.ctx = ctx
        self.setTitle(heading(self.tr("Enabling the integration")))
        self.setSubTitle(self.tr("The first sync is running. You can keep working; it continues in the "
                                 "background if you close this window."))
        self.setFinalPage(True)
        self.summary: Any = None
        self.failure: BaseException | None = None
        self.running = False
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setAccessibleName(self.tr("First sync progress"))
        self.phase_label = QLabel("", self)
        self.eta_label = QLabel("", self)
        self.eta_label.setObjectName("Muted")
        self.table = QTableWidget(0, len(COLUMNS) + 1, self)
        self.table.setAccessibleName(self.tr("Records synced so far, per kind"))
        self.table.setHorizontalHeaderLabels([self.tr("Records")] + [self.tr(c.capitalize()) for c in COLUMNS])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setTabKeyNavigation(False)
        self.result_label = QLabel("", self)
        self.result_label.setWordWrap(True)
        self.cancel_button = QPushButton(self.tr("Cancel"), self)
        self.cancel_button.setAccessibleName(self.tr("Cancel the first sync after the current batch"))
        self.cancel_button.clicked.connect(self.cancel)
        self.retry_button = QPushButton(self.tr("Try again"), self)
        self.retry_button.clicked.connect(self.start)
        self.retry_button.setVisible(False)
        row = QHBoxLayout()
        row.addWidget(self.cancel_button)
        row.addWidget(self.retry_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        for w in (self.progress_bar, self.phase_label, self.eta_label, self.table, self.result_label):
            layout.addWidget(w)
        layout.addLayout(row)
        self._connected = False

    def initializePage(self) -> None:
        service = self.ctx.session.service
        if not self._connected:
            service.progress.connect(self._on_progress)
            service.finished.connect(self._on_finished)
            service.failed.connect(self._on_failed)
            self._connected = True
        wizard = self.wizard()
        if wizard is not None:
            wizard.setButtonText(wizard.WizardButton.FinishButton, self.tr("Open the integration"))
        self.start()

    def isComplete(self) -> bool:
        return not self.running and (self.summary is not None or self.failure is not None)

    def start(self) -> None:
        """Record the integration date (the seed's default invoice start) and run the initial sync."""
        service = self.ctx.session.service
        workspace = self.ctx.workspace
        self.summary, self.failure = None, None
        self.running = True
        self.retry_button.setVisible(False)
        self.cancel_button.setEnabled(True)
        self.result_label.setText("")
        self.progress_bar.setRange(0, 0)
        emit(self.completeChanged)
        service.submit(lambda _engine: workspace.mark_enabled())
        if not service.sync_now(initial=True, total_hint=self.ctx.total_estimate):
            self.phase_label.setText(self.tr("Waiting for the sync that is already running…"))

    def cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.phase_label.setText(self.tr("Stopping after the current batch…"))
        self.ctx.session.service.cancel()

    def _on_progress(self, p: Progress) -> None:
        if not self.running:
            return
        show_fraction(self.progress_bar, p.fraction)
        if p.entity:
            self.phase_label.setText(self.tr("Now: {0} ({1} of {2})").format(p.entity, p.done, p.total)
                                     if p.total else self.tr("Now: {0}").format(p.entity))
        self.eta_label.setText(fmt_eta(p.eta_seconds))
        self._fill_counts(p.counts or {})

    def _fill_counts(self, counts: dict[str, dict[str, int]]) -> None:
        self.table.setRowCount(len(counts))
        for row, (entity, outcomes) in enumerate(counts.items()):
            self.table.setItem(row, 0, QTableWidgetItem(entity.capitalize()))
            for col, outcome in enumerate(COLUMNS, start=1):
                self.table.setItem(row, col, QTableWidgetItem(str(outcomes.get(outcome, 0))))

    def counts(self) -> dict[str, dict[str, int]]:
        """What the table shows (tests compare it with the run's own counts)."""
        out: dict[str, dict[str, int]] = {}
        for row in range(self.table.rowCount()):
            entity = self.table.item(row, 0).text().lower()
            out[entity] = {c: int(self.table.item(row, i).text()) for i, c in enumerate(COLUMNS, start=1)}
        return out

    def _on_finished(self, summary: Any) -> None:
        if not self.running:
            return
        self.running = False
        self.summary = summary
        self._fill_counts(summary.counts or {})
        self.cancel_button.setEnabled(False)
        self.progress_bar.setRange(0, 1000)
        self.eta_label.setText("")
        if summary.state == "done":
            self.progress_bar.setValue(1000)
            workspace = self.ctx.workspace
            self.ctx.session.service.submit(lambda _engine: workspace.mark_onboarding_done())
            problems = summary.open_problems
            text = (self.tr("The integration is enabled. {0} records need a look — they are listed under "
                            "Problems.").format(problems) if problems else self.tr("The integration is enabled."))
            waiting = int(getattr(summary, "open_conflicts", 0) or 0)
            if waiting:
                text += " " + self.tr("{0} change(s) wait for your decision under Conflicts.").format(waiting)
            self.result_label.setText(text)
            self.phase_label.setText(self.tr("Finished in {0:.0f} s").format(summary.seconds))
            emit(self.completeChanged)
            QTimer.singleShot(self.LAND_DELAY_MS, self._land)
        else:
            self.result_label.setText(self.tr("The first sync was cancelled. Everything done so far is kept; "
                                              "press Sync now in the integration window to continue."))
            self.phase_label.setText("")
            emit(self.completeChanged)

    def _on_failed(self, exc: BaseException) -> None:
        if not self.running:
            return
        self.running = False
        self.failure = exc
        self.cancel_button.setEnabled(False)
        self.retry_button.setVisible(True)
        self.progress_bar.setRange(0, 1000)
        text = f"{exc.title}: {exc.message} {exc.hint}" if isinstance(exc, QboSyncError) else str(exc)
        self.result_label.setText(self.tr("The first sync stopped. {0}").format(text))
        emit(self.completeChanged)

    def _land(self) -> None:
        wizard = self.wizard()
        if wizard is not None and wizard.currentPage() is self and wizard.isVisible():
            wizard.accept()
