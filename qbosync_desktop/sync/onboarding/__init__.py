"""Onboarding: match review - pure scoring (:mod:`.matching`), stored proposals and decisions
(:mod:`.review`, the API the engine delegates to) - and the preview's words (:mod:`.preview`)."""
