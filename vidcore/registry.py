"""Named registries (backbones, heads, presets): one lookup with one kind of error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from vidcore.errors import InputError

T = TypeVar("T")


def lookup(registry: Mapping[str, T], name: str, what: str) -> T:
    """``registry[name]``, or an ``InputError`` that lists the valid names.

    Args:
        registry: name -> entry.
        name: the name asked for.
        what: what the entries are, for the message (``"backbone"``, ``"head"`` ...).
    """
    try:
        return registry[name]
    except (KeyError, TypeError):
        raise InputError(f"unknown {what} {name!r}; valid names: {', '.join(registry)}") from None
