"""Which number format a backbone computes in: float32, or bfloat16 where it pays.

EfficientNet-Lite0 in bfloat16 (Keras ``mixed_bfloat16``: bfloat16 maths, float32
weights and outputs) ran about 1.9x faster than float32 on this machine's CPU, which
has native bfloat16 instructions (AVX512_BF16), with features within 0.3% in cosine
and the same demo-model verdicts (docs/benchmarks.md). A CPU without them would
emulate bfloat16 and run slower than float32, so ``"auto"`` picks bfloat16 only where
the CPU has the instructions and the backbone is marked as tested in bfloat16.

``$VIDCORE_PRECISION`` (``float32`` or ``bfloat16``) overrides ``"auto"``: for
bit-stable float32 features on every machine, or to compare.
"""

from __future__ import annotations

from vidcore import settings
from vidcore.errors import InputError
from vidcore.models import cpu

PRECISIONS = settings.PRECISIONS
ENV_VAR = settings.PRECISION
# /proc/cpuinfo flags of CPUs that compute bfloat16 natively (AVX512 or AMX).
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
SHORT = {"float32": "f32", "bfloat16": "bf16"}


def cpu_has_bfloat16(cpuinfo: str = cpu.CPUINFO) -> bool:
    """True when the CPU computes bfloat16 natively (read from Linux's /proc/cpuinfo;
    False elsewhere, where vidcore cannot tell)."""
    return bool(BF16_FLAGS & cpu.cpu_info(cpuinfo)[1])


def check(precision: str) -> str:
    """``precision`` if it is one of ``PRECISIONS``; else an InputError naming them."""
    if precision not in PRECISIONS:
        raise InputError(f"unknown precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    return precision


def requested(precision: str) -> str:
    """The precision asked for: ``precision`` unless it is ``"auto"`` and
    ``$VIDCORE_PRECISION`` names one (``"auto"`` when neither forces one).

    Raises:
        InputError: an unknown precision, here or in ``$VIDCORE_PRECISION``.
    """
    if check(precision) == "auto":
        return settings.precision()
    return precision


def resolve(precision: str, bfloat16_tested: bool) -> str:
    """The precision a backbone really computes in: ``"float32"`` or ``"bfloat16"``.

    Args:
        precision: ``"auto"``, ``"float32"`` or ``"bfloat16"``.
        bfloat16_tested: whether the backbone is marked as checked in bfloat16
            (``BackboneSpec.bfloat16``); others always compute in float32.

    Raises:
        InputError: an unknown precision (here or in ``$VIDCORE_PRECISION``), or
            bfloat16 asked of a CPU without bfloat16 instructions.
    """
    precision = requested(precision)
    if precision == "float32" or not bfloat16_tested:
        return "float32"
    if precision == "bfloat16" and not cpu_has_bfloat16():
        raise InputError("this CPU has no bfloat16 instructions (it would emulate them, "
                         f"slower than float32): use precision float32 or unset {ENV_VAR}")
    return "bfloat16" if cpu_has_bfloat16() else "float32"
