"""Which user space the code running now acts in (none: the local, single-user app).

Two ways to name it, checked in this order:

- ``use(folder)``: a ``with`` block sets it for the current thread (``vidcore --user``,
  a test, a worker acting for one user);
- a finder the app installs (``set_finder``) that answers for the thread asking: the
  web app's finder reads the signed-in user of the browser session whose script runs
  in that thread, so every page, fragment and widget callback acts in its own user's
  space without passing it along.

``vidcore.settings`` asks here for the runs and workspace folders, so the rest of the
library never needs to know whose space it works in. This module imports nothing of
vidcore (settings imports it).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from pathlib import Path

_USED: contextvars.ContextVar[Path | None] = contextvars.ContextVar("vidcore_space", default=None)
_FINDER: list[Callable[[], Path | None]] = []  # at most one: the app's


def folder() -> Path | None:
    """The folder of the space in use, or None (the local app)."""
    used = _USED.get()
    if used is not None:
        return used
    return _FINDER[0]() if _FINDER else None


@contextlib.contextmanager
def use(space: str | Path) -> Iterator[Path]:
    """Act in the space at ``space`` for the ``with`` block (this thread only)."""
    token = _USED.set(Path(space))
    try:
        yield Path(space)
    finally:
        _USED.reset(token)


def set_finder(finder: Callable[[], Path | None] | None) -> None:
    """Install (or with None remove) the function that names the space of the asking
    thread when no ``use`` block does."""
    _FINDER.clear()
    if finder is not None:
        _FINDER.append(finder)
