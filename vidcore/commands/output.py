"""Shared printing for commands: JSON for scripts, aligned text for people."""

from __future__ import annotations

import json
import sys


def print_json(data) -> None:
    """Print one JSON object on stdout."""
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def print_table(rows: list[list], header: list[str]) -> None:
    """Print rows as left-aligned columns under a header."""
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
