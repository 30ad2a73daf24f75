"""Edits of a dataset's classes and clips: rename, delete, move, and the clip table.

Each edit holds the dataset's lock, changes the folders with ``os.rename`` / ``unlink``
and rewrites the manifest atomically (``vidcore.workspace.store``).
"""

from __future__ import annotations

import os
from pathlib import Path

from vidcore.data.video import is_video_file
from vidcore.errors import InputError
from vidcore.workspace.config import check_class_name
from vidcore.workspace.store import (
    CLIP_NAME,
    class_dir,
    class_dirs,
    existing,
    locked,
    read_manifest,
    remove_tree,
    write_manifest,
)


def rename_class(name: str, old: str, new: str) -> str:
    """Rename a class (its folder and its clips' entries); returns the new name.

    Raises:
        InputError: no class ``old``, a bad new name, or a class ``new`` exists.
    """
    root = existing(name)
    new = check_class_name(new)
    with locked(root):
        folder = class_dir(root, old)
        clash = next((p for p in class_dirs(root) if p.name.lower() == new.lower()), None)
        if clash is not None and clash != folder:
            raise InputError(f"class {clash.name!r} exists already; pick another name, or move "
                             "the clips one by one")
        data = read_manifest(root)
        os.rename(folder, root / new)
        data["clips"] = dict(_renamed(k, v, folder.name, new) for k, v in data["clips"].items())
        write_manifest(root, data)
    return new


def _renamed(key: str, entry: dict, old: str, new: str) -> tuple[str, dict]:
    """A manifest entry after its class folder was renamed (others unchanged)."""
    if entry["class"] != old:
        return key, entry
    return f"{new}/{key.split('/', 1)[1]}", {**entry, "class": new}


def delete_class(name: str, class_name: str) -> int:
    """Delete a class with its clips; returns how many clips went."""
    root = existing(name)
    with locked(root):
        folder = class_dir(root, class_name)
        count = sum(1 for p in folder.iterdir() if is_video_file(p))
        data = read_manifest(root)
        remove_tree(folder)
        data["clips"] = {k: v for k, v in data["clips"].items() if v["class"] != folder.name}
        write_manifest(root, data)
    return count


def _find_clip(root: Path, clip: str) -> Path:
    """A clip by file name (``c00012_g0003.avi``), ``Class/file``, or number (``c00012``)."""
    wanted = clip.strip().split("/")[-1].lower()
    for path in (p for folder in class_dirs(root) for p in folder.iterdir()):
        if path.name.lower() == wanted or path.name.lower().split("_")[0] == wanted:
            return path
    raise InputError(f"dataset {root.name!r} has no clip {clip!r}; 'vidcore dataset ls "
                     f"{root.name}' lists them")


def delete_clip(name: str, clip: str, class_name: str | None = None) -> str:
    """Delete one clip; returns its ``Class/file`` key."""
    root = existing(name)
    with locked(root):
        path = _find_clip(root, clip)
        if class_name and path.parent.name.lower() != class_name.lower():
            raise InputError(f"clip {path.name} is in class {path.parent.name!r}, "
                             f"not {class_name!r}")
        data = read_manifest(root)
        path.unlink()
        key = f"{path.parent.name}/{path.name}"
        data["clips"].pop(key, None)
        write_manifest(root, data)
    return key


def move_clip(name: str, clip: str, class_name: str) -> str:
    """Move a clip to another class (created when new); returns its new ``Class/file`` key.

    The clip keeps its group number; in the new class it is its recording's only clip
    unless others of that recording move too.
    """
    root = existing(name)
    class_name = check_class_name(class_name)
    with locked(root):
        path = _find_clip(root, clip)
        data = read_manifest(root)
        folder = class_dir(root, class_name, create=True)
        target = folder / path.name
        os.rename(path, target)
        entry = data["clips"].pop(f"{path.parent.name}/{path.name}", {})
        data["clips"][f"{folder.name}/{target.name}"] = {**entry, "class": folder.name}
        write_manifest(root, data)
    return f"{folder.name}/{target.name}"


def clip_table(name: str) -> list[dict]:
    """Every clip with class, group number and label, display name and source."""
    root = existing(name)
    data = read_manifest(root)
    rows = []
    for key, entry in sorted(data["clips"].items()):
        m = CLIP_NAME.match(key.split("/")[-1])
        group = int(m.group(2)) if m else None
        label = data["groups"].get(str(group), {}).get("label") if group else None
        info = entry.get("info") or {}
        rows.append({"clip": key.split("/")[-1], "class": entry["class"], "group": group,
                     "group_label": label or (f"g{group:02d}" if group else "own"),
                     "display_name": entry.get("display_name", key),
                     "source": entry.get("source", "unknown"),
                     "duration": info.get("duration"), "path": str(root / key)})
    return rows
