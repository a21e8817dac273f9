"""Fingerprints of the fields we send, so an unchanged Work record costs no QBO request.

A link stores the fingerprint of the payload last written. When the next run builds the same payload
from the same Work data, the fingerprints are equal and the record is skipped without a request: the
issue's "a no-op sync makes at most 2 QBO requests and writes nothing" depends on this. Keys that
change on every write without meaning a change of content (``Id``, ``SyncToken``, ``sparse``) are
left out, and JSON is canonical (sorted keys, no spaces) so equal content hashes equally.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

VOLATILE = frozenset({"Id", "SyncToken", "sparse", "MetaData", "domain"})


def canonical(payload: Any) -> str:
    """Canonical JSON without the volatile keys of the record itself (top level: that is where QBO
    puts them; nested parts we send - lines, addresses - carry none)."""
    if isinstance(payload, dict):
        payload = {k: v for k, v in payload.items() if k not in VOLATILE}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def fingerprint(payload: Any) -> str:
    """A short stable hash of ``payload`` without its volatile keys."""
    return hashlib.sha256(canonical(payload).encode("utf-8")).hexdigest()[:32]
