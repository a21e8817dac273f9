"""The Work → QuickBooks flows, one module per entity (see :mod:`qbosync_desktop.sync.phases`)."""
