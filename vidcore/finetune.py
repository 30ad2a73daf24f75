"""Fine-tuning: train the last stages of a Lite backbone on the clips, then the head.

A run with ``finetune_stages > 0`` (the ``finetune`` preset) goes:

1. the frozen bottom's feature maps (frames up to the first trained block) of every
   training and validation clip are computed once and cached, float16, in the
   feature store's root (``vidcore.features.activations``); a second run reuses them;
2. the top (the last ``finetune_stages`` stages and the 1280-wide head conv, batch
   norms frozen) and a softmax classifier train on those maps in the manner of
   temporal segment networks: each step takes ``batch_size`` clips, ``finetune_frames``
   random frames of each, one random view (plain or mirrored frames) and a random
   horizontal flip of the maps, and averages the frames' logits into the clip's;
   class-balanced cross-entropy; Adam at ``learning_rate`` for the backbone and
   ``HEAD_LR_FACTOR`` times that for the classifier, which starts as the frozen
   features' logistic regression (so epoch 0 is the frozen model);
3. validation recordings (carved by group, as for every run) score every epoch on all
   their frames (flip-averaged when the preset averages flips); the best epoch's top
   is kept, early stopping after ``patience`` epochs without a better class-balanced
   validation loss; the frozen model is epoch 0, so fine-tuning never keeps worse;
4. the kept top goes back into a whole backbone, written atomically as the run's
   ``backbone.weights.h5`` (``vidcore.models.run_backbone``: every consumer of the run
   resolves its features from it), and the run's head is fitted on the fine-tuned
   features as in any run (the ``linear`` head by default).

Only the cached maps and one batch are in memory: entries are memory-mapped. A killed
run has no model file, so it reads as failed; its cached maps are reused by the next.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidcore import runs
from vidcore.features.activations import (
    ActivationSpec,
    activation_spec,
    cache_activations,
    load_activations,
)
from vidcore.models import run_backbone

log = logging.getLogger(__name__)

HEAD_LR_FACTOR = 1.0  # it starts at the frozen optimum; Adam steps of 1e-3 on 1280
# features moved logits by tens a step (the loss went up 100-fold in 5 steps)
DROPOUT = 0.5  # on the pooled features, before the classifier (training only)
NO_VALIDATION_EPOCHS = 5  # without validation recordings nothing can stop it early
FEATURE_CHUNK = 64  # frames per inference call when computing features


@dataclass
class Clips:
    """Cached maps of clips and their labels: ``maps[i]`` is ``(T, V, H, W, C)``."""

    maps: list
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.maps)


# ---------------------------------------------------------------- the model


class TopTrainer:
    """The trainable top, its classifier and optimizers, and compiled steps.

    Args:
        top: the Lite top (``vidcore.models.lite_cut.top_model``).
        num_classes: C.
        learning_rate: the backbone's Adam rate (the classifier's is ``HEAD_LR_FACTOR``
            times that).
        seed: seeds dropout.
    """

    def __init__(self, top, num_classes: int, learning_rate: float, seed: int = 0):
        import keras
        import tensorflow as tf

        self.top = top
        dim = int(top.output.shape[-1])
        self.kernel = keras.Variable(np.zeros((dim, num_classes), np.float32), name="kernel")
        self.bias = keras.Variable(np.zeros(num_classes, np.float32), name="bias")
        self.dropout = keras.layers.Dropout(DROPOUT, seed=seed)
        self.opt_top = keras.optimizers.Adam(learning_rate)
        self.opt_head = keras.optimizers.Adam(learning_rate * HEAD_LR_FACTOR)
        self._step = tf.function(self._train_step, reduce_retracing=True)
        self._features = tf.function(lambda x: self.top(x, training=False),
                                     reduce_retracing=True)

    def init_classifier(self, features: np.ndarray, y: np.ndarray, seed: int) -> None:
        """Start the classifier at the class-balanced logistic regression of clip-mean
        ``features`` (its standardisation folded into the weights)."""
        from vidcore.models.linear import LinearHead

        head = LinearHead.fit(features, y, self.kernel.shape[1], 1.0, seed, balanced=True)
        kernel = (head.coef / head.scale).T
        self.kernel.assign(kernel.astype(np.float32))
        self.bias.assign((head.intercept - head.mean @ kernel).astype(np.float32))

    def _train_step(self, x, y, w):
        import tensorflow as tf

        clips, frames = tf.shape(x)[0], tf.shape(x)[1]
        flat = tf.reshape(x, tf.concat([[-1], tf.shape(x)[2:]], 0))
        variables = self.top.trainable_variables
        with tf.GradientTape() as tape:
            f = self.dropout(self.top(flat, training=True), training=True)
            logits = tf.reduce_mean(tf.reshape(f @ self.kernel + self.bias,
                                               [clips, frames, -1]), 1)
            losses = tf.keras.losses.sparse_categorical_crossentropy(y, logits,
                                                                     from_logits=True)
            loss = tf.reduce_sum(w * losses) / tf.reduce_sum(w)
        grads = tape.gradient(loss, [*variables, self.kernel, self.bias])
        self.opt_top.apply_gradients(zip(grads[:len(variables)], variables, strict=True))
        self.opt_head.apply_gradients(zip(grads[len(variables):], [self.kernel, self.bias],
                                          strict=True))
        correct = tf.cast(tf.equal(tf.argmax(logits, 1, output_type=y.dtype), y), tf.float32)
        return loss, tf.reduce_mean(correct)

    def step(self, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
        """One optimisation step on a batch ``(B, K, H, W, C)``; its loss and accuracy."""
        loss, acc = self._step(x, y, w)
        return float(loss), float(acc)

    def clip_features(self, maps: np.ndarray) -> np.ndarray:
        """Per-frame features ``(T, D)`` of one clip's maps ``(T, V, H, W, C)``, its views
        averaged (flip-averaged features, as the pipeline computes them)."""
        t, v = maps.shape[:2]
        flat = np.asarray(maps, np.float32).reshape(t * v, *maps.shape[2:])
        out = np.concatenate([np.asarray(self._features(flat[i:i + FEATURE_CHUNK]))
                              for i in range(0, len(flat), FEATURE_CHUNK)])
        return out.reshape(t, v, -1).mean(1)

    def logits(self, features: np.ndarray) -> np.ndarray:
        """The classifier's logits of clip-mean features ``(N, D)``."""
        return features @ np.asarray(self.kernel) + np.asarray(self.bias)


# ---------------------------------------------------------------- batches


def batches(clips: Clips, batch_size: int, frames: int, rng: np.random.Generator,
            weights: np.ndarray):
    """One epoch of training batches ``(x (B, K, H, W, C) float32, y, weights)``: clips
    shuffled, ``frames`` random frames of each in order, one random view, a random
    horizontal flip of the maps."""
    order = rng.permutation(len(clips))
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        x = np.stack([_augmented(clips.maps[i], frames, rng) for i in idx])
        yield x, clips.y[idx], weights[idx]


def _augmented(maps, frames: int, rng: np.random.Generator) -> np.ndarray:
    t, views = maps.shape[:2]
    pick = np.sort(rng.choice(t, frames, replace=t < frames))
    x = np.asarray(maps[pick, rng.integers(views)], np.float32)
    return x[:, :, ::-1] if rng.random() < 0.5 else x


# ---------------------------------------------------------------- the run


def fine_tuned_data(config, run_dir: Path, monitor, paths: list, make_data):
    """Fine-tune the run's backbone top and return the fine-tuned features.

    Args:
        config: the run's ``TrainConfig`` (``finetune_stages`` > 0).
        run_dir: the run directory (``backbone.weights.h5`` is written there).
        monitor: the run's ``vidcore.train.Monitor``.
        paths: the training then validation videos.
        make_data: ``make_data(xs, summary, pack)``: the run's ``TrainData`` of the
            clips whose ``xs`` are not None (``vidcore.train.checked_data`` on the
            records of ``paths``; passed in, so this module does not import training).

    Returns:
        ``(TrainData of fine-tuned features, fit fields)``: ``stopped``,
        ``early_stopped``, ``epochs_run``, ``best_epoch`` and a ``finetune`` summary;
        ``(None, {})`` when a stop request arrived before training began.

    Raises:
        DatasetError: no training clip could be read.
    """
    import keras

    from vidcore.models.backbones import create_backbone
    from vidcore.models.lite_cut import bottom_model, cut_block, top_model

    keras.utils.set_random_seed(config.seed)
    spec = activation_spec(config.feature_spec(), cut_block(config.backbone,
                                                             config.finetune_stages))
    backbone = create_backbone(config.backbone, config.weights)
    start = time.perf_counter()
    summary = cache_activations(paths, spec, config.store_dir, monitor.extract_progress,
                                monitor.should_stop, bottom_model(backbone, spec.cut))
    if monitor.should_stop():
        return None, {}
    data = make_data(load_activations(paths, spec, config.store_dir), summary, False)
    cache_seconds = time.perf_counter() - start
    trainer = TopTrainer(top_model(backbone, spec.cut), len(data.classes),
                         config.learning_rate, config.seed)
    fit = _train_top(trainer, data, config, run_dir, monitor)
    run_backbone.save(backbone, trainer.top, run_dir)
    _prepare_engine(config, run_dir)
    tuned = type(data)(data.classes, [_f16(trainer.clip_features(m)) for m in data.train_x],
                       data.train_y, [_f16(trainer.clip_features(m)) for m in data.val_x],
                       data.val_y, data.failed, data.extraction)
    fit["finetune"] = {**fit.pop("summary"), "cache": _cache_summary(spec, summary),
                       "cache_seconds": round(cache_seconds, 2)}
    return tuned, fit


def _prepare_engine(config, run_dir: Path) -> None:
    """Convert the run's backbone for LiteRT now when that is the engine its starting
    weights run on here (remembered, never measured here), so that the run's first
    verdict does not wait for a conversion: it is cached in the run."""
    from vidcore.features import FeatureSpec, backbone_runner

    spec = FeatureSpec(config.backbone, str(run_backbone.weights_path(run_dir).resolve()),
                       config.sampler, flip=config.flip)
    if spec.engine_choice(measure=False).engine == "litert":
        backbone_runner(spec)


def _f16(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float16)


def _cache_summary(spec: ActivationSpec, summary) -> dict:
    return {"folder": summary.store, "cut_block": spec.cut, "views": list(spec.views),
            "computed": summary.computed, "cached": summary.cached}


def _train_top(trainer: TopTrainer, data, config, run_dir: Path, monitor) -> dict:
    """The epochs: train, validate, keep the best top weights (epoch 0: the frozen top)."""
    from vidcore.models.keras_fit import balanced_weights

    train_clips = Clips(data.train_x, np.asarray(data.train_y))
    val_clips = Clips(data.val_x, np.asarray(data.val_y))
    trainer.init_classifier(_clip_means(trainer, train_clips), train_clips.y, config.seed)
    best = {"epoch": 0, **_validate(trainer, val_clips), "weights": _state(trainer)}
    frozen = best["val_loss"]
    epochs = config.epochs if len(val_clips) else min(config.epochs, NO_VALIDATION_EPOCHS)
    rng, weights = np.random.default_rng(config.seed), balanced_weights(train_clips.y)
    stopped = early = False
    step, epoch, seconds = 0, 0, []
    for epoch in range(1, epochs + 1):
        began, losses = time.perf_counter(), []
        for x, y, w in batches(train_clips, config.batch_size, config.finetune_frames, rng,
                               weights if config.balance else np.ones_like(weights)):
            losses.append(trainer.step(x, y, w))
            step += 1
            if step % config.log_every == 0:
                monitor.emit({"kind": "batch", "epoch": epoch, "step": step,
                              "loss": losses[-1][0], "accuracy": losses[-1][1]})
            if monitor.should_stop():
                stopped = True
                break
        seconds.append(time.perf_counter() - began)
        val = _validate(trainer, val_clips)
        improved = len(val_clips) == 0 or val["val_loss"] < best["val_loss"]
        if improved:
            best = {"epoch": epoch, **val, "weights": _state(trainer)}
            runs.write_status(run_dir, "running", best_epoch=epoch)
        loss, acc = np.mean(losses, 0) if losses else (math.nan, math.nan)
        monitor.emit({"kind": "epoch", "epoch": epoch, "step": step, "loss": float(loss),
                      "accuracy": float(acc), **val, "best": improved, "partial": stopped})
        if stopped:
            break
        if config.patience and epoch - best["epoch"] >= config.patience:
            early = True
            break
    _restore(trainer, best["weights"])
    return {"stopped": stopped, "early_stopped": early, "epochs_run": epoch,
            "best_epoch": best["epoch"],
            "summary": {"stages": config.finetune_stages, "best_epoch": best["epoch"],
                        "frozen_val_loss": _round(frozen),
                        "best_val_loss": _round(best["val_loss"]),
                        "seconds_per_epoch": round(float(np.mean(seconds)), 2) if seconds
                        else None, "train_clips": len(train_clips),
                        "frames_per_step": config.finetune_frames}}


def _round(value):
    return None if value is None or not math.isfinite(value) else round(float(value), 4)


def _clip_means(trainer: TopTrainer, clips: Clips) -> np.ndarray:
    return np.stack([trainer.clip_features(m).mean(0) for m in clips.maps])


def _validate(trainer: TopTrainer, clips: Clips) -> dict:
    """Class-balanced clip loss and accuracy on every frame of the validation clips."""
    from vidcore.models.keras_fit import balanced_weights

    if not len(clips):
        return {"val_loss": None, "val_accuracy": None}
    logits = trainer.logits(_clip_means(trainer, clips))
    logits = logits - logits.max(1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    w = balanced_weights(clips.y)
    loss = float(-(w * log_probs[np.arange(len(clips)), clips.y]).sum() / w.sum())
    return {"val_loss": loss, "val_accuracy": float(np.mean(logits.argmax(1) == clips.y))}


def _state(trainer: TopTrainer) -> list[np.ndarray]:
    return [*trainer.top.get_weights(), np.asarray(trainer.kernel), np.asarray(trainer.bias)]


def _restore(trainer: TopTrainer, state: list[np.ndarray]) -> None:
    trainer.top.set_weights(state[:-2])
    trainer.kernel.assign(state[-2])
    trainer.bias.assign(state[-1])
