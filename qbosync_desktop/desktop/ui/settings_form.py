"""The Sync Settings form: the seed's controls, labels, defaults and rules.

Used by the wizard's Sync Settings page and by "Edit settings" in the integration window, so the two
can never disagree. The rules themselves live in :mod:`qbosync_desktop.sync.rules.settings` (pure Python,
shared with the CLI); this form only mirrors them in the controls:

* Clients is checked by default and cannot be unchecked while Invoices or Payments is checked — the
  seed: "a Client match is required for Invoices and Payments to sync" (the tooltip says so);
* Payments is only active when Invoices is checked (the seed); unchecking Invoices clears it;
* Income / Expense (Invoices), deposit (Payments), AP + concept table (Contractor bills) are
  required and filled from the company's chart of accounts, loaded off the GUI thread with a loading
  state and a Retry on failure;
* Tax amounts ("As charged in Work", the default, or "Let QuickBooks calculate") sits under
  Invoices; a company outside the US also gets a table mapping each Work tax rate (and "Lines
  without tax") to one of its QuickBooks tax codes, required while Invoices is on (issue 14);
* the form is valid exactly when :func:`~qbosync_desktop.sync.rules.settings.validate` returns no issue
  (with the loaded accounts and concepts), and the first issue is shown in words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from qbosync_desktop.desktop.signals import emit
from qbosync_desktop.desktop.ui.background import Task, run_in_background
from qbosync_desktop.desktop.ui.widgets.account_combo import AccountCombo
from qbosync_desktop.sync.rules.settings import (
    CONFLICT_POLICY_LABELS,
    LABELS,
    NOT_TAXABLE,
    NOT_TAXABLE_LABEL,
    TAX_AS_CHARGED,
    TAX_MODE_HELP,
    TAX_MODE_LABELS,
    SettingsIssue,
    SyncSettings,
    TaxSetup,
    account_groups,
    validate,
)

#: The QDateEdit's minimum date stands for "no start date: the integration date" (the seed's default).
NO_START_DATE = QDate(2000, 1, 1)


@dataclass
class WorkFacts:
    """What the form needs from Work: the default state (shown next to "Use default state") and the
    invoice concepts (rows of the concept → expense account table)."""

    company_name: str = ""
    default_state: str | None = None
    default_country: str | None = None
    concepts: list[str] = field(default_factory=list)
    #: the company's country and tax codes and Work's tax rates (None: not read, e.g. offline)
    tax: TaxSetup | None = None


def account_types(accounts: Any) -> dict[str, str]:
    """Account Id → AccountType from ``QboClient.accounts()`` (grouped) or a flat list."""
    rows = [a for group in accounts.values() for a in group] if isinstance(accounts, Mapping) else list(accounts or ())
    return {str(a["Id"]): str(a.get("AccountType") or "") for a in rows if isinstance(a, Mapping) and "Id" in a}


AccountsLoader = Callable[[], Any]  # -> QboClient.accounts() shape or a flat list of Account dicts
WorkLoader = Callable[[], WorkFacts]


def _section(title: str, parent: QWidget) -> tuple[QFrame, QVBoxLayout]:
    card = QFrame(parent)
    card.setObjectName("Card")
    layout = QVBoxLayout(card)
    layout.setContentsMargins(18, 12, 18, 14)
    layout.setSpacing(6)
    label = QLabel(title, card)
    label.setObjectName("SectionTitle")
    layout.addWidget(label)
    return card, layout


def _indented(parent: QWidget) -> tuple[QWidget, QFormLayout]:
    box = QWidget(parent)
    form = QFormLayout(box)
    form.setContentsMargins(30, 0, 0, 0)
    form.setHorizontalSpacing(14)
    form.setVerticalSpacing(8)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
    return box, form


class SyncSettingsForm(QWidget):
    """The controls; ``validity_changed(valid, reason)`` fires whenever validity or the reason changes."""

    validity_changed = Signal(bool, str)
    changed = Signal()
    #: False where the page shows the reason in a bar of its own, always in view (the wizard, the dialog)
    show_reason_inline = True

    def __init__(self, settings: SyncSettings | None = None, *, load_accounts: AccountsLoader | None = None,
                 load_work: WorkLoader | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._load_accounts_fn = load_accounts
        self._load_work_fn = load_work
        self._accounts: dict[str, dict[str, str]] | None = None
        self._accounts_error: BaseException | None = None
        self._types: dict[str, str] = {}  # account Id → QuickBooks AccountType (the pickers' headings)
        self._work: WorkFacts | None = None
        self._tasks: list[Task] = []
        self._last_validity: tuple[bool, str] | None = None
        self._concept_combos: dict[str, AccountCombo] = {}
        #: field key → its error label, shown right under the control when the rules say it is missing
        self._errors: dict[str, QLabel] = {}
        self._focus_concept: str | None = None
        self._tax_combos: dict[str, QComboBox] = {}
        self._tax_mapped: dict[str, str] = {}
        self._build()
        self.set_settings(settings or SyncSettings())
        self.reload()

    # ------------------------------------------------------------------ build
    def _check(self, key: str, parent: QWidget) -> QCheckBox:
        box = QCheckBox(self.tr(LABELS[key]), parent)
        box.setObjectName(key)
        box.setAccessibleName(self.tr(LABELS[key]))
        box.toggled.connect(self._on_change)
        return box

    def _combo(self, key: str, parent: QWidget) -> AccountCombo:
        combo = AccountCombo(self.tr(LABELS[key]), parent)
        combo.setObjectName(key)
        combo.account_changed.connect(self._on_change)
        return combo

    def _with_error(self, key: str, widget: QWidget, parent: QWidget) -> QWidget:
        """``widget`` with its error line under it (hidden until the rules name this field)."""
        box = QWidget(parent)
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        widget.setParent(box)
        lay.addWidget(widget)
        error = QLabel("", box)
        error.setObjectName("FieldError")
        error.setWordWrap(True)
        error.setVisible(False)
        error.setAccessibleName(self.tr("Problem with: {0}").format(self.tr(LABELS[key])))
        lay.addWidget(error)
        self._errors[key] = error
        return box

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(12)

        # Accounts status line (loading / failed + Retry)
        status_row = QHBoxLayout()
        self.accounts_status = QLabel(self)
        self.accounts_status.setObjectName("Muted")
        self.accounts_status.setWordWrap(True)
        self.retry_button = QPushButton(self.tr("Retry"), self)
        self.retry_button.setAccessibleName(self.tr("Retry loading the QuickBooks accounts"))
        self.retry_button.clicked.connect(self.reload)
        self.retry_button.setVisible(False)
        self.accounts_status.setVisible(False)
        status_row.addWidget(self.accounts_status, 1)
        status_row.addWidget(self.retry_button)
        outer.addLayout(status_row)

        # Clients
        card, lay = _section(self.tr("Clients (two-way, continuous)"), self)
        self.clients = self._check("clients", card)
        lay.addWidget(self.clients)
        box, form = _indented(card)
        self.use_default_state = self._check("use_default_state", box)
        self.default_state_label = QLabel(self.tr("Work's default state: loading…"), box)
        self.default_state_label.setObjectName("Muted")
        form.addRow(self.use_default_state, self.default_state_label)
        lay.addWidget(box)
        outer.addWidget(card)

        # Sites
        card, lay = _section(self.tr("Sites (two-way, during onboarding only)"), self)
        self.sites = self._check("sites", card)
        lay.addWidget(self.sites)
        box, form = _indented(card)
        self.sites_use_client_address = self._check("sites_use_client_address", box)
        form.addRow(self.sites_use_client_address)
        lay.addWidget(box)
        outer.addWidget(card)

        # Invoices and payments
        card, lay = _section(self.tr("Invoices and Payments (Work → QuickBooks)"), self)
        self.invoices = self._check("invoices", card)
        lay.addWidget(self.invoices)
        box, form = _indented(card)
        self.income_account = self._combo("income_account", box)
        self.expense_account = self._combo("expense_account", box)
        form.addRow(self.tr(LABELS["income_account"]), self._with_error("income_account", self.income_account, box))
        form.addRow(self.tr(LABELS["expense_account"]), self._with_error("expense_account", self.expense_account, box))
        self.tax_amounts = QComboBox(box)
        self.tax_amounts.setObjectName("tax_amounts")
        self.tax_amounts.setAccessibleName(self.tr(LABELS["tax_amounts"]))
        for value, label in TAX_MODE_LABELS.items():
            self.tax_amounts.addItem(self.tr(label), value)
        self.tax_amounts.setToolTip(self.tr(TAX_MODE_HELP))
        self.tax_amounts.currentIndexChanged.connect(self._on_change)
        form.addRow(self.tr(LABELS["tax_amounts"]), self.tax_amounts)
        self.tax_help = QLabel(self.tr(TAX_MODE_HELP), box)
        self.tax_help.setObjectName("Muted")
        self.tax_help.setWordWrap(True)
        self.tax_help.setMaximumWidth(560)
        form.addRow("", self.tax_help)
        self.tax_codes = QTableWidget(0, 2, box)
        self.tax_codes.setObjectName("tax_codes")
        self.tax_codes.setAccessibleName(self.tr(LABELS["tax_codes"]))
        self.tax_codes.setHorizontalHeaderLabels([self.tr("Work tax rate"), self.tr("QuickBooks tax code")])
        # the first column is as wide as its longest rate name (set when filled: the names are cell
        # widgets, which "resize to contents" does not measure, so "Mountain Resort District" was cut)
        self.tax_codes.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        self.tax_codes.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.tax_codes.verticalHeader().setVisible(False)
        self.tax_codes.setMinimumWidth(360)
        self.tax_codes.setTabKeyNavigation(False)
        self.tax_codes_label = QLabel(self.tr(LABELS["tax_codes"]), box)
        self.tax_codes_label.setWordWrap(True)
        # caption above, table across the form (as the concepts table): beside its long caption a
        # 560 px table did not fit a 900 px window, and the card was cut off on the right
        form.addRow(self.tax_codes_label)
        form.addRow(self.tax_codes)
        self.tax_codes.setVisible(False)
        self.tax_codes_label.setVisible(False)
        lay.addWidget(box)
        self.payments = self._check("payments", card)
        lay.addWidget(self.payments)
        box, form = _indented(card)
        self.deposit_account = self._combo("deposit_account", box)
        form.addRow(self.tr(LABELS["deposit_account"]), self._with_error("deposit_account", self.deposit_account, box))
        lay.addWidget(box)
        outer.addWidget(card)

        # Contractor bills
        card, lay = _section(self.tr("Contractor bills (Work → QuickBooks, add only)"), self)
        self.bills = self._check("bills", card)
        lay.addWidget(self.bills)
        box, form = _indented(card)
        self.ap_account = self._combo("ap_account", box)
        form.addRow(self.tr(LABELS["ap_account"]), self._with_error("ap_account", self.ap_account, box))
        self.concepts = QTableWidget(0, 2, box)
        self.concepts.setObjectName("concepts")
        self.concepts.setAccessibleName(self.tr(LABELS["concepts"]))
        self.concepts.setHorizontalHeaderLabels([self.tr("Work invoice concept"), self.tr("QuickBooks expense account")])
        self.concepts.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.concepts.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.concepts.verticalHeader().setVisible(False)
        self.concepts.setMinimumHeight(110)
        self.concepts.setTabKeyNavigation(False)
        self.concepts.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.concepts.horizontalHeader().setMinimumSectionSize(120)
        form.addRow(self._with_error("concepts", self.concepts, box))
        concepts_label = QLabel(self.tr(LABELS["concepts"]), box)
        concepts_label.setWordWrap(True)
        form.insertRow(form.rowCount() - 1, concepts_label)
        lay.addWidget(box)
        outer.addWidget(card)

        # Schedule and rules
        card, lay = _section(self.tr("When and how"), self)
        box, form = _indented(card)
        form.setContentsMargins(0, 0, 0, 0)
        self.start_date = QDateEdit(box)
        self.start_date.setObjectName("start_date")
        self.start_date.setAccessibleName(self.tr(LABELS["start_date"]))
        self.start_date.setCalendarPopup(True)
        self.start_date.setDisplayFormat("yyyy-MM-dd")
        self.start_date.setMinimumDate(NO_START_DATE)
        self.start_date.setSpecialValueText(self.tr("the day the integration is enabled"))
        self.start_date.dateChanged.connect(self._on_change)
        self.conflict_policy = QComboBox(box)
        self.conflict_policy.setObjectName("conflict_policy")
        self.conflict_policy.setAccessibleName(self.tr(LABELS["conflict_policy"]))
        for value, label in CONFLICT_POLICY_LABELS.items():
            self.conflict_policy.addItem(self.tr(label), value)
        self.conflict_policy.currentIndexChanged.connect(self._on_change)
        self.schedule_minutes = QSpinBox(box)
        self.schedule_minutes.setObjectName("schedule_minutes")
        self.schedule_minutes.setAccessibleName(self.tr(LABELS["schedule_minutes"]))
        self.schedule_minutes.setRange(1, 24 * 60)
        self.schedule_minutes.setSuffix(self.tr(" min"))
        self.schedule_minutes.valueChanged.connect(self._on_change)
        self.rename_on_collision = self._check("rename_on_collision", box)
        self.rename_on_collision.setToolTip(self.tr(
            "QuickBooks needs every customer and vendor name to be unique. When on, a clashing name is "
            "sent as e.g. “Ann Lee (Work 1042)”; when off, the record becomes a problem to fix."))
        form.addRow(self.tr(LABELS["start_date"]), self.start_date)
        form.addRow(self.tr(LABELS["conflict_policy"]), self.conflict_policy)
        form.addRow(self.tr(LABELS["schedule_minutes"]), self.schedule_minutes)
        form.addRow(self.rename_on_collision)
        lay.addWidget(box)
        outer.addWidget(card)

        self.reason = QLabel(self)
        self.reason.setObjectName("Reason")
        self.reason.setWordWrap(True)
        self.reason.setAccessibleName(self.tr("Why you cannot go on yet"))
        outer.addWidget(self.reason)
        outer.addStretch(1)

    # ------------------------------------------------------------------ data
    def set_settings(self, s: SyncSettings) -> None:
        """Show ``s`` in the controls (without firing a validation per control)."""
        self._loading_values = True
        try:
            for key in ("clients", "use_default_state", "sites", "sites_use_client_address", "invoices",
                        "payments", "bills", "rename_on_collision"):
                getattr(self, key).setChecked(bool(getattr(s, key)))
            for key in ("income_account", "expense_account", "deposit_account", "ap_account"):
                getattr(self, key).select_id(getattr(s, key))
            self._mapped = dict(s.concepts)
            self._tax_mapped = dict(s.tax_codes)
            index = self.tax_amounts.findData(s.tax_amounts)
            self.tax_amounts.setCurrentIndex(max(index, 0))
            self.start_date.setDate(QDate(s.start_date) if s.start_date else NO_START_DATE)
            index = self.conflict_policy.findData(s.conflict_policy)
            self.conflict_policy.setCurrentIndex(max(index, 0))
            self.schedule_minutes.setValue(int(s.schedule_minutes))
            self._fill_concepts()
            self._fill_tax_codes()
        finally:
            self._loading_values = False
        self._on_change()

    def settings(self) -> SyncSettings:
        """The settings as the controls show them."""
        date = self.start_date.date()
        concepts = {name: combo.current_id() or "" for name, combo in self._concept_combos.items()}
        return SyncSettings(
            clients=self.clients.isChecked(),
            use_default_state=self.use_default_state.isChecked(),
            sites=self.sites.isChecked(),
            sites_use_client_address=self.sites_use_client_address.isChecked(),
            invoices=self.invoices.isChecked(),
            income_account=self.income_account.current_id(),
            expense_account=self.expense_account.current_id(),
            payments=self.payments.isChecked(),
            deposit_account=self.deposit_account.current_id(),
            bills=self.bills.isChecked(),
            ap_account=self.ap_account.current_id(),
            concepts={k: v for k, v in concepts.items() if v or self.bills.isChecked()},
            conflict_policy=str(self.conflict_policy.currentData()),
            start_date=None if date == NO_START_DATE else dt.date(date.year(), date.month(), date.day()),
            schedule_minutes=self.schedule_minutes.value(),
            rename_on_collision=self.rename_on_collision.isChecked(),
            tax_amounts=str(self.tax_amounts.currentData() or TAX_AS_CHARGED),
            tax_codes=self._chosen_tax_codes(),
        )

    def _chosen_tax_codes(self) -> dict[str, str]:
        if not self._tax_combos:
            return dict(self._tax_mapped)
        return {rate: str(combo.currentData()) for rate, combo in self._tax_combos.items() if combo.currentData()}

    def tax_for_save(self) -> TaxSetup | None:
        """The tax setup the mapping is checked against and named from (None: not loaded)."""
        return self._work.tax if self._work else None

    def account_name(self, acct_id: str | None) -> str:
        if not acct_id or not self._accounts:
            return acct_id or ""
        for group in self._accounts.values():
            if acct_id in group:
                return group[acct_id]
        return acct_id

    # ------------------------------------------------------------------ loading
    def reload(self) -> None:
        """(Re)load accounts and Work facts off the GUI thread."""
        if self._load_accounts_fn is not None:
            self._accounts_error = None
            self.retry_button.setVisible(False)
            self._status(self.tr("Loading accounts from QuickBooks…"))
            for combo in self._all_combos():
                combo.set_loading()
            self._tasks.append(run_in_background(self, self._load_accounts_fn,
                                                 on_done=self._accounts_loaded, on_error=self._accounts_failed))
        else:
            self._status("")
        if self._load_work_fn is not None and self._work is None:
            self._tasks.append(run_in_background(self, self._load_work_fn,
                                                 on_done=self._work_loaded, on_error=self._work_failed))

    def _status(self, text: str) -> None:
        self.accounts_status.setText(text)
        self.accounts_status.setVisible(bool(text))

    @property
    def loading(self) -> bool:
        return any(t.running for t in self._tasks)

    def _all_combos(self) -> list[AccountCombo]:
        return [self.income_account, self.expense_account, self.deposit_account, self.ap_account,
                *self._concept_combos.values()]

    def _accounts_loaded(self, accounts: Any) -> None:
        self._accounts = account_groups(accounts)
        self._types = account_types(accounts)
        self._status("")
        for key, group in (("income_account", "income"), ("expense_account", "expense"),
                           ("deposit_account", "deposit"), ("ap_account", "ap")):
            getattr(self, key).set_accounts(self._accounts[group], self._types)
        for combo in self._concept_combos.values():
            combo.set_accounts(self._accounts["expense"], self._types)
        self._on_change()

    def _accounts_failed(self, exc: BaseException) -> None:
        self._accounts_error = exc
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        self._status(self.tr("The QuickBooks accounts could not be loaded: {0}").format(message))
        self.retry_button.setVisible(True)
        for combo in self._all_combos():
            combo.set_failed()
        self._on_change()

    def _work_loaded(self, facts: WorkFacts) -> None:
        self._work = facts
        state = facts.default_state or self.tr("none set in Work")
        self.default_state_label.setText(self.tr("Work's default state: {0}").format(state))
        self._fill_concepts()
        self._fill_tax_codes()
        self._on_change()

    def _work_failed(self, exc: BaseException) -> None:
        self.default_state_label.setText(self.tr("Work's default state could not be read"))

    def _fill_concepts(self) -> None:
        names = sorted(set(self._mapped) | set(self._work.concepts if self._work else ()))
        current = {n: c.current_id() for n, c in self._concept_combos.items()}
        self.concepts.setRowCount(len(names))
        self._concept_combos = {}
        for row, name in enumerate(names):
            item = QLabel(name, self.concepts)
            item.setContentsMargins(8, 0, 8, 0)
            self.concepts.setCellWidget(row, 0, item)
            combo = AccountCombo(self.tr("Expense account for the concept {0}").format(name), self.concepts)
            combo.select_id(current.get(name) or self._mapped.get(name))
            if self._accounts is not None:
                combo.set_accounts(self._accounts["expense"], self._types)
            elif self._accounts_error is not None:
                combo.set_failed()
            combo.account_changed.connect(self._on_change)
            self._concept_combos[name] = combo
            self.concepts.setCellWidget(row, 1, combo)
        self.concepts.resizeRowsToContents()
        rows_height = sum(self.concepts.rowHeight(r) for r in range(len(names)))
        self.concepts.setMinimumHeight(min(40 + rows_height, 360))
        self._apply_focus_concept()

    def _fill_tax_codes(self) -> None:
        """One row per active Work tax rate, plus "Lines without tax", for a company with tax codes."""
        tax = self._work.tax if self._work else None
        shown = tax is not None and tax.uses_tax_codes
        self.tax_codes.setVisible(shown)
        self.tax_codes_label.setVisible(shown)
        if tax is None or not shown:
            self._tax_combos = {}
            self.tax_codes.setRowCount(0)
            return
        current = {r: str(c.currentData()) for r, c in self._tax_combos.items() if c.currentData()}
        rows = [*sorted(tax.rates.items(), key=lambda kv: kv[1].casefold()), (NOT_TAXABLE, NOT_TAXABLE_LABEL)]
        self.tax_codes.setRowCount(len(rows))
        self._tax_combos = {}
        name_width = self.tax_codes.horizontalHeader().sectionSizeFromContents(0).width()
        for row, (rate_id, name) in enumerate(rows):
            label = QLabel(self.tr(name) if rate_id == NOT_TAXABLE else name, self.tax_codes)
            label.setContentsMargins(8, 0, 8, 0)
            name_width = max(name_width, label.sizeHint().width() + 4)
            self.tax_codes.setCellWidget(row, 0, label)
            combo = QComboBox(self.tax_codes)
            combo.setAccessibleName(self.tr("QuickBooks tax code for {0}").format(name))
            combo.addItem(self.tr("Choose a tax code…"), "")
            for code_id, code_name in sorted((tax.codes or {}).items(), key=lambda kv: kv[1].casefold()):
                combo.addItem(code_name, code_id)
            chosen = current.get(rate_id) or self._tax_mapped.get(rate_id)
            combo.setCurrentIndex(max(combo.findData(chosen), 0) if chosen else 0)
            combo.currentIndexChanged.connect(self._on_change)
            self._tax_combos[rate_id] = combo
            self.tax_codes.setCellWidget(row, 1, combo)
        self.tax_codes.setColumnWidth(0, name_width)
        self.tax_codes.resizeRowsToContents()
        self.tax_codes.setMinimumHeight(min(40 + sum(self.tax_codes.rowHeight(r) for r in range(len(rows))), 360))

    # ------------------------------------------------------------------ rules
    def _apply_dependencies(self) -> None:
        """Mirror the seed's rules in the controls before validating."""
        invoices = self.invoices.isChecked()
        if not invoices and self.payments.isChecked():
            self.payments.setChecked(False)  # Payments is only active with Invoices (the seed)
        self.payments.setEnabled(invoices)
        self.payments.setToolTip("" if invoices else self.tr("Payments can be chosen once Invoices is checked: "
                                                              "each payment is applied to its invoice."))
        needs_clients = invoices or self.payments.isChecked()
        if needs_clients and not self.clients.isChecked():
            self.clients.setChecked(True)
        self.clients.setEnabled(not needs_clients)
        self.clients.setToolTip(
            self.tr("Clients must stay on while Invoices or Payments is checked: every invoice and payment "
                    "needs its client as a QuickBooks customer.") if needs_clients else "")
        self.use_default_state.setEnabled(self.clients.isChecked())
        self.sites_use_client_address.setEnabled(self.sites.isChecked())
        accounts_ready = self._accounts is not None
        self.income_account.setEnabled(invoices and accounts_ready)
        self.expense_account.setEnabled(invoices and accounts_ready)
        self.deposit_account.setEnabled(self.payments.isChecked() and accounts_ready)
        self.ap_account.setEnabled(self.bills.isChecked() and accounts_ready)
        self.concepts.setEnabled(self.bills.isChecked())
        self.tax_amounts.setEnabled(invoices)
        self.tax_codes.setEnabled(invoices)

    def issues(self) -> list[SettingsIssue]:
        """The rules' verdict on the current controls, plus "still loading"/"could not load"."""
        s = self.settings()
        concepts: Iterable[str] | None = self._work.concepts if self._work else None
        issues = validate(s, self.accounts_for_save(), concepts, self.tax_for_save())
        needs_accounts = s.invoices or s.payments or s.bills
        if needs_accounts and self._accounts is None and self._load_accounts_fn is not None:
            if self._accounts_error is not None:
                issues.insert(0, SettingsIssue("accounts", self.tr("The QuickBooks accounts could not be loaded."),
                                               self.tr("Press Retry.")))
            else:
                issues.insert(0, SettingsIssue("accounts", self.tr("The QuickBooks accounts are still loading."),
                                               self.tr("Wait a moment.")))
        return issues

    def accounts_for_save(self) -> Mapping[str, Any] | None:
        if self._accounts is None:
            return None
        return {g: [{"Id": i, "Name": n} for i, n in accts.items()] for g, accts in self._accounts.items()}

    def is_valid(self) -> bool:
        return not self.issues()

    def reason_text(self) -> str:
        issues = self.issues()
        if not issues:
            return ""
        first = issues[0]
        more = len(issues) - 1
        text = f"{first.message} {first.hint}"
        if more:
            text += " " + (self.tr("(and 1 more thing to fix)") if more == 1
                           else self.tr("(and {0} more things to fix)").format(more))
        return text

    def _on_change(self, *_args: Any) -> None:
        if getattr(self, "_loading_values", False):
            return
        self._loading_values = True
        try:
            self._apply_dependencies()
        finally:
            self._loading_values = False
        issues = self.issues()
        self._mark_issues(issues)
        reason = self.reason_text()
        self.reason.setText(reason)
        self.reason.setVisible(bool(reason) and self.show_reason_inline)
        state = (not reason, reason)
        if state != self._last_validity:
            self._last_validity = state
            emit(self.validity_changed, *state)
        emit(self.changed)

    def focus_concept(self, concept: str) -> None:
        """Bring the concept's expense account dropdown into view and focus it (now, or as soon as
        Work's concepts have loaded): the Problems tab's "Map the concept 'Labor'…" lands here."""
        self._focus_concept = concept
        self._apply_focus_concept()

    def _apply_focus_concept(self) -> None:
        combo = self._concept_combos.get(self._focus_concept or "")
        if combo is None:
            return
        self._focus_concept = None
        self.bills.setChecked(True)
        combo.setProperty("invalid", combo.current_id() is None)
        combo.style().polish(combo)
        self.reveal(combo)
        combo.setFocus()

    def reveal(self, widget: QWidget) -> None:
        """Scroll the nearest scroll area so ``widget`` is visible."""
        parent = self.parentWidget()
        while parent is not None and not isinstance(parent, QScrollArea):
            parent = parent.parentWidget()
        if isinstance(parent, QScrollArea):
            parent.ensureWidgetVisible(widget, 20, 40)

    def _mark_issues(self, issues: list[SettingsIssue]) -> None:
        """Each missing field: its message right under it and a red border (the greyed-out Next alone
        said nothing about *where*)."""
        by_field: dict[str, list[str]] = {}
        for issue in issues:
            by_field.setdefault(issue.field, []).append(issue.message)
        for key, label in self._errors.items():
            messages = by_field.get(key, [])
            label.setText(" ".join(messages))
            label.setVisible(bool(messages))
        for key in ("income_account", "expense_account", "deposit_account", "ap_account"):
            self._set_invalid(getattr(self, key), key in by_field)
        for combo in self._concept_combos.values():
            self._set_invalid(combo, "concepts" in by_field and combo.loaded and combo.current_id() is None)

    @staticmethod
    def _set_invalid(widget: QWidget, invalid: bool) -> None:
        if bool(widget.property("invalid")) != invalid:
            widget.setProperty("invalid", invalid)
            widget.style().unpolish(widget)
            widget.style().polish(widget)

    def first_issue_widget(self) -> QWidget | None:
        issues = self.issues()
        if not issues:
            return None
        return getattr(self, issues[0].field, None) if issues[0].field != "accounts" else self.retry_button


class IssueBar(QWidget):
    """The form's first problem in words, kept in view under the scrolling form, with "Show me" that
    scrolls to the field and focuses it (Next or Save stays greyed out until it is fixed)."""

    def __init__(self, form: SyncSettingsForm, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form = form
        form.show_reason_inline = False
        form.reason.setVisible(False)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 12, 6)
        self.label = QLabel("", self)
        self.label.setObjectName("Reason")
        self.label.setWordWrap(True)
        self.label.setAccessibleName(self.tr("Why you cannot go on yet"))
        self.show_button = QPushButton(self.tr("Show me"), self)
        self.show_button.setAccessibleName(self.tr("Show the field that needs a choice"))
        self.show_button.clicked.connect(self.show_field)
        self._last_field: str | None = None
        self._seen = False
        row.addWidget(self.label, 1)
        row.addWidget(self.show_button)
        form.validity_changed.connect(lambda _ok, _why: self.update_text())
        self.update_text()

    def update_text(self) -> None:
        reason = self.form.reason_text()
        self.label.setText(reason)
        self.setVisible(bool(reason))
        # A change that makes another field the first problem brings that field into view (not the
        # first check after loading: the page opens at its top)
        issues = self.form.issues()
        first = issues[0].field if issues else None
        if first is not None and first != self._last_field and self._seen and not self.form.loading:
            widget = self.form.first_issue_widget()
            if widget is not None:
                self.form.reveal(widget)
        self._last_field = first
        self._seen = True

    def show_field(self) -> None:
        widget = self.form.first_issue_widget()
        if widget is None and self.form.issues() and self.form.issues()[0].field == "concepts":
            widget = self.form.concepts
        if widget is not None:
            self.form.reveal(widget)
            widget.setFocus()


__all__ = ["NO_START_DATE", "IssueBar", "SyncSettingsForm", "WorkFacts"]
