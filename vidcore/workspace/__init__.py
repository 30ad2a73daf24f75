"""The workspace of the user's own datasets: create, add, cut, edit, import and export.

One module per job: ``config`` (where, names, limits), ``store`` (folders, manifest,
lock, edits), ``uploads`` (checking files and zips), ``cutting`` (long video -> clips),
``edits`` (rename, delete, move), ``readiness`` (is the split honest, what to add),
``archive`` (zip out and in). This
module joins them into the operations the CLI (``vidcore dataset``) and the
"My datasets" page call, each returning plain data.
"""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path
from typing import BinaryIO

from vidcore.data.splits import check_honest_split
from vidcore.errors import InputError
from vidcore.spaces import current, quotas
from vidcore.workspace import store
from vidcore.workspace.archive import export_zip, manifest_in_zip, name_from_zip
from vidcore.workspace.config import check_class_name, check_dataset_name, home, limits
from vidcore.workspace.cutting import cut_video
from vidcore.workspace.edits import clip_table, delete_class, delete_clip, move_clip, rename_class
from vidcore.workspace.readiness import readiness
from vidcore.workspace.store import create, delete, list_names, resolve_dataset
from vidcore.workspace.uploads import Batch, open_zip, stage_path, stage_stream, stage_zip

__all__ = [
    "add_clips", "add_zip", "check_honest_split", "clip_table", "create",
    "cut_and_add", "delete", "delete_class", "delete_clip", "describe", "export_zip",
    "home", "import_zip", "limits", "list_datasets", "list_names", "move_clip",
    "readiness", "rename_class", "resolve_dataset",
]

Source = bytes | str | os.PathLike | BinaryIO  # what a file's content may be given as


def _result(name: str, entries: list[dict], batch: Batch, **extra) -> dict:
    return {"dataset": name, "added": len(entries), "clips": entries,
            "skipped": batch.skipped, **extra}


def _nothing_added(batch: Batch) -> InputError:
    reasons = "; ".join(f"{s['name']}: {s['reason']}" for s in batch.skipped[:5])
    return InputError(f"nothing was added ({reasons or 'no video files'}); upload videos "
                      "that play in a video player (mp4, avi, mov, mkv, webm)")


def _stage(batch: Batch, folder: Path, file_name: str, data: Source, class_name: str,
           source: str, one_recording: str | None) -> None:
    if isinstance(data, (str, os.PathLike)):
        stage_path(batch, folder, Path(data), class_name=class_name, source=source,
                   one_recording=one_recording)
        return
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    if file_name.lower().endswith(".zip"):
        with open_zip(stream) as archive:
            stage_zip(batch, folder, archive, file_name, class_name=class_name,
                      one_recording=one_recording)
    else:
        stage_stream(batch, folder, file_name, stream, class_name=class_name, source=source,
                     one_recording=one_recording)


def add_clips(name: str, class_name: str, files: list[tuple[str, Source]],
              one_recording: bool = False, source: str = "upload") -> dict:
    """Add video files (or zips of clips) to one class, created when new.

    This is also where a clip recorded on the Live page goes: ``add_clips(name, cls,
    [("camera.webm", path_or_bytes)], source="camera")``.

    Args:
        name: the dataset.
        class_name: the class every clip joins.
        files: ``(file name as the user knows it, content)``; content is bytes, a binary
            file object or a path on this machine.
        one_recording: the clips come from one recording: they share a group (unless
            their names carry ``_gNN_`` tokens).
        source: recorded with each clip (``upload``, ``camera``...).

    Returns:
        ``{"dataset", "added", "clips": [entries], "skipped": [{"name", "reason"}]}``.

    Raises:
        InputError: no such dataset, a bad class name, a refused zip, a limit passed,
            or not one usable video; nothing is added then.
    """
    root = store.existing(name)
    class_name = check_class_name(class_name)
    quotas.note_upload()
    batch_id = uuid.uuid4().hex if one_recording else None
    with store.staging(root) as folder:
        batch = Batch()
        for file_name, data in files:
            _stage(batch, folder, str(file_name), data, class_name, source, batch_id)
        if not batch.clips:
            raise _nothing_added(batch)
        entries = store.place(name, class_name, batch.clips)
    return _result(name, entries, batch)


def add_zip(name: str, zip_name: str, data: Source, one_recording: bool = False,
            restore: bool = False) -> dict:
    """Add a zip of class folders (``<Class>/<clip>``, under one top folder or not).

    Args:
        restore: read an exported dataset's manifest from the zip (display names, groups).
    """
    root = store.existing(name)
    if not restore:  # a restore counted as its import's upload
        quotas.note_upload()
    batch_id = uuid.uuid4().hex if one_recording else None
    stream = data if not isinstance(data, bytes) else io.BytesIO(data)
    with open_zip(stream) as archive, store.staging(root) as folder:
        batch = Batch()
        manifest = manifest_in_zip(archive) if restore else None
        stage_zip(batch, folder, archive, zip_name, class_name=None,
                  one_recording=batch_id, manifest=manifest)
        if not batch.clips:
            raise _nothing_added(batch)
        entries = store.place(name, None, batch.clips)
    return _result(name, entries, batch)


def import_zip(zip_name: str, data: Source, name: str | None = None) -> dict:
    """Restore an exported zip (or any zip of class folders) as a dataset.

    A new name creates the dataset (removed again if nothing could be imported); an
    existing one receives the clips. Without ``name`` the zip's top folder names it.
    """
    quotas.note_upload()
    stream = data if not isinstance(data, bytes) else io.BytesIO(data)
    with open_zip(stream) as archive:
        name = check_dataset_name(name or name_from_zip(archive, zip_name))
    if hasattr(stream, "seek"):
        stream.seek(0)
    created = name not in list_names()
    if created:
        create(name)
    try:
        result = add_zip(name, zip_name, stream, restore=True)
    except BaseException:
        if created:
            delete(name)
        raise
    return {**result, "created": created}


def cut_and_add(name: str, class_name: str, file_name: str, data: Source, seconds: float,
                overlap: float = 0.0) -> dict:
    """Cut one long video into ``seconds``-long clips (``overlap`` shared) for one class.

    Every piece gets the group of its source video, so no split puts pieces of one
    recording on both sides.

    Returns:
        ``add_clips``' result plus ``pieces`` and ``dropped_seconds`` (the short tail).
    """
    root = store.existing(name)
    class_name = check_class_name(class_name)
    quotas.note_upload()
    with store.staging(root) as folder:
        source = Batch()
        _stage(source, folder, str(file_name), data, class_name, "upload", None)
        if not source.clips:
            raise _nothing_added(source)
        long = source.clips[0]
        pieces, plan = cut_video(folder, long.path, long.display_name, seconds, overlap,
                                 class_name)
        entries = store.place(name, class_name, pieces)
    return _result(name, entries, Batch(), pieces=len(entries),
                   dropped_seconds=plan.dropped_seconds)


def describe(name: str) -> dict:
    """One dataset: path, classes with clips and groups, totals, readiness findings."""
    root = store.existing(name)
    ready = readiness(root)
    return {"name": name, "path": str(root), "classes": ready["classes"],
            "clips": sum(c["clips"] for c in ready["classes"]),
            "groups": sum(c["groups"] for c in ready["classes"]),
            "ready": ready["ready"], "findings": ready["findings"]}


def list_datasets() -> list[dict]:
    """``describe`` of every dataset in the workspace."""
    return [describe(n) for n in list_names()]


def space_usage(space: str | os.PathLike) -> dict[str, int]:
    """What a user space holds: ``user_disk_mb``, ``user_datasets``, ``user_clips`` (the
    keys of the limits they count against). Here, not in ``spaces.quotas``, which the
    workspace's own modules import."""
    with current.use(space):
        names = list_names()
        clips = sum(len(store.read_manifest(home() / n)["clips"]) for n in names)
    return {"user_disk_mb": round(quotas.disk_used(space) / quotas.MB),
            "user_datasets": len(names), "user_clips": clips}
