""""Edit settings" from the integration window: the same rules as the wizard, saved off the GUI thread,
and the green checks / red x's follow the saved settings (practice company, real account lists)."""

from __future__ import annotations

from qbosync_desktop.desktop.ui.dialogs.settings_dialog import SettingsDialog
from qbosync_desktop.desktop.ui.integration_window import IntegrationWindow
from qbosync_desktop.desktop.ui.session import Session


def test_edit_settings_turns_payments_off_and_the_check_becomes_an_x(qtbot, configured_workspace):
    configured_workspace.mark_enabled()
    session = Session(configured_workspace, schedule=False)
    window = IntegrationWindow(session)
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: window.entity_rows["Payments"].on, timeout=10_000)
        qtbot.waitUntil(lambda: "Undeposited" in window.entity_rows["Payments"].detail.text()
                        or "Checking" in window.entity_rows["Payments"].detail.text(), timeout=10_000)
        window.edit_button.click()
        dialog = window.dialog
        assert isinstance(dialog, SettingsDialog)
        form = dialog.form
        qtbot.waitUntil(lambda: form.income_account.loaded and not form.loading, timeout=20_000)
        assert dialog.save_button.isEnabled()
        form.income_account.select_id(None)
        assert not dialog.save_button.isEnabled() and "Income" in form.reason.text()
        form.income_account.setCurrentIndex(1)
        form.payments.setChecked(False)
        form.schedule_minutes.setValue(30)
        with qtbot.waitSignal(dialog.accepted, timeout=10_000):
            dialog.save_button.click()
        saved = configured_workspace.settings()
        assert not saved.payments and saved.invoices and saved.schedule_minutes == 30
        qtbot.waitUntil(lambda: not window.entity_rows["Payments"].on, timeout=10_000)
        assert window.entity_rows["Payments"].icon.state == "off" and window.entity_rows["Invoices"].on
        assert session.service.schedule_minutes == 30
    finally:
        session.close()
        qtbot.waitUntil(lambda: not session.service.thread.is_alive(), timeout=30_000)
