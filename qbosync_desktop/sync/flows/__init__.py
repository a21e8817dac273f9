"""The Work → QuickBooks flows, one module per entity on the template in :mod:`.outbound` (its plan loop)
and :mod:`.base` (shared helpers); :mod:`qbosync_desktop.sync.pipeline` orders them."""
