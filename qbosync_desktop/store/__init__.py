"""Local storage: peewee models on SQLite, bound at start-up through a proxy."""

from qbosync_desktop.store.db import close_database, database, open_database

__all__ = ["close_database", "database", "open_database"]
