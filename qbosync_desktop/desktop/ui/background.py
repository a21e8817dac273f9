"""Running blocking work (HTTP, keyring, database) off the GUI thread, results back on it.

The GUI thread must never block. The app's loop is a qasync loop, but the same widgets are driven by
pytest-qt's plain Qt loop in the tests, so instead of ``await loop.run_in_executor`` (which needs a
running asyncio loop) the UI hands work to a small thread pool and gets the result back through a
queued Qt signal. That is exactly what ``run_in_executor`` does under qasync, minus the dependency on
which loop happens to drive Qt; it also means a widget that was closed meanwhile never receives a
result (the relay is parented to it and dies with it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from qbosync_desktop.desktop.signals import emit

log = logging.getLogger(__name__)

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ui-bg")
        return _pool


class _Relay(QObject):
    """Lives on the GUI thread. The worker emits ``done``; because the relay (a QObject slot, not a
    bare function) lives on the GUI thread, Qt queues the call there."""

    done = Signal(object, object)  # (result, exception)

    def __init__(self, owner: QObject, on_done: Callable[[Any], None] | None,
                 on_error: Callable[[BaseException], None] | None, name: str) -> None:
        super().__init__(owner)
        self._on_done = on_done
        self._on_error = on_error
        self._name = name
        self.dropped = False
        self.done.connect(self._deliver)

    @Slot(object, object)
    def _deliver(self, result: Any, exc: BaseException | None) -> None:
        self.deleteLater()
        if self.dropped:
            return
        if exc is not None:
            if self._on_error is not None:
                self._on_error(exc)
            else:
                log.error("Background call %s failed", self._name, exc_info=exc)
        elif self._on_done is not None:
            self._on_done(result)


class Task:
    """A handle on one background call: ``running`` and ``cancel()`` (drops the callback only)."""

    def __init__(self, future: Future, relay: _Relay) -> None:
        self.future = future
        self._relay = relay

    @property
    def running(self) -> bool:
        return not self.future.done()

    def cancel(self) -> None:
        self._relay.dropped = True


def run_in_background(
    owner: QObject,
    fn: Callable[..., Any],
    *args: Any,
    on_done: Callable[[Any], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
) -> Task:
    """Call ``fn(*args)`` on a pool thread; then ``on_done(result)`` or ``on_error(exc)`` on the GUI thread."""
    relay = _Relay(owner, on_done, on_error, getattr(fn, "__name__", repr(fn)))

    def work() -> None:
        try:
            result, exc = fn(*args), None
        except BaseException as error:  # delivered to the GUI thread, never swallowed
            result, exc = None, error
        try:
            emit(relay.done, result, exc)
        except RuntimeError:  # the owner (and the relay) was deleted meanwhile: nobody to tell
            pass

    return Task(pool().submit(work), relay)
