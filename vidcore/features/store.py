"""The on-disk feature store: one folder per feature spec, one ``.npz`` per video.

See ``vidcore.features`` for the format and why it needs no lock.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import zipfile
from pathlib import Path

import numpy as np

from vidcore import settings
from vidcore.atomic import write_with
from vidcore.errors import InputError
from vidcore.features.spec import FeatureSpec, VideoFeatures

log = logging.getLogger(__name__)

ENTRY_KEYS = ("features", "timestamps", "frame_ids")
TEMP_PREFIX = ".tmp-"  # doctor and remove_stale_temps look for it
STALE_TEMP_SECONDS = 3600  # temp files older than this were left by a killed process


default_store_dir = settings.store_dir  # ``$VIDCORE_STORE`` or ``<project>/features``


def video_key(path: str | os.PathLike) -> str:
    """Identity of a video file: its absolute path, size and modification time."""
    path = Path(path).resolve()
    stat = path.stat()
    return hashlib.sha1(f"{path}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()


def open_store(root: str | os.PathLike | None, spec: FeatureSpec) -> FeatureStore:
    """The store of ``spec``'s features, for extraction: the precision that names its
    folder is settled now (``FeatureSpec.compute_precision``, which measures the engines
    on a backbone's first use on a machine when ``"auto"`` leaves two precisions open)."""
    return FeatureStore(root, spec, spec.compute_precision())


class FeatureStore:
    """The on-disk features of one ``FeatureSpec``.

    Args:
        root: the store folder (default ``default_store_dir()``).
        spec: which features.
        precision: what the backbone computes in (default: known without measuring,
            see ``FeatureSpec.folder_name``; ``open_store`` settles it first).
    """

    def __init__(self, root: str | os.PathLike | None, spec: FeatureSpec,
                 precision: str | None = None):
        self.spec = spec
        self.root = Path(root) if root else default_store_dir()
        self.folder = self.root / spec.folder_name(precision)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            spec_file = self.folder / "spec.json"
            if not spec_file.exists():
                text = json.dumps(spec.to_dict(), indent=2).encode()
                write_with(spec_file, lambda f: f.write(text), TEMP_PREFIX)
        except OSError as err:
            raise InputError(f"cannot write the feature store at {self.folder}: "
                             f"{err.strerror}; choose another folder with --store") from err

    def _entry(self, key: str, suffix: str = ".npz") -> Path:
        return self.folder / key[:2] / f"{key}{suffix}"

    def get(self, path) -> VideoFeatures | None:
        """The stored features of a video, or None (a damaged entry counts as absent)."""
        entry = self._entry(video_key(path))
        try:
            with np.load(entry, allow_pickle=False) as data:
                feats = VideoFeatures(*(data[k] for k in ENTRY_KEYS))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as err:
            log.warning("damaged feature entry %s (%s): it will be recomputed", entry, err)
            return None
        return feats if _valid(feats) else None

    def put(self, path, feats: VideoFeatures) -> None:
        """Store a video's features atomically; clears an earlier failure note."""
        key = video_key(path)
        arrays = {"features": feats.features.astype(np.float16),
                  "timestamps": feats.timestamps, "frame_ids": feats.frame_ids}
        try:
            write_with(self._entry(key), lambda f: np.savez(f, **arrays), TEMP_PREFIX)
        except OSError as err:  # disk full, read-only, quota: stop with what to do
            raise InputError(
                f"cannot write to the feature store {self.folder}: {err.strerror or err}; "
                "free some space or choose another folder with --store (what is stored "
                "so far is intact and will be reused)") from err
        self._entry(key, ".failed.json").unlink(missing_ok=True)

    def failure(self, path) -> str | None:
        """The recorded reason a video could not be read, or None."""
        try:
            return json.loads(self._entry(video_key(path), ".failed.json").read_text())["reason"]
        except (OSError, ValueError, KeyError):
            return None

    def put_failure(self, path, reason: str) -> None:
        """Remember that a video could not be read (so re-runs skip it quickly)."""
        text = json.dumps({"path": str(path), "reason": reason}).encode()
        write_with(self._entry(video_key(path), ".failed.json"), lambda f: f.write(text),
                   TEMP_PREFIX)

    def remove_stale_temps(self) -> int:
        """Delete temp files left by killed processes; return how many."""
        now, removed = time.time(), 0
        for tmp in self.folder.glob(f"**/{TEMP_PREFIX}*"):
            try:
                if now - tmp.stat().st_mtime > STALE_TEMP_SECONDS:
                    tmp.unlink()
                    removed += 1
            except OSError:
                continue
        return removed


def _valid(feats: VideoFeatures) -> bool:
    n = len(feats.frame_ids)
    return (feats.features.ndim == 2 and feats.features.shape[0] == n == len(feats.timestamps)
            and n > 0 and bool(np.isfinite(feats.features).all()))


def entry_files(folder: Path) -> list[Path]:
    """The feature entries of one feature-set folder (temp files excluded)."""
    return [p for p in folder.glob("*/*.npz") if not p.name.startswith(".")]


def store_usage(store_dir: str | os.PathLike | None = None) -> list[dict]:
    """Feature sets in a store: spec, number of videos, bytes on disk."""
    root = Path(store_dir) if store_dir else default_store_dir()
    rows = []
    for folder in sorted(p for p in root.glob("*") if p.is_dir()) if root.is_dir() else []:
        files = entry_files(folder)
        rows.append({"folder": folder.name, "videos": len(files),
                     "bytes": sum(f.stat().st_size for f in files)})
    return rows
