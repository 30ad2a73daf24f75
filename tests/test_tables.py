"""Data shaping for the app pages."""

from pathlib import Path

import pytest

from tests.conftest import write_video
from vidcore.data.index import VideoIndex, VideoRecord
from vidcore.views import tables


@pytest.fixture
def index():
    recs = [
        VideoRecord("A/v_A_g01_c01.avi", 0, "A", "A/g01", "train"),
        VideoRecord("A/v_A_g01_c02.avi", 0, "A", "A/g01", "test"),  # leaks
        VideoRecord("A/v_A_g02_c01.avi", 0, "A", "A/g02", "test"),
        VideoRecord("B/v_B_g01_c01.avi", 1, "B", "B/g01", "train"),
    ]
    return VideoIndex(Path("/data"), "ucf101", ("A", "B"), tuple(recs), 1)


def test_filters_combine_text_class_and_split(index):
    videos = tables.videos_frame(index)
    assert list(videos.columns) == tables.VIDEO_COLUMNS and len(videos) == 4
    assert len(tables.filter_videos(videos, classes=["A"])) == 3
    assert len(tables.filter_videos(videos, classes=["A"], splits=["test"])) == 2
    assert list(tables.filter_videos(videos, text="G01_C02")["path"]) == ["A/v_A_g01_c02.avi"]
    assert len(tables.filter_videos(videos, text="b/g01")) == 1  # groups are searched too
    assert len(tables.filter_videos(videos)) == 4


def test_counts_leave_out_empty_split_parts(index):
    counts = tables.counts_frame(index)
    assert set(counts["split"]) == {"train", "test"}
    assert counts.query("`class` == 'A' and split == 'test'")["videos"].item() == 2


def test_groups_flag_leaks_first(index):
    groups = tables.groups_frame(index)
    assert groups.iloc[0]["group"] == "A/g01" and bool(groups.iloc[0]["leaking"])
    assert groups["leaking"].sum() == 1 and len(groups) == 3


def test_duration_is_estimated_from_a_sample(tmp_path):
    paths = [write_video(tmp_path / f"v{i}.avi", 50) for i in range(5)]
    full = tables.duration_summary(paths)
    assert full["total_seconds"] == pytest.approx(10.0) and not full["estimated"]
    part = tables.duration_summary(paths + [tmp_path / "missing.avi"], limit=3)
    assert part["estimated"] and part["probed"] == 3 and part["videos"] == 6
    assert "extrapolated" in tables.duration_help(part)


def test_formatting():
    assert tables.format_duration(42) == "42 s"
    assert tables.format_duration(185) == "3 min 05 s"
    assert tables.format_duration(3720) == "1 h 02 min"
    assert tables.format_bytes(0) == "0 B" and tables.format_bytes(12_300_000) == "12.3 MB"


def test_metrics_records_become_curves():
    records = [
        {"kind": "extract", "done": 5, "total": 10, "frames": 40, "frames_per_second": 20.0,
         "eta_seconds": 2.0},
        {"kind": "batch", "epoch": 1, "step": 1, "loss": 2.0, "accuracy": 0.1},
        {"kind": "epoch", "epoch": 1, "loss": 1.5, "accuracy": 0.4, "val_loss": 1.7,
         "val_accuracy": 0.3},
        {"kind": "epoch", "epoch": 2, "loss": 1.0, "accuracy": 0.6, "val_loss": float("nan")},
    ]
    epochs = tables.epoch_frame(records)
    assert len(epochs) == 6  # the NaN validation loss and missing val accuracy are dropped
    assert set(epochs["split"]) == {"train", "validation"}
    assert len(tables.batch_frame(records)) == 1
    progress = tables.extract_progress(records)
    assert progress["fraction"] == 0.5 and "20.0 frames/s" in progress["text"]
    assert tables.extract_progress([]) is None
    assert tables.epoch_frame([]).empty


def test_prediction_tables():
    prediction = {
        "classes": ["A", "B", "C"], "primary": "temporal",
        "probabilities": [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]],
        "frames": [{"time": 0.0, "frame_id": 0, "top": [["A", 0.7]]},
                   {"time": 1.0, "frame_id": 25, "top": [["B", 0.8]]}],
        "aggregators": {"mode": {"label": "A", "confidence": 0.5},
                        "temporal": {"label": "B", "confidence": 0.9}},
    }
    probs = tables.frame_probabilities(prediction, top=2)
    assert set(probs["class"]) == {"A", "B"} and len(probs) == 4
    answers = tables.prediction_answers(prediction)
    assert answers[0]["aggregator"] == "temporal" and answers[0]["primary"]
    assert answers[1]["confidence_text"] == "50% of frames voted for it"
