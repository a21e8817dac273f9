"""The sync engine: pure Python, never imports Qt.

``rules/`` holds the seed's settings rules, names, addresses and fingerprints (shared with the UI);
the engine core (``engine``, ``context``, ``plan``, ``pipeline``, ``outbox``) plans and applies the
phases; ``flows/`` holds the Work → QuickBooks flows (one module per entity, on the template in
``flows/outbound``); ``clients/`` the customers ⇄ clients two-way sync; ``onboarding/`` match review
and the preview. The engine is driven from the CLI and from the desktop app's worker process
through the same API.
"""
