"""Telling a write the disk refused (full, over quota, read-only) from other errors.

Training writes checkpoints, metrics and status through Keras, h5py and vidcore's
own atomic writes; any of them may fail because the disk will not take the write.
That is the user's to fix (free space, another folder), so it becomes one clear
``RunError`` rather than a traceback.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from vidcore.errors import RunError, VidcoreError

# errno values that mean "this disk will not take the write": full, quota, too big, read-only.
DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)


def refused_write(err: BaseException, run_dir: Path, outcome: str) -> RunError | None:
    """A one-line ``RunError`` when ``err`` is a write the disk refused, else None.

    Disk full, over quota, file too large or read-only count wherever they happen;
    permission errors only inside the run directory (elsewhere they are about inputs).

    Args:
        err: the exception training raised (its causes are searched for an OSError).
        run_dir: the run directory.
        outcome: what became of the run, for the end of the message.
    """
    if isinstance(err, VidcoreError):  # already says what to do (e.g. the feature store's)
        return None
    cause = _os_error_in(err)
    if cause is None:
        return None
    inside = bool(cause.filename) and _is_inside(cause.filename, run_dir)
    code = cause.errno or _errno_from_text(str(cause))
    if code not in DISK_ERRNOS and not (code in (errno.EACCES, errno.EPERM) and inside):
        return None
    where = f"the run directory {run_dir}" if inside or not cause.filename else cause.filename
    reason = cause.strerror or os.strerror(code)
    return RunError(f"cannot write to {where}: {reason}; free some space or choose a "
                    f"writable folder with --run-dir ({outcome})")


def _os_error_in(err: BaseException | None) -> OSError | None:
    """The first OSError among ``err`` and its causes (libraries may wrap it)."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, OSError):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


def _errno_from_text(text: str) -> int | None:
    """Some writers (h5py) raise OSError without errno, naming the cause in the text."""
    return next((code for code in DISK_ERRNOS if os.strerror(code) in text), None)


def _is_inside(path: str | os.PathLike, folder: Path) -> bool:
    try:
        return Path(os.path.abspath(path)).is_relative_to(os.path.abspath(folder))
    except (TypeError, ValueError):  # filename may be bytes or an fd number
        return False
