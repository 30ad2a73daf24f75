"""The user's datasets on disk: a folder per class plus a manifest, changed under a lock.

Layout of one dataset, readable by ``vidcore.data.index.load_index`` unchanged::

    <home>/<name>/vidcore-dataset.json        display names, groups, sources, cut settings
    <home>/<name>/<Class>/c00012_g0003.avi    server-chosen names: clip 12 of group 3

A clip's group is carried by its file name (the folders format reads ``_gNN`` tokens),
so the disk alone says what a split needs; the manifest only adds what a person
wants to see (the uploaded file's name, where a group came from). Clips whose
manifest entry was lost still index and show under their file name.

Every change takes the dataset's lock (``vidcore.locking``: threads and processes alike),
moves files into place with ``os.replace`` and rewrites the manifest through
``vidcore.atomic``; staged files live in hidden ``.staging-*`` folders the index skips.
Edits of what is there (rename, delete, move, the clip table) are in ``edits``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vidcore.atomic import write_with
from vidcore.data.video import is_video_file
from vidcore.errors import InputError
from vidcore.locking import exclusive
from vidcore.spaces import quotas
from vidcore.workspace.config import (
    MANIFEST,
    check_class_name,
    check_dataset_name,
    home,
    limits,
)

CLIP_NAME = re.compile(r"^c(\d+)_g(\d+)(\.[a-z0-9]+)$")
LOCK = ".lock"
STAGING = ".staging-"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Incoming:
    """A checked clip in a staging folder, waiting to be placed.

    Attributes:
        path: the staged file.
        display_name: the name the user gave it (shown, never used as a path).
        group_key: clips with one key share a group (``token:<class>:<n>``,
            ``sha:<digest>`` for pieces of one source, ``batch:<id>``, ``own:<id>``).
        group_label: how the page names that group (``long.mp4``, ``g08 in the names``).
        source: where it came from (``upload``, ``zip:<name>``, ``cut:<name>``, ``camera``).
        info: probe results (frames, fps, size, duration).
        cut: start/end seconds and cut settings for a cut piece.
        class_name: the class from a zip's folder, when the zip chose it.
    """

    path: Path
    display_name: str
    group_key: str
    group_label: str
    source: str
    info: dict
    cut: dict | None = None
    class_name: str | None = None


# ---------------------------------------------------------------- paths and locks


def dataset_dir(name: str) -> Path:
    """The folder of a dataset (checked name; it may not exist yet)."""
    return home() / check_dataset_name(name)


def existing(name: str) -> Path:
    """The folder of an existing dataset.

    Raises:
        InputError: no such dataset (the message lists the ones there are).
    """
    root = dataset_dir(name)
    if not (root / MANIFEST).is_file() and not root.is_dir():
        names = ", ".join(list_names()) or "none yet"
        raise InputError(f"there is no dataset {name!r} in {home()} (datasets: {names}); "
                         f"create it first with 'vidcore dataset create {name}'")
    return root


def list_names() -> list[str]:
    """Names of the datasets in the workspace, sorted."""
    root = home()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).is_file())


def resolve_dataset(text: str) -> str:
    """A dataset argument as a path: an existing path wins, else a workspace dataset's folder.

    This is how ``info``, ``extract``, ``train`` (and so ``evaluate`` of their runs) take
    the name of a workspace dataset where they take a path. Anything else comes back
    unchanged, for ``load_index`` to explain.
    """
    text = str(text)
    if Path(text).expanduser().exists():
        return text
    root = home() / text.strip()
    if _is_dataset_name(text.strip()) and (root / MANIFEST).is_file():
        return str(root)
    return text


def _is_dataset_name(text: str) -> bool:
    try:
        check_dataset_name(text)
    except InputError:
        return False
    return True


def locked(root: Path) -> contextlib.AbstractContextManager[None]:
    """Hold the dataset's exclusive lock (threads and processes wait for each other)."""
    return exclusive(root / LOCK)


@contextlib.contextmanager
def staging(root: Path) -> Iterator[Path]:
    """A private hidden folder inside the dataset for files being checked; always removed.

    Inside the dataset, so placing a clip is a rename on one file system; hidden, so
    the index never sees a half-checked clip. A kill leaves one, which the next write
    removes (``_clear_stale_staging``).
    """
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{STAGING}{os.getpid()}-", dir=root))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _clear_stale_staging(root: Path) -> None:
    """Remove staging folders of processes that no longer exist (killed mid-upload)."""
    from vidcore.runs import pid_alive

    for folder in root.glob(f"{STAGING}*"):
        pid = folder.name[len(STAGING):].split("-", 1)[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------- the manifest


def _empty_manifest(name: str) -> dict:
    return {"version": MANIFEST_VERSION, "name": name, "created": time.time(),
            "clips": {}, "groups": {}, "next_clip": 1, "next_group": 1}


def read_manifest(root: Path) -> dict:
    """The manifest, reconciled with the disk: entries of vanished clips are dropped.

    A missing or damaged manifest reads as an empty one: the clips still index (their
    groups are in their names), only display names and sources are lost.
    """
    try:
        data = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("clips"), dict):
            raise ValueError("not a manifest")
    except (OSError, ValueError):
        data = _empty_manifest(root.name)
    data.setdefault("groups", {})
    on_disk = _clips_on_disk(root)
    data["clips"] = {k: v for k, v in data["clips"].items() if k in on_disk}
    for key, class_name in on_disk.items():
        entry = data["clips"].setdefault(key, {"display_name": key.split("/")[-1]})
        entry["class"] = class_name
    return data


def write_manifest(root: Path, data: dict) -> None:
    """Rewrite the manifest atomically (hold the dataset's lock)."""
    text = json.dumps(data, indent=1, sort_keys=True).encode("utf-8")
    write_with(root / MANIFEST, lambda f: f.write(text))


def _clips_on_disk(root: Path) -> dict[str, str]:
    """``<Class>/<file>`` -> class for every clip file in the dataset's class folders."""
    found = {}
    for class_dir in class_dirs(root):
        for path in class_dir.iterdir():
            if path.is_file() and is_video_file(path) and not path.name.startswith("."):
                found[f"{class_dir.name}/{path.name}"] = class_dir.name
    return found


def class_dirs(root: Path) -> list[Path]:
    """The class folders of a dataset, sorted by name."""
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                  key=lambda p: (p.name.lower(), p.name))


def _next_numbers(root: Path, data: dict) -> tuple[int, int]:
    """Next free clip and group numbers: past the manifest's counters and the disk's names."""
    clip, group = int(data.get("next_clip", 1)), int(data.get("next_group", 1))
    for key in _clips_on_disk(root):
        m = CLIP_NAME.match(key.split("/")[-1])
        if m:
            clip, group = max(clip, int(m.group(1)) + 1), max(group, int(m.group(2)) + 1)
    for number in data["groups"]:
        group = max(group, int(number) + 1)
    return clip, group


# ---------------------------------------------------------------- datasets


def create(name: str) -> Path:
    """Create an empty dataset.

    Raises:
        InputError: a bad name, or a dataset of that name exists already.
    """
    root = dataset_dir(name)
    home().mkdir(parents=True, exist_ok=True)
    with locked(home()):
        quotas.check_new_dataset(len(list_names()))
        quotas.check_disk()
        if root.exists():
            raise InputError(f"a dataset named {name!r} exists already ({root}); choose another "
                             "name, or add clips to it")
        tmp = Path(tempfile.mkdtemp(prefix=".new-", dir=home()))
        try:
            write_manifest(tmp, _empty_manifest(name))
            os.rename(tmp, root)  # the dataset appears whole, with its manifest
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return root


def delete(name: str) -> None:
    """Delete a dataset and everything in it (its features and runs stay)."""
    root = existing(name)
    with locked(home()), locked(root):  # an add in flight finishes first
        remove_tree(root)


def remove_tree(path: Path) -> None:
    """Delete a folder: renamed away first (readers see it gone at once), then removed."""
    trash = path.with_name(f".trash-{uuid.uuid4().hex}")
    os.rename(path, trash)
    shutil.rmtree(trash, ignore_errors=True)


def class_dir(root: Path, class_name: str, create: bool = False) -> Path:
    """A class folder, matched case-insensitively (two folders differing only by case
    would be one class on some file systems and two on others).

    Raises:
        InputError: no such class and ``create`` is False (lists the classes).
    """
    for folder in class_dirs(root):
        if folder.name.lower() == class_name.lower():
            return folder
    if not create:
        known = ", ".join(p.name for p in class_dirs(root)) or "none yet"
        raise InputError(f"dataset {root.name!r} has no class {class_name!r} (classes: {known})")
    folder = root / class_name
    folder.mkdir()
    return folder


def place(name: str, class_name: str | None, incoming: list[Incoming]) -> list[dict]:
    """Move checked clips into the dataset under one lock; return their manifest entries.

    Each clip goes to ``incoming.class_name`` when the zip chose one, else to
    ``class_name``. Group keys seen before in this dataset reuse their group number.
    Either every clip is placed and recorded or, on an error, none stays.

    Raises:
        InputError: a bad class name, or the dataset would exceed its clip limit.
    """
    root = existing(name)
    with locked(root):
        _clear_stale_staging(root)
        data = read_manifest(root)
        quotas.check_clips(_clips_held(), len(incoming))
        quotas.check_disk()  # the staged clips lie in the space already: they count
        room = limits().clips - len(data["clips"])
        if len(incoming) > room:
            raise InputError(f"dataset {name!r} holds {len(data['clips'])} clips and may hold "
                             f"{limits().clips}; {len(incoming)} more do not fit: delete some "
                             "or start another dataset")
        moved: list[Path] = []
        try:
            entries = _place_all(root, data, class_name, incoming, moved)
            write_manifest(root, data)
        except BaseException:
            for path in moved:
                path.unlink(missing_ok=True)
            raise
    return entries


def _clips_held() -> int:
    """Clips in all the datasets of the workspace (the per-user limit counts them)."""
    return sum(len(read_manifest(home() / n)["clips"]) for n in list_names())


def _place_all(root, data, class_name, incoming, moved) -> list[dict]:
    clip_no, group_no = _next_numbers(root, data)
    group_of = {g.get("key"): int(n) for n, g in data["groups"].items()}
    entries, folders = [], {}
    for item in incoming:
        wanted = check_class_name(item.class_name or class_name or "")
        if wanted.lower() not in folders:
            folders[wanted.lower()] = class_dir(root, wanted, create=True)
        folder = folders[wanted.lower()]
        if item.group_key not in group_of:
            group_of[item.group_key] = group_no
            data["groups"][str(group_no)] = {"key": item.group_key, "label": item.group_label}
            group_no += 1
        group = group_of[item.group_key]
        target = folder / f"c{clip_no:05d}_g{group:04d}{item.path.suffix.lower()}"
        clip_no += 1
        os.replace(item.path, target)
        moved.append(target)
        entry = {"display_name": item.display_name, "class": folder.name, "group": group,
                 "source": item.source, "added": time.time(), "info": item.info}
        if item.cut:
            entry["cut"] = item.cut
        data["clips"][f"{folder.name}/{target.name}"] = entry
        entries.append({"clip": target.name, **entry})
    data["next_clip"], data["next_group"] = clip_no, group_no
    return entries


def display_names(root: str | os.PathLike) -> dict[str, str]:
    """``{clip path relative to root: "<class>/<the name its user gave it>"}`` for a
    workspace dataset; empty for any other folder (its file names are its users' own)."""
    root = Path(root)
    if not (root / MANIFEST).is_file():
        return {}
    return {key: f"{entry['class']}/{entry.get('display_name') or key.split('/')[-1]}"
            for key, entry in read_manifest(root)["clips"].items()}
