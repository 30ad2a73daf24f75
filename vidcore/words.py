"""Wording helpers for messages and pages: the one way to say "1 clip", "2 clips"."""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``"1 clip"``, ``"2 clips"``, ``"1,000 clips"``: ``n`` and the right form of ``noun``.

    Args:
        n: how many.
        noun: the singular.
        plural: the plural when it is not ``noun + "s"``.
    """
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
