"""Near-duplicate clips: neighbour pairs above a cosine-similarity threshold.

What the similarity of two clip features (``embeddings``: EfficientNet-Lite0,
ImageNet weights, 8 uniform frames, mean-pooled, L2-normalised) is, measured on the
223 real UCF101 clips of ucf101-dev (8 classes, 18 recordings each of the 3 large
classes; 24,753 pairs) and on re-encoded copies of 8 of them (5 variants each):

=============================================  ======  ======  =====
pair                                           min     median  max
=============================================  ======  ======  =====
different classes                              0.236   0.450   0.717
one class, different recordings                0.316   0.549   0.894
one recording, different clips                 0.558   0.882   0.997
copy re-encoded (MPEG-4 Part 2 / MJPEG)        0.994   0.997   0.999
copy re-encoded with H.264 at CRF 30           0.977   0.983   0.992
copy with its first 20 % cut                   0.971   0.985   0.997
copy at half the resolution                    0.925   0.955   0.987
=============================================  ======  ======  =====

So ``DEFAULT_THRESHOLD = 0.92`` catches every copy measured (the lowest, a half-size
copy, at 0.925) and no pair of different recordings (the highest, two recordings of
one boxing broadcast, at 0.894). Clips of one recording often pass it too: that is
why each pair says whether the index already groups the two (``same_group``).
"""

from __future__ import annotations

import pandas as pd

from vidcore.dataset_map.embeddings import ClipFeatures
from vidcore.dataset_map.neighbours import neighbour_graph, similar_pairs

DEFAULT_THRESHOLD = 0.92
COLUMNS = ("a", "b", "similarity", "cross_split", "same_group",
           "a_class", "b_class", "a_split", "b_split")
SIDES = ("train", "test")  # the two sides of a split; "unused" clips cross nothing


def near_duplicates(clips: ClipFeatures, threshold: float = DEFAULT_THRESHOLD,
                    limit: int | None = None) -> pd.DataFrame:
    """Pairs of clips at least ``threshold`` similar, in order of concern.

    Order: pairs across the split first (train against test: a leak that inflates
    accuracy), then pairs the index does not already group, then by similarity.

    Args:
        clips: the dataset's clip features.
        threshold: cosine similarity from which two clips count as near-duplicates.
        limit: keep at most this many pairs (None: all).

    Returns:
        A DataFrame with ``COLUMNS``: ``a``/``b`` record paths (``a`` first in the
        index), ``similarity``, ``cross_split``, ``same_group``, and each clip's class
        and split.
    """
    indices, sims = neighbour_graph(clips)
    rows = [_pair_row(clips.records[i], clips.records[j], s)
            for i, j, s in similar_pairs(indices, sims, threshold)]
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    table = table.sort_values(["cross_split", "same_group", "similarity", "a", "b"],
                              ascending=[False, True, False, True, True], kind="stable")
    table = table.reset_index(drop=True)
    return table if limit is None else table.head(limit)


def _pair_row(a, b, similarity: float) -> dict:
    cross = a.split != b.split and a.split in SIDES and b.split in SIDES
    return {"a": a.path, "b": b.path, "similarity": round(float(similarity), 4),
            "cross_split": cross, "same_group": a.group == b.group,
            "a_class": a.class_name, "b_class": b.class_name,
            "a_split": a.split, "b_split": b.split}
