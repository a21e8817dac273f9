"""The Work → QuickBooks flows, one module per entity; :mod:`qbosync_desktop.sync.pipeline` orders them."""
