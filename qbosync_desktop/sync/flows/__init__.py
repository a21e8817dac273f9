"""The Work → QuickBooks flows, one module per entity (see :mod:`qbosync_desktop.sync.phases`)."""


def import_all() -> None:
    """Import every flow module now (phases import them lazily; a long-lived process warms up here
    instead of during its first run)."""
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
