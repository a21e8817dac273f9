"""JSON documents as they come off the wire, named once.

The seam modules (``sync.protocols``, ``sync.context``, ``sync.plan``, ``sync.pipeline``) are
type-checked with ``disallow_any_explicit`` (see ``[tool.mypy]`` in pyproject.toml): they may not
write ``Any``. A QuickBooks object or a Change's payload really is an open JSON document, so it is
spelled with this alias instead - the only ``Any`` they use, named for what it is.
"""

from __future__ import annotations

from typing import Any

#: One JSON object: a QuickBooks entity (Customer, Invoice, ...), a request body, a Change's meta.
JsonObject = dict[str, Any]
