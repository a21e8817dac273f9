"""Records a run did not write on purpose, counted per reason (issue 16, "nothing skipped silently").

Every record the sync does not write has either an open problem with its true reason, or one of the
deliberate skips below, counted in the run's summary (``RunSummary.skips``, ``Run.skips``: phase →
reason → count). docs/sync-engine.md "Nothing skipped silently" lists every place a record is left
out and which of the two it is.

A skip is counted when it happens, not again while nothing changes: a draft invoice is counted in
the run that first reads it (or reads it again because it changed), like its "skip" audit row. Two
reasons are states rather than events and are counted in every run they hold: ``held`` (an undo
holds the record back; also the run's "held" outcome) and ``match_review`` (a proposed match waits
for the person's decision; only here, not among the outcomes, since the run did nothing to it - the
Matches tab and ``qbosync matches`` list them).

Plain words for the summary come from :func:`describe`: "12 drafts skipped".
"""

from __future__ import annotations

from collections.abc import Mapping

#: reason key → (one, many): the words after the number. Keep them plain: they are shown as-is in
#: ``qbosync sync``, the app's History tab and its run details.
REASONS: dict[str, tuple[str, str]] = {
    "draft": ("draft skipped (drafts never sync)", "drafts skipped (drafts never sync)"),
    "void_unsynced": ("voided in Work before it was synced", "voided in Work before they were synced"),
    "before_start": ("dated before the start date", "dated before the start date"),
    "not_a_bill": ("draft or rejected contractor invoice (not a bill)",
                   "draft or rejected contractor invoices (not bills)"),
    "no_contract": ("contractor without an active contract", "contractors without an active contract"),
    "invoice_draft": ("payment or credit of a draft invoice", "payments or credits of draft invoices"),
    "invoice_before_start": ("payment or credit of an invoice dated before the start date",
                             "payments or credits of invoices dated before the start date"),
    "match_review": ("waiting for match review", "waiting for match review"),
    "held": ("held back after an undo", "held back after an undo"),
    "sub_sub_customer": ("sub-customer of a sub-customer (stays in QuickBooks only)",
                         "sub-customers of sub-customers (stay in QuickBooks only)"),
    "parent_not_in_work": ("sub-customer whose customer is not in Work",
                           "sub-customers whose customer is not in Work"),
    "client_not_synced": ("Work site whose client is not in QuickBooks",
                          "Work sites whose client is not in QuickBooks"),
    "other": ("skipped", "skipped"),
}


def known(reason: str | None) -> str:
    """``reason`` if it is one of :data:`REASONS`, else "other" (a skip must never go uncounted)."""
    return reason if reason in REASONS else "other"


def describe(reason: str, n: int) -> str:
    """"12 drafts skipped (drafts never sync)", "1 contractor without an active contract"."""
    one, many = REASONS[known(reason)]
    return f"{n} {one if n == 1 else many}"


def phase_text(by_reason: Mapping[str, int]) -> str:
    """One phase's skips in plain words, most frequent first: "12 drafts skipped…, 2 voided…"."""
    shown = sorted(((r, n) for r, n in by_reason.items() if n), key=lambda rn: (-rn[1], rn[0]))
    return ", ".join(describe(r, n) for r, n in shown)


def run_text(skips: Mapping[str, Mapping[str, int]] | None) -> str:
    """A run's skips in plain words, per phase: "invoices: 12 drafts skipped…; vendors: …"."""
    parts = [f"{phase}: {text}" for phase, by_reason in (skips or {}).items() if (text := phase_text(by_reason))]
    return "; ".join(parts)
