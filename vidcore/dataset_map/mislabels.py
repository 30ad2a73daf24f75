"""Likely label issues: clips whose features fit another class better than their own.

A fast probe (logistic regression on standardised clip features) is cross-validated
by recording (``StratifiedGroupKFold`` over the index's groups), so every clip gets
class probabilities from a model that saw neither it nor any clip of its recording:
clips of one recording look alike, and a probe that had seen the recording would
vouch for a wrong label. cleanlab then finds the clips whose given class is
implausible under those out-of-fold probabilities and ranks them; clips flagged only
for resembling a mislabelled twin are dropped (``echoes``).

A class with a single recording cannot be judged this way (holding its recording out
leaves the probe without an example of it): its clips are left out of the ranking
and listed in ``LabelIssues.unjudged`` (though other clips may be suggested to join
it). Ranking needs two judged classes at least; with fewer, every clip is unjudged.
"""

from __future__ import annotations

import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from vidcore.dataset_map import cache
from vidcore.dataset_map.duplicates import DEFAULT_THRESHOLD
from vidcore.dataset_map.embeddings import ClipFeatures
from vidcore.dataset_map.neighbours import neighbour_graph, similar_pairs

FOLDS = 5
# Measured on ucf101-dev (223 clips, Lite0 features, 5 folds by recording), with 8
# clips of its 3 large classes given another of the 3 classes, 8 times over:
# out-of-fold accuracy 0.865 / 0.888 / 0.892 / 0.865 and log loss 0.395 / 0.373 /
# 0.365 / 0.604 at C = 0.1 / 1 / 3 / 10; planted clips among the first 8 issues
# (of about 28) ranked by normalized_margin 5.4 / 5.3 / 5.1 of 8, by self_confidence
# 4.6 / 4.6 / 4.9, by confidence_weighted_entropy 3.5 / 3.6 / 3.5 (C = 0.1 / 1 / 3),
# and the right class suggested for 6.75-7 of the 8.
PROBE_C = 1.0
PROBE_ITERATIONS = 300
RANKED_BY = "normalized_margin"
# Below this many clips x features the probe's matrix products are too small for
# several BLAS threads, which then mostly spin: one thread took 14x less CPU time
# fitting 180 ucf101-dev clips.
SINGLE_THREAD_BELOW = 5_000 * 1280
COLUMNS = ("path", "given", "suggested", "score", "given_probability",
           "suggested_probability", "group", "split")


@dataclass(frozen=True)
class LabelIssues:
    """Likely label issues of a dataset, most likely first.

    Attributes:
        table: ``COLUMNS``: record path, given class, suggested class, ``score`` (the
            given label's quality by cleanlab's ``RANKED_BY`` method, from 0: surely
            wrong, to 1: surely right), the out-of-fold probabilities of the given and
            the suggested class, group and split.
        unjudged: record paths that could not be judged (their class has fewer than
            two recordings, or fewer than two classes could be judged).
    """

    table: pd.DataFrame
    unjudged: tuple[str, ...] = field(default=())


def label_issues(clips: ClipFeatures, seed: int = 0, limit: int | None = None) -> LabelIssues:
    """The clips whose labels look wrong, ranked by cleanlab, most likely first.

    Args:
        clips: the dataset's clip features.
        seed: seed of the cross-validation folds.
        limit: keep at most this many issues (None: every issue cleanlab finds).

    Returns:
        A ``LabelIssues``; empty, every clip unjudged, unless at least two classes
        have two recordings or more (cleanlab compares classes).
    """
    probs, judged = cached_probabilities(clips, seed)
    rows = np.flatnonzero(judged)
    labels = clips.labels[rows]
    if len(np.unique(labels)) < 2:
        judged[:] = False
        rows = rows[:0]
    unjudged = tuple(p for p, ok in zip(clips.paths, judged, strict=True) if not ok)
    if not len(rows):
        return LabelIssues(pd.DataFrame(columns=list(COLUMNS)), unjudged)
    ranked, scores = _rank(labels, probs[rows])
    flagged = rows[ranked]
    ranked = ranked[~echoes(clips, flagged, _suggestions(probs[flagged], labels[ranked]))]
    table = pd.DataFrame([_issue_row(clips, rows[i], probs[rows[i]], scores[i])
                          for i in ranked], columns=list(COLUMNS))
    return LabelIssues(table if limit is None else table.head(limit), unjudged)


def _rank(labels: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """cleanlab's issues (indices, most likely first) and every row's label quality."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    # Its "too few examples to flag all issues in class k" is for cleanlab's users.
    warnings.filterwarnings("ignore", category=UserWarning, module=r"cleanlab(\.|$)")
    # n_jobs=1: cleanlab's default forks worker processes, unsafe in the app's threads.
    # Rows hold every class's probability (a class of one recording can be suggested
    # though not judged); cleanlab copes with classes no judged clip is labelled with.
    issues = find_label_issues(labels, probs, return_indices_ranked_by=RANKED_BY, n_jobs=1)
    return issues, get_label_quality_scores(labels, probs, method=RANKED_BY)


def _suggestions(probs: np.ndarray, given: np.ndarray) -> np.ndarray:
    """The most probable class other than the given one, per row (the suggestion is
    another class, even where the given one wins)."""
    others = probs.copy()
    others[np.arange(len(given)), given] = -1.0
    return np.argmax(others, axis=1)


def _issue_row(clips: ClipFeatures, row: int, probs: np.ndarray, score: float) -> dict:
    record = clips.records[row]
    best = int(_suggestions(probs[None], np.array([record.label]))[0])
    return {"path": record.path, "given": record.class_name,
            "suggested": clips.classes[best], "score": round(float(score), 4),
            "given_probability": round(float(probs[record.label]), 4),
            "suggested_probability": round(float(probs[best]), 4),
            "group": record.group, "split": record.split}


def cached_probabilities(clips: ClipFeatures, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``out_of_fold_probabilities``, cached per dataset version, labels and seed."""
    name = f"probabilities-{clips.labels_version()[:16]}-seed{seed}"
    stored = cache.load(clips.cache_dir, name)
    shape = (len(clips), len(clips.classes))
    if stored and stored.get("probs", np.empty(0)).shape == shape:
        return stored["probs"], stored["judged"].astype(bool)
    probs, judged = out_of_fold_probabilities(clips, seed)
    cache.save(clips.cache_dir, name, {"probs": probs, "judged": judged})
    return probs, judged


def out_of_fold_probabilities(clips: ClipFeatures, seed: int = 0,
                              folds: int = FOLDS) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities of every clip from a probe that never saw its recording.

    Returns:
        ``(probs, judged)``: ``(n, classes)`` float32 (rows of unjudged clips are
        zero) and a boolean mask of the clips that could be judged.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    labels = clips.labels
    groups = np.array([r.group for r in clips.records])
    probs = np.zeros((len(clips), len(clips.classes)), np.float32)
    judged = _judgeable(labels, groups)
    splits = min(folds, len(np.unique(groups)))
    if splits < 2 or len(np.unique(labels)) < 2 or not judged.any():
        return probs, np.zeros(len(clips), bool)
    cv = StratifiedGroupKFold(splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():  # "the least populated class has only N members"
        warnings.simplefilter("ignore", UserWarning)
        folds_of = list(cv.split(clips.matrix, labels, groups))
    for train, test in folds_of:
        with _blas_threads(clips.matrix[train].size):
            model = _probe().fit(clips.matrix[train], labels[train])
            probs[np.ix_(test, model.classes_)] = model.predict_proba(clips.matrix[test])
        # Rare: a fold held out every recording of a class; its clips there cannot be judged.
        judged[test[~np.isin(labels[test], model.classes_)]] = False
    probs[~judged] = 0.0
    return probs, judged


def echoes(clips: ClipFeatures, rows: np.ndarray, suggested: np.ndarray) -> np.ndarray:
    """Which flagged clips only echo a mislabelled near-duplicate twin.

    Cross-validation holds out by recording, so a clip filed under another class (its
    own group there) sits in training while its recording mates are judged: the probe
    then suggests the wrong class for each mate (on ucf101-dev, a PushUps clip filed as
    BabyCrawling made its three mates BabyCrawling issues). Within a set of clips
    linked by near-duplicate pairs (``DEFAULT_THRESHOLD``) that carries one majority
    class, a clip of that class whose suggestion is a minority class of the set is
    such an echo. With no majority (one clip against one) both stay.

    Args:
        clips: the clip features.
        rows: flagged clips (row numbers).
        suggested: each flagged clip's suggested class id.

    Returns:
        A boolean mask over ``rows``: True for echoes.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    pairs = similar_pairs(*neighbour_graph(clips), DEFAULT_THRESHOLD)
    echo = np.zeros(len(rows), bool)
    if not pairs or not len(rows):
        return echo
    a, b = (np.array(side) for side in zip(*[(i, j) for i, j, _ in pairs], strict=True))
    links = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(clips), len(clips)))
    sets = connected_components(links, directed=False)[1]
    labels = clips.labels
    for k, (row, suggestion) in enumerate(zip(rows, suggested, strict=True)):
        members = labels[sets == sets[row]]
        counts = np.bincount(members, minlength=len(clips.classes))
        top = np.flatnonzero(counts == counts.max())
        echo[k] = (len(top) == 1 and labels[row] == top[0] and suggestion != top[0]
                   and counts[suggestion] > 0)
    return echo


def _judgeable(labels: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Clips of classes with at least two recordings (groups)."""
    recordings = pd.Series(groups).groupby(labels).nunique()
    return recordings.reindex(labels).to_numpy() >= 2


def _blas_threads(size: int):
    """One BLAS thread for small fits (see ``SINGLE_THREAD_BELOW``), else the default."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, "blas") if size < SINGLE_THREAD_BELOW else nullcontext()


def _probe():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(),
                         LogisticRegression(C=PROBE_C, max_iter=PROBE_ITERATIONS))
