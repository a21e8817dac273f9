"""``qbosync keyring``: where secrets are kept, and the explicit plaintext-file opt-in.

QBO Sync keeps tokens, the client secret and the Work API key in the OS keyring. On a machine with no
usable keyring (a minimal Linux desktop, a server run from cron) the user may choose, knowingly, to
keep them in a 0600 file in the data folder instead. Never chosen silently: ``use-file`` requires
``--i-understand`` after printing what it means, and ``use-keyring`` moves them back.

``status`` exits 0 when secrets can be kept (a usable keyring, or the plaintext file by the user's
choice) and 4 when they cannot (no usable keyring, no opt-in).

Cold start: the secrets module (and with it the keyring package) is imported when a handler runs.
"""

from __future__ import annotations

import argparse

from qbosync_desktop.cli.output import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, print_json
from qbosync_desktop.core.errors import KeyringUnavailable
from qbosync_desktop.core.paths import get_paths

WARNING = (
    "Without a keyring, QBO Sync can keep your QuickBooks tokens, the Intuit client secret and the Work API\n"
    "key in a plain file readable only by your user account ({file}).\n"
    "Anyone who can read your files (a backup, another program running as you) can then use them to\n"
    "read and change your QuickBooks company. Prefer installing a keyring (GNOME Keyring or KWallet).\n"
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("keyring", help="where secrets are kept; opt in to a plaintext file when no keyring exists")
    ksub = p.add_subparsers(dest="keyring_command", metavar="ACTION", required=True)
    st = ksub.add_parser("status", help="the keyring backend and whether it can be used")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=_status)
    f = ksub.add_parser("use-file", help="keep secrets in a private plaintext file (explicit opt-in)")
    f.add_argument("--i-understand", action="store_true", help="confirm after reading the warning")
    f.set_defaults(func=_use_file)
    k = ksub.add_parser("use-keyring", help="move secrets from the plaintext file back into the keyring")
    k.set_defaults(func=_use_keyring)


def _status(args: argparse.Namespace) -> int:
    from qbosync_desktop.core import secrets

    paths = get_paths()
    store = secrets.SecretStore(paths)
    file_mode = secrets.insecure_file_secrets_enabled(paths)
    try:
        store.check()
        usable, problem = True, None
    except KeyringUnavailable as exc:
        usable, problem = False, exc.hint
    info = {"backend": store.backend_name(), "keyring_usable": usable, "plaintext_file": file_mode,
            "file": str(paths.data_dir / "secrets-insecure.json") if file_mode else None, "what_to_do": problem}
    if args.json:
        print_json(info)
    else:
        where = f"a plaintext file ({info['file']}), by your choice" if file_mode else "the system keyring"
        print(f"Secrets are kept in {where}.")
        print(f"Keyring backend: {info['backend']} ({'usable' if usable else 'not usable'})")
        if problem and not file_mode:
            print(f"What to do: {problem}")
    # Non-zero when secrets cannot be kept: no usable keyring and no explicit plaintext-file opt-in
    # (scripts and 'qbosync doctor' users check the code, not the wording).
    return EXIT_OK if usable or file_mode else EXIT_FAILURE


def _use_file(args: argparse.Namespace) -> int:
    from qbosync_desktop.core import secrets

    paths = get_paths()
    print(WARNING.format(file=paths.data_dir / "secrets-insecure.json"))
    if not args.i_understand:
        print("Nothing changed. To go ahead, run: qbosync keyring use-file --i-understand")
        return EXIT_USAGE
    secrets.enable_insecure_file_secrets(paths)
    print("Secrets will now be kept in the private file. Connect again (qbosync connect / work-connect) to store them.")
    return EXIT_OK


def _use_keyring(args: argparse.Namespace) -> int:
    from qbosync_desktop.core import secrets

    moved = secrets.disable_insecure_file_secrets(get_paths())
    print(f"Secrets are kept in the system keyring again ({moved} moved); the plaintext file was deleted.")
    return EXIT_OK
