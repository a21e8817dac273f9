"""The sync engine: pure Python, never imports Qt.

``settings`` holds the seed's settings rules and labels (shared with the UI); the engine core
(``engine``, ``phases``, ``outbox``) plans and applies the Work → QuickBooks flows; the two-way and
onboarding modules (``matching``, ``merge``, ``addresses``) add the QuickBooks → Work side. The engine
is driven from the CLI and from the desktop app's worker thread through the same API.
"""
