"""The Work demo server: Work API v1 (docs/work-api.md) over its own SQLite database.

``WorkSandbox(...).start()`` → config with ``base_url`` and ``api_key``; ``.user`` acts as a Work user;
``.fail_next(status, count)`` injects errors. The demo data is described in :mod:`.seed`.
"""

from qbosync_desktop.sandbox.work.sandbox import WorkSandbox, WorkSandboxConfig

__all__ = ["WorkSandbox", "WorkSandboxConfig"]
