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
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in VOLATILE}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return json.dumps(strip(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def fingerprint(payload: Any) -> str:
    """A short stable hash of ``payload`` without its volatile keys."""
    return hashlib.sha256(canonical(payload).encode("utf-8")).hexdigest()[:32]
