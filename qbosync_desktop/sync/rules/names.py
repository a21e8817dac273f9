"""QuickBooks' DisplayName rules, checked before anything is sent.

QBO refuses a DisplayName that contains ``:``, a tab or a newline (code 2040), that is longer than
500 characters (2050), or that another customer, vendor or employee already uses (6240 "Duplicate
Name Exists"; the rule spans customers *and* vendors). Sending such a record costs a request and
returns an error nobody can act on, so we check first and tell the person what to do in their words.

With "Rename on name collision" on, a collision is resolved by a deterministic, explained rename:
``"Ann Lee (Work 1042)"`` - the Work id makes it unique and tells an accountant where it came from,
and the same record always gets the same name (a retry never produces "Ann Lee (2)").
"""

from __future__ import annotations

import unicodedata

from qbosync_desktop.core import qbo_limits
from qbosync_desktop.core.errors import QboValidationError

MAX_DISPLAY_NAME = qbo_limits.DISPLAY_NAME
MAX_ITEM_NAME = qbo_limits.ITEM_NAME
INVALID_CHARS = {":": "a colon (:)", "\t": "a tab", "\n": "a line break", "\r": "a line break"}


def normalise(name: str) -> str:
    """The comparison key for names: case, runs of spaces and the Unicode form (an accent composed,
    "é", or written as "e" + a combining accent: both look the same) do not make two names different."""
    return unicodedata.normalize("NFC", " ".join((name or "").split()).casefold())


def clean(name: str) -> str:
    """What we send: trimmed, inner runs of spaces kept as the user typed them (QBO keeps them too)."""
    return (name or "").strip()


def check_name(name: str, *, what: str, limit: int = MAX_DISPLAY_NAME) -> QboValidationError | None:
    """A plain-language problem if QuickBooks would refuse this name, else None. ``what`` is "client",
    "contractor" or "item" (the record the person has to rename in Work)."""
    label = clean(name)
    if not label:
        return QboValidationError(
            f"This {what} has no name, and QuickBooks needs one.",
            title="Name missing",
            hint=f"Give the {what} a name in Work, then press Retry.",
            details={"rule": "name required"},
        )
    for ch, spoken in INVALID_CHARS.items():
        if ch in label:
            suggestion = label.replace(":", " -").replace("\t", " ").replace("\r", " ").replace("\n", " ")
            return QboValidationError(
                f"The {what} name '{label}' contains {spoken}, which QuickBooks does not allow in names.",
                title="Name not allowed in QuickBooks",
                hint=f"Rename the {what} in Work (for example '{' '.join(suggestion.split())}'), then press Retry.",
                details={"rule": "no colon, tab or line break in names", "code": "2040"},
            )
    if len(label) > limit:
        return QboValidationError(
            f"The {what} name is {len(label)} characters long; QuickBooks allows at most {limit}.",
            title="Name too long for QuickBooks",
            hint=f"Shorten the {what}'s name in Work to {limit} characters or fewer, then press Retry.",
            details={"rule": f"at most {limit} characters", "code": "2050", "length": len(label)},
        )
    return None


def renamed(name: str, work_id: str) -> str:
    """The deterministic rename used when "Rename on name collision" is on."""
    return f"{clean(name)} (Work {work_id})"


def collision_problem(name: str, *, what: str, other: str, same_run: bool = False) -> QboValidationError:
    """A name already used by ``other`` ("customer", "vendor", "client", ...). ``same_run``: the other
    record is another Work record sent in this run, not one already in QuickBooks."""
    if same_run:
        message = (
            f"Another Work {other} is being sent to QuickBooks with the same name, '{clean(name)}', and "
            "QuickBooks needs names to be unique across customers and vendors (letter case and spaces "
            "do not make names different)."
        )
    else:
        message = (
            f"QuickBooks already has a {other} called '{clean(name)}', and names must be unique across "
            "customers and vendors."
        )
    return QboValidationError(
        message,
        title="Name already used in QuickBooks",
        hint=(
            f"Rename the {what} in Work, or turn on 'Rename on name collision' in Sync Settings "
            f"(it would be sent as '{clean(name)} (Work …)'), then press Retry."
        ),
        details={"rule": "DisplayName unique across customers and vendors", "code": "6240"},
    )
