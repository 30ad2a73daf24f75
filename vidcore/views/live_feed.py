"""A camera feed into a ``StreamClassifier``: ``offer`` never blocks, one worker infers.

The camera's callback thread must never wait for the model, and a model that falls
behind must not lag ever further behind the camera: frames go through a bounded queue
that keeps the newest (``LatestQueue``), one worker thread embeds them and steps the
classifier (``vidcore.stream``), and ``LiveStats`` says what was offered, kept, processed
and dropped, and how late the labels come.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from vidcore.data.video import resize_frame
from vidcore.errors import InputError

if TYPE_CHECKING:
    from vidcore.stream import Step, StreamClassifier

log = logging.getLogger(__name__)


class LatestQueue:
    """A bounded queue that keeps the newest items: a full queue drops its oldest.

    ``dropped`` counts what was dropped, so a consumer that falls behind says so
    instead of lagging ever further behind the camera.
    """

    def __init__(self, maxsize: int = 2):
        if maxsize < 1:
            raise InputError(f"the queue needs room for at least 1 frame, got {maxsize}")
        self._items: collections.deque = collections.deque()
        self._cond = threading.Condition()
        self.maxsize, self.dropped, self.closed = maxsize, 0, False

    def put(self, item) -> None:
        """Add ``item``; drop the oldest first when full."""
        with self._cond:
            if len(self._items) >= self.maxsize:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self._cond.notify()

    def get(self, timeout: float | None = None):
        """The oldest item, waiting up to ``timeout`` s; None when empty or closed."""
        with self._cond:
            if not self._items and not self.closed:
                self._cond.wait(timeout)
            return self._items.popleft() if self._items else None

    def close(self) -> None:
        """Wake the consumer; later ``get`` calls return what is left, then None."""
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class LiveStats:
    """What a live stream did so far (a snapshot; see ``LiveStream.stats``)."""

    offered: int = 0          # frames that arrived
    kept: int = 0             # frames the clock kept for the model
    processed: int = 0        # kept frames embedded
    dropped: int = 0          # kept frames the queue dropped because the model fell behind
    processed_fps: float = 0.0  # embedded frames per second, over the last few seconds
    delay_s: float | None = None  # arrival of the newest labelled frame -> its label
    error: str | None = None  # the last error inside the stream, if any


class LiveStream:
    """A classifier fed from a camera callback: ``offer`` never blocks, a worker infers.

    The callback thread calls ``offer(image, t)``; the clock picks the frames the model
    wants and puts them on a ``LatestQueue``; one worker thread embeds them and steps.
    Steps, the window's frames (small copies) and the last ``record_s`` seconds of every
    frame (for ``write_clip``) are kept for the page to read at any time.

    Args:
        classifier: the ``StreamClassifier`` (one per browser session).
        history_s: seconds of steps kept for the rolling chart.
        record_s: seconds of frames kept for recording (0: none).
        record_width: recorded and thumbnail frames are scaled down to this width.
        clock: time source (seconds), for tests.
    """

    def __init__(self, classifier: StreamClassifier, history_s: float = 30.0,
                 record_s: float = 10.0, record_width: int = 320, queue_size: int = 2,
                 clock: Callable[[], float] = time.monotonic):
        self.classifier, self.history_s, self.record_s = classifier, history_s, record_s
        self.record_width, self.now = record_width, clock
        self.queue = LatestQueue(queue_size)
        self.steps: collections.deque = collections.deque()
        self.window: collections.deque = collections.deque(maxlen=classifier.plan.frames)
        self.recent: collections.deque = collections.deque()  # (t, small RGB) of every frame
        self._stats = LiveStats()
        self._done: collections.deque = collections.deque(maxlen=64)  # processing end times
        self.delays: collections.deque = collections.deque(maxlen=1024)  # arrival -> label, s
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._stop = threading.Event()

    # ---------------------------------------------------------------- producer side

    def offer(self, image: np.ndarray, t: float) -> None:
        """Hand over one RGB frame at stream time ``t`` (seconds); returns at once.

        Ignored after ``stop``: a stopped stream stays stopped.
        """
        if self._stop.is_set():
            return
        arrival = self.now()
        small = self._small(image)
        with self._lock:
            self._stats.offered += 1
            if self.record_s > 0:
                self.recent.append((float(t), small))
                while self.recent and self.recent[0][0] < t - self.record_s:
                    self.recent.popleft()
        if self.classifier.clock.wants(t):
            with self._lock:
                self._stats.kept += 1
            self.queue.put((image, float(t), arrival, small))
        self._ensure_worker()

    def _small(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        if w <= self.record_width:
            return np.ascontiguousarray(image)
        return resize_frame(image, (self.record_width, max(2, round(h * self.record_width / w))))

    # ---------------------------------------------------------------- consumer side

    def _ensure_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._work, name="vidcore-live", daemon=True)
            self._worker.start()

    def _work(self) -> None:
        while True:  # after stop, what is queued is still processed, then the thread ends
            item = self.queue.get(timeout=0.2)
            if item is not None:
                self.process(item)
            elif self._stop.is_set():
                return

    def process(self, item) -> None:
        """Embed one queued frame and record the step (the worker's job; public for tests)."""
        image, t, arrival, small = item
        try:
            step = self.classifier.push_kept(image, t)
        except Exception as err:  # noqa: BLE001 - a dead worker would freeze the page silently
            log.exception("live stream: processing the frame at %.2f s failed", t)
            with self._lock:
                self._stats.error = f"{type(err).__name__}: {err}"
            return
        finished = self.now()
        with self._lock:
            self._stats.processed += 1
            self._done.append(finished)
            self.window.append((t, small))
            if step is not None:
                self._stats.delay_s = finished - arrival
                self.delays.append(finished - arrival)
                self.steps.append(step)
                while self.steps and self.steps[0].time < t - self.history_s:
                    self.steps.popleft()

    def stop(self) -> None:
        """End the worker; the steps and frames stay readable."""
        self._stop.set()
        self.queue.close()
        if self._worker is not None:
            self._worker.join(timeout=5)

    # ---------------------------------------------------------------- reading

    def stats(self) -> LiveStats:
        """A snapshot of the counters, processed frames/s and the last delay."""
        with self._lock:
            s = LiveStats(**self._stats.__dict__)
            done = list(self._done)
        s.dropped = self.queue.dropped
        recent = [d for d in done if d >= self.now() - 5.0]
        if len(recent) > 1 and recent[-1] > recent[0]:
            s.processed_fps = (len(recent) - 1) / (recent[-1] - recent[0])
        return s

    def latest(self) -> Step | None:
        """The newest step, or None before the first."""
        with self._lock:
            return self.steps[-1] if self.steps else None

    def history(self) -> list[Step]:
        """The steps of the last ``history_s`` seconds, oldest first."""
        with self._lock:
            return list(self.steps)

    def window_frames(self) -> list[tuple[float, np.ndarray]]:
        """(time, small RGB frame) of the frames in the current window, oldest first."""
        with self._lock:
            return list(self.window)

    def recorded(self, seconds: float | None = None) -> list[tuple[float, np.ndarray]]:
        """(time, small RGB frame) of the last ``seconds`` (default ``record_s``) of frames."""
        with self._lock:
            frames = list(self.recent)
        if not frames:
            return []
        since = frames[-1][0] - (seconds if seconds is not None else self.record_s)
        return [f for f in frames if f[0] >= since]
