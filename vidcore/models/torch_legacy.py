"""Read legacy (non-zip) PyTorch checkpoints with the standard library and numpy.

The legacy format (``torch.save(..., _use_new_zipfile_serialization=False)`` and
every file written before PyTorch 1.6) is a concatenation of:

1. a pickled magic number, 2. a pickled protocol version (1001),
3. a pickled "system info" dict (endianness and C type sizes),
4. the pickled object itself, whose tensors reference storages by persistent id,
5. a pickled list of storage keys, then for each key in that order an 8-byte
   element count followed by the raw element data.

Nothing here imports torch. Unpickling is restricted to the handful of globals a
state dict needs, each mapped to a function of this module, so a hostile file
cannot run code (``os.system`` and friends are refused).
"""

from __future__ import annotations

import collections
import io
import logging
import pickle
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from vidcore.errors import WeightsError

logger = logging.getLogger(__name__)

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

# Element types by storage class name. The sizes come from here, never from the
# header's ``type_sizes``: files written on some platforms claim ``long`` is 4
# bytes while LongStorage data is always 8 bytes per element.
STORAGE_DTYPES: dict[str, str] = {
    "DoubleStorage": "f8",
    "FloatStorage": "f4",
    "HalfStorage": "f2",
    "LongStorage": "i8",
    "IntStorage": "i4",
    "ShortStorage": "i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
}


class ForbiddenGlobalError(WeightsError):
    """The pickle asked for a global outside the whitelist (possibly malicious)."""


@dataclass(frozen=True)
class StorageType:
    """A storage class named by the pickle (e.g. ``torch.FloatStorage``)."""

    name: str
    dtype: str


@dataclass
class _Storage:
    """One serialized storage; ``data`` is filled once the pickle is done."""

    key: str
    dtype: str
    numel: int
    data: np.ndarray | None = None


@dataclass
class _StorageView:
    """A window on a root storage (old files may pickle views of storages)."""

    root: _Storage
    offset: int
    numel: int


@dataclass
class _PendingTensor:
    """A tensor described by the pickle, materialized after storages are read."""

    storage: _Storage | _StorageView
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


@dataclass
class LegacyCheckpoint:
    """What a legacy checkpoint holds.

    Attributes:
        obj: The unpickled object with every tensor replaced by a numpy array.
        system_info: The header dict (``little_endian``, ``type_sizes``...).
        layouts: For each tensor, by its path (``"key"`` or ``"a.b"``), the
            ``(shape, stride, storage_offset)`` the file declared.
    """

    obj: Any
    system_info: dict
    layouts: dict[str, tuple[tuple[int, ...], tuple[int, ...], int]] = field(default_factory=dict)

    def non_contiguous(self) -> list[str]:
        """Return the paths of tensors whose strides are not row-major contiguous."""
        return [
            name
            for name, (shape, stride, _) in self.layouts.items()
            if tuple(stride) != contiguous_strides(shape)
        ]


def contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Return the row-major (C order) strides, in elements, of ``shape``.

    Args:
        shape: The tensor shape.

    Returns:
        The strides PyTorch gives a freshly allocated tensor of that shape.
    """
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(int(size), 1)
    return tuple(reversed(strides))


# --- whitelisted reconstruction functions ----------------------------------


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored):
    """Stand-in for ``torch._utils._rebuild_tensor`` / ``_rebuild_tensor_v2``."""
    if not isinstance(storage, _Storage | _StorageView):
        raise WeightsError(f"tensor refers to {type(storage).__name__}, not a storage")
    return _PendingTensor(storage, int(storage_offset), tuple(size), tuple(stride))


def _rebuild_parameter(data, *_ignored):
    """Stand-in for ``torch._utils._rebuild_parameter``: a parameter is its data."""
    return data


_SAFE_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that only knows the globals a PyTorch state dict needs.

    Storages named through persistent ids are collected in ``storages`` (by key,
    so tensors sharing a storage share one object).
    """

    def __init__(self, file: BinaryIO):
        super().__init__(file)
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str) -> Any:
        """Map a whitelisted global to this module's stand-in; refuse the rest."""
        if module == "torch" and name in STORAGE_DTYPES:
            return StorageType(name, STORAGE_DTYPES[name])
        try:
            return _SAFE_GLOBALS[(module, name)]
        except KeyError:
            raise ForbiddenGlobalError(
                f"refusing to unpickle global {module}.{name}: only torch tensor/storage "
                "reconstruction and collections.OrderedDict are allowed"
            ) from None

    def persistent_load(self, pid: Any) -> _Storage | _StorageView:
        """Resolve ``('storage', type, key, location, numel, view_metadata)``."""
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise WeightsError(f"unexpected persistent id in checkpoint: {pid!r}")
        _, stype, key, _location, numel, view = pid
        if not isinstance(stype, StorageType):
            raise WeightsError(f"persistent id names {stype!r}, not a storage type")
        root = self.storages.setdefault(str(key), _Storage(str(key), stype.dtype, int(numel)))
        if view is None:
            return root
        # Old files pickle sub-storages as (view_key, offset, view_numel).
        _view_key, view_offset, view_numel = view
        return _StorageView(root, int(view_offset), int(view_numel))


# --- reading ----------------------------------------------------------------


def _load_header(stream: BinaryIO, name: str) -> dict:
    """Check magic number and protocol, return the system info dict."""
    start = stream.read(4)
    stream.seek(0)
    if start.startswith(b"PK"):
        raise WeightsError(
            f"{name} is a zip-format PyTorch checkpoint; only the legacy format is read"
        )
    try:
        magic = RestrictedUnpickler(stream).load()
        protocol = RestrictedUnpickler(stream).load()
        info = RestrictedUnpickler(stream).load()
    except ForbiddenGlobalError:
        raise
    except Exception as exc:
        raise WeightsError(f"{name} is not a PyTorch checkpoint: {exc}") from exc
    if magic != LEGACY_MAGIC or protocol != LEGACY_PROTOCOL or not isinstance(info, dict):
        raise WeightsError(f"{name} is not a legacy PyTorch checkpoint (bad magic or protocol)")
    return info


def _read_storages(stream: BinaryIO, storages: dict[str, _Storage], order: str, name: str) -> None:
    """Read each storage record (count + raw data) in the order the file lists them."""
    keys = RestrictedUnpickler(stream).load()
    if not isinstance(keys, list) or set(map(str, keys)) != set(storages):
        raise WeightsError(f"{name}: storage key list does not match the tensors")
    for key in map(str, keys):
        storage = storages[key]
        (count,) = struct.unpack(order + "q", stream.read(8))
        dtype = np.dtype(order + storage.dtype)
        raw = stream.read(count * dtype.itemsize)
        if count != storage.numel or len(raw) != count * dtype.itemsize:
            raise WeightsError(f"{name}: storage {key} is truncated or has a wrong size")
        storage.data = np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("="))


def _materialize(pending: _PendingTensor) -> np.ndarray:
    """Copy a tensor out of its storage, honouring offset, shape and strides."""
    storage, offset = pending.storage, pending.offset
    if isinstance(storage, _StorageView):
        offset, storage = offset + storage.offset, storage.root
    data = storage.data
    shape, stride = pending.shape, pending.stride
    if len(shape) != len(stride) or any(s < 0 for s in shape) or any(s < 0 for s in stride):
        raise WeightsError(f"bad tensor layout: shape {shape}, stride {stride}")
    if 0 in shape:
        return np.zeros(shape, dtype=data.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(shape, stride, strict=True))
    # Bounds check: as_strided would otherwise read arbitrary memory.
    if offset < 0 or last >= data.size:
        raise WeightsError(f"tensor (offset {offset}, shape {shape}) overruns its storage")
    base = data[offset:]
    view = np.lib.stride_tricks.as_strided(
        base, shape=shape, strides=tuple(s * data.itemsize for s in stride), writeable=False
    )
    return np.array(view, copy=True)


def _replace_tensors(obj: Any, path: str, layouts: dict) -> Any:
    """Walk dicts/lists/tuples and turn each pending tensor into an array."""
    if isinstance(obj, _PendingTensor):
        layouts[path] = (obj.shape, obj.stride, obj.offset)
        return _materialize(obj)
    if isinstance(obj, dict):
        out = type(obj)() if isinstance(obj, collections.OrderedDict) else {}
        for key, value in obj.items():
            out[key] = _replace_tensors(value, f"{path}.{key}" if path else str(key), layouts)
        return out
    if isinstance(obj, list | tuple):
        items = [_replace_tensors(v, f"{path}.{i}" if path else str(i), layouts)
                 for i, v in enumerate(obj)]
        return type(obj)(items)
    return obj


def read_legacy_checkpoint(source: str | Path | bytes | BinaryIO) -> LegacyCheckpoint:
    """Read a legacy PyTorch checkpoint without torch.

    Args:
        source: A path, the file's bytes, or a binary file object positioned at
            the start of the checkpoint.

    Returns:
        The checkpoint with numpy arrays in place of tensors.

    Raises:
        WeightsError: The file is missing, not in the legacy format, damaged, or
            asks for a global outside the whitelist (``ForbiddenGlobalError``).
    """
    name, stream = _open(source)
    info = _load_header(stream, name)
    order = "<" if info.get("little_endian", True) else ">"
    unpickler = RestrictedUnpickler(stream)
    try:
        obj = unpickler.load()
    except (ForbiddenGlobalError, WeightsError):
        raise
    except Exception as exc:
        raise WeightsError(f"{name}: cannot unpickle the checkpoint: {exc}") from exc
    _read_storages(stream, unpickler.storages, order, name)
    layouts: dict = {}
    obj = _replace_tensors(obj, "", layouts)
    logger.debug("read %s: %d tensors, %d storages", name, len(layouts), len(unpickler.storages))
    return LegacyCheckpoint(obj=obj, system_info=info, layouts=layouts)


def load_legacy_state_dict(source: str | Path | bytes | BinaryIO) -> dict[str, np.ndarray]:
    """Read a legacy PyTorch state dict as ``{name: numpy array}``.

    Args:
        source: A path, the file's bytes, or a binary file object.

    Returns:
        An ordered dict from parameter/buffer name to a C-contiguous array.

    Raises:
        WeightsError: As for :func:`read_legacy_checkpoint`, or when the file does
            not hold a flat mapping of names to tensors.
    """
    checkpoint = read_legacy_checkpoint(source)
    obj = checkpoint.obj
    if not isinstance(obj, dict) or not all(isinstance(v, np.ndarray) for v in obj.values()):
        raise WeightsError("checkpoint does not hold a flat state dict of tensors")
    return collections.OrderedDict((str(k), v) for k, v in obj.items())


def _open(source: str | Path | bytes | BinaryIO) -> tuple[str, BinaryIO]:
    """Return a display name and a seekable in-memory stream for ``source``."""
    if isinstance(source, bytes | bytearray):
        return "<bytes>", io.BytesIO(source)
    if isinstance(source, str | Path):
        path = Path(source)
        try:
            return str(path), io.BytesIO(path.read_bytes())
        except OSError as exc:
            raise WeightsError(f"cannot read checkpoint {path}: {exc.strerror}") from exc
    return getattr(source, "name", "<stream>"), io.BytesIO(source.read())
