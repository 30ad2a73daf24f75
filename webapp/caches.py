"""Streamlit caches around library calls: dataset index, durations, thumbnails, models, reports.

Every key that depends on a file holds its version (``mtime_ns``, ``model_version``),
so an edited file or a retrained model is read again.
"""

from __future__ import annotations

import os

import streamlit as st

from vidcore.data.index import VideoIndex, load_index
from vidcore.data.sampling import sampler_from_config
from vidcore.data.video import read_frames
from vidcore.models.loading import load_model
from vidcore.spaces import confine
from vidcore.views import tables, webio


@st.cache_data(ttl=600, max_entries=8, show_spinner="Reading the dataset index…")
def cached_index(path: str, split: int, format: str = "auto", splits: str | None = None,
                 test_fraction: float = 0.3, seed: int = 0) -> VideoIndex:
    """``load_index`` (format detected by default), cached per arguments."""
    return load_index(path, format, split, splits, test_fraction, seed)


@st.cache_data(max_entries=8, show_spinner="Measuring video durations…")
def cached_durations(paths: tuple[str, ...]) -> dict:
    """``tables.duration_summary`` (probing is slow: a sample for large datasets), cached."""
    return tables.duration_summary(paths)


@st.cache_data(max_entries=64, show_spinner="Reading the sampled frames…")
def cached_thumbnails(path: str, mtime_ns: int, sampler_config: dict) -> dict:
    """The frames a sampler picks from a video, as small thumbnails with their times."""
    frames = read_frames(path, sampler_from_config(sampler_config))
    return {"images": webio.thumbnails(frames.images), "timestamps": frames.timestamps,
            "frame_ids": frames.frame_ids}


def run_index(config: dict, split: int) -> VideoIndex:
    """The index of the dataset a run was trained on, as its config describes it.

    Raises:
        InputError: signed in, the dataset (or a video it lists) lies outside the own
            space and the shared data (a run may have come in a bundle from anywhere).
    """
    from vidcore import runs

    path = runs.dataset_of(config)
    confine.check_readable(path)
    index = cached_index(path, int(split), config.get("format", "auto"),
                         config.get("splits"), config.get("test_fraction", 0.3),
                         config.get("split_seed", 0))
    confine.check_index(index)
    return index


def mtime_ns(path) -> int:
    """Modification time of a file, for cache keys (0 when it cannot be read)."""
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


@st.cache_data(max_entries=8, show_spinner=False)
def cached_clip_names(root: str, manifest_mtime_ns: int) -> dict[str, str]:
    """``store.display_names`` of a dataset, per manifest version."""
    from vidcore.workspace.store import display_names

    return display_names(root)


def clip_label(root, rel_path: str) -> str:
    """A clip as its user knows it: the name it was uploaded under, else its path."""
    from vidcore.workspace.store import MANIFEST

    names = cached_clip_names(str(root), mtime_ns(os.path.join(root, MANIFEST)))
    return names.get(rel_path, rel_path)


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def cached_model(run_dir: str, version: int):
    """``load_model``, kept per run and ``model_version`` (a model is big)."""
    return load_model(run_dir)


@st.cache_data(max_entries=16, show_spinner=False)
def cached_report(run_dir: str, report_mtime_ns: int) -> dict | None:
    """A run's ``report.json`` (None before its first evaluation), per file version."""
    from vidcore import runs

    report = runs.read_json(f"{run_dir}/{runs.REPORT}")
    return report if isinstance(report, dict) and report.get("aggregators") else None


@st.cache_data(max_entries=16, show_spinner=False)
def cached_predictions(run_dir: str, csv_mtime_ns: int):
    """A run's per-video ``predictions.csv`` as a DataFrame, per file version."""
    from vidcore import runs

    return tables.read_predictions(f"{run_dir}/{runs.PREDICTIONS}")
