"""The Dataset page's Map under AppTest, on a dataset of My datasets: the map and its
colours, and the one-click fixes (move to the suggested class, delete, keep one of a
pair) going through the workspace API. The map job is written by hand
(tests/map_results.py); the background process itself is tested in test_map_jobs.py."""

from __future__ import annotations

import json

import pytest

from tests.apptest import open_page, start_app
from tests.map_results import write_finished_job
from tests.workspace_clips import demo_clips
from vidcore import workspace as ws
from vidcore.data.index import load_index
from vidcore.data.sampling import UniformSampler
from vidcore.views import map_jobs, map_view
from webapp import state


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return demo_clips(tmp_path_factory.mktemp("map-clips"))


@pytest.fixture
def mapped(tiny_demo, clips, tmp_path, monkeypatch):
    """A workspace dataset with a finished map: a Kick clip that looks like JumpingJack,
    and a near-duplicate pair across classes; the app on its Dataset page."""
    env = {"VIDCORE_DEMO_DIR": tiny_demo, "VIDCORE_RUNS": tmp_path / "runs",
           "VIDCORE_STORE": tmp_path / "features", "VIDCORE_HOME": tmp_path / "ws"}
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    ws.create("acts")
    for name in ("JumpingJack", "Kick"):
        ws.add_clips("acts", name, [(p.name, p) for (c, _), p in clips.items() if c == name])
    index = load_index(ws.resolve_dataset("acts"))
    kick = [r.path for r in index.records if r.class_name == "Kick"]
    jack = [r.path for r in index.records if r.class_name == "JumpingJack"]
    write_finished_job(index, map_view.map_spec(UniformSampler(8)), tmp_path / "features",
                       duplicates=[{"a": jack[0], "b": kick[1], "similarity": 0.97,
                                    "cross_split": True, "same_group": False}],
                       issues=[{"path": kick[0], "given": "Kick", "suggested": "JumpingJack",
                                "score": 0.01}])
    started = []
    monkeypatch.setattr(map_jobs, "start_map_job", lambda *args: started.append(args))
    at = start_app(monkeypatch, env)
    at.session_state[state.DATASET_SOURCE] = state.MINE
    at.session_state[state.MY_DATASET] = "acts"
    return open_page(at, "dataset"), kick, jack, started


def _map(at) -> dict:
    return next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                if "dataset-map" in c.proto.id)


def test_the_map_colours_by_class_and_by_issue(mapped):
    at, kick, jack, _ = mapped
    assert {t["name"] for t in _map(at)["data"]} == {"JumpingJack", "Kick"}
    assert all(t["type"] == "scattergl" for t in _map(at)["data"])
    at.segmented_control(key="map-color").set_value("issue").run()
    assert not at.exception, at.exception
    named = {t["name"]: list(t["customdata"]) for t in _map(at)["data"]}
    assert named[map_view.LABEL_ISSUE] == [kick[0]]
    assert sorted(named[map_view.CROSS_SPLIT]) == sorted([jack[0], kick[1]])


def test_the_map_is_drawn_at_css_size_and_names_each_clip_by_its_path(mapped):
    at, kick, jack, _ = mapped
    chart = next(c for c in at.get("plotly_chart") if "dataset-map" in c.proto.id)
    assert json.loads(chart.proto.config)["plotGlPixelRatio"] == 1
    paths = [p for t in _map(at)["data"] for p in t["customdata"]]
    assert sorted(paths) == sorted(kick + jack)
    assert all(t["hovertemplate"] == "%{customdata}<extra></extra>" for t in _map(at)["data"])


def _click(at, label: str) -> None:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, at.exception


def test_an_issue_moves_to_the_suggested_class_and_is_mapped_again(mapped):
    at, kick, _, started = mapped
    at.selectbox(key="map-issue").set_value(0).run()
    _click(at, "Move it to JumpingJack")
    classes = {r["clip"]: r["class"] for r in ws.clip_table("acts")}
    assert classes[kick[0].split("/")[-1]] == "JumpingJack"
    assert ws.describe("acts")["clips"] == 6  # moved, nothing lost
    assert len(started) == 1  # the changed dataset is mapped again
    assert f"JumpingJack/{kick[0].split('/')[-1]}" in [r.path for r in started[0][0].records]


def test_keep_one_of_a_pair_deletes_the_other(mapped):
    at, kick, jack, _ = mapped
    at.selectbox(key="map-pair").set_value(0).run()
    _click(at, f"Keep this one (delete {kick[1].split('/')[-1]})")
    left = {r["clip"] for r in ws.clip_table("acts")}
    assert kick[1].split("/")[-1] not in left and jack[0].split("/")[-1] in left
    assert len(left) == 5
