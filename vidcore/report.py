"""Result values of training, evaluation and prediction: plain dataclasses with ``to_dict()``.

They hold data only; the CLI prints them and the app renders them. ``to_dict()``
returns JSON-ready values (lists, floats, strings, None).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


def _round(value, digits: int = 6):
    return None if value is None else round(float(value), digits)


@dataclass
class TrainResult:
    """What a training run did.

    Attributes:
        run_dir: the run directory.
        state: ``finished`` or ``stopped`` (failures raise instead).
        head: head name.
        preset: preset name, if any.
        epochs_run: epochs completed (partial last epoch included when stopped).
        best_epoch: 1-based epoch of the kept checkpoint (None when none was kept).
        best_val_loss: validation loss of the kept checkpoint.
        best_val_accuracy: validation accuracy of the kept checkpoint.
        train_videos: videos used for fitting.
        val_videos: videos used for validation.
        failed_videos: videos skipped because they could not be read.
        seconds: wall time of the whole run.
        extraction: the feature extraction summary (``ExtractSummary.to_dict()``).
        split_notes: classes the split leaves untested or untrained, one line each
            (``vidcore.data.splits.split_notes``).
        head_choice: when the preset let validation choose the head: ``{"head", "why",
            "candidates": {head: validation scores}}`` (``vidcore.models.choice``).
    """

    run_dir: str
    state: str
    head: str
    preset: str | None = None
    epochs_run: int = 0
    best_epoch: int | None = None
    best_val_loss: float | None = None
    best_val_accuracy: float | None = None
    train_videos: int = 0
    val_videos: int = 0
    failed_videos: int = 0
    seconds: float = 0.0
    extraction: dict = field(default_factory=dict)
    split_notes: list[str] = field(default_factory=list)
    head_choice: dict | None = None

    def to_dict(self) -> dict:
        """Plain dict for JSON."""
        data = asdict(self)
        data["best_val_loss"] = _round(self.best_val_loss)
        data["best_val_accuracy"] = _round(self.best_val_accuracy)
        return data


@dataclass
class AggregatorMetrics:
    """Video-level metrics of one aggregator on a test set.

    Attributes:
        name: ``mode``, ``mean``, ``temporal`` or ``linear``.
        top1: share of videos whose best class is right.
        top5: share of videos whose right class is among the best five.
        mean_class_accuracy: top-1 averaged over classes that have test videos.
        per_class: class name -> top-1 (None for a class without test videos).
        confusion: ``confusion[true][predicted]`` video counts, classes in label order.
        intervals: ``top1_ci`` and ``mean_class_accuracy_ci`` (95%, resampling
            recordings: ``vidcore.uncertainty``), when the test clips' recordings are known.
    """

    name: str
    top1: float
    top5: float
    mean_class_accuracy: float
    per_class: dict[str, float | None]
    confusion: list[list[int]]
    intervals: dict[str, list[float]] | None = None

    def to_dict(self) -> dict:
        """Plain dict for JSON."""
        return {"name": self.name, "top1": _round(self.top1), "top5": _round(self.top5),
                "mean_class_accuracy": _round(self.mean_class_accuracy),
                "per_class": {k: _round(v) for k, v in self.per_class.items()},
                "confusion": self.confusion,
                **{k: [_round(x) for x in v] for k, v in (self.intervals or {}).items()}}


@dataclass
class Report:
    """An evaluation of one run on the test list of a split.

    Attributes:
        run_dir: the evaluated run.
        split: split number tested on.
        head: head name.
        backbone: backbone name.
        classes: class names in label order.
        num_videos: test videos evaluated (unreadable ones excluded).
        primary: the head's own aggregator (``mode``, ``temporal`` or ``linear``).
        aggregators: name -> metrics, the primary first.
        failed: ``{"path", "reason"}`` of test videos that could not be read.
        predictions_csv: the per-video table.
        seconds: wall time, feature extraction included.
        split_notes: classes the split leaves untested or untrained ("Knitting: no test
            clips, its accuracy is not measured"); the metrics cover the tested ones.
    """

    run_dir: str
    split: int
    head: str
    backbone: str
    classes: list[str]
    num_videos: int
    primary: str
    aggregators: dict[str, AggregatorMetrics]
    failed: list[dict] = field(default_factory=list)
    predictions_csv: str = ""
    seconds: float = 0.0
    split_notes: list[str] = field(default_factory=list)

    @property
    def top1(self) -> float:
        """Top-1 of the primary aggregator."""
        return self.aggregators[self.primary].top1

    def to_dict(self) -> dict:
        """Plain dict for JSON (what ``report.json`` holds)."""
        data = {k: v for k, v in self.__dict__.items() if k != "aggregators"}
        data["aggregators"] = {k: v.to_dict() for k, v in self.aggregators.items()}
        data["seconds"] = _round(self.seconds, 3)
        return data


@dataclass
class FramePrediction:
    """One sampled frame: its time and its most likely classes.

    Attributes:
        time: seconds from the start of the video.
        frame_id: 0-based frame number.
        top: ``[(class, probability), ...]`` best first.
    """

    time: float
    frame_id: int
    top: list[tuple[str, float]]

    def to_dict(self) -> dict:
        """Plain dict for JSON: ``{"time", "frame_id", "top": [[class, prob], ...]}``."""
        return {"time": _round(self.time, 4), "frame_id": int(self.frame_id),
                "top": [[c, _round(p)] for c, p in self.top]}


@dataclass
class Prediction:
    """What a model says about one video.

    Attributes:
        video: the video file.
        run_dir: the model's run directory.
        head: head name.
        classes: class names in label order.
        frames: per sampled frame, its top classes.
        probabilities: per-frame probabilities (T, C) as nested lists, for charts.
        label: the majority vote of frame labels (the reference answer).
        vote_share: share of frames that voted for ``label``.
        mean_label: the class of highest mean frame probability.
        mean_confidence: that mean probability.
        temporal_label: the temporal head's class (None for other heads).
        temporal_confidence: its probability.
        primary: the head's own aggregator; ``primary_label`` is its answer.
        primary_label: the head's answer (the one to show first).
        primary_confidence: its score (vote share for ``mode``, else a probability).
        aggregators: name -> ``{"label", "confidence", "top": [[class, score], ...]}``.
        duration: the video's length in seconds.
        uncapped_frames: frames the sampler would have taken without its
            ``max_frames`` cap, when the cap cut them (None when no cap applied).
        sampling_note: that fact as one sentence for people (None when no cap applied).
        unfamiliar: the clip looks like nothing the model was trained on (None: the
            run has no ``familiarity.npz``); ``unfamiliar_score`` and
            ``unfamiliar_threshold`` say how far it is and from where it counts.
    """

    video: str
    run_dir: str
    head: str
    classes: list[str]
    frames: list[FramePrediction]
    probabilities: list[list[float]]
    label: str
    vote_share: float
    mean_label: str
    mean_confidence: float
    temporal_label: str | None
    temporal_confidence: float | None
    primary: str
    primary_label: str
    primary_confidence: float
    aggregators: dict[str, dict]
    duration: float | None = None
    uncapped_frames: int | None = None
    sampling_note: str | None = None
    unfamiliar: bool | None = None
    unfamiliar_score: float | None = None
    unfamiliar_threshold: float | None = None

    def to_dict(self) -> dict:
        """Plain dict for JSON."""
        data = dict(self.__dict__)
        data["frames"] = [f.to_dict() for f in self.frames]
        for key in ("vote_share", "mean_confidence", "temporal_confidence",
                    "primary_confidence", "duration"):
            data[key] = _round(data[key])
        return data
