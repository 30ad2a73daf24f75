"""The streaming classifier and the file timeline, on real demo clips and the demo model.

The clips are rendered by ``vidcore.data.demo`` and encoded with OpenCV here; the model
is the shipped one (weights/demo_model), whose features are real EfficientNet-Lite0
features, so the equivalence and boundary tests exercise the whole pipeline.
"""

from __future__ import annotations

import json
import threading

import cv2
import numpy as np
import pytest

from tests.workspace_clips import action
from vidcore import cli
from vidcore.errors import InputError
from vidcore.predict import load_model, predict
from vidcore.runs import DEMO_MODEL_DIR
from vidcore.stream import KeepClock, StreamClassifier, window_plan
from vidcore.timeline import timeline
from vidcore.views.live_feed import LatestQueue, LiveStream

pytestmark = pytest.mark.slow
FPS = 25


def write_avi(path, frames, fourcc="MJPG"):
    """RGB frames -> AVI at 25 fps (MJPG: nearly lossless, so decoding is stable)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), FPS,
                             (frames.shape[2], frames.shape[1]))
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def decode_all(path):
    """Every frame of a file as RGB, as ``read_frames`` converts them."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return frames




@pytest.fixture(scope="module")
def model():
    return load_model(DEMO_MODEL_DIR)


@pytest.fixture(scope="module")
def two_actions(tmp_path_factory):
    """JumpingJack for 5.2 s, then Punch for 4.4 s, in one XviD file like the demo's."""
    frames = np.concatenate([action("JumpingJack", 5.2), action("Punch", 4.4)])
    path = tmp_path_factory.mktemp("timeline") / "two.avi"
    return write_avi(path, frames, "XVID"), 5.2


def test_window_fed_frame_by_frame_equals_predict(model, tmp_path):
    # 71 frames: the uniform sampler's 8 frames are 0, 10, ..., 70, exactly the frames
    # a 2.8 s window keeps (one every 0.4 s) from a 25 fps stream.
    path = write_avi(tmp_path / "jack.avi", action("JumpingJack", 71 / FPS))
    clf = StreamClassifier(model, window=2.8)
    assert clf.plan.frames == 8 and clf.plan.interval == pytest.approx(0.4)
    steps = [s for i, im in enumerate(decode_all(path)) if (s := clf.push(im, i / FPS))]
    last = steps[-1]
    assert last.frame_times == pytest.approx([i * 0.4 for i in range(8)])
    want = predict(model, path, top_k=len(model.classes)).to_dict()
    for name in model.spec.aggregators:
        expected = dict(want["aggregators"][name]["top"])
        got = dict(zip(model.classes, last.probabilities[name], strict=True))
        assert got == pytest.approx(expected, abs=2e-3), name
    assert last.label == want["primary_label"] == "JumpingJack"
    assert len(steps) == 1  # no verdict before the window is full, one per kept frame after


def test_keep_clock_thins_a_camera_to_the_model_rate():
    clock = KeepClock(0.4)
    times = np.arange(0, 4, 1 / 30)  # a 30 fps camera
    kept = [t for t in times if clock.wants(t)]
    assert len(kept) == 10
    assert np.all(np.abs(np.diff(kept) - 0.4) < 1 / 30)
    # a source that stalls: one late frame is kept, and the grid moves on past it
    assert clock.wants(10.0) and not clock.wants(10.1) and clock.wants(10.41)


def test_window_plan_from_the_model_and_bad_windows(model):
    plan = window_plan(model)
    assert (plan.frames, plan.seconds) == (8, 3.0) and plan.rate == pytest.approx(7 / 3)
    for bad in (0, -1.0, float("nan"), "3"):
        with pytest.raises(InputError, match="window"):
            window_plan(model, bad)
    with pytest.raises(InputError, match="step"):
        StreamClassifier(model, step=0)


def test_smoothing_averages_steps_and_can_be_switched_off(model):
    raw = StreamClassifier(model, window=0.7, min_frames=1)
    smooth = StreamClassifier(model, window=0.7, smoothing=0.3, min_frames=1)
    jack, punch = action("JumpingJack", 1.0), action("Punch", 1.0)
    frames = list(jack[::5]) + list(punch[::5])
    raws, smooths = [], []
    for i, im in enumerate(frames):
        raws.append(raw.push_kept(im, i * 0.1))
        smooths.append(smooth.push_kept(im, i * 0.1))
    assert np.array_equal(raws[-1].scores, raws[-1].probabilities[model.primary])
    a = np.array([s.scores for s in smooths])
    r = np.array([s.probabilities[model.primary] for s in smooths])
    expected = r[0]
    for row in r[1:]:
        expected = 0.3 * row + 0.7 * expected
    assert a[-1] == pytest.approx(expected, abs=1e-9)
    assert not np.allclose(a[-1], r[-1], atol=1e-3)  # smoothing changed something


def test_latest_queue_drops_the_oldest_and_counts():
    q = LatestQueue(2)
    for i in range(5):
        q.put(i)
    assert q.dropped == 3 and q.get(0) == 3 and q.get(0) == 4 and q.get(0) is None


def test_live_stream_accounts_for_every_kept_frame(model):
    clf = StreamClassifier(model, window=0.7, min_frames=1)
    gate, started = threading.Event(), threading.Event()
    real = clf.push_kept

    def slow(image, t):  # the model "falls behind" until the gate opens
        started.set()
        gate.wait(10)
        return real(image, t)

    clf.push_kept = slow
    live = LiveStream(clf, queue_size=2)
    frame = action("Punch", 0.04)[0]
    live.offer(frame, 0.0)
    assert started.wait(10)  # the worker holds frame 0
    for i in range(1, 40):  # 25 fps for 1.56 s: kept every 0.1 s
        live.offer(frame, i / FPS)
    gate.set()
    live.stop()
    stats = live.stats()
    assert stats.offered == 40 and stats.kept == 16
    assert stats.dropped == 13 and stats.processed == 3  # frame 0 + the 2 newest
    assert stats.kept == stats.processed + stats.dropped + len(live.queue)
    assert [t for t, _ in live.window_frames()][-1] == pytest.approx(38 / FPS)
    assert live.latest().label and stats.error is None
    assert len(live.recorded(0.98)) == 25  # every frame of the last 0.98 s


def test_live_stream_reports_an_error_in_the_model_and_keeps_going(model):
    clf = StreamClassifier(model, window=0.7, min_frames=1)
    calls = []
    real = clf.push_kept

    def flaky(image, t):
        calls.append(t)
        if len(calls) == 1:
            raise ValueError("broken frame")
        return real(image, t)

    clf.push_kept = flaky
    live = LiveStream(clf)
    frame = action("Punch", 0.04)[0]
    live.process((frame, 0.0, 0.0, frame))
    assert live.stats().error == "ValueError: broken frame"
    live.process((frame, 0.1, 0.0, frame))
    assert live.stats().processed == 1 and live.latest() is not None


def test_timeline_finds_the_boundary_between_two_actions(model, two_actions):
    path, boundary = two_actions
    tl = timeline(model, path)
    labels = [s["label"] for s in tl.segments]
    assert labels == ["JumpingJack", "Punch"]
    assert abs(tl.segments[0]["end"] - boundary) <= tl.step
    assert tl.segments[0]["start"] == 0 and tl.segments[-1]["end"] == pytest.approx(9.6)
    times = [s.time for s in tl.steps]
    assert times == sorted(times) and len(times) == len(set(times))


@pytest.mark.parametrize("threshold,unfamiliar", [(2.5, False), (-1.0, True)])
def test_timeline_windows_are_checked_for_familiarity(two_actions, tmp_path, threshold,
                                                      unfamiliar):
    """A run with a familiarity file has each window checked: an unfamiliar window is
    unsure (no confident answer) and its segment says why. Cosine distances lie in
    [0, 2]: a threshold of 2.5 flags nothing, -1 flags every window."""
    import shutil

    from vidcore.familiarity import Familiarity

    run = tmp_path / "run"
    shutil.copytree(DEMO_MODEL_DIR, run)
    bank = np.ones((3, 1280), np.float32) / np.sqrt(1280)
    Familiarity(bank, 1, 0.99, threshold).save(run)
    tl = timeline(load_model(run), two_actions[0])
    assert {s.unfamiliar for s in tl.steps} == {unfamiliar}
    if unfamiliar:
        assert all(s.unsure for s in tl.steps)
        assert [(seg["label"], seg["unfamiliar"]) for seg in tl.segments] == [(None, True)]
    else:
        assert [seg["label"] for seg in tl.segments] == ["JumpingJack", "Punch"]
    assert tl.to_dict()["steps"][0]["unfamiliar"] is unfamiliar


def test_timeline_confidences_are_temperature_scaled_where_fitted(model, two_actions,
                                                                   tmp_path):
    import shutil

    from vidcore.calibration import apply_temperature, save_calibration

    run = tmp_path / "run"
    shutil.copytree(DEMO_MODEL_DIR, run)
    save_calibration(run, {"format": 1, "method": "temperature",
                           "aggregators": {model.primary: {"temperature": 3.0}}})
    plain, scaled = timeline(model, two_actions[0]), timeline(load_model(run), two_actions[0])
    first, hot = plain.steps[0], scaled.steps[0]
    want = apply_temperature(3.0, probs=first.probabilities[model.primary])
    assert hot.probabilities[model.primary] == pytest.approx(want, abs=1e-9)
    assert hot.label == first.label and hot.confidence < first.confidence


def test_the_shipped_model_has_no_familiarity_check(model, two_actions):
    assert {s.unfamiliar for s in timeline(model, two_actions[0]).steps} == {None}


def test_cli_timeline_json_and_text(two_actions, capsys):
    path, boundary = two_actions
    assert cli.main(["predict", str(path), "--timeline", "--step", "0.8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["timeline"]["step"] == pytest.approx(6 / 7)  # 0.8 s rounds to 2 intervals
    assert [s["label"] for s in out["segments"]] == ["JumpingJack", "Punch"]
    assert abs(out["segments"][1]["start"] - boundary) <= out["timeline"]["step"]
    assert set(out["steps"][0]["probabilities"]) == {"temporal", "mode", "mean"}
    assert out["primary_label"] in ("JumpingJack", "Punch")  # the whole-clip answer stays
    assert cli.main(["predict", str(path), "--timeline"]) == 0
    text = capsys.readouterr().out
    assert "timeline:" in text and "JumpingJack" in text.split("timeline:")[1]


def test_cli_timeline_bad_window_is_one_line(two_actions, capsys):
    path, _ = two_actions
    assert cli.main(["predict", str(path), "--timeline", "--window", "-2"]) == 2
    err = capsys.readouterr().err.strip()
    assert "window must be a positive number" in err and len(err.splitlines()) == 1
