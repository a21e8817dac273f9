"""The store's models, one module per concept: base (shared helpers), connection, links, outbox,
runs (and cursors), problems, audit, onboarding (match proposals) and conflicts. Their schema steps
are in :mod:`qbosync_desktop.store.schema`."""
