"""Entry script for the bundle's ``qbosync`` executable (the CLI), built next to the GUI executable.

Both executables share one folder of libraries, so the CLI costs a few hundred kilobytes, and a
specialist can ask a user to run ``qbosync doctor`` from the installed app's folder.
"""

from qbosync_desktop.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
