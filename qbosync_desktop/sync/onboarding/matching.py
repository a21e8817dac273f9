"""Match review: which existing QuickBooks customers/vendors look like which Work clients/contractors.

Why this exists: duplicate customers on the first sync are the failure users of QuickBooks
integrations fear most. QuickBooks keeps ``DisplayName`` unique across customers, vendors and
employees, so a second "Ann Lee" is refused (6240) and a near-duplicate ("Brightside Dental" next to
"Brightside Dental LLC") is silently accepted - which is worse. Before the initial sync the engine
therefore proposes links between existing records on both sides, with a score and a human reason.

Rules (pure Python, no I/O, so the preview, the CLI and the UI all get the same answer):

* Names are compared on a *key*: accents folded (Núñez ~ Nunez), case and spaces ignored, dots dropped
  ("H.O.A." ~ "HOA"), other punctuation as spaces, common abbreviations canonicalised ("St." ~
  "Street"), and a trailing company suffix ignored ("LLC", "Inc", ...).
* Emails are compared case-insensitively; phones on their last 10 digits.
* Same name key → an *exact* proposal; the same company name (a person's business) is a strong but
  never pre-accepted proposal.
* An exact proposal is pre-accepted only when it is unambiguous: the
  Work record has exactly one exact candidate, that QuickBooks record is the exact candidate of no
  other Work record, and no contact detail contradicts it (both emails present and different, and no
  phone in common). Everything else is left for the person to decide.
* One QuickBooks record is never part of two accepted links: :func:`propose` never pre-accepts the
  same QuickBooks id twice, and :func:`check_accept` refuses an acceptance that would do so.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from qbosync_desktop.core.errors import ConfigurationError

#: Tokens that mean the same thing when spelled out or abbreviated. Both spellings map to one token.
ABBREVIATIONS: dict[str, str] = {
    "street": "st",
    "saint": "st",
    "avenue": "ave",
    "av": "ave",
    "road": "rd",
    "drive": "dr",
    "doctor": "dr",
    "boulevard": "blvd",
    "lane": "ln",
    "court": "ct",
    "place": "pl",
    "mount": "mt",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "and": "&",
    "company": "co",
    "brothers": "bros",
    "associates": "assoc",
    "association": "assn",
    "homeowners": "ho",
    "center": "ctr",
    "centre": "ctr",
    "services": "svc",
    "service": "svc",
}

#: Legal-form suffixes ignored at the end of a name ("Brightside Dental LLC" ~ "Brightside Dental").
COMPANY_SUFFIXES: frozenset[str] = frozenset(
    {
        "llc", "l l c", "inc", "incorporated", "ltd", "limited", "corp", "corporation", "co", "pllc",
        "plc", "lp", "llp", "pc", "gmbh", "sa", "srl", "bv", "pty",
    }
)

#: Scores (0-100). Exact name is decisive; contact details raise or lower confidence.
SCORE_EXACT_NAME = 90
SCORE_COMPANY_NAME = 80
SCORE_EMAIL = 80
SCORE_PHONE = 60
SCORE_SIMILAR_NAME_MAX = 75
SIMILARITY_THRESHOLD = 0.86
MIN_SCORE = 50
#: Similar-name guesses kept per Work record, and how common a word may be to be worth comparing on.
MAX_WEAK_PER_RECORD = 3
MAX_WORD_FANOUT = 50

_DOTTED = re.compile(r"\.")
_NON_WORD = re.compile(r"[^\w&]+")
_SPACES = re.compile(r"\s+")


def fold_accents(text: str) -> str:
    """``"Núñez"`` → ``"Nunez"``: decompose, then drop combining marks."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _tokens(text: str) -> list[str]:
    text = fold_accents(text).casefold()
    text = text.replace("'", "").replace("\u2019", "")  # "Mary's" ~ "Marys"
    text = _DOTTED.sub("", text)  # "H.O.A." ~ "HOA", "St." ~ "St"
    text = _NON_WORD.sub(" ", text).replace("_", " ")
    return [ABBREVIATIONS.get(t, t) for t in _SPACES.split(text.strip()) if t]


def name_key(name: str | None) -> str:
    """The comparison key of a display or company name ("" for an empty name).

    A trailing legal-form suffix is dropped, but never the whole name ("Co" alone stays "co").
    """
    tokens = _tokens(name or "")
    while len(tokens) > 1 and tokens[-1] in COMPANY_SUFFIXES:
        tokens.pop()
    if len(tokens) > 2 and " ".join(tokens[-3:]) in COMPANY_SUFFIXES:  # "L L C" spelled with dots/spaces
        tokens = tokens[:-3]
    return " ".join(tokens)


_CANONICAL = frozenset(ABBREVIATIONS.values())


def _abbrev(token: str) -> str:
    """"Street"/"street"/"St" → "st"; other words unchanged (case is another stage's business)."""
    low = token.casefold()
    return ABBREVIATIONS.get(low, low if low in _CANONICAL else token)


def _strip_suffix(s: str) -> str:
    tokens = s.split()
    while len(tokens) > 1 and tokens[-1].casefold() in COMPANY_SUFFIXES:
        tokens.pop()
    return " ".join(tokens)


_STAGES: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("case and spacing", lambda s: " ".join(s.casefold().split())),
    ("accents", fold_accents),
    ("punctuation", lambda s: " ".join(_NON_WORD.sub(" ", _DOTTED.sub("", s.replace("'", ""))).split())),
    ("abbreviations", lambda s: " ".join(_abbrev(t) for t in s.split())),
    ("company suffix", _strip_suffix),
)


def name_differences(a: str, b: str) -> list[str]:
    """What had to be ignored for two names to match, in words ("accents", "company suffix", ...).

    A normalisation stage is named when leaving it out would stop the names matching. Used for the
    proposal's reason, so the person reviewing sees *why* "Carlos Nunez" was paired with
    "Carlos Núñez" rather than a bare score.
    """

    def run(text: str, skip: int) -> str:
        for i, (_label, fn) in enumerate(_STAGES):
            if i != skip:
                text = fn(text)
        return text

    return [label for i, (label, _fn) in enumerate(_STAGES) if run(a, i) != run(b, i)]


def email_key(email: str | None) -> str:
    return (email or "").strip().casefold()


def phone_key(phone: str | None) -> str:
    """Last 10 digits: "+1 (555) 010-2233" ~ "555.010.2233". Fewer than 7 digits is no phone."""
    digits = re.sub(r"\D", "", phone or "")
    return digits[-10:] if len(digits) >= 7 else ""


@dataclass(frozen=True, slots=True)
class Candidate:
    """One record on either side, reduced to what matching looks at."""

    id: str
    name: str
    email: str | None = None
    phone: str | None = None
    company_name: str | None = None


@dataclass(frozen=True)
class Proposal:
    """A proposed link between a Work record and a QuickBooks record."""

    work_id: str
    qbo_id: str
    score: int
    reason: str
    exact: bool
    #: True when the proposal is exact and unambiguous: accepted unless the person rejects it.
    accepted: bool = False
    work_name: str = ""
    qbo_name: str = ""


@dataclass
class _Evidence:
    score: int = 0
    exact: bool = False
    reasons: list[str] = field(default_factory=list)
    contradicted: bool = False


def _similarity(a: str, b: str) -> float:
    """SequenceMatcher's ratio, skipped (0) when its cheap upper bounds already rule a match out."""
    if not a or not b:
        return 0.0
    sm = SequenceMatcher(None, a, b)
    if sm.real_quick_ratio() < SIMILARITY_THRESHOLD or sm.quick_ratio() < SIMILARITY_THRESHOLD:
        return 0.0
    return sm.ratio()


def score_pair(work: Candidate, qbo: Candidate) -> _Evidence | None:
    """How strongly ``work`` and ``qbo`` look like the same person or business, or None."""
    ev = _Evidence()
    wkey, qkey = name_key(work.name), name_key(qbo.name)
    wkeys = {k for k in (wkey, name_key(work.company_name)) if k}
    qkeys = {k for k in (qkey, name_key(qbo.company_name)) if k}
    if wkey and wkey == qkey:
        ev.exact = True
        ev.score = SCORE_EXACT_NAME
        if work.name == qbo.name:
            ev.reasons.append(f"same name \u201c{qbo.name}\u201d")
        else:
            ignored = ", ".join(name_differences(work.name, qbo.name)) or "formatting"
            ev.reasons.append(f"same name ignoring {ignored} (\u201c{work.name}\u201d ~ \u201c{qbo.name}\u201d)")
    elif wkeys & qkeys:
        # The business behind a person ("Sofia Marquez" of Marquez HVAC ~ vendor "Marquez HVAC, Inc."):
        # likely, but two people of one company would both match, so it is never pre-accepted.
        ev.score = SCORE_COMPANY_NAME
        ev.reasons.append(f"same company (\u201c{work.company_name or work.name}\u201d ~ "
                          f"\u201c{qbo.company_name or qbo.name}\u201d)")
    else:
        ratio = max((_similarity(a, b) for a in wkeys for b in qkeys), default=0.0)
        if ratio >= SIMILARITY_THRESHOLD:
            ev.score = int(round(SCORE_SIMILAR_NAME_MAX * ratio))
            ev.reasons.append(f"similar name (\u201c{work.name}\u201d ~ \u201c{qbo.name}\u201d, {ratio:.0%} alike)")

    we, qe = email_key(work.email), email_key(qbo.email)
    wp, qp = phone_key(work.phone), phone_key(qbo.phone)
    email_same, email_diff = bool(we and qe and we == qe), bool(we and qe and we != qe)
    phone_same, phone_diff = bool(wp and qp and wp == qp), bool(wp and qp and wp != qp)
    if email_same:
        ev.score = max(ev.score, SCORE_EMAIL) + (10 if ev.score else 0)
        ev.reasons.append(f"same email {qe}")
    if phone_same:
        ev.score = max(ev.score, SCORE_PHONE) + (5 if ev.score else 0)
        ev.reasons.append("same phone number")
    # Contact details that disagree, with none that agree, make a same-name pair doubtful: two
    # different people called "Ann Lee" are common. Such a pair is proposed but never pre-accepted.
    ev.contradicted = (email_diff or phone_diff) and not (email_same or phone_same)
    if ev.contradicted:
        ev.reasons.append("but the " + ("email" if email_diff else "phone number") + " differs")
        ev.score -= 20
    ev.score = max(0, min(100, ev.score))
    if ev.score < MIN_SCORE:
        return None
    return ev


def propose(
    work: Sequence[Candidate],
    qbo: Sequence[Candidate],
    *,
    linked_work: Iterable[str] = (),
    linked_qbo: Iterable[str] = (),
) -> list[Proposal]:
    """All proposals between not-yet-linked records, best first, exact unambiguous ones pre-accepted.

    ``linked_work``/``linked_qbo`` are ids that already have a link (created, imported or matched
    before): they are never proposed again, so a QuickBooks record cannot end up in two links.
    """
    skip_w, skip_q = set(linked_work), set(linked_qbo)
    work = [w for w in work if w.id not in skip_w]
    qbo = [q for q in qbo if q.id not in skip_q]

    # Index QuickBooks records by every key that can make an exact or contact match, so matching
    # 5,000 clients does not compare every pair.
    by_key: dict[str, list[Candidate]] = defaultdict(list)
    for q in qbo:
        keys = {name_key(q.name), name_key(q.company_name), "@" + email_key(q.email), "#" + phone_key(q.phone)}
        for k in keys - {"", "@", "#"}:
            by_key[k].append(q)
    # Similar (not equal) names are looked for among records sharing a word of 3+ letters, and only
    # the best few per Work record are kept: "Dental" is in many names, and a review list of
    # hundreds of weak guesses helps nobody.
    by_word: dict[str, list[Candidate]] = defaultdict(list)
    for q in qbo:
        for word in {t for k in (name_key(q.name), name_key(q.company_name)) for t in k.split() if len(t) >= 3}:
            by_word[word].append(q)

    scored: list[tuple[Candidate, Candidate, _Evidence]] = []
    for w in work:
        keys = {name_key(w.name), name_key(w.company_name), "@" + email_key(w.email), "#" + phone_key(w.phone)}
        pool: dict[str, Candidate] = {}
        for k in keys - {"", "@", "#"}:
            for q in by_key.get(k, ()):
                pool[q.id] = q
        strong = set(pool)
        words = {t for k in (name_key(w.name), name_key(w.company_name)) for t in k.split() if len(t) >= 3}
        for word in words:
            if len(by_word.get(word, ())) <= MAX_WORD_FANOUT:
                for q in by_word.get(word, ()):
                    pool.setdefault(q.id, q)
        weak: list[tuple[Candidate, Candidate, _Evidence]] = []
        for q in pool.values():
            ev = score_pair(w, q)
            if ev is not None:
                (scored if q.id in strong or ev.exact else weak).append((w, q, ev))
        scored += sorted(weak, key=lambda t: -t[2].score)[:MAX_WEAK_PER_RECORD]

    exact_by_work: dict[str, int] = defaultdict(int)
    exact_by_qbo: dict[str, int] = defaultdict(int)
    for w, q, ev in scored:
        if ev.exact:
            exact_by_work[w.id] += 1
            exact_by_qbo[q.id] += 1

    proposals: list[Proposal] = []
    taken_q: set[str] = set()
    for w, q, ev in sorted(scored, key=lambda t: (-t[2].score, t[0].id, t[1].id)):
        unambiguous = ev.exact and exact_by_work[w.id] == 1 and exact_by_qbo[q.id] == 1 and not ev.contradicted
        accepted = unambiguous and q.id not in taken_q
        if accepted:
            taken_q.add(q.id)
        reason = "; ".join(ev.reasons)
        if ev.exact and not unambiguous and not ev.contradicted:
            reason += "; more than one record has this name, so please choose"
        proposals.append(
            Proposal(
                work_id=w.id,
                qbo_id=q.id,
                score=ev.score,
                reason=reason[:1].upper() + reason[1:],
                exact=ev.exact,
                accepted=accepted,
                work_name=w.name,
                qbo_name=q.name,
            )
        )
    return proposals


def check_accept(work_id: str, qbo_id: str, accepted: Iterable[tuple[str, str]]) -> None:
    """Refuse to accept a pair when either record is already in an accepted link.

    ``accepted`` holds the (work_id, qbo_id) pairs already accepted or linked. Raises
    :class:`ConfigurationError` naming the conflicting record, because a QuickBooks record linked to
    two Work clients would receive both clients' edits.
    """
    for w, q in accepted:
        if (w, q) == (work_id, qbo_id):
            continue
        if q == qbo_id:
            raise ConfigurationError(
                f"QuickBooks record {qbo_id} is already linked to Work record {w}.",
                hint="Reject the other proposal first, or choose a different QuickBooks record.",
                field="match",
            )
        if w == work_id:
            raise ConfigurationError(
                f"Work record {work_id} is already linked to QuickBooks record {q}.",
                hint="Reject the other proposal first, or choose a different Work record.",
                field="match",
            )
