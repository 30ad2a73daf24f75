"""Browser previews made in the background: asking never waits for a transcode.

Converting a UCF101 clip for the browser takes a fraction of a second to seconds
(``webio.browser_clip``). A page that converted the first matching clip on every search
or filter change would freeze for that long each time; instead it asks
``Previews.get``, which answers at once with the finished preview or None (then the
conversion runs in a worker thread), and asks again at the end of its run. Finished
previews are kept per file version (uploads per content), the most recently used first.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from vidcore.errors import VideoReadError
from vidcore.views import webio


class Previews:
    """A small cache of ``(bytes, mime)`` previews, filled by a background worker.

    Args:
        make: path -> ``(bytes, mime)``; ``webio.browser_clip`` by default.
        keep: finished previews kept (older ones are dropped).
        workers: conversions run at once (one: a 2-core machine also serves the app).
    """

    def __init__(self, make: Callable[[str], tuple[bytes, str]] = webio.browser_clip,
                 keep: int = 32, workers: int = 1):
        self._make, self._keep = make, keep
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="vidcore-preview")
        self._jobs: OrderedDict[tuple, Future] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: str | os.PathLike) -> tuple[bytes, str] | None:
        """The preview of ``path`` when it is made, else None (and it is being made).

        Raises:
            VideoReadError: the conversion failed (the video cannot be decoded); asking
                again retries it.
        """
        key = _key(path)
        return self._answer(key, lambda: self._make(key[0]))

    def get_upload(self, digest: str, data: bytes, name: str) -> tuple[bytes, str] | None:
        """``get`` for uploaded bytes, keyed by their digest: the worker converts a private
        copy (``webio.saved_upload``), so the caller keeps no file for it.

        Raises:
            VideoReadError: the upload cannot be decoded (named by ``name``).
        """
        def make() -> tuple[bytes, str]:
            with webio.saved_upload(data, name) as path:
                try:
                    return self._make(str(path))
                except VideoReadError as err:  # name the user's file, not the private copy
                    raise VideoReadError(name, err.reason) from None

        return self._answer(("upload", digest), make)

    def _answer(self, key: tuple, make: Callable) -> tuple[bytes, str] | None:
        job = self._job(key, make)
        if not job.done():
            return None
        error = job.exception()
        if error is not None:
            with self._lock:
                self._jobs.pop(key, None)
            raise error
        return job.result()

    def wait_idle(self, timeout: float | None = None) -> None:
        """Block until every conversion asked for so far is over (for tests and scripts)."""
        with self._lock:
            jobs = list(self._jobs.values())
        wait(jobs, timeout)

    def _job(self, key: tuple, make: Callable) -> Future:
        with self._lock:
            job = self._jobs.get(key)
            if job is None:
                job = self._jobs[key] = self._pool.submit(make)
            self._jobs.move_to_end(key)
            while len(self._jobs) > self._keep:
                old_key, old = next(iter(self._jobs.items()))
                if not old.done():  # never drop a conversion still running
                    break
                del self._jobs[old_key]
            return job


def _key(path) -> tuple[str, int]:
    """A file version: its path and modification time (0 when it cannot be read)."""
    path = os.fspath(path)
    try:
        return path, os.stat(path).st_mtime_ns
    except OSError:
        return path, 0
