"""Wizard page 3 — Review: what the first sync will do, and which existing records look alike.

Nothing is written to QuickBooks or Work before Enable (the contractor seed's promise that existing
QuickBooks data is only added to starts here): the preview is the engine's own planner run without
applying (``SyncEngine.preview``), so the numbers are exactly what Enable will do. Each number opens
into its records; each "will fail" says why and what to do.

Match review: existing QuickBooks customers/vendors that look like Work records. Exact matches are
pre-accepted by the engine; the rest wait for a person (accept, reject, or pick another candidate of
the same Work record). Decisions go through the sync service's worker (they write links), and the
preview is planned again after each so the numbers follow the decisions.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from qbosync_desktop.core.errors import QboSyncError
from qbosync_desktop.desktop.signals import emit
from qbosync_desktop.desktop.ui.text import heading
from qbosync_desktop.sync.clients import settle
from qbosync_desktop.sync.onboarding.preview import (
    change_text,
    differing_clients,
    entity_label,
    existing_changes,
    value_text,
)

ACTION_WORDS = {
    "create": "will be created",
    "link": "will be linked to an existing record",
    "update": "will be updated",
    "import": "will be brought into Work",
    "skip": "will be skipped",
    "void": "will be voided",
    "delete": "will be deleted (voided in Work; QuickBooks cannot void it)",
    "fail": "will fail",
}
ACTION_ORDER = ("create", "link", "update", "import", "void", "delete", "skip", "fail")


class ReviewPage(QWizardPage):
    """Preview tree (entity → action → records) and the match-review table."""

    def __init__(self, ctx: Any) -> None:
        super().__init__()
        self.ctx = ctx
        self.setTitle(heading(self.tr("Review before enabling")))
        self.setSubTitle(self.tr("Nothing has been written yet. This is exactly what Enable Integration will do."))
        self.preview: Any = None
        self.matches: list[dict[str, Any]] = []
        self.loading = False
        self.error: BaseException | None = None
        self.settle_answers: dict[str, str] | None = None

        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.tree = QTreeWidget(self)
        self.tree.setAccessibleName(self.tr("What the first sync will do"))
        self.tree.setHeaderLabels([self.tr("What"), self.tr("Why / what to do")])
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.tree.setColumnWidth(0, 380)
        self.tree.setWordWrap(True)
        self.tree.setAlternatingRowColors(True)

        box = QWidget(self)
        ml = QVBoxLayout(box)
        ml.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        title = QLabel(self.tr("Existing QuickBooks records that look like Work records"), box)
        title.setObjectName("SectionTitle")
        head.addWidget(title, 1)
        self.accept_exact_button = QPushButton(self.tr("Accept all exact matches"), box)
        self.accept_exact_button.clicked.connect(self.accept_all_exact)
        head.addWidget(self.accept_exact_button)
        ml.addLayout(head)
        self.match_table = QTableWidget(0, 5, box)
        self.match_table.setAccessibleName(self.tr("Match review"))
        self.match_table.setHorizontalHeaderLabels([self.tr("Work record"), self.tr("QuickBooks record"),
                                                    self.tr("Why they look alike"), self.tr("Decision"),
                                                    self.tr("Choose")])
        self.match_table.verticalHeader().setVisible(False)
        self.match_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.match_table.setTabKeyNavigation(False)
        # The reason wraps in the space left; the decision and the buttons keep the width they need
        header = self.match_table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.ResizeToContents)
        header.sectionResized.connect(lambda *_a: self.match_table.resizeRowsToContents())
        self.match_table.setWordWrap(True)
        self.match_table.setColumnWidth(0, 150)
        self.match_table.setColumnWidth(1, 175)
        self.no_matches = QLabel(self.tr("No existing QuickBooks record looks like a Work record."), box)
        self.no_matches.setObjectName("Muted")
        ml.addWidget(self.match_table)
        ml.addWidget(self.no_matches)

        # Existing QuickBooks records the first sync would change, before → after, each with "Keep
        # QuickBooks' value"; and, once, how a matched client's differing fields are settled (issue 15).
        existing = QWidget(self)
        el = QVBoxLayout(existing)
        el.setContentsMargins(0, 0, 0, 0)
        etitle = QLabel(self.tr("Existing QuickBooks records Enable would change"), existing)
        etitle.setObjectName("SectionTitle")
        el.addWidget(etitle)
        self.changes_table = QTableWidget(0, 3, existing)
        self.changes_table.setAccessibleName(self.tr("Existing QuickBooks records Enable would change"))
        self.changes_table.setHorizontalHeaderLabels([self.tr("QuickBooks record"), self.tr("Before → after"),
                                                      self.tr("Keep QuickBooks' value")])
        self.changes_table.verticalHeader().setVisible(False)
        self.changes_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.changes_table.setTabKeyNavigation(False)
        self.changes_table.horizontalHeader().setStretchLastSection(True)
        self.changes_table.setColumnWidth(0, 200)
        self.changes_table.setColumnWidth(1, 320)
        self.no_changes = QLabel(self.tr("Enable changes no existing QuickBooks record."), existing)
        self.no_changes.setObjectName("Muted")
        el.addWidget(self.changes_table)
        el.addWidget(self.no_changes)
        el.addWidget(QLabel(self.tr("When a matched client's fields differ, settle them once:"), existing))
        settle_row = QGridLayout()
        self.settle_combos: dict[str, QComboBox] = {}
        for n, (group, label) in enumerate(settle.GROUP_LABELS.items()):
            combo = QComboBox(existing)
            combo.setObjectName(f"settle_{group}")
            combo.setAccessibleName(self.tr("{0} of a matched client that differs").format(label))
            for choice, words in settle.CHOICE_LABELS.items():
                combo.addItem(f"{label}: {self.tr(words)}", choice)
            combo.activated.connect(lambda _i, g=group: self.settle_group(g))
            self.settle_combos[group] = combo
            settle_row.addWidget(combo, n // 3, n % 3)
        el.addLayout(settle_row)
        # Per record: one matched client settled differently from the field groups (issue 15).
        self.records_title = QLabel(self.tr("Matched clients whose fields differ (choose per client):"), existing)
        el.addWidget(self.records_title)
        self.records_table = QTableWidget(0, 3, existing)
        self.records_table.setObjectName("settle_records")
        self.records_table.setAccessibleName(self.tr("Matched clients whose fields differ"))
        self.records_table.setHorizontalHeaderLabels([self.tr("Client"), self.tr("Work → QuickBooks"),
                                                      self.tr("Settle this client")])
        self.records_table.verticalHeader().setVisible(False)
        self.records_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.records_table.setTabKeyNavigation(False)
        self.records_table.setWordWrap(True)
        rh = self.records_table.horizontalHeader()
        rh.setStretchLastSection(False)
        rh.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        rh.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.records_table.setColumnWidth(0, 170)
        self.record_combos: dict[str, QComboBox] = {}
        el.addWidget(self.records_table)

        # The middle pane scrolls vertically (never sideways): its tables and choices together are
        # taller than a 900×650 screen leaves, and the panes must not be squeezed away.
        existing_scroll = QScrollArea(self)
        existing_scroll.setWidgetResizable(True)
        existing_scroll.setFrameShape(QFrame.Shape.NoFrame)
        existing_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        existing_scroll.setWidget(existing)

        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.tree)
        split.addWidget(existing_scroll)
        split.addWidget(box)
        # every pane keeps some height (the match review must not be squeezed away at 900×650)
        split.setChildrenCollapsible(False)
        split.setSizes([340, 300, 180])
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)

    # ------------------------------------------------------------------ loading
    def initializePage(self) -> None:
        wizard = self.wizard()
        if wizard is not None:
            wizard.setButtonText(wizard.WizardButton.NextButton, self.tr("Enable Integration"))
        self.reload(matches=True)

    def cleanupPage(self) -> None:
        wizard = self.wizard()
        if wizard is not None:
            wizard.setButtonText(wizard.WizardButton.NextButton, self.tr("&Next >"))

    def isComplete(self) -> bool:
        return self.preview is not None and not self.loading

    def reload(self, matches: bool = True) -> None:
        """Ask the worker for the match proposals (optional) and the preview, in that order."""
        self.loading = True
        self.error = None
        self.status.setText(self.tr("Reading both companies to plan the first sync…"))
        emit(self.completeChanged)

        self.ctx.session.service.plan(matches, on_done=self._loaded, on_error=self._failed)

    def _loaded(self, result: tuple[Any, list[dict[str, Any]] | None]) -> None:
        self.preview, found = result
        if found is not None:
            self.matches = found
        self.loading = False
        self.ctx.total_estimate = sum(len(chs) for _n, chs in self.preview.phases)
        self._fill_tree()
        self._fill_matches()
        self._fill_changes()
        counts = self.preview.counts()
        fails = sum(c.get("fail", 0) for c in counts.values())
        self.status.setText(self.tr("{0} records planned; {1} will fail (see why below). Nothing is written until "
                                    "you press Enable Integration.").format(self.ctx.total_estimate, fails))
        emit(self.completeChanged)

    def _failed(self, exc: BaseException) -> None:
        self.loading = False
        self.error = exc
        text = f"{exc.title}: {exc.message} {exc.hint}" if isinstance(exc, QboSyncError) else str(exc)
        self.status.setText(self.tr("The preview could not be made. {0}").format(text))
        emit(self.completeChanged)

    # ------------------------------------------------------------------ preview
    def summary(self) -> dict[str, dict[str, int]]:
        return self.preview.counts() if self.preview is not None else {}

    def _fill_tree(self) -> None:
        self.tree.clear()
        for entity, changes in self.preview.phases:
            by_action: dict[str, list[Any]] = defaultdict(list)
            for ch in changes:
                by_action[ch.action].append(ch)
            parts = [f"{len(by_action[a])} {a if a != 'fail' else 'will fail'}" for a in ACTION_ORDER if by_action[a]]
            top = QTreeWidgetItem([f"{entity_label(entity)} — " + (", ".join(parts) or self.tr("nothing to do")), ""])
            top.setData(0, Qt.ItemDataRole.UserRole, entity)
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            self.tree.addTopLevelItem(top)
            for action in ACTION_ORDER:
                items = by_action.get(action)
                if not items:
                    continue
                group = QTreeWidgetItem([f"{len(items)} {self.tr(ACTION_WORDS[action])}", ""])
                group.setData(0, Qt.ItemDataRole.UserRole, action)
                top.addChild(group)
                for ch in items:
                    label = ch.label or f"{ch.kind} {ch.work_id or ch.qbo_id}"
                    why = ch.reason or ""
                    if ch.problem is not None:
                        why = f"{ch.problem.message} — {self.tr('What to do')}: {ch.problem.hint}"
                    child = QTreeWidgetItem([label, why])
                    child.setToolTip(1, why)
                    group.addChild(child)
                if action == "fail":
                    group.setExpanded(True)
                    top.setExpanded(True)

    # ------------------------------------------------------------------ existing records
    def _fill_changes(self) -> None:
        t = self.changes_table
        rows = existing_changes(self.preview) if self.preview is not None else []
        saved = self.preview.account_names if self.preview is not None else {}
        form_name = self.ctx.account_name

        def name_of(acct_id: str) -> str:
            named = form_name(acct_id) if form_name is not None else acct_id
            return saved.get(acct_id, acct_id) if named == acct_id else named
        t.setRowCount(len(rows))
        self.no_changes.setVisible(not rows)
        t.setVisible(bool(rows))
        for row, r in enumerate(rows):
            spec = f"{r['kind']}:{r['qbo_id']}"
            t.setItem(row, 0, QTableWidgetItem(f"{r['label']}  ({spec})"))
            text = "\n".join(change_text(c, name_of) for c in r["changes"])
            cell = QTableWidgetItem(text)
            cell.setToolTip(text)
            t.setItem(row, 1, cell)
            box = QCheckBox(self.tr("Keep QuickBooks' value"), t)
            box.setObjectName(f"keep_{spec}")
            box.setAccessibleName(self.tr("Keep QuickBooks' value for {0}").format(r["label"]))
            box.setChecked(bool(r["kept"]))
            box.toggled.connect(lambda on, sp=spec: self.keep_quickbooks(sp, on))
            t.setCellWidget(row, 2, box)
        t.resizeRowsToContents()
        # up to three records show whole (the pane scrolls vertically for the rest): the table is never
        # squeezed to a sliver that cuts its first row's before → after lines
        shown = sum(t.rowHeight(i) for i in range(min(3, t.rowCount())))
        t.setMinimumHeight(t.horizontalHeader().sizeHint().height() + shown + 2 * t.frameWidth() + 2)
        answers = self.settle_answers or settle.DEFAULTS
        for group, combo in self.settle_combos.items():
            combo.setCurrentIndex(max(0, combo.findData(answers.get(group, settle.DEFAULTS[group]))))
        self._fill_records()

    def _fill_records(self) -> None:
        """One row per matched client whose fields differ, with its own choice: as the field groups
        above (the default: QuickBooks' value for billing address, phone and email), or one choice
        for every field of this client."""
        t = self.records_table
        rows = differing_clients(self.preview) if self.preview is not None else []
        t.setRowCount(len(rows))
        t.setVisible(bool(rows))
        self.records_title.setVisible(bool(rows))
        self.record_combos = {}
        for row, r in enumerate(rows):
            t.setItem(row, 0, QTableWidgetItem(r["label"]))
            text = "\n".join(f"{settle.GROUP_LABELS.get(settle.GROUP_OF[f['field']], f['field'])}"
                             f"{'' if f['field'] in settle.GROUP_LABELS else ' (' + f['field'].replace('_', ' ') + ')'}: "
                             f"{value_text(f['work'])} → {value_text(f['quickbooks'])}" for f in r["fields"])
            cell = QTableWidgetItem(text)
            cell.setToolTip(text)
            t.setItem(row, 1, cell)
            combo = QComboBox(t)
            combo.setObjectName(f"settle_record_{r['work_id']}")
            combo.setAccessibleName(self.tr("How to settle {0}").format(r["label"]))
            combo.addItem(self.tr("As the field groups above"), None)
            for choice, words in settle.CHOICE_LABELS.items():
                combo.addItem(self.tr(words), choice)
            combo.setCurrentIndex(max(0, combo.findData(r["choice"])) if r["choice"] else 0)
            combo.activated.connect(lambda _i, wid=r["work_id"]: self.settle_record(wid))
            self.record_combos[r["work_id"]] = combo
            t.setCellWidget(row, 2, combo)
        t.resizeRowsToContents()
        t.setMaximumHeight(t.horizontalHeader().height() + sum(t.rowHeight(i) for i in range(t.rowCount()))
                           + 2 * t.frameWidth() + 2)

    def settle_record(self, work_id: str) -> None:
        """The person chose how one matched client is settled: stored, then the preview re-planned."""
        choice = self.record_combos[work_id].currentData()
        self.loading = True
        emit(self.completeChanged)
        self.ctx.session.decide_review([], None, on_done=lambda _r: self.reload(matches=False),
                                       on_error=self._failed, settle_records={work_id: choice})

    def keep_quickbooks(self, spec: str, keep: bool) -> None:
        """The person ticked (or cleared) "Keep QuickBooks' value": stored, then the preview re-planned."""
        self._submit_review([(spec, keep)], None)

    def settle_group(self, group: str) -> None:
        choice = self.settle_combos[group].currentData()
        self.settle_answers = {**(self.settle_answers or settle.DEFAULTS), group: choice}
        self._submit_review([], {group: choice})

    def _submit_review(self, keep: list[tuple[str, bool]], groups: dict[str, str] | None) -> None:
        self.loading = True
        emit(self.completeChanged)
        self.ctx.session.decide_review(keep, groups, on_done=lambda _r: self.reload(matches=False),
                                       on_error=self._failed)

    # ------------------------------------------------------------------ matches
    def _fill_matches(self) -> None:
        t = self.match_table
        rows = [m for m in self.matches if m["state"] in ("proposed", "accepted")]
        t.setRowCount(len(rows))
        self.no_matches.setVisible(not rows)
        t.setVisible(bool(rows))
        self.accept_exact_button.setEnabled(any(m["exact"] and m["state"] == "proposed" for m in self.matches))
        for row, m in enumerate(rows):
            t.setItem(row, 0, QTableWidgetItem(f"{m['work_name']}  ({m['kind']} {m['work_id']})"))
            t.setItem(row, 1, QTableWidgetItem(f"{m['qbo_name']}  (#{m['qbo_id']})"))
            reason = QTableWidgetItem(m["reason"] + (self.tr(" · exact") if m["exact"] else ""))
            reason.setToolTip(reason.text())
            t.setItem(row, 2, reason)
            decision = {"accepted": self.tr("Linked (same record)"), "proposed": self.tr("Waiting for you")}
            t.setItem(row, 3, QTableWidgetItem(decision.get(m["state"], m["state"])))
            t.item(row, 0).setData(Qt.ItemDataRole.UserRole, m["id"])
            cell = QWidget(t)
            cl = QHBoxLayout(cell)
            cl.setContentsMargins(4, 2, 4, 2)
            if m["state"] == "proposed":
                accept = QPushButton(self.tr("Accept"), cell)
                accept.setObjectName(f"accept_{m['id']}")
                accept.setAccessibleName(self.tr("Accept: {0} is {1}").format(m["work_name"], m["qbo_name"]))
                accept.clicked.connect(lambda _=False, mid=m["id"]: self.decide(mid, True))
                cl.addWidget(accept)
            reject = QPushButton(self.tr("Reject") if m["state"] == "proposed" else self.tr("Unlink"), cell)
            reject.setObjectName(f"reject_{m['id']}")
            reject.setAccessibleName(self.tr("Reject: {0} is not {1}").format(m["work_name"], m["qbo_name"]))
            reject.clicked.connect(lambda _=False, mid=m["id"]: self.decide(mid, False))
            cl.addWidget(reject)
            others = self._alternatives(m)
            if others:
                pick = QComboBox(cell)
                pick.setObjectName(f"pick_{m['id']}")
                pick.setAccessibleName(self.tr("Pick another QuickBooks record for {0}").format(m["work_name"]))
                pick.addItem(self.tr("Pick another…"), None)
                for o in others:
                    pick.addItem(f"{o['qbo_name']} (#{o['qbo_id']})", o["id"])
                pick.activated.connect(lambda _i, combo=pick: combo.currentData() and self.decide(combo.currentData(),
                                                                                                  True))
                cl.addWidget(pick)
            t.setCellWidget(row, 4, cell)
        t.resizeRowsToContents()

    def _alternatives(self, m: dict[str, Any]) -> list[dict[str, Any]]:
        return [o for o in self.matches if o["kind"] == m["kind"] and o["work_id"] == m["work_id"]
                and o["id"] != m["id"] and o["state"] == "proposed"]

    def decide(self, match_id: int, accept: bool) -> None:
        self._submit_decisions([(match_id, accept)])

    def accept_all_exact(self) -> None:
        self._submit_decisions([(m["id"], True) for m in self.matches if m["exact"] and m["state"] == "proposed"])

    def _submit_decisions(self, decisions: list[tuple[int, bool]]) -> None:
        """Apply decisions on the worker (they write links), then re-plan the preview."""
        self.loading = True
        emit(self.completeChanged)
        self.ctx.session.decide_matches(decisions, on_done=self._decided, on_error=self._failed)

    def _decided(self, matches: list[dict[str, Any]]) -> None:
        self.matches = matches
        self._fill_matches()
        self.reload(matches=False)
