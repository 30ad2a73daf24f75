"""The shipped demo model (weights/demo_model) on the tiny demo dataset's test clips.

The tiny dataset's split-1 test clips come from groups 1-7, the groups the demo model
never saw in training (same seed, same scenes as the full demo dataset's test side).
"""

import json

import pytest

from vidcore.evaluate import evaluate
from vidcore.runs import DEMO_MODEL_DIR

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(tiny_demo, tmp_path_factory):
    root = tiny_demo / "UCF-101"
    store = tmp_path_factory.mktemp("store")
    return evaluate(DEMO_MODEL_DIR, dataset=root, store_dir=store, save=False)


def test_demo_model_reaches_its_documented_accuracy(report):
    documented = json.loads((DEMO_MODEL_DIR / "report.json").read_text())
    assert documented["aggregators"]["temporal"]["top1"] >= 0.95  # the figure README quotes
    assert report.num_videos == 70
    assert report.to_dict()["aggregators"]["temporal"]["top1"] >= 0.9


def test_temporal_head_beats_frame_voting_on_reverse_pairs(report):
    aggs = report.to_dict()["aggregators"]
    per_class = {name: aggs[name]["per_class"] for name in ("temporal", "mode")}
    for cls in ("SitDown", "StandUp", "RaiseArms", "LowerArms"):
        assert per_class["temporal"][cls] >= per_class["mode"][cls]
    pairs = ("SitDown", "StandUp", "RaiseArms", "LowerArms")
    assert sum(per_class["temporal"][c] for c in pairs) > sum(per_class["mode"][c] for c in pairs)
