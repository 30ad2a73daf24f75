"""Which out-of-distribution score tells "nothing like my training clips": one table.

Two directions, every candidate score's threshold set on the model's validation
clips (whole recordings held out of training) at the 95th and 99th percentile:

1. the shipped demo model (stick figures): the demo's own test clips must not be
   flagged, the real UCF101 clips of ``ucf101-dev`` must be;
2. a linear head fitted here on ``ucf101-dev`` (split by recordings): its test
   recordings must not be flagged, the demo's test clips must be.

Rates are the share of clips flagged; AUROC (familiar against unfamiliar clips)
says how well a score separates them whatever the threshold. Features come from the
feature stores (extracted on first use): ``VIDCORE_STORE`` or the repository's for
the demo, ``--real-store`` for the real clips.

    .venv/bin/python benchmarks/familiarity.py [--real ../shared/data/ucf101-dev]
        [--real-store /work/scratch/store-ucf]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vidcore import features, runs  # noqa: E402
from vidcore.data.index import load_index, validation_split  # noqa: E402
from vidcore.evaluate import aggregate  # noqa: E402
from vidcore.familiarity import clip_embeddings, knn_distance  # noqa: E402
from vidcore.models.linear import LinearHead  # noqa: E402
from vidcore.models.loading import load_model  # noqa: E402

QUANTILES = (0.95, 0.99, 1.0)  # 1.0: the largest validation score


def load(paths, spec, store) -> list[np.ndarray]:
    """The ``(T, D)`` features of each readable video."""
    feats, _ = features.load_features(paths, spec, store)
    return [f.features.astype(np.float32) for f in feats if f is not None]


def demo_sets(model, store) -> dict:
    """The demo model's training, validation and test clips (as training carved them)."""
    cfg = model.config
    index = load_index(runs.dataset_of(cfg), cfg["format"], cfg["split"], cfg["splits"],
                       cfg["test_fraction"], cfg["split_seed"])
    train, val = validation_split(index.train, cfg["val_fraction"], cfg["seed"])
    return {name: load([index.path_of(r) for r in recs], model.feature_spec, store)
            for name, recs in (("train", train), ("val", val), ("test", index.test))}


def real_sets(root: str, spec, store) -> dict:
    """``ucf101-dev`` split by recordings: train / validation / test clips and labels."""
    index = load_index(root, "auto", 1, None, 0.3, 0)
    train, val = validation_split(index.train, 0.15, 0)
    sets = {}
    for name, recs in (("train", train), ("val", val), ("test", index.test)):
        feats, _ = features.load_features([index.path_of(r) for r in recs], spec, store)
        kept = [(f.features.astype(np.float32), r.label) for f, r in zip(feats, recs,
                                                                          strict=True) if f]
        sets[name] = [x for x, _ in kept]
        sets[name + "_y"] = np.array([y for _, y in kept])
    sets["classes"] = len(index.classes)
    return sets


# ---------------------------------------------------------------- candidate scores


def knn_scores(train, k):
    bank = clip_embeddings(train)
    return lambda clips: knn_distance(bank, clip_embeddings(clips), k)


def mahalanobis_scores(train, labels):
    """Min over classes of the Mahalanobis distance with one shared (Ledoit-Wolf) covariance."""
    from sklearn.covariance import LedoitWolf

    x = np.stack([c.mean(0) for c in train])
    means = np.stack([x[labels == c].mean(0) for c in np.unique(labels)])
    precision = LedoitWolf().fit(x - means[np.searchsorted(np.unique(labels), labels)]).precision_

    def score(clips):
        q = np.stack([c.mean(0) for c in clips])
        d = q[:, None, :] - means[None]
        return np.einsum("ncd,de,nce->nc", d, precision, d).min(1)
    return score


def demo_model_candidates(model, sets) -> dict:
    """Candidate scores for the demo model (higher = less familiar)."""
    def outputs(clips):
        video = [features.VideoFeatures(c.astype(np.float16), np.zeros(len(c)),
                                        np.arange(len(c))) for c in clips]
        return model.predict_many(video)

    def msp(name):
        return lambda clips: np.array([1 - aggregate(o, name).confidence
                                       for o in outputs(clips)])

    def entropy(clips):
        p = np.stack([np.clip(o.clip_probs, 1e-12, 1) for o in outputs(clips)])
        return -(p * np.log(p)).sum(1)

    train_y = np.array([o.clip_probs.argmax() for o in outputs(sets["train"])])
    return {"knn k=1": knn_scores(sets["train"], 1), "knn k=5": knn_scores(sets["train"], 5),
            "knn k=10": knn_scores(sets["train"], 10),
            "mahalanobis": mahalanobis_scores(sets["train"], train_y),
            "1 - max softmax (temporal)": msp("temporal"),
            "1 - mean prob (mean)": msp("mean"), "1 - vote share (mode)": msp("mode"),
            "entropy (temporal)": entropy}


def linear_candidates(sets) -> dict:
    """Candidate scores for a linear head fitted on the real clips (its logits are known)."""
    pooled = np.stack([c.mean(0) for c in sets["train"]])
    head = LinearHead.fit(pooled, sets["train_y"], sets["classes"])

    def logits(clips):
        x = np.stack([c.mean(0) for c in clips])
        return ((x - head.mean) / head.scale) @ head.coef.T + head.intercept

    def energy(clips):
        from scipy.special import logsumexp

        return -logsumexp(logits(clips), axis=1)

    def msp(clips):
        return 1 - head.predict_proba(np.stack([c.mean(0) for c in clips])).max(1)

    return {"knn k=1": knn_scores(sets["train"], 1), "knn k=5": knn_scores(sets["train"], 5),
            "knn k=10": knn_scores(sets["train"], 10),
            "mahalanobis": mahalanobis_scores(sets["train"], sets["train_y"]),
            "1 - max softmax (linear)": msp, "energy (linear)": energy}


# ---------------------------------------------------------------- the table


def rows(candidates: dict, val, familiar, unfamiliar) -> list[list]:
    from sklearn.metrics import roc_auc_score

    table = []
    for name, score in candidates.items():
        v, f, u = score(val), score(familiar), score(unfamiliar)
        auc = roc_auc_score(np.r_[np.zeros(len(f)), np.ones(len(u))], np.r_[f, u])
        row = [name, f"{auc:.3f}"]
        for q in QUANTILES:
            t = np.quantile(v, q)
            row += [f"{t:.4g}", f"{np.mean(f > t):.1%}", f"{np.mean(u > t):.1%}"]
        row.append(f"{np.min(u):.3g}-{np.max(u):.3g}")
        table.append(row)
    return table


def markdown(title: str, familiar: str, unfamiliar: str, table) -> str:
    head = ["score", "AUROC"]
    for q in QUANTILES:
        p = f"p{round(q * 100)}"
        head += [f"threshold {p}", f"{familiar} flagged ({p})", f"{unfamiliar} flagged ({p})"]
    head.append(f"{unfamiliar} score range")
    lines = [f"### {title}", "", "| " + " | ".join(head) + " |",
             "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in table]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", default=str(ROOT.parent / "shared" / "data" / "ucf101-dev"))
    parser.add_argument("--real-store", default=None, help="feature store of the real clips")
    parser.add_argument("--demo-store", default=None, help="feature store of the demo clips")
    args = parser.parse_args()
    model = load_model(runs.DEMO_MODEL_DIR)
    demo = demo_sets(model, args.demo_store)
    real = real_sets(args.real, model.feature_spec, args.real_store)
    every_real = real["train"] + real["val"] + real["test"]
    print(f"demo: {len(demo['train'])} train, {len(demo['val'])} val, {len(demo['test'])} "
          f"test clips; real: {len(every_real)} clips "
          f"({len(real['train'])}/{len(real['val'])}/{len(real['test'])})\n")
    print(markdown("Demo model: its test clips against the real clips", "demo test", "real",
                   rows(demo_model_candidates(model, demo), demo["val"], demo["test"],
                        every_real)))
    print(markdown("Linear head on ucf101-dev: its test recordings against the demo's "
                   "test clips", "real test", "demo", rows(linear_candidates(real),
                                                           real["val"], real["test"],
                                                           demo["test"])))


if __name__ == "__main__":
    main()
