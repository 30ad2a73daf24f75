"""What a signed-in user may open: their own space and the shared data, nothing else.

Every path a user can type or steer (a dataset folder or CSV typed in the sidebar, the
videos a CSV lists, a model folder) is hostile until checked here. Links and ``..``
are resolved first, so neither can step out. Outside a user space (the local app, the
CLI without ``--user``) every check passes: the local user owns the machine.
"""

from __future__ import annotations

import os
from pathlib import Path

from vidcore import settings
from vidcore.errors import InputError
from vidcore.spaces import current


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def may_read(path: str | os.PathLike) -> bool:
    """Whether the user space in use may read ``path`` (always, outside a user space).

    Inside the spaces folder only the own space counts, even when a shared root
    (``$VIDCORE_DATA_ROOTS``) would hold the others' spaces too.
    """
    space = current.folder()
    if space is None:
        return True
    try:
        resolved = Path(path).expanduser().resolve()
    except (OSError, RuntimeError):  # a link loop
        return False
    if _inside(resolved, space.resolve()):
        return True
    if _inside(resolved, settings.spaces_dir().resolve()):
        return False
    # data_roots() holds the own space, the demo dataset and $VIDCORE_DATA_ROOTS here
    shared = [*settings.data_roots(), settings.shipped_demo_model().resolve()]
    return any(_inside(resolved, root) for root in shared)


def check_readable(path: str | os.PathLike, what: str = "a dataset") -> Path:
    """``path`` resolved, when the user space in use may read it.

    Raises:
        InputError: it lies outside the own space and the shared folders.
    """
    if not may_read(path):
        raise InputError(f"{path} is outside your space and the shared data; choose {what} "
                         "under My datasets or the demo")
    return Path(path).expanduser().resolve()


def check_index(index) -> None:
    """Refuse a dataset index (a CSV manifest) that lists a video the user may not read.

    Raises:
        InputError: names the first such video.
    """
    if current.folder() is None:
        return
    check_readable(index.root)
    for record in index.records:
        if not may_read(index.path_of(record)):
            raise InputError(f"the dataset lists {record.path}, which lies outside your space "
                             "and the shared data; list only videos of your own or the demo")
