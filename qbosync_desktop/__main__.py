"""``python -m qbosync_desktop`` starts the desktop app, like ``python main.py``."""

from qbosync_desktop.desktop.app import main

raise SystemExit(main())
