"""A dataset as one zip: export it, and import such a zip (or any zip of class folders).

The zip holds ``<name>/vidcore-dataset.json`` and ``<name>/<Class>/<clip>``; clips are
stored, not deflated (video is compressed already). Importing goes through the same
checks as any upload, and the manifest, when present, gives clips back their display
names, groups and sources.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

from vidcore.atomic import replace_via_temp
from vidcore.errors import InputError
from vidcore.workspace.config import MANIFEST
from vidcore.workspace.store import existing, read_manifest

MAX_MANIFEST_BYTES = 16 * 1024 * 1024


def export_zip(name: str, out: str | os.PathLike) -> dict:
    """Write dataset ``name`` as a zip at ``out`` (atomically); returns what went in."""
    root = existing(name)
    data = read_manifest(root)
    out = Path(out)
    if out.suffix.lower() != ".zip":
        raise InputError(f"{out} should end in .zip")

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
            archive.writestr(f"{name}/{MANIFEST}", json.dumps(data, indent=1, sort_keys=True))
            for key in sorted(data["clips"]):
                archive.write(root / key, f"{name}/{key}")

    replace_via_temp(out, write)
    return {"dataset": name, "zip": str(out), "clips": len(data["clips"]),
            "bytes": out.stat().st_size}


def manifest_in_zip(archive: zipfile.ZipFile) -> dict | None:
    """The clip entries of an exported dataset's manifest inside a zip, with group labels.

    Returns:
        ``{"<Class>/<file>": entry}`` or None when the zip has no (readable) manifest.
    """
    infos = [i for i in archive.infolist() if i.filename.rsplit("/", 1)[-1] == MANIFEST
             and i.filename.count("/") <= 1]
    if not infos or infos[0].file_size > MAX_MANIFEST_BYTES:
        return None
    try:
        data = json.loads(archive.read(infos[0]).decode("utf-8"))
        clips, groups = data["clips"], data.get("groups", {})
        return {key: {**entry, "group_label": groups.get(str(entry.get("group")), {}).get("label")}
                for key, entry in clips.items() if isinstance(entry, dict)}
    except (ValueError, KeyError, TypeError, AttributeError, zipfile.BadZipFile, OSError):
        return None


def name_from_zip(archive: zipfile.ZipFile, zip_name: str) -> str:
    """A dataset name for an imported zip: its one top folder, else the zip's own name."""
    tops = {i.filename.split("/", 1)[0] for i in archive.infolist() if "/" in i.filename}
    base = tops.pop() if len(tops) == 1 else Path(zip_name).stem
    cleaned = "".join(c if c.isalnum() or c in "-_" else "-" for c in base).strip("-_")
    return cleaned[:64] or "imported"
