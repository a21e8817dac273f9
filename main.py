"""Start QBO Sync Desktop: ``python main.py`` (or ``python main.py --demo`` for practice mode)."""

from qbosync_desktop.desktop.app import main

if __name__ == "__main__":
    raise SystemExit(main())
