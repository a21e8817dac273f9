"""QBO Sync Desktop: keeps a Work system and a QuickBooks Online company in step."""

__version__ = "0.1.0"
APP_NAME = "QBO Sync"
APP_ID = "qbosync-desktop"
ORG_NAME = "QBO Sync"
