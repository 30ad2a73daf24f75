"""One browser session's camera stream: the glue between a WebRTC frame callback and
``vidcore.stream`` (no Streamlit here, so it is tested without a browser).

The page keeps one ``LiveSession`` per browser session and hands ``on_frame`` to
streamlit-webrtc. Each Start gets a fresh ``LiveStream`` (new window, new counters);
the model, and with it the backbone, is the app's shared cached one.
"""

from __future__ import annotations

import logging
import threading
import time

from vidcore.models.loading import TrainedModel
from vidcore.stream import StreamClassifier
from vidcore.views.live_feed import LiveStream

log = logging.getLogger(__name__)


class LiveSession:
    """Per-session state of the Live page.

    Attributes:
        stream: the current (or last) ``LiveStream``; None before the first frame.
        error: the last error in the frame callback, as one line; None when all is well.
        connect_since: when Start was pressed (monotonic seconds), until frames flow.
    """

    def __init__(self, clock=time.monotonic):
        self.now = clock
        self.stream: LiveStream | None = None
        self.error: str | None = None
        self.connect_since: float | None = None
        self._model: TrainedModel | None = None
        self._options: dict = {}
        self._t0 = 0.0
        self._stopped = True
        self._lock = threading.Lock()

    def configure(self, model: TrainedModel, **options) -> None:
        """Model and ``StreamClassifier`` options for the next stream (a change restarts it)."""
        with self._lock:
            if model is not self._model or options != self._options:
                self._model, self._options = model, dict(options)
                self._stopped = True  # the next frame starts a stream with these
                if self.stream is not None:
                    self.stream.stop()

    def on_frame(self, frame):
        """The WebRTC video callback: hand the frame to the stream, return it unchanged.

        Never raises: an error is logged and kept in ``error`` for the page to show
        (streamlit-webrtc would swallow it and the page would silently stop updating).
        """
        try:
            image = frame.to_ndarray(format="rgb24")
            live = self._current()
            live.offer(image, self.now() - self._t0)
        except Exception as err:  # noqa: BLE001 - see the docstring
            log.exception("live: the frame callback failed")
            self.error = f"{type(err).__name__}: {err}"
        return frame

    def _current(self) -> LiveStream:
        with self._lock:
            if self._stopped or self.stream is None:
                if self._model is None:
                    raise RuntimeError("no model is configured for the live stream")
                classifier = StreamClassifier(self._model, **self._options)
                self.stream = LiveStream(classifier)
                self._t0, self._stopped, self.error = self.now(), False, None
            return self.stream

    def stop(self) -> None:
        """End the current stream (Stop was pressed); its last results stay readable."""
        with self._lock:
            self._stopped = True
            if self.stream is not None:
                self.stream.stop()

    @property
    def running(self) -> bool:
        """Whether frames are being classified now."""
        return not self._stopped and self.stream is not None

    def waited(self) -> float | None:
        """Seconds since Start while no frame has arrived yet; None once frames flow."""
        if self.connect_since is None:
            return None
        if self.running and self.stream.stats().offered > 0:
            return None
        return self.now() - self.connect_since


SLOW_SPAN = 1.25  # a window this much longer than planned is worth saying


def window_note(times: list[float], plan, processed_fps: float) -> str | None:
    """What a full window really spans when this computer cannot keep up, else None.

    The stream keeps frames at the model's rate and drops what it cannot classify in
    time (the newest kept), so on a slow computer the K frames of a window lie further
    apart than the plan says.

    Args:
        times: the times (s) of the current window's frames, oldest first.
        plan: the model's ``WindowPlan``.
        processed_fps: frames classified per second, as ``LiveStats`` measured it.
    """
    if len(times) < plan.frames or len(times) < 2:
        return None
    span = times[-1] - times[0]
    if span <= SLOW_SPAN * plan.seconds:
        return None
    return (f"This computer classifies {processed_fps:.1f} frames/s, fewer than the "
            f"{1 / plan.interval:.1f} this model's window needs, so it keeps the newest "
            f"frames and drops the rest: the window now spans the last {span:.1f} s "
            f"instead of {plan.seconds:g} s.")
