"""The on-disk cache of dataset-map results: one folder per feature set and dataset version.

Layout: ``<store>/<feature set>/maps/<version>/<name>.npz`` (``ClipFeatures.cache_dir``),
beside the features they come from, so that a store deleted or moved takes its maps
along. Three levels below the feature set, so the store's own entry listing
(``<feature set>/<k[:2]>/<k>.npz``) never mistakes a map for a video's features.

Every file is written to a temp file in its folder (named with the store's temp
prefix, so the store's stale-temp sweep clears what a killed process left) and
renamed into place: a reader sees a whole file or none, and a file that does not
read back whole counts as absent, so the result is recomputed.
"""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import numpy as np

from vidcore.atomic import write_with
from vidcore.features import TEMP_PREFIX

log = logging.getLogger(__name__)


def load(folder: Path | None, name: str) -> dict[str, np.ndarray] | None:
    """The arrays cached as ``name`` in ``folder``, or None (absent, damaged, or no cache)."""
    if folder is None:
        return None
    path = folder / f"{name}.npz"
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        log.warning("damaged map cache %s (%s): it will be recomputed", path, err)
        return None


def save(folder: Path | None, name: str, arrays: dict[str, np.ndarray]) -> Path | None:
    """Cache ``arrays`` as ``name`` in ``folder`` atomically; return the file (None: no
    cache). A cache that cannot be written is logged and skipped, never fatal."""
    if folder is None:
        return None
    path = folder / f"{name}.npz"
    try:
        write_with(path, lambda f: np.savez(f, **arrays), TEMP_PREFIX)
    except OSError as err:
        log.warning("cannot write the map cache %s: %s", path, err.strerror or err)
        return None
    return path


def write_text(folder: Path | None, name: str, text: str) -> Path | None:
    """Write a text file (e.g. a CSV export) into ``folder`` atomically; None: not written."""
    if folder is None:
        return None
    path = folder / name
    try:
        write_with(path, lambda f: f.write(text.encode()), TEMP_PREFIX)
    except OSError as err:
        log.warning("cannot write %s: %s", path, err.strerror or err)
        return None
    return path
