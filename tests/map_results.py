"""A finished map job written by hand, as ``vidcore.views.map_jobs`` leaves it.

The pages only read a job folder, so app tests can give them a map whose pairs and
issues they choose, in a moment (no backbone, no UMAP): coordinates on a grid by
class, ``result.json`` shaped as ``vidcore inspect --json`` prints it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vidcore import runs
from vidcore.views import map_jobs


def write_finished_job(index, spec, store: Path, duplicates: list[dict] = (),
                       issues: list[dict] = ()) -> Path:
    """Write a done job for ``index`` under ``spec`` into ``store``; returns its folder.

    Args:
        index: the dataset as the page indexes it.
        spec: the feature set the page maps with.
        store: the feature store the app uses (``VIDCORE_STORE``).
        duplicates: ``{"a", "b", "similarity", "cross_split", "same_group"}`` rows.
        issues: ``{"path", "given", "suggested", "score"}`` rows.
    """
    folder = map_jobs.job_folder(index, spec, store)
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"path": r.path, "x": float(r.label), "y": float(i % 10) / 10, "class": r.class_name,
             "label": r.label, "group": r.group, "split": r.split}
            for i, r in enumerate(index.records)]
    csv = folder / "map.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    runs.write_json(folder / map_jobs.RESULT, {
        "dataset": str(index.root), "clips": len(rows), "unreadable": [], "threshold": 0.92,
        "duplicates": list(duplicates), "duplicates_total": len(duplicates),
        "cross_split_total": sum(bool(d["cross_split"]) for d in duplicates),
        "label_issues": list(issues), "label_issues_total": len(issues), "unjudged": [],
        "map": {"file": str(csv), "cache": None, "method": "grid", "seed": 0,
                "clips": len(rows)}})
    return folder
