"""The linear head's pooling (issue 26): mean, or mean and standard deviation of a clip's
frame features, the same in numpy, in an export's Keras ops and in Grad-CAM's logits."""

from __future__ import annotations

import numpy as np
import pytest

from vidcore import train
from vidcore.errors import InputError
from vidcore.models.linear import LinearHead, pool, pool_clips, signed_root
from vidcore.models.runtimes import LinearRuntime

D, T = 6, 10


def clips_that_differ_in_variation(n: int = 40, seed: int = 0):
    """Two classes with the same mean features: class 1 flickers over time, class 0 not."""
    rng = np.random.default_rng(seed)
    xs, y = [], []
    for k in range(n):
        label = k % 2
        base = rng.normal(0, 0.1, D)
        wobble = rng.choice([-1.0, 1.0], (T, 1)) * (2.0 if label else 0.1)
        xs.append((base + wobble * np.ones(D)).astype(np.float32))
        y.append(label)
    return xs, np.array(y)


def test_pooling_shapes_and_values():
    frames = np.arange(12, dtype=np.float32).reshape(4, 3)
    assert np.allclose(pool(frames), frames.mean(0))
    both = pool(frames, "mean_std")
    assert both.shape == (6,) and np.allclose(both[3:], frames.std(0))
    assert pool_clips([frames, frames], "mean_std").shape == (2, 6)


def test_mean_and_std_tell_apart_what_the_mean_cannot():
    xs, y = clips_that_differ_in_variation()
    test_xs, test_y = clips_that_differ_in_variation(seed=1)
    accuracy = {}
    for pooling in ("mean", "mean_std"):
        head = LinearHead.fit(pool_clips(xs, pooling), y, 2, pooling=pooling)
        guesses = [int(np.argmax(head.clip_proba(x))) for x in test_xs]
        accuracy[pooling] = float(np.mean(np.array(guesses) == test_y))
    assert accuracy["mean_std"] >= 0.95 and accuracy["mean"] <= 0.75, accuracy


def test_the_pooling_is_saved_and_an_old_file_reads_as_mean(tmp_path):
    xs, y = clips_that_differ_in_variation()
    head = LinearHead.fit(pool_clips(xs, "mean_std"), y, 2, pooling="mean_std")
    head.save(tmp_path / "model.npz")
    again = LinearHead.load(tmp_path / "model.npz")
    assert again.pooling == "mean_std" and again.feature_dim == D
    assert np.allclose(again.clip_proba(xs[0]), head.clip_proba(xs[0]))
    np.savez(tmp_path / "old.npz", coef=head.coef[:, :D], intercept=head.intercept,
             mean=head.mean[:D], scale=head.scale[:D])
    old = LinearHead.load(tmp_path / "old.npz")
    assert old.pooling == "mean" and not old.root


@pytest.mark.parametrize("pooling,root", [("mean", False), ("mean_std", False),
                                          ("mean", True), ("mean_std", True)])
def test_export_ops_and_gradcam_logits_equal_numpy(pooling, root):
    from scipy.special import softmax

    xs, y = clips_that_differ_in_variation()
    runtime = LinearRuntime(LinearHead.fit(pool_clips(xs, pooling, root), y, 2,
                                           pooling=pooling, root=root))
    assert runtime.input_dim == D
    frames = xs[1]
    expected = runtime.head.clip_proba(frames)
    assert np.allclose(np.asarray(runtime.clip_probabilities(frames)), expected, atol=1e-5)
    logits = np.asarray(runtime.logit_function()(frames))
    assert np.allclose(softmax(logits[0]), expected, atol=1e-5)
    (frame_probs, clip_probs), = runtime.predict([type("V", (), {"features": frames})()])
    assert frame_probs.shape == (T, 2) and np.allclose(clip_probs, expected)


def test_training_pools_as_configured_and_refuses_an_unknown_pooling():
    xs, y = clips_that_differ_in_variation()
    config = train.TrainConfig(dataset="unused", head="linear", linear_pooling="mean_std")
    head = train._linear_head(config, xs, y, 2)
    assert head.pooling == "mean_std" and head.coef.shape == (2, 2 * D)
    with pytest.raises(InputError, match="unknown linear pooling 'max'"):
        train.TrainConfig(dataset="unused", linear_pooling="max")


def test_the_signed_root_damps_large_values_and_is_kept_with_the_head(tmp_path):
    assert np.allclose(signed_root([0.0, 4.0, -9.0]), [0.0, 2.0, -3.0], atol=0.01)
    frames = np.abs(np.random.default_rng(0).normal(0, 3, (T, D))).astype(np.float32)
    assert np.allclose(pool(frames, "mean", root=True), signed_root(frames.mean(0)))
    xs, y = clips_that_differ_in_variation()
    xs = [np.abs(x) for x in xs]
    head = LinearHead.fit(pool_clips(xs, "mean", True), y, 2, root=True)
    head.save(tmp_path / "model.npz")
    again = LinearHead.load(tmp_path / "model.npz")
    assert again.root and np.allclose(again.clip_proba(xs[3]), head.clip_proba(xs[3]))
    # The probabilities are those of the rooted pooled features, not of the plain ones.
    plain = head.predict_proba(pool(xs[3])[None])[0]
    rooted = head.predict_proba(pool(xs[3], root=True)[None])[0]
    assert np.allclose(head.clip_proba(xs[3]), rooted) and not np.allclose(rooted, plain)


def test_training_roots_by_default_and_can_leave_it_out():
    xs, y = clips_that_differ_in_variation()
    xs = [np.abs(x) for x in xs]
    assert train._linear_head(train.TrainConfig(dataset="unused", head="linear"),
                              xs, y, 2).root
    config = train.TrainConfig(dataset="unused", head="linear", linear_root=False)
    assert not train._linear_head(config, xs, y, 2).root
