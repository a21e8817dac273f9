"""Problems grouped by root cause, and the web address of a problem's record.

Eighteen bills that fail because the concept "Labor" has no expense account are one cause with one
fix, so the Problems tab shows them as one card — "Map the concept 'Labor'" — whose button fixes them
all (it opens the mapping, then retries the eighteen). The cause key is, in order: the settings field
the error names (``concept.Labor``), the problem code with a direct fix, else the title and hint
(problems whose hint names the record stay separate: each has its own fix).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qbosync_desktop.desktop.ui.text import tr

#: Problems with a fix the window can apply itself: problem code → (button text, settings change).
DIRECT_FIXES: dict[str, tuple[str, dict[str, Any]]] = {
    "missing_state": (tr("Turn on “Use default state” and retry"), {"use_default_state": True}),
    "missing_site_state": (tr("Turn on “Use Client state/country” and retry"), {"sites_use_client_address": True}),
}


def problem_code(p: dict[str, Any]) -> str:
    return str(p.get("code") or (p.get("details") or {}).get("code") or "")


@dataclass
class ProblemGroup:
    """One root cause: its words, the problems it explains and what its button does."""

    key: str
    title: str
    hint: str
    ids: list[int] = field(default_factory=list)
    concept: str | None = None  # the unmapped Work invoice concept, when that is the cause
    fix: tuple[str, dict[str, Any]] | None = None  # a direct settings fix

    @property
    def count(self) -> int:
        return len(self.ids)

    @property
    def action(self) -> str:
        """The button's words: the fix itself, never a generic "Fix"."""
        if self.concept is not None:
            return tr("Map the concept “{0}”…").format(self.concept)
        if self.fix is not None:
            return self.fix[0]
        return tr("Retry these {0}").format(self.count) if self.count > 1 else tr("Retry")


def _cause(p: dict[str, Any]) -> tuple[str, str | None]:
    details = p.get("details") or {}
    fld = str(details.get("field") or "")
    if fld.startswith("concept."):
        return f"field:{fld}", fld.split(".", 1)[1]
    code = problem_code(p)
    if code in DIRECT_FIXES:
        return f"code:{code}", None
    return f"text:{p.get('title') or ''}\n{p.get('hint') or ''}", None


def group_problems(problems: list[dict[str, Any]]) -> list[ProblemGroup]:
    """Causes, the one explaining most records first (ties: the order the problems appeared)."""
    groups: dict[str, ProblemGroup] = {}
    for p in problems:
        key, concept = _cause(p)
        g = groups.get(key)
        if g is None:
            title = p.get("message") if concept is not None else (p.get("title") or p.get("message") or "")
            if concept is not None:
                title = tr("The Work concept “{0}” has no QuickBooks expense account").format(concept)
            g = groups[key] = ProblemGroup(key=key, title=str(title), hint=str(p.get("hint") or ""), concept=concept,
                                           fix=DIRECT_FIXES.get(problem_code(p)))
        g.ids.append(int(p["id"]))
    order = {k: i for i, k in enumerate(groups)}
    return sorted(groups.values(), key=lambda g: (-g.count, order[g.key]))


#: QuickBooks Online's own pages for a record (the web app, not the API).
QBO_PAGES = {"invoice": "invoice?txnId={0}", "payment": "recvpayment?txnId={0}", "bill": "bill?txnId={0}",
             "client": "customerdetail?nameId={0}", "site": "customerdetail?nameId={0}",
             "vendor": "vendordetail?nameId={0}", "item": "items"}
#: The practice QuickBooks server's list pages (it has no page per record).
PRACTICE_PAGES = {"invoice": "/invoices", "payment": "/payments", "bill": "/bills", "client": "/customers",
                  "site": "/customers", "vendor": "/vendors", "item": "/items"}


def qbo_link(kind: str, qbo_id: Any, connection: dict[str, Any] | None) -> str | None:
    """Where to see the record in QuickBooks: the QuickBooks web app for a real company (sandbox or
    production), the practice server's list page for the practice company; None when unknown."""
    conn = connection or {}
    kind = str(kind or "")
    env = conn.get("environment")
    if env == "practice":
        base = str(conn.get("api_base") or "").rstrip("/").removesuffix("/v3")  # the API lives under /v3
        page = PRACTICE_PAGES.get(kind)
        return f"{base}{page}" if base and page else None
    if not qbo_id or kind not in QBO_PAGES:
        return None
    host = "app.sandbox.qbo.intuit.com" if env == "sandbox" else "app.qbo.intuit.com"
    return f"https://{host}/app/{QBO_PAGES[kind].format(qbo_id)}"


def record_links(p: dict[str, Any], connection: dict[str, Any] | None) -> tuple[str | None, str | None]:
    """(QuickBooks address, Work address) of a problem's record; Work's web app has no known record
    address yet, so the second is the one the problem carries (``details.work_url``) or None."""
    details = p.get("details") or {}
    return qbo_link(str(p.get("kind") or ""), p.get("qbo_id"), connection), details.get("work_url") or None


__all__ = ["DIRECT_FIXES", "ProblemGroup", "group_problems", "qbo_link", "record_links"]
