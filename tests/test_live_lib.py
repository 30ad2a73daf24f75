"""The Live page's library parts: ICE settings, clip writing, the per-session glue."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from vidcore import clips
from vidcore.data.video import probe
from vidcore.errors import InputError
from vidcore.views import ice
from vidcore.views.live import LiveSession


def test_ice_default_is_an_explicit_empty_list():
    assert ice.rtc_configuration({}) == {"iceServers": []}  # not {}: that means "unset"


def test_ice_servers_from_the_variable_and_from_a_file(tmp_path):
    servers = [{"urls": ["stun:stun.example.org:3478"]},
               {"urls": "turn:turn.example.org", "username": "u", "credential": "p"}]
    assert ice.rtc_configuration({ice.ENV: json.dumps(servers)}) == {"iceServers": servers}
    path = tmp_path / "ice.json"
    path.write_text(json.dumps(servers))
    assert ice.rtc_configuration({ice.ENV_FILE: str(path)})["iceServers"] == servers


@pytest.mark.parametrize("value, message", [
    ("stun:x", "not valid JSON"), ('{"urls": "stun:x"}', "must be a JSON list"),
    ('[{"url": "stun:x"}]', "must be a JSON list")])
def test_bad_ice_settings_say_what_to_write(value, message):
    with pytest.raises(InputError, match=message):
        ice.rtc_configuration({ice.ENV: value})


def test_missing_ice_file_is_named(tmp_path):
    with pytest.raises(InputError, match="cannot be read"):
        ice.rtc_configuration({ice.ENV_FILE: str(tmp_path / "nope.json")})


def _frames(n, fps=12.5, size=(64, 48)):
    rng = np.random.default_rng(0)
    return [(i / fps, rng.integers(0, 255, (size[1], size[0], 3), np.uint8)) for i in range(n)]


def test_write_clip_keeps_the_seen_rate_and_length(tmp_path):
    path = clips.write_clip(_frames(25), tmp_path / "out", "kept.avi")
    info = probe(path)
    assert (info.frame_count, info.width, info.height) == (25, 64, 48)
    assert info.fps == pytest.approx(12.5, rel=0.01)
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp left
    cap = cv2.VideoCapture(str(path))
    assert cap.read()[0]
    cap.release()


def test_write_clip_refuses_nothing_and_odd_names(tmp_path):
    with pytest.raises(InputError, match="no frames"):
        clips.write_clip([], tmp_path)
    for name in ("../x.avi", "x.mp4"):
        with pytest.raises(InputError, match="plain file name"):
            clips.write_clip(_frames(2), tmp_path, name)


class _Frame:
    def __init__(self, fail=False):
        self.fail = fail

    def to_ndarray(self, format):
        if self.fail:
            raise ValueError("undecodable frame")
        return np.zeros((48, 64, 3), np.uint8)


def test_session_callback_never_raises_and_reports():
    session = LiveSession()
    frame = _Frame()
    assert session.on_frame(frame) is frame  # no model configured yet: reported, not raised
    assert "no model is configured" in session.error
    session.error = None
    assert session.on_frame(_Frame(fail=True)) is not None
    assert session.error == "ValueError: undecodable frame"


def test_session_waits_then_sees_frames():
    now = [100.0]
    session = LiveSession(clock=lambda: now[0])
    session.connect_since = 100.0
    now[0] = 125.0
    assert session.waited() == 25.0 and not session.running


def test_a_recorded_clip_joins_a_class_of_my_datasets(tmp_path, monkeypatch):
    """What the Live page's "Add the clip" does: the recording becomes a clip of its own
    recording group in a workspace dataset, listed with its source."""
    from vidcore import workspace

    monkeypatch.setenv("VIDCORE_HOME", str(tmp_path / "ws"))
    workspace.create("camera-set")
    clip = clips.write_clip(_frames(25), tmp_path / "rec", "live-1.avi")
    added = workspace.add_clips("camera-set", "Wave", [(clip.name, clip)], source="camera")
    assert added["added"] == 1 and not added["skipped"]
    table = workspace.clip_table("camera-set")
    assert [(row["class"], row["source"]) for row in table] == [("Wave", "camera")]
    again = workspace.add_clips("camera-set", "Wave", [(clip.name, clip)], source="camera")
    groups = {row["group"] for row in workspace.clip_table("camera-set")}
    assert again["added"] == 1 and len(groups) == 2  # each recording its own group


def test_a_slow_computer_is_told_what_its_window_really_spans():
    from vidcore.stream import WindowPlan
    from vidcore.views.live import window_note

    plan = WindowPlan(3.0, 8, 3.0 / 7)
    kept_up = [i * plan.interval for i in range(8)]
    assert window_note(kept_up, plan, 2.4) is None
    assert window_note(kept_up[:5], plan, 0.6) is None  # not a full window yet
    slow = [i * 1.1 for i in range(8)]  # 0.9 frames/s: 7.7 s from first to last
    note = window_note(slow, plan, 0.9)
    assert "classifies 0.9 frames/s, fewer than the 2.3" in note
    assert "spans the last 7.7 s instead of 3 s" in note


def test_a_stop_says_why_only_when_it_was_not_the_users():
    from vidcore.views.live import LOST_S, stop_reason

    assert stop_reason(last_frame_at=99.0, ended_at=None, stopped_at=100.0) is None  # a Stop
    assert stop_reason(99.0, ended_at=101.0, stopped_at=100.0) is None  # closed after it
    lost = stop_reason(100.0 - LOST_S - 6, ended_at=None, stopped_at=100.0)
    assert lost.startswith("The connection was lost: no video reached the server for 12 s")
    server = stop_reason(99.0, ended_at=99.5, stopped_at=100.0)
    assert server.startswith("The connection ended on the server's side")


def test_the_session_keeps_the_reason_of_a_stop_it_did_not_ask_for():
    now = [100.0]
    session = LiveSession(clock=lambda: now[0])
    session.stream, session._stopped = _Stream(), False  # a running stream
    session.last_frame_at = 100.0
    now[0] = 103.0
    assert session.silent_for() == 3.0 and not session.ended_on_server
    session.on_ended()  # the server's end closed first ...
    assert session.ended_on_server
    now[0] = 104.0
    session.browser_stopped()  # ... then the browser noticed
    session.stop()
    assert session.stop_reason.startswith("The connection ended on the server's side")
    assert session.silent_for() is None  # not running any more


class _Stream:
    def stop(self):
        pass


def test_the_page_script_holds_only_disconnected_and_marks_the_frame():
    from webapp import live_link

    script = live_link.hold_script(grace_s=2.5)
    assert "const GRACE_MS = 2500;" in script and live_link.COMPONENT_TITLE in script
    assert 'pc.connectionState === "disconnected"' in script
    assert "win.__vidcoreGraceMs = GRACE_MS" in script


def test_the_server_lets_a_busy_browser_answer_late(monkeypatch):
    import aioice.ice

    from webapp import live_link

    monkeypatch.setattr(aioice.ice, "CONSENT_FAILURES", 6)
    live_link.patient_consent()
    assert aioice.ice.CONSENT_FAILURES == live_link.CONSENT_FAILURES > 6
    # aioice reads the module's setting at each check (an upgrade that stops doing so
    # would silently bring back the 30 s limit)
    assert "CONSENT_FAILURES" in aioice.ice.Connection.query_consent.__code__.co_names
