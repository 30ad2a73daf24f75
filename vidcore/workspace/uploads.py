"""Turn what a user sends (video files, zips) into checked clips in a staging folder.

Everything here treats its input as hostile: extensions come from an allow-list,
sizes are bounded before a byte is written, a zip is vetted whole (names, entry
types, entry count, uncompressed size) before anything is extracted, and every clip
is decoded once (``vidcore.data.video.probe``) so an unreadable one is turned away
with its reason instead of failing a training run later.
"""

from __future__ import annotations

import io
import re
import stat
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from vidcore.data.index import GROUP_TOKEN
from vidcore.data.video import VIDEO_EXTENSIONS, probe
from vidcore.errors import InputError, VidcoreError
from vidcore.workspace.config import Limits, check_class_name, limits
from vidcore.workspace.store import Incoming

CHUNK = 1024 * 1024
SKIPPED_NAMES = ("__MACOSX/", ".DS_Store", "Thumbs.db")
UNSAFE_TYPES = {stat.S_IFLNK: "a symbolic link", stat.S_IFCHR: "a device",
                stat.S_IFBLK: "a device", stat.S_IFIFO: "a pipe", stat.S_IFSOCK: "a socket"}


@dataclass
class Batch:
    """Clips checked so far and what was turned away.

    Attributes:
        clips: clips ready to be placed.
        skipped: ``{"name": ..., "reason": ...}`` for every file not taken.
        total_bytes: bytes staged so far (for the per-upload limit).
    """

    clips: list[Incoming] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    total_bytes: int = 0

    def skip(self, name: str, reason: str) -> None:
        """Record a file that was not taken, and why."""
        self.skipped.append({"name": name, "reason": reason})


def display_name(name: str) -> str:
    """A user's file name made safe to show: its last part, printable, at most 120 chars."""
    last = re.split(r"[\\/]", str(name or ""))[-1]
    clean = "".join(c for c in last if c.isprintable()).strip()
    return (clean or "clip")[:120]


def shown_path(parts) -> str:
    """A zip member's path made safe to show (each part as ``display_name`` cleans it)."""
    return "/".join(display_name(p) for p in parts)


def video_suffix(name: str) -> str | None:
    """The lower-case video extension of a name, or None when it is not a video vidcore reads."""
    suffix = PurePosixPath(name.lower()).suffix
    return suffix if suffix in VIDEO_EXTENSIONS else None


def group_of_name(class_name: str | None, name: str, fallback: tuple[str, str]) -> tuple[str, str]:
    """Group key and label of a clip: the ``_gNN_`` token of its name, else ``fallback``.

    UCF101-style names (``v_JumpRope_g08_c01.avi``) keep their recording groups; the
    token is read per class, as the folders format reads it.
    """
    m = GROUP_TOKEN.search(PurePosixPath(name).stem)
    if m:
        number = int(m.group(1))
        return f"token:{(class_name or '').lower()}:{number}", f"g{number:02d} in the file names"
    return fallback


def _fallback_group(one_recording: str | None, name: str) -> tuple[str, str]:
    if one_recording:
        return f"batch:{one_recording}", "one recording (uploaded together)"
    return f"own:{uuid.uuid4().hex}", f"{display_name(name)} (its own recording)"


class _TooLarge(Exception):
    """A copy went past its byte cap."""


def _copy_bounded(src: BinaryIO, dst: Path, cap: int) -> int:
    """Copy at most ``cap`` bytes (a zip's declared sizes can lie); return the size."""
    size = 0
    with open(dst, "wb") as out:
        while chunk := src.read(CHUNK):
            size += len(chunk)
            if size > cap:
                raise _TooLarge
            out.write(chunk)
    return size


def probe_info(path: Path) -> dict:
    """What the page shows of a clip: frames, fps, size, duration (it decodes: a check)."""
    info = probe(path)
    return {"frames": info.frame_count, "fps": round(info.fps, 3), "width": info.width,
            "height": info.height, "duration": round(info.duration, 3)}


def stage_stream(batch: Batch, folder: Path, name: str, src: BinaryIO, *,
                 class_name: str | None, source: str, one_recording: str | None = None,
                 lim: Limits | None = None) -> Incoming | None:
    """Stage one video from a binary stream, probe it, add it to ``batch``.

    Returns:
        The staged clip, or None when it was skipped (the reason is in ``batch``).

    Raises:
        InputError: the upload as a whole went over its size limit.
    """
    lim = lim or limits()
    suffix = video_suffix(name)
    if suffix is None:
        batch.skip(display_name(name), "not a video file (allowed: "
                   f"{', '.join(e.lstrip('.') for e in VIDEO_EXTENSIONS)})")
        return None
    path = folder / f"{uuid.uuid4().hex}{suffix}"
    cap = min(lim.file_bytes, lim.upload_bytes - batch.total_bytes)
    try:
        size = _copy_bounded(src, path, cap)
        batch.total_bytes += size
        if size == 0:
            raise VidcoreError("the file is empty (0 bytes)")
        info = probe_info(path)
    except _TooLarge:
        path.unlink(missing_ok=True)
        if cap < lim.file_bytes:  # the upload as a whole is over: nothing of it is kept
            raise InputError(f"this upload is larger than the {lim.upload_bytes // 2**20} MB "
                             "allowed in one go; send fewer files at a time") from None
        batch.skip(display_name(name), f"larger than the {lim.file_bytes // 2**20} MB allowed "
                                       "for one video; cut it shorter")
        return None
    except VidcoreError as err:
        path.unlink(missing_ok=True)
        batch.skip(display_name(name), getattr(err, "reason", str(err)))
        return None
    key, label = group_of_name(class_name, name, _fallback_group(one_recording, name))
    clip = Incoming(path, display_name(name), key, label, source, info, class_name=class_name)
    batch.clips.append(clip)
    return clip


# ---------------------------------------------------------------- zips


@dataclass(frozen=True)
class ZipMember:
    """A zip entry that passed the checks: its name parts and declared size."""

    info: zipfile.ZipInfo
    parts: tuple[str, ...]


def _entry_problem(info: zipfile.ZipInfo) -> str | None:
    """Why an entry makes the whole zip unacceptable, or None."""
    name = info.filename
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return f"it holds an absolute path ({name!r})"
    if ".." in re.split(r"[\\/]", name):
        return f"it holds a path that climbs out of its folder ({name!r})"
    if "\x00" in name:
        return f"it holds a file name with a NUL byte ({name!r})"
    kind = UNSAFE_TYPES.get(stat.S_IFMT(info.external_attr >> 16))
    if kind:
        return f"{name!r} is {kind}, not a file"
    return None


def vet_zip(archive: zipfile.ZipFile, lim: Limits, batch: Batch) -> list[ZipMember]:
    """Check a whole zip before extracting anything; return the video members to take.

    Raises:
        InputError: a path that escapes, a link or device entry, too many entries, or
            more uncompressed data than one upload may bring.
    """
    entries = archive.infolist()
    if len(entries) > lim.zip_entries:
        raise InputError(f"the zip lists {len(entries)} entries; at most {lim.zip_entries} are "
                         "taken: split it into smaller zips")
    members, total = [], 0
    for info in entries:
        problem = _entry_problem(info)
        if problem:
            raise InputError(f"the zip was refused, nothing was added: {problem}")
        if info.is_dir():
            continue
        parts = tuple(p for p in re.split(r"[\\/]", info.filename) if p not in ("", "."))
        if any(s in info.filename for s in SKIPPED_NAMES) or parts[-1].startswith("."):
            continue  # operating-system litter, not the user's clips
        if info.flag_bits & 0x1:
            batch.skip(display_name(info.filename), "encrypted: zip it again without a password")
        elif video_suffix(parts[-1]) is None:
            batch.skip(shown_path(parts), "not a video file")
        elif info.file_size > lim.file_bytes:
            batch.skip(shown_path(parts), f"larger than the {lim.file_bytes // 2**20} MB allowed")
        else:
            total += info.file_size
            members.append(ZipMember(info, parts))
    if total > lim.upload_bytes:
        raise InputError(f"the zip holds {total // 2**20} MB uncompressed; at most "
                         f"{lim.upload_bytes // 2**20} MB are taken in one upload")
    return members


def _class_folders(members: list[ZipMember]) -> list[tuple[ZipMember, str | None]]:
    """Each member's class folder: the first folder, below one shared top folder if any."""
    strip = (len({m.parts[0] for m in members}) == 1
             and all(len(m.parts) >= 3 for m in members))
    out = []
    for m in members:
        parts = m.parts[1:] if strip else m.parts
        out.append((m, parts[0] if len(parts) >= 2 else None))
    return out


def open_zip(data: bytes | str | Path) -> zipfile.ZipFile:
    """A zip from bytes or a path, with a one-line error when it is not one."""
    try:
        return zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data)
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise InputError(f"not a readable zip file ({err}); make it again with any zip tool"
                         ) from None


def stage_zip(batch: Batch, folder: Path, archive: zipfile.ZipFile, zip_name: str, *,
              class_name: str | None, one_recording: str | None = None,
              manifest: dict | None = None) -> None:
    """Stage every video of a vetted zip into ``batch``.

    With ``class_name`` every clip goes to that class (folders are ignored); without,
    each clip's class is its class folder, and clips outside one are skipped.
    ``manifest`` (from an exported dataset) restores display names and groups.
    """
    lim = limits()
    members = vet_zip(archive, lim, batch)
    if not members and not batch.skipped:
        raise InputError(f"{display_name(zip_name)} holds no files")
    for member, folder_class in _class_folders(members):
        target = class_name or folder_class
        shown = shown_path(member.parts)
        if target is None:
            batch.skip(shown, "not inside a class folder: put each class's clips in a "
                              "folder named after the class")
            continue
        try:
            target = check_class_name(target)
        except InputError as err:
            batch.skip(shown, str(err))
            continue
        try:
            with archive.open(member.info) as src:
                clip = stage_stream(batch, folder, member.parts[-1], src, class_name=target,
                                    source=f"zip:{display_name(zip_name)}",
                                    one_recording=one_recording, lim=lim)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as err:
            batch.skip(shown, f"damaged inside the zip ({err})")
            continue
        if clip is not None and manifest is not None:
            _restore_entry(batch, clip, manifest.get("/".join(member.parts[-2:])), zip_name)


def _restore_entry(batch: Batch, clip: Incoming, entry: dict | None, zip_name: str) -> None:
    """Give an imported clip its exported display name, group and source back."""
    if not isinstance(entry, dict):
        return
    from dataclasses import replace

    group = entry.get("group")
    key = f"import:{display_name(zip_name)}:{group}" if group else clip.group_key
    restored = replace(clip, display_name=display_name(entry.get("display_name") or ""),
                       group_key=key, group_label=str(entry.get("group_label") or clip.group_label),
                       source=str(entry.get("source") or clip.source),
                       cut=entry.get("cut") if isinstance(entry.get("cut"), dict) else None)
    batch.clips[batch.clips.index(clip)] = restored


def stage_path(batch: Batch, folder: Path, path: Path, *, class_name: str | None,
               source: str, one_recording: str | None = None) -> None:
    """Stage a file on this machine (the CLI, a camera recording): a video or a zip."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} is not a file; give video files or zips of them")
    if path.suffix.lower() == ".zip":
        with open_zip(path) as archive:
            stage_zip(batch, folder, archive, path.name, class_name=class_name,
                      one_recording=one_recording)
        return
    with open(path, "rb") as src:
        stage_stream(batch, folder, path.name, src, class_name=class_name, source=source,
                     one_recording=one_recording)
