"""Training: dataset -> features (from the store, extracted on demand) -> head -> run directory.

``train(config)`` is the one entry point of the CLI and the app. It writes everything
into a run directory (see ``vidcore.runs``) as it goes: the resolved config first,
then metrics line by line, the best checkpoint whenever validation loss improves, and
the final status. A stop request (a ``STOP`` file in the run directory, or a
``threading.Event``) ends training after the current batch and keeps the best model;
an error marks the run failed, with its message, and surfaces as a ``VidcoreError``.

Validation clips are carved out of the training split by whole groups, so clips of
one source video never sit on both sides (the reference split frames at random); a
class of one training recording keeps it for training (``vidcore.data.split_rule``).
A split that leaves classes untested or untrained is trained as it is, and the run
records what is not measured (``split_notes`` in its status, ``vidcore.data.splits``).

On small, imbalanced real data (issue 26; figures in docs/accuracy.md) every head is
trained with class-balanced weights (``balance``), the checkpoint kept is the one of
lowest class-balanced validation loss, the linear head is refitted on all training
recordings once validated, and the default preset lets the validation recordings
choose between the temporal and the linear head (``choose_head``,
``vidcore.models.choice``); the run records which and why (``head_choice``).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import InitVar, dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from vidcore import features, runs
from vidcore.data.index import load_index, validation_split
from vidcore.data.sampling import Sampler, UniformSampler, sampler_from_config
from vidcore.data.splits import check_split_of
from vidcore.disk_errors import refused_write
from vidcore.errors import DatasetError, InputError, TrainingError, VidcoreError
from vidcore.models.backbones import DEFAULT_BACKBONE, get_spec, weights_fingerprint
from vidcore.models.heads import create_head, get_head
from vidcore.models.linear import LinearHead, check_pooling, pool_clips
from vidcore.models.scaling import Scaling
from vidcore.report import TrainResult

log = logging.getLogger(__name__)

SCALINGS = ("auto", "train_max", "standard", "none")
EXTRACT_REPORT_SECONDS = 0.5  # extraction progress lines are throttled to this interval
# Without validation recordings a neural head cannot stop early: it trains this many
# epochs at most (30 balanced epochs on all training recordings of ucf101-dev, Lite0
# 8 frames: top-1 0.847, mean class 0.637, the best temporal recipe measured).
NO_VALIDATION_EPOCHS = 30
Callback = Callable[[dict], None]


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run; saved as ``config.json`` in the run.

    Attributes:
        dataset: dataset folder or CSV manifest (see ``vidcore.data.index.load_index``).
        format: dataset format, ``auto`` to detect.
        split: 1-based split number.
        splits: folder of official split files, when not inside or beside the dataset.
        test_fraction: test share of a generated split (folders, CSV).
        split_seed: seed of a generated split.
        backbone: feature backbone name (``vidcore.models.backbones``).
        weights: backbone weights: ``imagenet``, None (random) or a file path.
        sampler: which frames of each video (``vidcore.data.sampling``).
        flip: average each frame's features with its horizontal mirror's (extraction
            and prediction alike).
        head: head name (``vidcore.models.heads``).
        epochs: maximum number of epochs.
        batch_size: frames (frame heads) or clips (temporal head) per batch.
        learning_rate: Adam learning rate.
        patience: epochs without better validation loss before stopping; None never stops.
        val_fraction: share of training groups held out for validation.
        seed: seeds weights, shuffling and the validation split.
        balance: weigh every class the same in the loss (inverse class frequency), so
            small classes are learned among large ones.
        choose_head: also fit the linear head and keep whichever of the two scores the
            better validation mean class accuracy (``vidcore.models.choice``).
        dropout: head dropout (None: the head's default).
        width: temporal head channels (None: the head's default).
        linear_c: inverse L2 strength of the linear head.
        linear_pooling: how the linear head pools a clip's frames: ``mean``, or
            ``mean_std`` (mean and standard deviation; the ``accurate`` preset's, see
            docs/accuracy.md).
        linear_root: a signed square root of the pooled features before the linear head
            (power normalisation; on by default, see docs/accuracy.md).
        feature_scaling: ``auto`` (from the backbone: ``train_max`` for VGG16, else
            ``standard``), ``train_max``, ``standard`` or ``none``.
        finetune_stages: train this many last stages of the Lite backbone (and its
            head conv) on the clips before the head (``vidcore.finetune``); 0 keeps the
            backbone frozen. Then ``epochs``, ``patience``, ``batch_size`` (clips) and
            ``learning_rate`` (the backbone's) are the fine-tuning's.
        finetune_frames: frames of each clip per fine-tuning step (drawn anew each epoch).
        log_every: write a batch record every this many batches.
        store_dir: feature store root (None: ``vidcore.features.default_store_dir()``).
        preset: name of the preset this config came from, if any.
    """

    dataset: str
    format: str = "auto"
    split: int = 1
    splits: str | None = None
    test_fraction: float = 0.3
    split_seed: int = 0
    backbone: str = DEFAULT_BACKBONE
    weights: str | None = "imagenet"
    sampler: Sampler = UniformSampler(8)
    flip: bool = False
    head: str = "temporal_conv"
    epochs: int = 60
    batch_size: int = 32
    learning_rate: float = 1e-3
    patience: int | None = 12
    val_fraction: float = 0.15
    seed: int = 0
    balance: bool = True
    choose_head: bool = False
    dropout: float | None = None
    width: int | None = None
    linear_c: float = 1.0
    linear_pooling: str = "mean"
    linear_root: bool = True
    feature_scaling: str = "auto"
    finetune_stages: int = 0
    finetune_frames: int = 8
    log_every: int = 10
    store_dir: str | None = None
    preset: str | None = None

    def __post_init__(self):
        if isinstance(self.sampler, dict):
            object.__setattr__(self, "sampler", sampler_from_config(self.sampler))
        object.__setattr__(self, "dataset", str(self.dataset))
        if self.store_dir is not None:
            object.__setattr__(self, "store_dir", str(self.store_dir))
        get_head(self.head)
        get_spec(self.backbone)
        _check_numbers(self)
        if self.finetune_stages:
            from vidcore.models.lite_cut import cut_block

            cut_block(self.backbone, self.finetune_stages)

    def to_dict(self) -> dict:
        """Plain dict for ``config.json`` (the sampler as its config dict)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["sampler"] = self.sampler.config()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """Rebuild from ``to_dict`` output; unknown keys are an ``InputError``."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown training options: {', '.join(unknown)}")
        return cls(**data)

    def override(self, **values) -> TrainConfig:
        """A copy with the given fields replaced; None values are ignored (CLI defaults)."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})

    def feature_spec(self) -> features.FeatureSpec:
        """The feature spec (backbone, weights, sampler, flip averaging) of this run."""
        return features.FeatureSpec(self.backbone, self.weights, self.sampler, flip=self.flip)

    def scaling_kind(self) -> str:
        """The scaling to fit: ``auto`` resolves from the backbone spec."""
        if self.feature_scaling != "auto":
            return self.feature_scaling
        return "train_max" if get_spec(self.backbone).feature_scaling == "train_max" else "standard"


def _check_numbers(c: TrainConfig) -> None:
    checks = [("epochs", c.epochs >= 1), ("batch_size", c.batch_size >= 1),
              ("learning_rate", c.learning_rate > 0), ("log_every", c.log_every >= 1),
              ("patience", c.patience is None or c.patience >= 1),
              ("val_fraction", 0 < c.val_fraction < 1), ("linear_c", c.linear_c > 0),
              ("dropout", c.dropout is None or 0 <= c.dropout < 1),
              ("width", c.width is None or c.width >= 1),
              ("finetune_stages", c.finetune_stages >= 0),
              ("finetune_frames", c.finetune_frames >= 1)]
    for name, ok in checks:
        if not ok:
            raise InputError(f"invalid training option {name}={getattr(c, name)!r}")
    check_pooling(c.linear_pooling)
    if c.feature_scaling not in SCALINGS:
        raise InputError(f"unknown feature scaling {c.feature_scaling!r}; "
                         f"choose one of: {', '.join(SCALINGS)}")


# ---------------------------------------------------------------- progress and stop


class Monitor:
    """Where a run's progress goes: ``metrics.jsonl``, an optional callback, stop checks.

    Args:
        run_dir: the run directory.
        callback: called with every record (same dicts as the metrics lines).
        stop_event: an in-process stop flag (``threading.Event``), besides the STOP file.
    """

    def __init__(self, run_dir: Path, callback: Callback | None = None,
                 stop_event: threading.Event | None = None):
        self.path = Path(run_dir) / runs.METRICS
        self.run_dir, self.callback, self.stop_event = Path(run_dir), callback, stop_event
        self.start = time.perf_counter()
        self._last_extract = -math.inf
        self._callback_failed = False

    def emit(self, record: dict) -> None:
        """Append a record (with elapsed ``time``) to the metrics file and the callback."""
        record = {**record, "time": round(time.perf_counter() - self.start, 3)}
        runs.append_jsonl(self.path, record)
        if self.callback is None:
            return
        try:
            self.callback(record)
        except Exception:  # a broken display must not kill a long run; say it once
            if not self._callback_failed:
                log.exception("progress callback failed; training goes on without it")
            self._callback_failed = True

    def extract_progress(self, info: dict) -> None:
        """Forward feature extraction progress, at most every half second (and the last)."""
        now = time.perf_counter()
        last = info.get("done") == info.get("total")
        if last or now - self._last_extract >= EXTRACT_REPORT_SECONDS:
            self._last_extract = now
            self.emit({**{k: v for k, v in info.items() if k != "stage"}, "kind": "extract"})

    def should_stop(self) -> bool:
        """True once a stop was requested (event or STOP file)."""
        event = self.stop_event is not None and self.stop_event.is_set()
        return event or runs.stop_requested(self.run_dir)


class _Stopped(Exception):
    """Raised internally when a stop request arrives before training began."""


# ---------------------------------------------------------------- data


@dataclass
class TrainData:
    """Features of the training and validation clips, as fitted.

    Attributes:
        classes: class names in label order.
        train_x: per clip ``(T, D)`` float16 features; ``train_y`` their labels.
        val_x: same for validation clips; ``val_y`` their labels.
        failed: videos that could not be read.
        extraction: the extraction summary.

    ``train_frames`` / ``val_frames`` hold every frame in one contiguous array; the
    per-clip arrays become views into it, so the frames are in memory once (unless
    ``pack`` is False: then they are None and the clips stay as given).
    """

    classes: list[str]
    train_x: list[np.ndarray]
    train_y: np.ndarray
    val_x: list[np.ndarray]
    val_y: np.ndarray
    failed: list[dict] = field(default_factory=list)
    extraction: dict = field(default_factory=dict)
    train_frames: np.ndarray = field(init=False, repr=False)
    val_frames: np.ndarray = field(init=False, repr=False)
    pack: InitVar[bool] = True

    def __post_init__(self, pack: bool):
        if not pack:  # memory-mapped activations stay on disk (vidcore.finetune)
            self.train_frames = self.val_frames = None
            return
        self.train_frames, self.train_x = _packed(self.train_x)
        self.val_frames, self.val_x = _packed(self.val_x)


def load_train_data(config: TrainConfig, monitor: Monitor | None = None) -> TrainData:
    """Index the dataset, carve validation by groups, load (extract) the features.

    Raises:
        DatasetError: no training videos, or none readable on one side.
    """
    index, train_recs, val_recs = split_records(config)
    records = train_recs + val_recs
    feats, summary = features.load_features(
        [index.path_of(r) for r in records], config.feature_spec(), config.store_dir,
        progress=monitor.extract_progress if monitor else None,
        should_stop=monitor.should_stop if monitor else None)
    if monitor is not None and monitor.should_stop():
        raise _Stopped
    return checked_data(index.classes, records, len(train_recs),
                        [None if f is None else f.features for f in feats], summary)


def split_records(config: TrainConfig):
    """The dataset's index and its training records, validation carved by groups.

    Returns:
        ``(index, train records, validation records)``.

    Raises:
        DatasetError: the split has no training videos.
    """
    index = load_index(config.dataset, config.format, config.split, config.splits,
                       config.test_fraction, config.split_seed)
    if not index.train:
        raise DatasetError(f"split {config.split} of {config.dataset} has no training videos")
    return (index, *validation_split(index.train, config.val_fraction, config.seed))


def checked_data(classes, records, n_train_records: int, xs: list, summary,
                 pack: bool = True) -> TrainData:
    """``TrainData`` of the clips whose features ``xs`` (None: unreadable) exist
    (``pack``: see ``TrainData``).

    Raises:
        DatasetError: no training clip could be read.
    """
    pairs = [(x, r.label) for x, r in zip(xs, records, strict=True) if x is not None]
    n_train = sum(x is not None for x in xs[:n_train_records])
    data = TrainData(list(classes), *_unzip(pairs[:n_train]), *_unzip(pairs[n_train:]),
                     failed=list(summary.failed), extraction=summary.to_dict(), pack=pack)
    val_recs = records[n_train_records:]
    if not data.train_x:
        raise DatasetError(f"no training video could be read ({len(data.failed)} failed, "
                           f"e.g. {data.failed[:1]}); check the videos with 'vidcore info'")
    if val_recs and not data.val_x:
        log.warning("no validation video could be read: training without validation")
    return data


def _unzip(pairs) -> tuple[list[np.ndarray], np.ndarray]:
    return [x for x, _ in pairs], np.array([y for _, y in pairs], np.int64)


def _packed(xs: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """One contiguous array of all frames, and per-clip views into it."""
    if not xs:
        return np.zeros((0, 0), np.float16), []
    flat = np.concatenate(xs)
    return flat, np.split(flat, np.cumsum([len(x) for x in xs])[:-1])


# ---------------------------------------------------------------- the entry point


def train(config: TrainConfig, run_dir: str | os.PathLike | None = None,
          callback: Callback | None = None,
          stop_event: threading.Event | None = None) -> TrainResult:
    """Train a head and write a complete run directory.

    Args:
        config: what to train.
        run_dir: where (default: a new ``<runs>/<timestamp>-<preset or head>``).
        callback: receives every metrics record (extract, batch, epoch) as a dict.
        stop_event: set it to stop after the current batch (in-process use).

    Returns:
        A ``TrainResult`` (state ``finished`` or ``stopped``).

    Raises:
        VidcoreError: bad input (as raised), or ``TrainingError`` wrapping anything
            else; either way the run's status is ``failed`` with the message.
    """
    start = time.perf_counter()
    # Fail before creating a run directory when the backbone's weights are missing.
    weights_fingerprint(config.backbone, config.weights)
    notes = check_split_of(config)  # a dishonest split is refused before a run exists
    run_dir = runs.start_run(config.to_dict(), run_dir)
    if notes:
        runs.write_status(run_dir, "running", split_notes=notes)
    monitor = Monitor(run_dir, callback, stop_event)
    try:
        return _run(config, run_dir, monitor, start, notes)
    except KeyboardInterrupt:
        # Ctrl-C acts as a stop when a checkpoint exists: the best model is usable.
        state = "stopped" if runs.model_file(run_dir) else "failed"
        runs.mark_ended(run_dir, state, "interrupted by the user")
        raise
    except Exception as err:
        unwritable = refused_write(err, run_dir, "the run is marked failed; its best "
                                 "checkpoint, if one was saved, is kept")
        if unwritable is not None:  # an expected condition: one clear line, no traceback
            runs.mark_ended(run_dir, "failed", str(unwritable))
            raise unwritable from err
        message = str(err) if isinstance(err, VidcoreError) else f"{type(err).__name__}: {err}"
        runs.mark_ended(run_dir, "failed", message or type(err).__name__)
        if isinstance(err, VidcoreError):
            raise
        log.exception("training failed")
        raise TrainingError(f"training failed: {message} (run directory: {run_dir})") from err


def _run(config: TrainConfig, run_dir: Path, monitor: Monitor, start: float,
         notes: list[str]) -> TrainResult:
    result = TrainResult(str(run_dir), "stopped", config.head, config.preset,
                         split_notes=list(notes))
    tuned = {}
    try:
        if config.finetune_stages:
            data, tuned = _fine_tuned(config, run_dir, monitor)
        else:
            data = load_train_data(config, monitor)
    except _Stopped:
        runs.write_status(run_dir, "stopped", note="stopped before training: no model")
        return result
    runs.write_json(run_dir / runs.CLASSES, data.classes)
    result.train_videos, result.val_videos = len(data.train_x), len(data.val_x)
    result.failed_videos, result.extraction = len(data.failed), data.extraction
    fit = {**_fit(config, data, run_dir, monitor, emit=not tuned), **tuned}
    result.state = "stopped" if fit["stopped"] else "finished"
    result.head, result.head_choice = fit.get("head", config.head), fit.get("head_choice")
    result.epochs_run, result.best_epoch = fit["epochs_run"], fit["best_epoch"]
    result.best_val_loss, result.best_val_accuracy = fit["best_val_loss"], fit["best_val_accuracy"]
    _fit_trust(run_dir, data, monitor, fit.get("held_out_head") if result.head == "linear"
               else None)
    result.seconds = runs.elapsed_since(start)
    runs.write_status(run_dir, result.state, **_status_fields(result, fit))
    return result


def _fine_tuned(config: TrainConfig, run_dir: Path, monitor: Monitor):
    """The fine-tuned features of the clips (``vidcore.finetune``) and its fit fields."""
    from vidcore import finetune

    index, train_recs, val_recs = split_records(config)
    records = train_recs + val_recs

    def make_data(xs, summary, pack):
        return checked_data(index.classes, records, len(train_recs), xs, summary, pack)

    data, fit = finetune.fine_tuned_data(config, run_dir, monitor,
                                         [index.path_of(r) for r in records], make_data)
    if data is None:
        raise _Stopped
    return data, fit


def _fit_trust(run_dir: Path, data: TrainData, monitor: Monitor,
               held_out_head: LinearHead | None = None) -> None:
    """Calibration and familiarity of the kept model (``vidcore.trust``), fitted on the
    validation clips; a run without validation clips or without a model gets neither
    (its predictions then carry no temperature and no unfamiliar flag).

    A linear head refitted on the validation clips too would find them too easy: its
    temperatures come from ``held_out_head``, the same head fitted without them.
    """
    from vidcore import trust
    from vidcore.models.loading import TrainedModel, load_model
    from vidcore.models.runtimes import LinearRuntime

    if not data.val_x or runs.model_file(run_dir) is None:
        monitor.emit({"kind": "trust", "fitted": False,
                      "why": "no validation clips" if not data.val_x else "no model kept"})
        return
    model = load_model(run_dir)
    if held_out_head is not None:
        model = TrainedModel(model.run_dir, model.config, model.classes, model.spec,
                             LinearRuntime(held_out_head))
    summary = trust.fit_trust(run_dir, data.train_x, data.val_x, np.asarray(data.val_y), model)
    monitor.emit({"kind": "trust", "fitted": True,
                  "familiarity_threshold": summary["familiarity"]["threshold"],
                  "temperatures": {name: fit.get("temperature") for name, fit in
                                   summary["calibration"].get("aggregators", {}).items()}})


def _status_fields(result: TrainResult, fit: dict) -> dict:
    return {"best_epoch": result.best_epoch, "best_val_loss": result.best_val_loss,
            "best_val_accuracy": result.best_val_accuracy, "epochs_run": result.epochs_run,
            "early_stopped": fit.get("early_stopped", False), "seconds": result.seconds,
            "train_videos": result.train_videos, "val_videos": result.val_videos,
            "failed_videos": result.failed_videos, "head": result.head,
            "head_choice": result.head_choice,
            **({"finetune": fit["finetune"]} if fit.get("finetune") else {})}


# ---------------------------------------------------------------- fitting


def _fit(config: TrainConfig, data: TrainData, run_dir: Path, monitor: Monitor,
         emit: bool = True) -> dict:
    """Fit the config's head, or let validation choose it (``choose_head``); ``emit``
    False keeps the linear head's one epoch record out of a fine-tuned run's curves."""
    if get_head(config.head).kind == "linear":
        return _fit_linear(config, data, run_dir, monitor, emit)
    if config.choose_head:
        return _fit_chosen(config, data, run_dir, monitor)
    return _fit_keras(config, data, run_dir, monitor)


def _fit_keras(config: TrainConfig, data: TrainData, run_dir: Path, monitor: Monitor) -> dict:
    """Fit a Keras head; the best checkpoint by validation loss ends up in ``model.keras``."""
    import keras

    from vidcore.models import keras_fit

    keras.utils.set_random_seed(config.seed)
    kind = get_head(config.head).kind
    scaling = Scaling.fit(config.scaling_kind(), data.train_frames)
    scaling.save(run_dir / runs.SCALING)
    options = {name: getattr(config, name) for name in get_head(config.head).defaults}
    model = create_head(config.head, data.train_frames.shape[1], len(data.classes), **options)
    keras_fit.compile_head(model, kind, config.learning_rate)
    train_ds, val_ds = _batches(kind, data, scaling, config)
    path = run_dir / runs.KERAS_MODEL
    validated = bool(data.val_x)
    callback = keras_fit.RunCallback(
        kind, lambda m: keras_fit.save_model(m, path), monitor.emit, monitor.should_stop,
        config.patience if validated else None, config.log_every,
        on_best=lambda best: runs.write_status(run_dir, "running", **_best_fields(best)))
    epochs = config.epochs if validated else min(config.epochs, NO_VALIDATION_EPOCHS)
    model.fit(train_ds, validation_data=val_ds if validated else None, epochs=epochs,
              verbose=0, callbacks=[callback])
    if not path.exists():  # stopped before any validation, or none: keep what there is
        keras_fit.save_model(model, path)
    best = _best_fields(callback.best)
    if not validated:  # the kept model is the last epoch's
        best["best_epoch"] = callback.epochs_run
    return {"stopped": callback.stopped, "early_stopped": callback.early_stopped,
            "epochs_run": callback.epochs_run, **best}


def _best_fields(best: dict) -> dict:
    loss = best.get("val_loss")
    return {"best_epoch": best.get("epoch"),
            "best_val_loss": loss if loss is not None and math.isfinite(loss) else None,
            "best_val_accuracy": best.get("val_accuracy")}


def _batches(kind: str, data: TrainData, scaling: Scaling, config: TrainConfig):
    """Training and validation batches (class-balanced weights when ``balance``)."""
    from vidcore.models.keras_fit import ClipBatches, FrameBatches, balanced_weights

    bs, seed = config.batch_size, config.seed
    def weights(y):
        return balanced_weights(y) if config.balance else None
    if kind == "temporal":
        return (ClipBatches(data.train_x, data.train_y, scaling, bs, True, seed,
                            weights(data.train_y)),
                ClipBatches(data.val_x, data.val_y, scaling, bs, False, 0, weights(data.val_y))
                if data.val_x else None)
    def frame_labels(xs, ys):
        return np.repeat(ys, [len(x) for x in xs])
    train_y, val_y = (frame_labels(data.train_x, data.train_y),
                      frame_labels(data.val_x, data.val_y))
    return (FrameBatches(data.train_frames, train_y, scaling, bs, True, seed, weights(train_y)),
            FrameBatches(data.val_frames, val_y, scaling, bs, False, 0, weights(val_y))
            if data.val_x else None)


def _pool(config: TrainConfig, xs: list[np.ndarray]) -> np.ndarray:
    """Clip features pooled as the config's linear head pools them."""
    return pool_clips(xs, config.linear_pooling, config.linear_root)


def _linear_head(config: TrainConfig, xs: list[np.ndarray], y: np.ndarray,
                 num_classes: int) -> LinearHead:
    return LinearHead.fit(_pool(config, xs), y, num_classes, config.linear_c, config.seed,
                          balanced=config.balance, pooling=config.linear_pooling,
                          root=config.linear_root)


def _fit_linear(config: TrainConfig, data: TrainData, run_dir: Path, monitor: Monitor,
                emit: bool = True) -> dict:
    """Fit the logistic-regression head on mean-pooled clip features.

    It is scored on the validation recordings when there are some, then refitted on
    all training recordings (validation ones included) for the saved model: small
    classes get their validation recording back (ucf101-dev, Lite0 8 frames, 15 x
    5-fold: mean class accuracy 0.583 with validation carved out, 0.602 refitted).
    """
    n = len(data.classes)
    head = _linear_head(config, data.train_x, data.train_y, n)
    train = _log_loss_accuracy(head.predict_proba(_pool(config, data.train_x)), data.train_y)
    val, held_out = (None, None), None
    if data.val_x:
        val = _log_loss_accuracy(head.predict_proba(_pool(config, data.val_x)), data.val_y)
        held_out = head  # the one that never saw the validation clips: it calibrates
        head = _linear_head(config, data.train_x + data.val_x,
                            np.concatenate([data.train_y, data.val_y]), n)
    head.save(run_dir / runs.LINEAR_MODEL)
    if emit:
        monitor.emit({"kind": "epoch", "epoch": 1, "step": 1, "loss": train[0],
                      "accuracy": train[1], "val_loss": val[0], "val_accuracy": val[1],
                      "best": True, "partial": False})
    return {"stopped": False, "epochs_run": 1, "best_epoch": 1, "best_val_loss": val[0],
            "best_val_accuracy": val[1], "head": "linear", "held_out_head": held_out}


def _fit_chosen(config: TrainConfig, data: TrainData, run_dir: Path, monitor: Monitor) -> dict:
    """Fit the config's neural head and the linear head; keep the better on validation."""
    from vidcore.models import choice

    if not data.val_x:  # nothing to compare on: the head real clips favour
        fit = _fit_linear(config, data, run_dir, monitor)
        return _keep_linear(config, run_dir, fit, {}, *choice.choose({}))
    fit = _fit_keras(config, data, run_dir, monitor)
    if fit["stopped"]:
        return {**fit, "head_choice": {"head": config.head, "why": "stopped before the heads "
                                       "were compared", "candidates": {}}}
    linear = _linear_head(config, data.train_x, data.train_y, len(data.classes))
    scores = {config.head: choice.validation_scores(
                  _checkpoint_probs(run_dir, get_head(config.head).kind, data.val_x),
                  data.val_y),
              "linear": choice.validation_scores(linear.predict_proba(_pool(config, data.val_x)),
                                                 data.val_y)}
    name, why = choice.choose(scores)
    monitor.emit({"kind": "choice", "head": name, "why": why, "candidates": scores})
    if name != "linear":
        return {**fit, "head": name,
                "head_choice": {"head": name, "why": why, "candidates": scores}}
    linear_fit = _fit_linear(config, data, run_dir, monitor, emit=False)
    return _keep_linear(config, run_dir, {**fit, **linear_fit}, scores, name, why)


def _keep_linear(config: TrainConfig, run_dir: Path, fit: dict, scores: dict, name: str,
                 why: str) -> dict:
    """Make the saved linear head the run's model: config says so, no Keras file is left."""
    runs.write_json(run_dir / runs.CONFIG, {**config.to_dict(), "head": name})
    for stale in (runs.KERAS_MODEL, runs.SCALING):
        (run_dir / stale).unlink(missing_ok=True)
    return {**fit, "head": name, "head_choice": {"head": name, "why": why,
                                                 "candidates": scores}}


def _checkpoint_probs(run_dir: Path, kind: str, xs: list[np.ndarray]) -> np.ndarray:
    """Clip probabilities of the run's saved neural checkpoint on clips ``xs``."""
    from vidcore.models.runtimes import RUNTIMES

    runtime = RUNTIMES[kind].load(run_dir / runs.KERAS_MODEL, run_dir / runs.SCALING, run_dir)
    outputs = runtime.predict([_Clip(x) for x in xs])
    return np.stack([c if c is not None else f.mean(0) for f, c in outputs])


@dataclass(frozen=True)
class _Clip:
    """What a runtime's ``predict`` reads of a clip: its frame features."""

    features: np.ndarray


def _log_loss_accuracy(probs: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    picked = probs[np.arange(len(y)), y]
    return float(-np.mean(np.log(picked + 1e-12))), float(np.mean(probs.argmax(1) == y))

