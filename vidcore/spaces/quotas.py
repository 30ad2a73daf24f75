"""Per-user limits while a user space is in use: disk, datasets, clips, uploads a minute.

Each check raises an ``InputError`` that says what the limit is, where the user stands
and what to do; outside a user space (the local app) every check passes. The values
are the user's own where an admin set them (``vidcore.spaces.limits``), else the
server's (``VIDCORE_USER_*``); the queue checks the trainings one user may have queued
(``vidcore.training_queue``). ``usage`` says where a space stands, for the admins.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from vidcore.atomic import write_with
from vidcore.errors import InputError
from vidcore.locking import exclusive
from vidcore.spaces import current, identity, limits

MB = 1024 * 1024
UPLOADS = ".uploads.json"  # the times of the space's uploads in the last minute
UPLOADS_LOCK = ".uploads.lock"  # held while the count is read, checked and written


def _limit(key: str) -> int:
    """The limit of the space in use (its user's own, else the server's)."""
    space = current.folder()
    return limits.limit_for(key, identity.email_of(space) if space is not None else None)


def disk_used(folder: str | os.PathLike) -> int:
    """Bytes the files under ``folder`` take (links not followed)."""
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue  # removed meanwhile
    return total


def check_disk(adding: int = 0) -> None:
    """Refuse a write of ``adding`` bytes that would pass the space's disk limit.

    Raises:
        InputError: the space is full (or would be).
    """
    space = current.folder()
    if space is None:
        return
    cap, used = _limit("user_disk_mb") * MB, disk_used(space)
    if used + adding > cap:
        raise InputError(f"your space holds {used / MB:.0f} MB of the {cap // MB} MB it may "
                         "hold; delete datasets or runs you no longer need, then try again")


def check_new_dataset(existing: int) -> None:
    """Refuse one more dataset when the user has ``existing`` and the limit is reached."""
    cap = _limit("user_datasets")
    if current.folder() is not None and existing >= cap:
        raise InputError(f"you have {existing} datasets, the most one user may have here; "
                         "delete one you no longer need to make another")


def check_clips(held: int, adding: int) -> None:
    """Refuse ``adding`` clips when the user holds ``held`` in all their datasets."""
    cap = _limit("user_clips")
    if current.folder() is not None and held + adding > cap:
        raise InputError(f"your datasets hold {held} clips and may hold {cap} in all; "
                         f"{adding} more do not fit: delete some clips first")


def note_upload(now: float | None = None) -> None:
    """Count one upload of the space in use; refuse it past the limit a minute.

    Read, check and write happen under the space's lock, so uploads arriving at once
    from several server threads or processes are each counted, and no more than the
    limit pass.

    Raises:
        InputError: too many uploads in the last 60 s (says how long to wait).
    """
    space = current.folder()
    if space is None:
        return
    now = time.time() if now is None else now
    path = Path(space) / UPLOADS
    cap = _limit("user_uploads_per_minute")
    with exclusive(Path(space) / UPLOADS_LOCK):
        try:
            times = [float(t) for t in json.loads(path.read_text()) if now - float(t) < 60]
        except (OSError, ValueError, TypeError):
            times = []
        if len(times) >= cap:
            wait = max(1, round(60 - (now - min(times))))
            raise InputError(f"{cap} uploads a minute is the most one user may make here; "
                             f"wait {wait} s and upload again")
        text = json.dumps([*times, now])
        write_with(path, lambda f: f.write(text.encode("utf-8")))
