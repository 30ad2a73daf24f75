"""Data shaping for the app: library values in, pandas DataFrames and small dicts out.

Pages only render; everything that turns an index, a metrics file, a report or a
prediction into rows lives here, without Streamlit, so it is tested on its own.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd

from vidcore.data.index import SPLITS, VideoIndex
from vidcore.errors import VidcoreError

log = logging.getLogger(__name__)

VIDEO_COLUMNS = ["path", "class", "split", "group"]
SPLIT_COLORS = {"train": "#3b5bdb", "test": "#f08c00", "unused": "#adb5bd"}


# ---------------------------------------------------------------- datasets


def videos_frame(index: VideoIndex) -> pd.DataFrame:
    """One row per video: ``path``, ``class``, ``split``, ``group``."""
    rows = [(r.path, r.class_name, r.split, r.group) for r in index.records]
    return pd.DataFrame(rows, columns=VIDEO_COLUMNS)


def filter_videos(
    frame: pd.DataFrame, text: str = "", classes=(), splits=()
) -> pd.DataFrame:
    """Rows whose path or group contains ``text`` (case-insensitive), of the chosen classes
    and splits; an empty choice keeps everything."""
    keep = pd.Series(True, index=frame.index)
    if text and text.strip():
        needle = text.strip().lower()
        keep &= (frame["path"].str.lower().str.contains(needle, regex=False)
                 | frame["group"].str.lower().str.contains(needle, regex=False))
    if classes:
        keep &= frame["class"].isin(list(classes))
    if splits:
        keep &= frame["split"].isin(list(splits))
    return frame[keep].reset_index(drop=True)


def counts_frame(index: VideoIndex) -> pd.DataFrame:
    """Videos per class and split in long form: ``class``, ``split``, ``videos``.

    Split parts with no video at all (usually ``unused``) are left out.
    """
    rows = [(c, s, n) for c, per in index.counts().items() for s, n in per.items()]
    frame = pd.DataFrame(rows, columns=["class", "split", "videos"])
    used = frame.groupby("split")["videos"].transform("sum") > 0
    return frame[used].reset_index(drop=True)


def groups_frame(index: VideoIndex) -> pd.DataFrame:
    """One row per group: ``class``, ``group``, clips per split part, ``leaking``."""
    frame = videos_frame(index)
    if frame.empty:
        return pd.DataFrame(columns=["class", "group", *SPLITS, "leaking"])
    table = (frame.pivot_table(index=["class", "group"], columns="split", values="path",
                               aggfunc="count", fill_value=0)
             .reindex(columns=list(SPLITS), fill_value=0).reset_index())
    table.columns.name = None
    table["leaking"] = (table["train"] > 0) & (table["test"] > 0)
    return table.sort_values(["leaking", "class", "group"], ascending=[False, True, True],
                             ignore_index=True)


def duration_summary(paths, limit: int = 200, seed: int = 0) -> dict:
    """Total duration of videos, probing at most ``limit`` of them.

    Probing every video of a large dataset takes minutes; above ``limit`` a seeded
    random sample is probed and the total extrapolated from its mean.

    Returns:
        ``total_seconds``, ``mean_seconds``, ``probed``, ``videos``, ``estimated``
        (True when extrapolated) and ``failed`` (videos that could not be probed).
    """
    from vidcore.data.video import probe

    paths = [os.fspath(p) for p in paths]
    sample = paths
    if len(paths) > limit:
        picks = np.random.default_rng(seed).choice(len(paths), limit, replace=False)
        sample = [paths[i] for i in sorted(picks)]
    durations, failed = [], 0
    for path in sample:
        try:
            durations.append(probe(path).duration)
        except VidcoreError as err:
            log.warning("cannot probe %s: %s", path, err)
            failed += 1
    mean = float(np.mean(durations)) if durations else 0.0
    return {"total_seconds": mean * len(paths), "mean_seconds": mean,
            "probed": len(sample), "videos": len(paths),
            "estimated": len(sample) < len(paths), "failed": failed}


def duration_help(summary: dict) -> str:
    """One sentence saying how a ``duration_summary`` was obtained."""
    text = (f"Mean {summary['mean_seconds']:.1f} s per video, from "
            f"{summary['probed'] - summary['failed']} probed videos")
    if summary["estimated"]:
        text += f" (a random sample of the {summary['videos']}; the total is extrapolated)"
    if summary["failed"]:
        text += f"; {summary['failed']} could not be read"
    return text + "."


def format_duration(seconds: float) -> str:
    """``"1 h 02 min"``, ``"3 min 05 s"`` or ``"42 s"``."""
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def format_bytes(n: float) -> str:
    """``"0 B"``, ``"12.3 MB"``, ``"1.2 GB"``."""
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover - loop always returns


# ---------------------------------------------------------------- home


def home_status(index: VideoIndex | None, dataset_error: str | None = None) -> dict:
    """The short facts the Home page shows, as display strings with help texts."""
    from vidcore import runs
    from vidcore.errors import RunError
    from vidcore.features import default_store_dir, store_usage

    usage = store_usage(default_store_dir())
    trained = [r for r in runs.list_runs() if r["has_model"]]
    try:
        active = runs.resolve_model_dir()
    except RunError as err:
        active, active_help = None, str(err)
    else:
        active_help = str(active)
    return {
        "dataset": f"{len(index.records)} videos" if index else "not found",
        "dataset_help": (f"{index.root} ({index.format}, {len(index.classes)} classes)"
                         if index else dataset_error or ""),
        "dataset_error": dataset_error,
        "cache": format_bytes(sum(u["bytes"] for u in usage)),
        "cache_help": (f"{sum(u['videos'] for u in usage)} videos in {len(usage)} feature "
                       f"sets under {default_store_dir()}"),
        "models": str(len(trained)),
        "models_help": f"runs with a saved model under {runs.default_runs_dir()}",
        "active": _model_name(active),
        "active_help": active_help,
    }


def _model_name(run_dir) -> str:
    from vidcore.runs import DEMO_MODEL_DIR, same_run

    if run_dir is None:
        return "none"
    return "demo model" if same_run(run_dir, DEMO_MODEL_DIR) else run_dir.name


# ---------------------------------------------------------------- training metrics


def epoch_frame(records: list[dict]) -> pd.DataFrame:
    """Epoch records of ``metrics.jsonl`` in long form for curves.

    Returns:
        Columns ``epoch``, ``metric`` (``loss`` or ``accuracy``), ``split``
        (``train`` or ``validation``) and ``value``; empty before the first epoch.
    """
    rows = []
    for rec in records:
        if rec.get("kind") != "epoch":
            continue
        for metric in ("loss", "accuracy"):
            for split, key in (("train", metric), ("validation", f"val_{metric}")):
                value = rec.get(key)
                if value is not None and np.isfinite(value):
                    rows.append((rec["epoch"], metric, split, float(value)))
    return pd.DataFrame(rows, columns=["epoch", "metric", "split", "value"])


def batch_frame(records: list[dict]) -> pd.DataFrame:
    """Batch records (``step``, ``epoch``, ``loss``, ``accuracy``), for the live curve
    before the first epoch ends."""
    rows = [{"step": r.get("step"), "epoch": r.get("epoch"), "loss": r.get("loss"),
             "accuracy": r.get("accuracy")} for r in records if r.get("kind") == "batch"]
    return pd.DataFrame(rows, columns=["step", "epoch", "loss", "accuracy"])


def extract_progress(records: list[dict]) -> dict | None:
    """The latest feature-extraction event, with ``fraction`` (0..1) and a ``text`` line.

    Returns:
        None when the run has not started extracting.
    """
    events = [r for r in records if r.get("kind") == "extract"]
    if not events:
        return None
    last = dict(events[-1])
    done, total = last.get("done", 0), last.get("total") or 0
    last["fraction"] = min(1.0, done / total) if total else 1.0
    eta = last.get("eta_seconds")
    speed = last.get("frames_per_second") or 0.0
    eta_text = f", about {format_duration(eta)} left" if eta and done < total else ""
    last["text"] = f"{done} of {total} videos · {speed:.1f} frames/s{eta_text}"
    return last


# ---------------------------------------------------------------- evaluation reports

AGGREGATOR_LABELS = {"mode": "mode vote", "mean": "mean probability",
                     "temporal": "temporal head", "linear": "linear head"}
REFERENCE_AGGREGATOR = "mode"  # the tutorial's answer: majority vote of frame labels
METRIC_LABELS = {"top1": "top-1", "top5": "top-5", "mean_class_accuracy": "mean class accuracy"}


def aggregator_label(name: str) -> str:
    """Readable name of an aggregator, e.g. ``mode vote``."""
    return AGGREGATOR_LABELS.get(name, name)


def aggregator_frame(report: dict) -> pd.DataFrame:
    """One row per aggregator of a ``report.json``: metrics, gain over the mode vote.

    Columns: ``aggregator``, ``label``, ``top1``, ``top5``, ``mean_class_accuracy``,
    ``primary`` (the head's own answer), ``gain`` (top-1 minus the mode vote's top-1).
    """
    aggs = report.get("aggregators", {})
    base = aggs.get(REFERENCE_AGGREGATOR, {}).get("top1")
    rows = []
    for name, m in aggs.items():
        rows.append({"aggregator": name, "label": aggregator_label(name), "top1": m["top1"],
                     "top5": m["top5"], "mean_class_accuracy": m["mean_class_accuracy"],
                     "primary": name == report.get("primary"),
                     "gain": None if base is None else m["top1"] - base})
    return pd.DataFrame(rows, columns=["aggregator", "label", *METRIC_LABELS, "primary", "gain"])


def aggregator_long(report: dict) -> pd.DataFrame:
    """The aggregator metrics in long form (``label``, ``metric``, ``value``) for a bar chart."""
    frame = aggregator_frame(report)
    long = frame.melt(id_vars=["label"], value_vars=list(METRIC_LABELS), var_name="metric")
    long["metric"] = long["metric"].map(METRIC_LABELS)
    return long


def confusion_frame(report: dict, aggregator: str) -> pd.DataFrame:
    """Video counts, rows = true class, columns = predicted class, in label order."""
    classes = report["classes"]
    matrix = report["aggregators"][aggregator]["confusion"]
    return pd.DataFrame(matrix, index=pd.Index(classes, name="true"),
                        columns=pd.Index(classes, name="predicted"))


def confusion_cells(report: dict, aggregator: str) -> list[tuple[str, str, int]]:
    """Non-empty cells ``(true, predicted, videos)``: mistakes first (most videos first),
    then the correct cells."""
    classes = report["classes"]
    values = np.asarray(report["aggregators"][aggregator]["confusion"])
    rows, cols = np.nonzero(values)  # vectorised: 400 classes are 160,000 cells
    cells = [(classes[t], classes[p], int(values[t, p])) for t, p in zip(rows, cols, strict=True)]
    return sorted(cells, key=lambda c: (c[0] == c[1], -c[2], c[0], c[1]))


def read_predictions(csv_path: str | os.PathLike) -> pd.DataFrame:
    """The per-video ``predictions.csv`` of an evaluation (empty when missing)."""
    try:
        return pd.read_csv(csv_path)
    except (OSError, pd.errors.EmptyDataError):
        return pd.DataFrame(columns=["path", "true"])


def cell_clips(predictions: pd.DataFrame, aggregator: str, true: str,
               predicted: str) -> pd.DataFrame:
    """Videos of one confusion-matrix cell: ``path``, ``true``, ``predicted``, ``confidence``."""
    label, conf = f"{aggregator}_label", f"{aggregator}_confidence"
    if label not in predictions:
        return pd.DataFrame(columns=["path", "true", "predicted", "confidence"])
    rows = predictions[(predictions["true"] == true) & (predictions[label] == predicted)]
    return (rows[["path", "true", label, conf]]
            .rename(columns={label: "predicted", conf: "confidence"})
            .reset_index(drop=True))


# ---------------------------------------------------------------- predictions


def frame_probabilities(prediction: dict, top: int = 5) -> pd.DataFrame:
    """Per-frame probability of the ``top`` classes of highest mean probability.

    Returns:
        Long form: ``time`` (s), ``frame`` (id), ``class``, ``probability``.
    """
    probs = np.asarray(prediction["probabilities"], float)
    classes = prediction["classes"]
    if probs.size == 0:
        return pd.DataFrame(columns=["time", "frame", "class", "probability"])
    best = np.argsort(-probs.mean(0), kind="stable")[:top]
    rows = [(f["time"], f["frame_id"], classes[c], float(probs[i, c]))
            for c in best for i, f in enumerate(prediction["frames"])]
    return pd.DataFrame(rows, columns=["time", "frame", "class", "probability"])


def prediction_answers(prediction: dict) -> list[dict]:
    """The clip-level answers of a prediction, the head's own first.

    Returns:
        Dicts with ``aggregator``, ``title``, ``label``, ``confidence`` (0..1),
        ``confidence_text`` (what the number means) and ``primary``.
    """
    answers = []
    for name, a in prediction.get("aggregators", {}).items():
        what = "of frames voted for it" if name == "mode" else "probability"
        answers.append({"aggregator": name, "title": aggregator_label(name).capitalize(),
                        "label": a["label"], "confidence": a["confidence"],
                        "confidence_text": f"{a['confidence']:.0%} {what}",
                        "primary": name == prediction.get("primary")})
    return sorted(answers, key=lambda a: not a["primary"])


def true_class_line(true: str, said: str) -> str:
    """Markdown for a clip whose class is known: its true class and whether the model's
    answer is right."""
    verdict = (":green-badge[:material/check: right]" if said == true
               else f":red-badge[:material/close: wrong: the model said {said}]")
    return f"True class: **{true}** · {verdict}"
