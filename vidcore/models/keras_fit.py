"""Keras plumbing of training: batch sequences, compilation, the run callback, saving.

Kept apart from ``vidcore.train`` so that importing the training config (for the CLI
parser or the app's forms) does not import TensorFlow.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence

import keras
import numpy as np

from vidcore.atomic import replace_via_temp
from vidcore.models.scaling import Scaling, pad_sequences

FRAME_LOSS_WEIGHT = 0.5  # the temporal head's per-frame output is an auxiliary task


def balanced_weights(y: np.ndarray) -> np.ndarray:
    """Per-item weights inversely proportional to the item's class size, mean 1.

    Every class then weighs the same in the loss, so a class of 3 clips is not drowned
    among classes of 97 (ucf101-dev, issue 26); applied to validation too, so that the
    checkpoint is chosen on a class-balanced validation loss.
    """
    y = np.asarray(y)
    if not len(y):
        return np.ones(0, np.float32)
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    weights = 1.0 / counts[inverse]
    return (weights / weights.mean()).astype(np.float32)


class FrameBatches(keras.utils.PyDataset):
    """Shuffled batches of single frames: ``(B, D)`` scaled float32, labels ``(B,)``.

    Features stay float16 in memory and are scaled one batch at a time, so the
    reference VGG16 set (25,088 values a frame) is never copied whole as float32.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, scaling: Scaling, batch_size: int,
                 shuffle: bool, seed: int = 0, weights: np.ndarray | None = None):
        super().__init__()
        self.x, self.y, self.scaling, self.batch_size = x, y, scaling, batch_size
        self.weights = np.ones(len(y), np.float32) if weights is None else weights
        self.shuffle, self.rng = shuffle, np.random.default_rng(seed)
        self.order = self.rng.permutation(len(y)) if shuffle else np.arange(len(y))

    def __len__(self) -> int:
        return math.ceil(len(self.y) / self.batch_size)

    def __getitem__(self, i: int):
        idx = np.sort(self.order[i * self.batch_size:(i + 1) * self.batch_size])
        return self.scaling.apply(self.x[idx]), self.y[idx], self.weights[idx]

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.rng.shuffle(self.order)


class ClipBatches(keras.utils.PyDataset):
    """Shuffled batches of whole clips for the temporal head.

    Each batch is padded to the longest clip of the whole set, so every batch has
    one shape (one traced graph); the mask keeps padding out of the results. Frame
    targets are the clip label on real frames and -1 (ignored) on padding. Items carry
    ``weights`` (default 1; see :func:`balanced_weights`).
    """

    def __init__(self, seqs: Sequence[np.ndarray], y: np.ndarray, scaling: Scaling,
                 batch_size: int, shuffle: bool, seed: int = 0,
                 weights: np.ndarray | None = None):
        super().__init__()
        self.seqs, self.y, self.scaling, self.batch_size = list(seqs), y, scaling, batch_size
        self.weights = np.ones(len(y), np.float32) if weights is None else weights
        self.length = max(len(s) for s in self.seqs)
        self.shuffle, self.rng = shuffle, np.random.default_rng(seed)
        self.order = self.rng.permutation(len(y)) if shuffle else np.arange(len(y))

    def __len__(self) -> int:
        return math.ceil(len(self.y) / self.batch_size)

    def __getitem__(self, i: int):
        idx = self.order[i * self.batch_size:(i + 1) * self.batch_size]
        x, mask = pad_sequences([self.seqs[j] for j in idx], self.scaling, self.length)
        labels = self.y[idx]
        frame_labels = np.where(mask > 0, labels[:, None], -1).astype(np.int64)
        w = self.weights[idx]
        return ({"features": x, "mask": mask}, {"clip": labels, "frames": frame_labels},
                {"clip": w, "frames": w[:, None] * mask})

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.rng.shuffle(self.order)


# Which Keras log entries are "the" loss and accuracy of each head kind.
LOG_KEYS = {
    "frame": {"loss": "loss", "accuracy": "accuracy"},
    "temporal": {"loss": "clip_loss", "accuracy": "clip_accuracy", "frame_loss": "frames_loss",
                 "total_loss": "loss"},
}


def compile_head(model, kind: str, learning_rate: float) -> None:
    """Adam and sparse categorical cross-entropy (clip + 0.5 x per-frame for temporal)."""
    optimizer = keras.optimizers.Adam(learning_rate)
    if kind == "frame":
        model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
        return
    frames_loss = keras.losses.SparseCategoricalCrossentropy(ignore_class=-1)
    model.compile(optimizer,
                  loss={"clip": "sparse_categorical_crossentropy", "frames": frames_loss},
                  loss_weights={"clip": 1.0, "frames": FRAME_LOSS_WEIGHT},
                  metrics={"clip": ["accuracy"]})


def save_model(model, path: str | os.PathLike) -> None:
    """Save a head for inference, atomically, without its optimizer state.

    A fresh functional model over the same layers shares the weights but has no
    optimizer, so the file holds only what prediction needs (for the reference
    VGG16 head that is a third of the size).
    """
    inference = keras.Model(model.input, model.output, name=model.name)
    replace_via_temp(path, lambda tmp: inference.save(tmp))


def pick(logs: dict | None, kind: str, prefix: str = "") -> dict:
    """The loss/accuracy entries of Keras logs under vidcore's names."""
    logs = logs or {}
    return {name: float(logs[prefix + key]) for name, key in LOG_KEYS[kind].items()
            if prefix + key in logs}


class RunCallback(keras.callbacks.Callback):
    """Streams metrics, keeps the best checkpoint, stops early or on request.

    Args:
        kind: head kind (``frame`` or ``temporal``), to read the right log entries.
        save: ``save(model)`` writes the checkpoint.
        emit: ``emit(record)`` receives batch and epoch records.
        should_stop: polled after every batch; True ends training after that batch.
        patience: epochs without a better validation loss before stopping (None: never).
        log_every: emit a batch record every this many batches.
        on_best: ``on_best(summary)`` after each new best checkpoint.
    """

    def __init__(self, kind: str, save: Callable, emit: Callable, should_stop: Callable,
                 patience: int | None, log_every: int, on_best: Callable | None = None):
        super().__init__()
        self.kind, self.save, self.emit, self.should_stop = kind, save, emit, should_stop
        self.patience, self.log_every, self.on_best = patience, max(1, log_every), on_best
        self.epoch, self.step, self.epochs_run = 0, 0, 0
        self.best = {"epoch": None, "val_loss": math.inf, "val_accuracy": None}
        self.stopped = self.early_stopped = False

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step % self.log_every == 0:
            self.emit({"kind": "batch", "epoch": self.epoch, "step": self.step,
                       **pick(logs, self.kind)})
        if self.should_stop():
            self.stopped = self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_run = self.epoch
        train, val = pick(logs, self.kind), pick(logs, self.kind, "val_")
        val_loss = val.get("loss", math.nan)
        improved = math.isfinite(val_loss) and val_loss < self.best["val_loss"]
        if improved:
            self.save(self.model)
            self.best = {"epoch": self.epoch, "val_loss": val_loss,
                         "val_accuracy": val.get("accuracy")}
            if self.on_best:
                self.on_best(self.best)
        self.emit({"kind": "epoch", "epoch": self.epoch, "step": self.step, **train,
                   **{f"val_{k}": v for k, v in val.items()}, "best": improved,
                   "partial": self.stopped})
        if self.patience and self.epoch - (self.best["epoch"] or 0) >= self.patience:
            self.early_stopped = self.model.stop_training = True
