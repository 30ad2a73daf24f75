"""The video index: a set of labelled videos with groups and splits, from any source format.

One value type (``VideoIndex``) with one constructor per source format:
UCF101 lists, HMDB51 lists, a folder per class, a CSV manifest. ``load_index``
detects the format. Labels are 0-based and map back to ``classes``.
"""

from __future__ import annotations

import csv
import logging
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from vidcore.data import split_rule
from vidcore.data.video import is_video_file
from vidcore.errors import DatasetError, InputError

log = logging.getLogger(__name__)

FORMATS = ("auto", "ucf101", "hmdb51", "folders", "csv")
UCF_SPLIT_DIR = "ucfTrainTestlist"
HMDB_SPLIT_DIR = "testTrainMulti_7030_splits"
GROUP_TOKEN = re.compile(r"_g(\d+)(?:_|$)", re.IGNORECASE)
UCF_NAME = re.compile(r"_g(\d+)_c(\d+)$", re.IGNORECASE)
HMDB_SPLIT_FILE = re.compile(r"^(.+)_test_split(\d+)\.txt$")
SPLITS = ("train", "test", "unused")


@dataclass(frozen=True)
class VideoRecord:
    """One labelled video.

    Attributes:
        path: path relative to the index root, POSIX separators.
        label: 0-based class id.
        class_name: name of the class.
        group: source-video id, class-qualified; clips of one group share actor and scene.
        split: ``train``, ``test`` or ``unused``.
    """

    path: str
    label: int
    class_name: str
    group: str
    split: str


@dataclass(frozen=True)
class VideoIndex:
    """Labelled videos of one dataset under one train/test split.

    Attributes:
        root: folder the record paths are relative to.
        format: source format (``ucf101``, ``hmdb51``, ``folders``, ``csv``).
        classes: class names in label order.
        records: videos present on disk.
        split: which split (1-based) ``records[].split`` refers to.
        missing: paths listed by the split files but absent on disk.
        unlisted: video files on disk that no list of this split names.
        splits_source: where the split came from (a folder, a file, or ``generated``).
    """

    root: Path
    format: str
    classes: tuple[str, ...]
    records: tuple[VideoRecord, ...]
    split: int
    missing: tuple[str, ...] = ()
    unlisted: tuple[str, ...] = ()
    splits_source: str = "generated"
    _paths: dict = field(default=None, repr=False, compare=False)

    def path_of(self, record: VideoRecord) -> Path:
        """Absolute path of a record's file."""
        return self.root / record.path

    def subset(self, split: str) -> tuple[VideoRecord, ...]:
        """Records of one split name (``train``, ``test`` or ``unused``)."""
        if split not in SPLITS:
            raise InputError(f"unknown split part {split!r}; choose one of: {', '.join(SPLITS)}")
        return tuple(r for r in self.records if r.split == split)

    @property
    def train(self) -> tuple[VideoRecord, ...]:
        """Training records."""
        return self.subset("train")

    @property
    def test(self) -> tuple[VideoRecord, ...]:
        """Test records."""
        return self.subset("test")

    def leaking_groups(self) -> list[str]:
        """Groups with clips on both sides of the split (must be empty for honest splits)."""
        train = {r.group for r in self.train}
        return sorted(train & {r.group for r in self.test})

    def counts(self) -> dict[str, dict[str, int]]:
        """Videos per class and split: ``{class: {"train": n, "test": n, "unused": n}}``."""
        table = {c: dict.fromkeys(SPLITS, 0) for c in self.classes}
        for r in self.records:
            table[r.class_name][r.split] += 1
        return table

    def groups_per_split(self) -> dict[str, int]:
        """Number of distinct groups in each split part."""
        return {s: len({r.group for r in self.subset(s)}) for s in SPLITS}

    def summary(self) -> dict:
        """Everything ``vidcore info --json`` prints, as plain data."""
        leaking = self.leaking_groups()
        return {
            "format": self.format,
            "root": str(self.root),
            "splits_source": self.splits_source,
            "classes": list(self.classes),
            "num_classes": len(self.classes),
            "split": self.split,
            "videos": len(self.records),
            "train": len(self.train),
            "test": len(self.test),
            "unused": len(self.subset("unused")),
            "groups": self.groups_per_split(),
            "leaking_groups": len(leaking),
            "leaking_group_names": leaking,
            "missing": list(self.missing),
            "unlisted": list(self.unlisted),
            "per_class": self.counts(),
        }

    def find(self, path: str) -> VideoRecord | None:
        """The record whose relative path is ``path``, or None."""
        paths = self._paths
        if paths is None:
            paths = {r.path: r for r in self.records}
            object.__setattr__(self, "_paths", paths)
        return paths.get(path)


# ---------------------------------------------------------------- shared helpers


def _read_lines(path: Path) -> list[str]:
    """Non-empty lines without line endings (CRLF or LF), BOM tolerated."""
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError as err:
        raise DatasetError(f"cannot read split file {path}: {err.strerror}") from err
    return [line.strip() for line in text.splitlines() if line.strip()]


def _scan_videos(root: Path) -> dict[str, str]:
    """All video files under ``root``: lower-cased relative path -> real relative path."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if is_video_file(name) and not name.startswith("."):
                rel = Path(dirpath, name).relative_to(root).as_posix()
                found[rel.lower()] = rel
    return found


def _match(listed: str, on_disk: dict[str, str]) -> str | None:
    """The on-disk path for a listed one, tolerating case differences."""
    return on_disk.get(listed.replace("\\", "/").lower())


def _group_from_name(class_name: str, stem: str) -> str:
    """Group id from a ``_gNN_`` token, else the file is its own group."""
    m = GROUP_TOKEN.search(stem)
    return f"{class_name}/g{int(m.group(1)):02d}" if m else f"{class_name}/{stem}"


def _class_order(names) -> tuple[str, ...]:
    """Case-insensitive alphabetical, the order UCF101's classInd uses (ties: exact)."""
    return tuple(sorted(set(names), key=lambda n: (n.lower(), n)))


def _unlisted(on_disk: dict[str, str], listed: set[str]) -> tuple[str, ...]:
    return tuple(sorted(v for k, v in on_disk.items() if k not in listed))


def _check_split_number(split: int, available) -> None:
    if split not in available:
        choices = ", ".join(map(str, sorted(available)))
        raise InputError(f"split {split} does not exist here; available: {choices}")


# ---------------------------------------------------------------- UCF101


def _ucf_video_root(root: Path) -> Path:
    """The folder holding class folders: ``root`` itself or its ``UCF-101`` child."""
    for name in ("UCF-101", "UCF101"):
        if (root / name).is_dir():
            return root / name
    return root


def find_split_dir(
    root: Path, name: str, probe: str, splits: Path | None = None, loose: bool = True
) -> Path | None:
    """Look for a split folder inside the root, beside it, or at ``splits``.

    Args:
        root: dataset root.
        name: conventional folder name (``ucfTrainTestlist`` ...).
        probe: a glob that must match inside the folder for it to count.
        splits: explicit folder given by the user (wins when it matches).
        loose: also accept the files lying directly in the root or its parent.
    """
    candidates = [splits] if splits else []
    candidates += [root / name, root.parent / name]
    if loose:  # split files lying loose in the root or its parent
        candidates += [root, root.parent]
    for cand in candidates:
        if cand and cand.is_dir() and any(cand.glob(probe)):
            return cand
    if splits:
        raise DatasetError(f"split folder {splits} has no file matching {probe}")
    return None


def from_ucf101(root: Path, split: int = 1, splits: Path | None = None) -> VideoIndex:
    """Index a UCF101-layout dataset with its official ``ucfTrainTestlist``.

    Class ids come from ``classInd.txt`` (1-based, turned 0-based); a clip's class is
    the folder part of its listed path, so names that prefix others and the
    ``HandStandPushups`` file spelling need no special case.
    """
    root = Path(root)
    split_dir = find_split_dir(root, UCF_SPLIT_DIR, "classInd.txt", splits)
    if split_dir is None:
        raise DatasetError(f"no {UCF_SPLIT_DIR}/classInd.txt inside or beside {root}")
    video_root = _ucf_video_root(root)
    classes = _read_class_ind(split_dir / "classInd.txt")
    available = {int(m.group(1)) for p in split_dir.glob("testlist0*.txt")
                 if (m := re.search(r"(\d+)\.txt$", p.name))}
    _check_split_number(split, available)
    on_disk = _scan_videos(video_root)
    listed = {"train": _ucf_list(split_dir / f"trainlist0{split}.txt"),
              "test": _ucf_list(split_dir / f"testlist0{split}.txt")}
    records, missing, seen = _ucf_records(listed, classes, on_disk)
    return VideoIndex(video_root, "ucf101", classes, tuple(records), split, tuple(missing),
                      _unlisted(on_disk, seen), str(split_dir))


def _read_class_ind(path: Path) -> tuple[str, ...]:
    pairs = []
    for line in _read_lines(path):
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise DatasetError(f"{path}: expected '<index> <ClassName>', got {line!r}")
        pairs.append((int(parts[0]), parts[1]))
    pairs.sort()
    if [i for i, _ in pairs] != list(range(1, len(pairs) + 1)):
        raise DatasetError(f"{path}: class indices must run 1..{len(pairs)} without gaps")
    return tuple(name for _, name in pairs)


def _ucf_list(path: Path) -> list[str]:
    if not path.is_file():
        raise DatasetError(f"split list {path} is missing")
    return [line.split()[0].replace("\\", "/") for line in _read_lines(path)]


def _ucf_records(listed, classes, on_disk):
    label_of = {c.lower(): i for i, c in enumerate(classes)}
    records, missing, seen = [], [], set()
    for part, paths in listed.items():
        for rel in paths:
            class_dir = rel.split("/")[0]
            if class_dir.lower() not in label_of:
                raise DatasetError(f"listed clip {rel} is of class {class_dir!r}, not in classInd")
            label = label_of[class_dir.lower()]
            real = _match(rel, on_disk)
            seen.add(rel.lower())
            if real is None:
                missing.append(rel)
                continue
            stem = Path(rel).stem
            m = UCF_NAME.search(stem)
            group = f"{classes[label]}/g{int(m.group(1)):02d}" if m else f"{classes[label]}/{stem}"
            records.append(VideoRecord(real, label, classes[label], group, part))
    return records, missing, seen


# ---------------------------------------------------------------- HMDB51


def from_hmdb51(root: Path, split: int = 1, splits: Path | None = None) -> VideoIndex:
    """Index an HMDB51-layout dataset with its ``<class>_test_split<k>.txt`` files.

    Each line is ``<name>.avi <0|1|2>`` (0 unused, 1 train, 2 test), often with a
    trailing space. Classes are sorted by name. HMDB51 has no official groups: the
    group of a clip is its source-video prefix (the part before ``_<class>_``).
    """
    root = Path(root)
    split_dir = find_split_dir(root, HMDB_SPLIT_DIR, "*_test_split*.txt", splits)
    if split_dir is None:
        raise DatasetError(f"no {HMDB_SPLIT_DIR}/*_test_split1.txt inside or beside {root}")
    files = {}
    for p in split_dir.iterdir():
        if m := HMDB_SPLIT_FILE.match(p.name):
            files.setdefault(int(m.group(2)), {})[m.group(1)] = p
    _check_split_number(split, files)
    classes = _class_order(files[split])
    on_disk = _scan_videos(root)
    records, missing, seen = [], [], set()
    for label, name in enumerate(classes):
        for fname, flag in _hmdb_lines(files[split][name]):
            rel = f"{name}/{fname}"
            seen.add(rel.lower())
            real = _match(rel, on_disk)
            if real is None:
                missing.append(rel)
                continue
            part = {"1": "train", "2": "test"}.get(flag, "unused")
            records.append(VideoRecord(real, label, name, _hmdb_group(name, fname), part))
    return VideoIndex(root, "hmdb51", classes, tuple(records), split, tuple(missing),
                      _unlisted(on_disk, seen), str(split_dir))


def _hmdb_lines(path: Path):
    for line in _read_lines(path):
        parts = line.rsplit(None, 1)
        if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
            raise DatasetError(f"{path}: expected '<file>.avi <0|1|2>', got {line!r}")
        yield parts[0], parts[1]


def _hmdb_group(class_name: str, file_name: str) -> str:
    stem = Path(file_name).stem
    cut = stem.find(f"_{class_name}_")
    return f"{class_name}/{stem[:cut] if cut > 0 else stem}"


# ---------------------------------------------------------------- folders and CSV


def from_folders(
    root: Path, split: int = 1, test_fraction: float = 0.3, seed: int = 0
) -> VideoIndex:
    """Index a folder per class; the split is generated (``vidcore.data.split_rule``).

    Groups come from a ``_gNN_`` token in the file name, else each file is its own
    group. Every class of 2 or more recordings gets a test recording; split ``k``
    rotates which ones.
    """
    root = Path(root)
    entries = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for rel in sorted(_scan_videos(class_dir).values()):
            entries.append((f"{class_dir.name}/{rel}", class_dir.name))
    if not entries:
        raise DatasetError(
            f"no video files in class folders under {root} "
            f"(expected <root>/<class>/<video>.avi|.mp4|...)"
        )
    classes = _class_order(c for _, c in entries)
    return _with_generated_split(root, "folders", classes, entries, split, test_fraction, seed)


def _with_generated_split(root, fmt, classes, entries, split, test_fraction, seed, groups=None):
    label_of = {c: i for i, c in enumerate(classes)}
    groups = groups or [_group_from_name(c, Path(p).stem) for p, c in entries]
    n_splits = split_rule.folds(test_fraction)
    if not 1 <= split <= n_splits:
        raise InputError(f"split {split} does not exist; choose 1..{n_splits}")
    is_test = split_rule.held_out([c for _, c in entries], groups, test_fraction, seed,
                                  fold=split - 1)
    records = tuple(
        VideoRecord(p, label_of[c], c, g, "test" if t else "train")
        for (p, c), g, t in zip(entries, groups, is_test, strict=True)
    )
    return VideoIndex(root, fmt, classes, records, split, splits_source="generated")


def from_csv(
    manifest: Path, split: int = 1, test_fraction: float = 0.3, seed: int = 0
) -> VideoIndex:
    """Index a CSV manifest with header ``path,label[,group][,split]``.

    Paths are relative to the CSV's folder (or absolute). Without a ``split``
    column the split is generated as for folders; without ``group`` the group
    comes from a ``_gNN_`` token or the file itself.
    """
    manifest = Path(manifest)
    rows = _read_manifest(manifest)
    root = manifest.parent
    classes = _class_order(r["label"] for r in rows)
    entries, groups, present, missing = [], [], [], []
    for row in rows:
        rel = row["path"]
        (present if (root / rel).is_file() else missing).append(row)
    for row in present:
        entries.append((row["path"], row["label"]))
        groups.append(f"{row['label']}/{row['group']}" if row.get("group")
                      else _group_from_name(row["label"], Path(row["path"]).stem))
    if not entries:
        raise DatasetError(f"{manifest}: none of the {len(rows)} listed files exists")
    if "split" in rows[0] and all(row.get("split") for row in present):
        return _csv_with_splits(root, classes, present, groups, missing, manifest, split)
    index = _with_generated_split(root, "csv", classes, entries, split, test_fraction, seed, groups)
    return replace(index, missing=tuple(r["path"] for r in missing))


def _read_manifest(manifest: Path) -> list[dict]:
    try:
        with open(manifest, newline="", encoding="utf-8-sig") as f:
            rows = [{k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
                    for row in csv.DictReader(f)]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DatasetError(f"cannot read CSV manifest {manifest}: {err}") from err
    if not rows or not {"path", "label"} <= set(rows[0]):
        raise DatasetError(f"{manifest}: needs a header with at least 'path,label' and one row")
    return rows


def _csv_with_splits(root, classes, rows, groups, missing, manifest, split):
    label_of = {c: i for i, c in enumerate(classes)}
    records = []
    for row, group in zip(rows, groups, strict=True):
        part = row["split"].lower()
        if part not in SPLITS:
            raise DatasetError(f"{manifest}: split must be train, test or unused, got {part!r}")
        records.append(VideoRecord(row["path"], label_of[row["label"]], row["label"], group, part))
    return VideoIndex(root, "csv", classes, tuple(records), split,
                      tuple(r["path"] for r in missing), (), str(manifest))


# ---------------------------------------------------------------- detection and entry point


def detect_format(path: Path, splits: Path | None = None) -> str:
    """Guess the source format of a dataset path.

    Raises:
        DatasetError: the path does not exist or holds no recognisable dataset.
    """
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"dataset path {path} does not exist")
    if path.is_file():
        if path.suffix.lower() == ".csv":
            return "csv"
        raise DatasetError(f"{path} is a file; give a dataset folder or a .csv manifest")
    # Conventionally named split folders win over loose split files of the other format.
    for loose in (False, True):
        for fmt, name, probe in (("ucf101", UCF_SPLIT_DIR, "classInd.txt"),
                                 ("hmdb51", HMDB_SPLIT_DIR, "*_test_split*.txt")):
            given = splits if _has(splits, probe) else None
            if find_split_dir(path, name, probe, given, loose):
                return fmt
    if any(p.is_dir() for p in path.iterdir()):
        return "folders"
    raise DatasetError(
        f"no dataset found in {path}: expected class folders of videos, UCF101/HMDB51 "
        "split lists, or a .csv manifest"
    )


def _has(folder: Path | None, pattern: str) -> bool:
    return bool(folder and Path(folder).is_dir() and any(Path(folder).glob(pattern)))


def load_index(
    path: str | os.PathLike,
    format: str = "auto",
    split: int = 1,
    splits: str | os.PathLike | None = None,
    test_fraction: float = 0.3,
    seed: int = 0,
) -> VideoIndex:
    """Build a ``VideoIndex`` from a dataset path.

    Args:
        path: dataset folder, or a CSV manifest file.
        format: ``auto`` (detect) or one of ``ucf101``, ``hmdb51``, ``folders``, ``csv``.
        split: 1-based split number (official lists, or fold of a generated split).
        splits: folder holding the official split files, when not inside/beside ``path``.
        test_fraction: test share of a generated split.
        seed: seed of a generated split.

    Raises:
        DatasetError, InputError: with what is wrong and what to do.
    """
    if format not in FORMATS:
        raise InputError(f"unknown dataset format {format!r}; choose one of: {', '.join(FORMATS)}")
    path = Path(path).expanduser()
    splits = Path(splits).expanduser() if splits else None
    fmt = detect_format(path, splits) if format == "auto" else format
    if not path.exists():
        raise DatasetError(f"dataset path {path} does not exist")
    if fmt == "ucf101":
        index = from_ucf101(path, split, splits)
    elif fmt == "hmdb51":
        index = from_hmdb51(path, split, splits)
    elif fmt == "folders":
        index = from_folders(path, split, test_fraction, seed)
    else:
        index = from_csv(path, split, test_fraction, seed)
    _log_problems(index)
    return index


def _log_problems(index: VideoIndex) -> None:
    if index.leaking_groups():
        log.warning("%d groups have clips in both train and test: accuracy will be inflated",
                    len(index.leaking_groups()))
    if index.missing:
        log.warning("%d listed videos are missing on disk", len(index.missing))


def validation_split(
    records, fraction: float = 0.15, seed: int = 0
) -> tuple[tuple[VideoRecord, ...], tuple[VideoRecord, ...]]:
    """Carve a validation set out of training records by whole recordings, per class.

    The reference pipeline split frames at random, so frames of one clip landed on
    both sides; here a group is entirely on one side. Every class of 2 or more
    training recordings gives at least one (never its last) to validation; a class of
    one recording keeps it for training (``vidcore.data.split_rule``). The validation
    side is empty when no class has 2 training recordings.

    Returns:
        ``(train, validation)`` record tuples.
    """
    records = tuple(records)
    mask = split_rule.held_out([r.class_name for r in records], [r.group for r in records],
                               fraction, seed, count=split_rule.validation_count)
    train = tuple(r for r, m in zip(records, mask, strict=True) if not m)
    val = tuple(r for r, m in zip(records, mask, strict=True) if m)
    return train, val
