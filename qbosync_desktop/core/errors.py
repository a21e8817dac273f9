"""The exception hierarchy the whole application uses.

Every error that can reach a person carries four things (the Maestral habit):

* ``title``   - a short headline for a dialog or a problem row,
* ``message`` - what happened, in plain language for a small-business admin,
* ``hint``    - what to do next,
* ``details`` - technical facts (QuickBooks code, ``intuit_tid``, HTTP status) shown behind "Details".

Connectors translate every transport or API failure into one of these classes at one boundary, so the
engine and the UI never see a ``requests`` exception or a raw QuickBooks fault.

``str(error)`` is the plain message; :meth:`QboSyncError.details_text` renders the technical part. No
secret may ever be put into any of the four fields: the log redaction filter is the second line of
defence, not the first.
"""

from __future__ import annotations

from typing import Any


class QboSyncError(Exception):
    """Base class. Subclasses set class-level defaults for ``title`` and ``hint``."""

    title: str = "Something went wrong"
    hint: str = "Try again. If it keeps happening, run 'qbosync doctor' and send its output to support."
    #: True when retrying the same request later may succeed without anyone changing anything.
    transient: bool = False
    #: True when the whole run must stop (as opposed to one record failing).
    fatal: bool = False

    def __init__(
        self,
        message: str | None = None,
        *,
        title: str | None = None,
        hint: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.message = message or self.__class__.default_message()
        if title is not None:
            self.title = title
        if hint is not None:
            self.hint = hint
        self.details: dict[str, Any] = dict(details or {})
        super().__init__(self.message)

    @classmethod
    def default_message(cls) -> str:
        return cls.title

    def details_text(self) -> str:
        """Technical details, one ``key: value`` per line, for the "Details" area and logs."""
        lines = [f"error: {type(self).__name__}"]
        lines += [f"{k}: {v}" for k, v in self.details.items() if v not in (None, "")]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Stable JSON shape used by the CLI's ``--json`` output and stored problems."""
        return {
            "type": type(self).__name__,
            "title": self.title,
            "message": self.message,
            "hint": self.hint,
            "details": {k: v for k, v in self.details.items() if v not in (None, "")},
        }


# --------------------------------------------------------------------------------------------------
# Connection and authorization


class NeedsReconnect(QboSyncError):
    """The QuickBooks grant is gone (revoked, refresh token expired/reused, admin rights lost).

    Only a new authorization fixes it. Local data, links and settings are kept.
    """

    title = "QuickBooks needs to be reconnected"
    hint = "Press Reconnect and sign in to QuickBooks again. Your settings and links are kept."
    fatal = True

    @classmethod
    def default_message(cls) -> str:
        return "QuickBooks no longer accepts this app's access to your company."


class AuthorizationDenied(QboSyncError):
    title = "QuickBooks access was not granted"
    hint = "Press Connect to QuickBooks again and choose Connect on the QuickBooks page."

    @classmethod
    def default_message(cls) -> str:
        return "The QuickBooks sign-in was cancelled, so no connection was made."


class AuthorizationFailed(QboSyncError):
    """The authorization flow could not complete (state mismatch, bad redirect, code rejected)."""

    title = "Could not finish connecting to QuickBooks"
    hint = "Start the connection again from the beginning. If it fails again, check the app keys."


class ConnectionProblem(QboSyncError):
    """The network or the server did not answer (DNS, refused, timeout, dropped, 5xx)."""

    title = "Could not reach the server"
    hint = "Check your internet connection and try again. Nothing was lost; the sync resumes where it stopped."
    transient = True

    @classmethod
    def default_message(cls) -> str:
        return "The server could not be reached."


# --------------------------------------------------------------------------------------------------
# QuickBooks Online


class QuickBooksError(QboSyncError):
    """A fault answered by QuickBooks. ``code``/``element`` come from the Fault body."""

    title = "QuickBooks refused the request"
    hint = "Open Details for the exact reason from QuickBooks."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        element: str | None = None,
        intuit_tid: str | None = None,
        status: int | None = None,
        detail: str | None = None,
        title: str | None = None,
        hint: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        merged = {"code": code, "element": element, "detail": detail, "intuit_tid": intuit_tid, "http_status": status}
        merged.update(details or {})
        super().__init__(message, title=title, hint=hint, details=merged)
        self.code = code
        self.element = element
        self.intuit_tid = intuit_tid
        self.status = status
        self.detail = detail


class QboValidationError(QuickBooksError):
    """QuickBooks rejected one record's content. The run goes on; the record becomes a problem."""

    title = "QuickBooks rejected this record"
    hint = "Correct the record in Work, then press Retry."


class DuplicateName(QboValidationError):
    """6240: DisplayName is unique across customers, vendors and employees."""

    title = "Name already used in QuickBooks"
    hint = "Rename one of them, or link them in the Matches tab (or with 'qbosync matches')."


class DuplicateDocNumber(QboValidationError):
    """6140: the invoice/bill number already exists."""

    title = "Number already used in QuickBooks"
    hint = "Give the invoice a different number in Work, then press Retry."


class InvalidReference(QboValidationError):
    """610 / 2500: a referenced object does not exist or is inactive."""

    title = "A linked record is missing or inactive in QuickBooks"
    hint = "Make the referenced record active in QuickBooks (or pick another), then press Retry."


class CannotLinkTransaction(QboValidationError):
    """620: e.g. a payment applied to an invoice of another customer."""

    title = "QuickBooks could not link the transaction"
    hint = "Check that the payment and its invoice belong to the same client, then press Retry."


class StaleObject(QuickBooksError):
    """5010: our SyncToken is old; someone changed the record in QuickBooks meanwhile."""

    title = "The record changed in QuickBooks meanwhile"
    hint = "The sync re-reads the record and tries again by itself."
    transient = True


class Throttled(QuickBooksError):
    """3001 / HTTP 429."""

    title = "QuickBooks asked us to slow down"
    hint = "Nothing to do: the sync waits a minute and continues."
    transient = True

    def __init__(self, message: str | None = None, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(QuickBooksError):
    """HTTP 5xx from QuickBooks."""

    title = "QuickBooks had a temporary problem"
    hint = "The sync retries by itself. If it persists, check status.developer.intuit.com."
    transient = True


class PermissionDenied(QuickBooksError):
    """3100 / 403: the connected user lost the rights to do this."""

    title = "QuickBooks refused access"
    hint = "Ask the company's Master Admin to reconnect QuickBooks."
    fatal = True


class SubscriptionLapsed(QuickBooksError):
    """6190."""

    title = "The QuickBooks subscription is not active"
    hint = "Renew the QuickBooks Online subscription, then press Sync now."
    fatal = True


class PeriodClosed(QboValidationError):
    """6210: the transaction date is in a closed accounting period."""

    title = "The books are closed for that date"
    hint = "Change the closing date in QuickBooks or the date of the record in Work, then press Retry."


class QboUnexpectedAnswer(QuickBooksError):
    """QuickBooks answered, but not in the form its API documents (not JSON, no ``QueryResponse``, a
    record without its Id): not a temporary problem - retrying would read the same thing - and not
    something to guess around either. The run stops before using the answer (fatal); a write whose
    answer could not be read stays in the outbox and is replayed with the same requestid."""

    title = "QuickBooks answered in an unexpected form"
    hint = ("Nothing was lost: the sync stopped before using the answer and continues from there next time. "
            "If it keeps happening, a proxy or firewall may be answering instead of QuickBooks: check the "
            "network, see status.developer.intuit.com, and send the Details to support.")
    fatal = True


class QboRecordUnreadable(QuickBooksError):
    """One record in a QuickBooks read lacked what the sync relies on (its Id, its SyncToken, a numeric
    amount): a problem of that record alone; every other record syncs (issue 16)."""

    title = "A QuickBooks record the sync cannot read"
    hint = ("Open the record in QuickBooks and save it again; the sync reads it again when it changes. "
            "If it keeps happening, send the Details to support.")


class QboCustomerDeleted(QuickBooksError):
    """QuickBooks' change feed reports a linked customer deleted (``status: Deleted``). QuickBooks
    Online cannot delete a customer; it disappears when a person merges it into another. The Work
    client's one problem: nothing is written to that customer, nor created again, until the link is
    fixed (issue 16, sync/clients/deleted.py)."""

    title = "Customer deleted or merged in QuickBooks"
    hint = ("Open Reconcile and fix the client's “was deleted in QuickBooks” row: Re-create adds the client "
            "to QuickBooks again. If the customer was merged into another one on purpose, first rename the "
            "client in Work to that customer's name, so Re-create links it to that customer instead of "
            "making a second one. This problem closes by itself once the link is fixed.")


class QueryError(QuickBooksError):
    """4000: a query did not parse. Always our bug, never the user's."""

    title = "The app sent QuickBooks a query it did not understand"
    hint = "Please send the log file to support."


# --------------------------------------------------------------------------------------------------
# Work


class WorkApiError(QboSyncError):
    title = "Work refused the request"
    hint = "Open Details for the exact reason from Work."

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        title: str | None = None,
        hint: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        merged = {"http_status": status, "code": code}
        merged.update(details or {})
        super().__init__(message, title=title, hint=hint, details=merged)
        self.status = status
        self.code = code


class WorkAuthError(WorkApiError):
    title = "Work did not accept the API key"
    hint = "Create a new API key in Work (Settings > API keys) and enter it in the connection settings."
    fatal = True


class WorkValidationError(WorkApiError):
    title = "Work rejected this record"
    hint = "Correct the record, then press Retry."


class WorkNotFound(WorkApiError):
    title = "The record no longer exists in Work"
    hint = "If it was deleted on purpose, dismiss this problem."


class WorkConflict(WorkApiError):
    """409: our version of the Work record is stale."""

    title = "The record changed in Work meanwhile"
    hint = "The sync re-reads the record and tries again by itself."
    transient = True


class WorkThrottled(WorkApiError):
    title = "Work asked us to slow down"
    hint = "Nothing to do: the sync waits and continues."
    transient = True

    def __init__(self, message: str | None = None, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class WorkRecordUnreadable(WorkApiError):
    """One record in a Work list did not parse (issue 16): a problem of that record alone, never of
    the run - every other record syncs, and this one is read again when Work changes it."""

    title = "A record in Work has a value the sync cannot read"
    hint = "Correct the value in Work; the record syncs by itself once it is changed there."


class WorkUnexpectedAnswer(WorkApiError):
    """Work answered, but not in the form its API documents (an object or a web page where a list of
    records was expected): not a temporary problem, and the run stops before using it (fatal) - a
    wrong Work address (a web page, a proxy's sign-in page) answers like this on every request."""

    title = "Work answered in an unexpected form"
    hint = ("Check that the Work address in the connection settings is Work's API address, not a web page "
            "or a proxy's sign-in page. If it is, sync again later; if it keeps happening, send the Details "
            "to Work's support. Nothing was lost: the sync continues from where it stopped.")
    fatal = True


class WorkServerError(WorkApiError):
    title = "Work had a temporary problem"
    hint = "The sync retries by itself."
    transient = True


# --------------------------------------------------------------------------------------------------
# Local


class ConfigurationError(QboSyncError):
    """A setting or a combination of settings is invalid. ``field`` names the setting."""

    title = "Check the sync settings"
    hint = "Fix the setting named above, then try again."

    def __init__(self, message: str | None = None, *, field: str | None = None, **kw: Any) -> None:
        details = dict(kw.pop("details", None) or {})
        details.setdefault("field", field)
        super().__init__(message, details=details, **kw)
        self.field = field


class NotConnected(ConfigurationError):
    title = "Not connected yet"
    hint = "Connect QuickBooks and Work first (the setup wizard, or 'qbosync connect' and 'qbosync work-connect')."


class PracticeNotRunning(NotConnected):
    """The data folder is connected to the practice company, but its servers (and, without an OS
    keyring, its sign-in) lived in a process that has ended — usually ``qbosync demo``."""

    title = "The practice company is not running"
    hint = "Run 'qbosync demo' again: it starts the practice servers with the same companies and syncs."


class KeyringUnavailable(QboSyncError):
    """The OS keyring cannot be used. Nothing secret is ever written elsewhere silently."""

    title = "The system keyring is not available"
    fatal = True

    @classmethod
    def default_message(cls) -> str:
        return "QBO Sync keeps your QuickBooks and Work credentials in the system keyring, and it could not be opened."

    hint = (
        "On Linux install and unlock a Secret Service keyring (GNOME Keyring: 'sudo apt install gnome-keyring', "
        "or KWallet on KDE), then start QBO Sync again. On Windows and macOS the keyring is built in: "
        "sign out and in again."
    )


class DatabaseError(QboSyncError):
    title = "The local database could not be used"
    hint = "Make sure the disk is not full and that no other program locks the file, then start QBO Sync again."
    fatal = True


class Cancelled(QboSyncError):
    """A run was cancelled by the user between batches. Everything done so far is kept."""

    title = "Sync cancelled"
    hint = "Press Sync now to continue where it stopped."


class SyncWorkerStopped(QboSyncError):
    """The separate process that runs syncs ended in the middle of a run (killed, out of memory, a crash).

    Nothing is lost: every write was recorded in the outbox before it was sent, so the next run
    replays what was unfinished and never sends an intent twice.
    """

    title = "The sync stopped unexpectedly"
    hint = ("Press Sync now to continue where it stopped; nothing already sent to QuickBooks is sent "
            "twice. If it keeps happening, send the log file to support.")
    transient = True

    @classmethod
    def default_message(cls) -> str:
        return "The background sync process ended before the run finished."


# --------------------------------------------------------------------------------------------------
# The data folder (docs/troubleshooting.md "The local database"). Each has its own CLI exit code.

RESTORE_HINT = (
    "Restore the newest good copy from the 'backups' folder next to the database: in the app press "
    "Restore, or run 'qbosync restore' ('qbosync restore --list' shows the copies). The damaged file is "
    "kept beside it, renamed, so nothing is deleted."
)


class DiskFull(DatabaseError):
    """Writing to the data folder failed because the disk (or the process's file-size limit) is full.

    SQLite rolled the unfinished transaction back, and every QuickBooks write was recorded in the
    outbox before it was sent, so the next run finishes the work without sending anything twice.
    """

    title = "The disk is full"
    hint = ("Free some space on the disk that holds the data folder (empty the trash, delete large files), "
            "then run the sync again. Nothing was lost: the next sync finishes this one's work and sends "
            "nothing to QuickBooks twice.")

    @classmethod
    def default_message(cls) -> str:
        return "QBO Sync could not write to its data folder because the disk is full."


class DatabaseDamaged(DatabaseError):
    """The database file is empty, truncated, not a database, fails SQLite's integrity check, or lacks
    tables it must have. Never treated as a fresh install: that would silently forget every link."""

    title = "The database is damaged"
    hint = RESTORE_HINT

    @classmethod
    def default_message(cls) -> str:
        return "QBO Sync's database file is damaged, so it was not opened."


class DatabaseReadOnly(DatabaseError):
    """The database file or its folder cannot be written (permissions, a read-only disk or share)."""

    title = "The database is read-only"
    hint = ("Give your user account write access to the data folder and its files (or move it off the "
            "read-only disk), then start QBO Sync again. Nothing was changed.")

    @classmethod
    def default_message(cls) -> str:
        return "QBO Sync cannot write to its database file."


class DataFolderBusy(QboSyncError):
    """Another QBO Sync program (the app, its sync worker or another ``qbosync``) is writing to this
    data folder. One data folder has one writer at a time; nothing was started."""

    title = "Another QBO Sync is syncing this company"
    hint = ("Wait for it to finish, then try again (on the command line '--wait SECONDS' waits longer). "
            "Nothing was started, so nothing runs twice.")
    #: The same run started later succeeds once the other program is done.
    transient = True

    @classmethod
    def default_message(cls) -> str:
        return "Another QBO Sync program is syncing this company right now."
