"""A long clip's timeline takes the app's inference lane chunk by chunk (issue 28), so
other visitors' verdicts take turns with it instead of waiting for the whole clip."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from tests.test_stream import write_avi
from tests.workspace_clips import action
from vidcore import timeline as timeline_module
from vidcore.data.video import probe
from vidcore.predict import load_model
from vidcore.runs import DEMO_MODEL_DIR
from vidcore.stream import window_plan
from vidcore.timeline import grid_positions


class CountingLane:
    """A lock that notes every entry and exit and fails if entered while held."""

    def __init__(self):
        self.lock, self.events = threading.Lock(), []

    def __enter__(self):
        assert self.lock.acquire(blocking=False), "entered while held"
        self.events.append("enter")

    def __exit__(self, *exc):
        self.events.append("exit")
        self.lock.release()


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    frames = np.concatenate([action("JumpingJack", 4.0), action("Punch", 4.0)])
    return write_avi(tmp_path_factory.mktemp("lane") / "two.avi", frames)


def test_the_lane_is_held_per_chunk_and_the_answer_is_the_same(clip, monkeypatch):
    model = load_model(DEMO_MODEL_DIR)
    plain = timeline_module.timeline(model, clip)
    monkeypatch.setattr(timeline_module, "CHUNK", 16)
    lane = CountingLane()
    laned = timeline_module.timeline(model, clip, lane=lane)
    kept = len(grid_positions(probe(clip), window_plan(model).interval).frame_ids)
    chunks = math.ceil(kept / 16)
    assert chunks > 1 and lane.events == ["enter", "exit"] * chunks
    assert [s.label for s in laned.steps] == [s.label for s in plain.steps]
    assert laned.segments == plain.segments
