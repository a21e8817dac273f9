"""Logging: a rotating file in the log folder (plus stderr for the CLI), with secrets redacted.

The redaction filter runs on every record of every handler we install, and rewrites the *formatted*
message and the exception text: a token can arrive through ``%s`` arguments, an f-string, a
``requests`` exception that quotes a URL or a body, or a traceback. Patterns cover bearer tokens,
``Authorization`` headers, OAuth fields (``access_token``, ``refresh_token``, ``client_secret``,
``code``), API keys, and any exact secret value registered at run time with :func:`register_secret`
(the token manager registers every token it handles).
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
import threading
from pathlib import Path

REDACTED = "[REDACTED]"

_KEYS = r"(?:access_token|refresh_token|id_token|client_secret|api_key|apikey|x-api-key|password|token)"
_PATTERNS = [
    # Authorization: Bearer xyz / Basic xyz  (header dumps, repr of dicts)
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?\s*(?:bearer|basic)\s+)[^\s'\",;}]+"),
    re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9\-._~+/]+=*"),
    # JSON / dict style: "access_token": "xyz"   or  'refresh_token': 'xyz'
    re.compile(rf"(?i)(['\"]{_KEYS}['\"]\s*:\s*['\"])[^'\"]+"),
    # form / query style: access_token=xyz&...
    re.compile(rf"(?i)(\b{_KEYS}=)[^&\s'\"]+"),
    # the one-time authorization code in a redirect address (?code=...&state=...)
    re.compile(r"([?&]code=)[^&\s'\"]+"),
]

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Redact this exact value wherever it appears in a log record from now on."""
    if value and len(value) >= 6:
        with _secrets_lock:
            _secrets.add(value)


def redact(text: str) -> str:
    for pat in _PATTERNS:
        text = pat.sub(lambda m: m.group(1) + REDACTED, text)
    with _secrets_lock:
        values = sorted(_secrets, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """Formats the message once, redacts it, and drops the args so no handler re-formats secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class _LogFile(logging.handlers.RotatingFileHandler):
    """The rotating log file; a full disk (or file size limit) costs log lines, never a traceback.

    ``logging`` prints a "Logging error" traceback to stderr when a handler cannot write: on a full
    disk that would bury the one plain message the user needs. One plain line is printed instead,
    once, and later records are dropped until writing works again.
    """

    _warned = False

    def _open(self):  # type: ignore[no-untyped-def]
        # Created 0600 (a rotation opens a new file: it must not be world-readable either).
        import os

        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return open(fd, self.mode, encoding=self.encoding, errors=self.errors)

    def handleError(self, record: logging.LogRecord) -> None:
        import errno

        exc = sys.exc_info()[1]
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", -1)):
            if not _LogFile._warned:
                _LogFile._warned = True
                try:
                    sys.stderr.write(f"Could not write the log file {self.baseFilename}: the disk is full.\n")
                except (OSError, ValueError):
                    pass
            return
        super().handleError(record)


FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"
_configured_file: Path | None = None


def setup_logging(log_dir: Path, *, stderr: bool = False, level: int = logging.INFO, debug: bool = False) -> Path:
    """Install the rotating file handler (5 × 2 MB) and optionally a stderr handler. Idempotent."""
    global _configured_file
    log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    log_file = log_dir / "qbosync.log"
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if debug else level)
    for h in list(root.handlers):
        if getattr(h, "_qbosync", False):
            root.removeHandler(h)
            h.close()
    handlers: list[logging.Handler] = []
    fh = _LogFile(log_file, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
    handlers.append(fh)
    if stderr:
        sh = logging.StreamHandler(sys.stderr)
        sh.setLevel(logging.DEBUG if debug else logging.WARNING)
        handlers.append(sh)
    for h in handlers:
        h._qbosync = True  # type: ignore[attr-defined]
        h.addFilter(RedactingFilter())
        h.setFormatter(_RedactingFormatter(FORMAT))
        root.addHandler(h)
    try:
        log_file.chmod(0o600)
    except OSError:
        pass
    # urllib3 logs full URLs and peewee logs every SQL statement *with its parameters* at DEBUG (a
    # token written to the keyring-backed practice server's table, a Work API key): keep both at INFO
    # even in debug mode.
    logging.getLogger("urllib3").setLevel(logging.INFO)
    logging.getLogger("peewee").setLevel(logging.INFO)
    _configured_file = log_file
    return log_file


def current_log_file() -> Path | None:
    return _configured_file
