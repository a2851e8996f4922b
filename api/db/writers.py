"""Where SQLite writers wait for their turn.

SQLite's own busy handler waits by sleeping up to 100 ms at a time, which makes the slowest writers very
slow; so writers queue first on a mutex within the process and then on a lock file beside the database
across processes (several server workers, a command line job).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: writers of one process still queue on the mutex
    fcntl = None


class WriterQueue:
    """A mutex within the process and, for a database file, an exclusive lock on `<file>.writer-lock` across
    processes, polled every 0.1-2 ms. After `timeout_s` without it a writer goes on anyway and SQLite's own
    locking (and busy timeout) decides. The thread that holds the queue may enter it again."""

    def __init__(self, lock_path: Path | None, timeout_s: float):
        self._mutex = threading.Lock()
        self._lock_path = lock_path if fcntl is not None else None
        self._timeout_s = timeout_s
        self._descriptor: int | None = None
        self._held = False
        self._owner: int | None = None
        self._depth = 0

    def _lock_file(self, timeout_s: float) -> bool:
        if self._descriptor is None:
            self._descriptor = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline, pause = time.monotonic() + timeout_s, 0.0001
        while True:
            try:
                fcntl.flock(self._descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(pause)
                pause = min(pause * 2, 0.002)

    def _enter(self, *, wait: bool) -> bool:
        if self._owner == threading.get_ident():
            self._depth += 1
            return True
        if not self._mutex.acquire(blocking=wait):
            return False
        try:
            self._held = self._lock_path is not None and self._lock_file(self._timeout_s if wait else 0)
        except BaseException:
            self._mutex.release()
            raise
        if not wait and self._lock_path is not None and not self._held:  # another process is writing
            self._mutex.release()
            return False
        self._owner, self._depth = threading.get_ident(), 1
        return True

    def try_enter(self) -> bool:
        """Enter without waiting; False, with nothing held, when another writer has the queue."""
        return self._enter(wait=False)

    def __enter__(self) -> None:
        self._enter(wait=True)

    def __exit__(self, *_exc) -> None:
        self.leave()

    def leave(self) -> None:
        self._depth -= 1
        if self._depth:
            return
        self._owner = None
        try:
            if self._held:
                fcntl.flock(self._descriptor, fcntl.LOCK_UN)
                self._held = False
        finally:
            self._mutex.release()

    def close(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None
