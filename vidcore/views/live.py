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
        stop_reason: why the last stream stopped when it was not the user's Stop, as one
            line (``stop_reason``); None after a Stop and while a stream runs.
    """

    def __init__(self, clock=time.monotonic):
        self.now = clock
        self.stream: LiveStream | None = None
        self.error: str | None = None
        self.connect_since: float | None = None
        self.stop_reason: str | None = None
        self.last_frame_at: float | None = None  # when the newest frame arrived
        self._ended_at: float | None = None  # when the server's end of the stream ended
        self._stopped_at: float | None = None  # when the browser said it stopped
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
        self.last_frame_at = self.now()
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
                self.stop_reason = self._ended_at = self._stopped_at = None
            return self.stream

    def on_ended(self) -> None:
        """streamlit-webrtc's ``on_video_ended``: the server's end of the video ended
        (its connection closed, or the page stopped the stream)."""
        if self._ended_at is None:
            self._ended_at = self.now()

    def browser_stopped(self) -> None:
        """The camera component said it is neither playing nor connecting (its
        ``on_change``, called before the server closes its end)."""
        if self._stopped_at is None:
            self._stopped_at = self.now()

    def stop(self) -> None:
        """End the current stream (Stop was pressed, or the connection ended); its last
        results stay readable, and ``stop_reason`` says why when it was not a Stop."""
        with self._lock:
            if not self._stopped and self.stream is not None:
                self.stop_reason = stop_reason(self.last_frame_at, self._ended_at,
                                               self._stopped_at or self.now())
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

    @property
    def ended_on_server(self) -> bool:
        """Whether the server's end of the running stream has ended (its connection
        closed) while the browser may still think it streams."""
        return self.running and self._ended_at is not None

    def silent_for(self) -> float | None:
        """Seconds without a new frame while a stream runs, once that is SILENT_S or
        more (frames come many times a second); None otherwise."""
        if not self.running or self.last_frame_at is None:
            return None
        silent = self.now() - self.last_frame_at
        return silent if silent >= SILENT_S else None


SILENT_S = 3.0  # no frame this long while streaming: the page says so
# No frame this long before the browser stopped: the connection was lost, not stopped
# (a Stop ends the frames and reaches the server a few seconds later on a busy machine;
# a lost connection is held webapp.live_link.GRACE_S seconds before the browser gives up).
LOST_S = 6.0


def stop_reason(last_frame_at: float | None, ended_at: float | None,
                stopped_at: float) -> str | None:
    """Why a stream stopped, as one line, when it was not the user's Stop; else None.

    Args:
        last_frame_at: when the last frame reached the server (monotonic seconds).
        ended_at: when the server's end of the video ended, if it did.
        stopped_at: when the browser's component said it stopped (or the page saw it).
    """
    if ended_at is not None and ended_at < stopped_at:
        return ("The connection ended on the server's side: the browser stopped answering "
                "its checks (the network dropped, the tab went to sleep, or this computer "
                "was too busy to answer). Press Start to go on.")
    if last_frame_at is not None and stopped_at - last_frame_at >= LOST_S:
        return (f"The connection was lost: no video reached the server for "
                f"{stopped_at - last_frame_at:.0f} s before the browser gave up on it (the "
                "network dropped, the camera stopped sending, or this computer was too "
                "busy to answer the browser). Press Start to go on.")
    return None


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
