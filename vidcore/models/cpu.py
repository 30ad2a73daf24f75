"""What this CPU is, as Linux's ``/proc/cpuinfo`` says: its model name and flags.

The engine choice (``vidcore.models.engines``), the precision (``.precision``) and the
benchmarks' machine lines all read it here. Elsewhere than Linux the name is
``"unknown"`` and there are no flags.
"""

from __future__ import annotations

import functools
from pathlib import Path

CPUINFO = "/proc/cpuinfo"
# The vector and matrix extensions that decide how fast a backbone runs, and in what.
FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16",
         "amx_bf16", "amx_tile", "avx_vnni", "neon", "asimd")


@functools.cache
def cpu_info(cpuinfo: str = CPUINFO) -> tuple[str, frozenset[str]]:
    """The CPU's model name and every flag of its first processor entry."""
    name, flags = "unknown", frozenset()
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return name, flags
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and name == "unknown":
            name = value.strip()
        elif key.strip() in ("flags", "Features") and not flags:
            flags = frozenset(value.split())
    return name, flags


def cpu_flags(cpuinfo: str = CPUINFO) -> list[str]:
    """The ``FLAGS`` this CPU has, in that order."""
    flags = cpu_info(cpuinfo)[1]
    return [f for f in FLAGS if f in flags]


def flags_line(cpuinfo: str = CPUINFO) -> str:
    """The ``FLAGS`` this CPU has as one line for a benchmark's report ("none of ..." if none)."""
    return " ".join(cpu_flags(cpuinfo)) or "none of " + " ".join(FLAGS)
