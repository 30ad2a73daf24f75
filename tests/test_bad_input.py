"""Bad-input matrix: every file is generated here; each case is handled or gives one clear error.

Checked through the library (``probe``/``read_frames``, ``load_index``, ``load_model``)
and through the CLI (exit status 2, one ``vidcore: error:`` line, no traceback).
An audio-only container cannot be written without ffmpeg; a WAV file named ``.mp4``
stands in for "audio, not video".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import WRAP, decoded_index, patch_avi_rate, touch, write_phone_clip, write_video

from vidcore.data.index import load_index
from vidcore.data.sampling import FpsSampler, SegmentsSampler, UniformSampler
from vidcore.data.video import MAX_PLAUSIBLE_FPS, probe, read_frames
from vidcore.errors import DatasetError, RunError, VidcoreError, VideoReadError
from vidcore.predict import load_model

ROOT = Path(__file__).resolve().parents[1]
DEMO_MODEL = ROOT / "weights" / "demo_model"
ODD_NAME = "ü ñ 動作 [a] !&(b);"  # unicode, spaces and shell/glob metacharacters

def run_cli(*args) -> subprocess.CompletedProcess:
    # As from a user's shell: no TF_CPP_MIN_LOG_LEVEL, which TensorFlow's start-up
    # lines ignore anyway; the CLI itself must keep stderr to the one error line.
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    env.pop("VIDCORE_DEBUG", None)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return subprocess.run([sys.executable, "-m", "vidcore", *map(str, args)], cwd=ROOT,
                          env=env, capture_output=True, text=True, encoding="utf-8",
                          timeout=120)


def assert_one_line_error(out: subprocess.CompletedProcess, *needles: str) -> str:
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert "Traceback" not in out.stderr, out.stderr
    lines = out.stderr.splitlines()  # exactly one: no TensorFlow start-up lines before it
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("vidcore: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def assert_clear(err: VidcoreError, *needles: str) -> None:
    text = str(err)
    assert "\n" not in text and text.strip(), text
    for needle in needles:
        assert needle in text, text


# ---------------------------------------------------------------- files that are not videos


def _zero_bytes(path: Path) -> None:
    path.write_bytes(b"")


def _random_bytes(path: Path) -> None:
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes())


def _text(path: Path) -> None:
    path.write_text("this is a text file, not a video\n" * 20, encoding="utf-8")


def _wav(path: Path) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x01" * 8000)  # one second of audio


def _truncated_header(path: Path) -> None:
    data = write_video(path.with_name("whole.avi"), 40).read_bytes()
    path.write_bytes(data[:300])  # cut inside the AVI header


NOT_VIDEOS = {
    "zero-byte.mp4": (_zero_bytes, "empty (0 bytes)"),
    "random.mp4": (_random_bytes, "not a video"),
    "text.avi": (_text, "not a video"),
    "audio-wav.mp4": (_wav, "not a video"),
    "header-cut.avi": (_truncated_header, "not a video"),
}


@pytest.mark.parametrize("name", sorted(NOT_VIDEOS))
def test_not_a_video_gives_one_clear_error(tmp_path, name):
    make, reason = NOT_VIDEOS[name]
    path = tmp_path / name
    make(path)
    with pytest.raises(VideoReadError) as probed:
        probe(path)
    assert_clear(probed.value, str(path), reason)
    with pytest.raises(VideoReadError) as read:
        read_frames(path, UniformSampler(4))
    assert_clear(read.value, str(path), reason)


def test_missing_video_file(tmp_path):
    with pytest.raises(VideoReadError) as err:
        probe(tmp_path / "nope.mp4")
    assert_clear(err.value, "no such file")


@pytest.mark.parametrize("ext", [".png", ".jpg"])
def test_still_image_named_mp4_is_one_frame_or_a_clear_error(tmp_path, ext):
    ok, encoded = cv2.imencode(ext, np.full((48, 64, 3), 100, np.uint8))
    assert ok
    path = tmp_path / f"still{ext}.mp4"
    path.write_bytes(encoded.tobytes())
    try:
        info = probe(path)
    except VideoReadError as err:  # refusing it is fine too, if said clearly
        assert_clear(err, str(path))
        return
    assert (info.frame_count, info.width, info.height) == (1, 64, 48)
    frames = read_frames(path, UniformSampler(4), info=info)
    assert frames.images.shape == (4, 48, 64, 3)
    assert list(frames.frame_ids) == [0, 0, 0, 0]
    assert abs(float(frames.images.mean()) - 100) < 10


def test_truncated_video_returns_frames_that_exist(tmp_path):
    data = write_video(tmp_path / "whole.avi", 40).read_bytes()
    path = tmp_path / "half.avi"
    path.write_bytes(data[: len(data) // 2])
    frames = read_frames(path, UniformSampler(8))
    assert frames.images.shape[0] == 8
    assert 0 < int(frames.frame_ids.max()) < 39  # resampled over the decodable head
    for image, fid in zip(frames.images, frames.frame_ids, strict=True):
        assert decoded_index(image) == int(fid) % WRAP


# ---------------------------------------------------------------- odd but valid videos


def test_one_frame_clip(tmp_path):
    path = write_video(tmp_path / "one.avi", 1)
    info = probe(path)
    assert info.frame_count == 1
    assert len(read_frames(path, FpsSampler(), info=info)) == 1
    uniform = read_frames(path, UniformSampler(8), info=info)
    assert uniform.images.shape == (8, 48, 64, 3) and set(uniform.frame_ids) == {0}
    assert len(read_frames(path, SegmentsSampler(4), info=info)) == 4


def test_clip_of_three_tenths_of_a_second(tmp_path):
    path = write_video(tmp_path / "short.avi", 3, fps=10.0)
    info = probe(path)
    assert info.frame_count == 3 and info.duration == pytest.approx(0.3)
    fps = read_frames(path, FpsSampler(rate=1.0), info=info)
    assert list(fps.frame_ids) == [0]
    uniform = read_frames(path, UniformSampler(8), info=info)
    assert uniform.images.shape[0] == 8
    assert uniform.frame_ids[0] == 0 and uniform.frame_ids[-1] == 2
    for image, fid in zip(uniform.images, uniform.frame_ids, strict=True):
        assert decoded_index(image) == int(fid)


@pytest.mark.parametrize("scale,rate", [(1, 100_000), (1, 0)])
def test_container_with_absurd_fps(tmp_path, scale, rate):
    path = patch_avi_rate(write_video(tmp_path / "liar.avi", 30), scale, rate)
    info = probe(path)
    assert 0 < info.fps <= MAX_PLAUSIBLE_FPS
    assert info.frame_count == 30 and 0 < info.duration < 60
    frames = read_frames(path, FpsSampler(rate=1.0), info=info)
    assert 1 <= len(frames) <= 30
    assert np.all(np.isfinite(frames.timestamps))


def test_portrait_clip(tmp_path):
    path = write_video(tmp_path / "portrait.avi", 10, size=(240, 320))
    info = probe(path)
    assert (info.width, info.height) == (240, 320)
    assert read_frames(path, UniformSampler(4), info=info).images.shape == (4, 320, 240, 3)
    resized = read_frames(path, UniformSampler(4), size=(224, 224), info=info)
    assert resized.images.shape == (4, 224, 224, 3)


def test_rotated_phone_clip_comes_out_upright(tmp_path):
    path = write_phone_clip(tmp_path / "phone.mp4")
    info = probe(path)
    assert (info.width, info.height) == (240, 320)  # as displayed, not as stored
    image = read_frames(path, UniformSampler(2), info=info).images[0]
    assert image.shape == (320, 240, 3)
    ys, xs = np.nonzero(image[:, :, 0] > 128)  # the block stored top-left shows top-right
    assert ys.max() < 100 and xs.min() > 150, (ys.min(), ys.max(), xs.min(), xs.max())
    if (DEMO_MODEL / "model.keras").is_file():
        out = run_cli("predict", path, "--model", DEMO_MODEL, "--json")
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["frames"]


def test_1080p_clip_resized(tmp_path):
    path = write_video(tmp_path / "hd.avi", 10, size=(1920, 1080))
    info = probe(path)
    assert (info.width, info.height, info.frame_count) == (1920, 1080, 10)
    frames = read_frames(path, UniformSampler(5), size=(224, 224), info=info)
    assert frames.images.shape == (5, 224, 224, 3) and frames.images.dtype == np.uint8


def test_long_clip_fps_sampler_is_capped(tmp_path):
    path = write_video(tmp_path / "long.avi", 600, fps=25.0, size=(32, 24))  # 24 s
    info = probe(path)
    assert len(FpsSampler(rate=5.0).positions(info)) == 120  # what the cap prevents
    frames = read_frames(path, FpsSampler(rate=5.0, max_frames=10), info=info)
    assert len(frames) == 10 and frames.uncapped == 120  # the result says the cap applied
    assert read_frames(path, FpsSampler(rate=0.25, max_frames=10), info=info).uncapped is None
    assert np.all(np.diff(frames.frame_ids) > 0)
    assert frames.frame_ids[0] == 0 and frames.frame_ids[-1] >= 500


def test_odd_characters_in_file_name(tmp_path):
    path = write_video(tmp_path / ODD_NAME / f"{ODD_NAME}.avi", 10)
    assert probe(path).frame_count == 10
    assert len(read_frames(path, UniformSampler(4))) == 4


# ---------------------------------------------------------------- datasets


def _odd_dataset(root: Path) -> Path:
    for cls in (f"class {ODD_NAME}", "plain"):
        for i in range(2):
            write_video(root / cls / f"{ODD_NAME} {i}.avi", 3, size=(32, 24))
    return root


def test_dataset_with_odd_names_indexes_and_reads(tmp_path):
    index = load_index(_odd_dataset(tmp_path / "data"))
    assert index.format == "folders"
    assert set(index.classes) == {f"class {ODD_NAME}", "plain"}
    assert len(index.records) == 4 and index.train and index.test
    for record in index.records:
        assert probe(index.path_of(record)).frame_count == 3


def test_cli_info_on_dataset_with_odd_names(tmp_path):
    out = run_cli("info", _odd_dataset(tmp_path / "data"), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert f"class {ODD_NAME}" in data["classes"] and data["videos"] == 4


def test_datasets_that_cannot_be_indexed_say_why(tmp_path):
    # (One video per class indexes: trained, reported untested; tests/test_split_rule.py.)
    root = tmp_path / "data"
    for rel in ["walk/notes.txt", "run/frame.jpg"]:
        touch(root, rel)
    with pytest.raises(DatasetError) as err:
        load_index(root)
    assert_clear(err.value, "no video files", str(root))
    assert_one_line_error(run_cli("info", root), "no video files")


def test_cli_info_bad_dataset_paths(tmp_path):
    assert_one_line_error(run_cli("info", tmp_path / "missing"), "does not exist")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_line_error(run_cli("info", empty), "no dataset found")
    video = write_video(tmp_path / "clip.avi", 2)
    assert_one_line_error(run_cli("info", video), "is a file")


def _ucf_tree(root: Path) -> Path:
    lists = root / "ucfTrainTestlist"
    touch(lists, "classInd.txt", b"1 Jump\n2 Run\n")
    touch(lists, "trainlist01.txt",
          b"Jump/v_Jump_g01_c01.avi 1\nRun/v_Run_g01_c01.avi 2\nRun/v_Run_g02_c01.avi 2\n")
    touch(lists, "testlist01.txt", b"Jump/v_Jump_g03_c01.avi\nRun/v_Run_g03_c01.avi\n")
    for rel in ("Jump/v_Jump_g01_c01.avi", "Run/v_Run_g01_c01.avi", "Run/v_Run_g03_c01.avi"):
        touch(root, rel)  # Run_g02 and Jump_g03 are listed but absent
    return root


def test_split_files_pointing_at_missing_files(tmp_path):
    root = _ucf_tree(tmp_path / "ucf")
    index = load_index(root)
    assert index.format == "ucf101"
    assert sorted(index.missing) == ["Jump/v_Jump_g03_c01.avi", "Run/v_Run_g02_c01.avi"]
    assert sorted(r.path for r in index.records) == [
        "Jump/v_Jump_g01_c01.avi", "Run/v_Run_g01_c01.avi", "Run/v_Run_g03_c01.avi"]
    out = run_cli("info", root, "--json")
    assert out.returncode == 0, out.stderr
    assert sorted(json.loads(out.stdout)["missing"]) == sorted(index.missing)


def test_class_folder_with_one_video(tmp_path):
    root = tmp_path / "data"
    for i in range(3):
        touch(root, f"walk/walk_{i}.avi")
    touch(root, "wave/wave_0.avi")
    index = load_index(root)
    assert index.format == "folders" and index.splits_source == "generated"
    assert index.classes == ("walk", "wave")
    assert len(index.records) == 4 and index.train and index.test
    assert index.counts()["wave"]["train"] + index.counts()["wave"]["test"] == 1


# ---------------------------------------------------------------- run directories


@pytest.fixture
def run_copy(tmp_path) -> Path:
    assert (DEMO_MODEL / "model.keras").is_file(), "shipped demo model missing"
    return Path(shutil.copytree(DEMO_MODEL, tmp_path / "run"))


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_load_model_with_damaged_model_file(run_copy):
    _truncate(run_copy / "model.keras")
    with pytest.raises(RunError) as err:
        load_model(run_copy)
    assert_clear(err.value, str(run_copy), "damaged")


def test_load_model_with_missing_model_file(run_copy):
    (run_copy / "model.keras").unlink()
    with pytest.raises(RunError) as err:
        load_model(run_copy)
    assert_clear(err.value, str(run_copy), "no saved model")


def test_load_model_with_damaged_config(run_copy):
    (run_copy / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(RunError) as err:
        load_model(run_copy)
    assert_clear(err.value, "damaged config.json")


def test_load_model_from_missing_run(tmp_path):
    with pytest.raises(RunError) as err:
        load_model(tmp_path / "no-such-run")
    assert_clear(err.value, "does not exist")


def test_cli_predict_with_damaged_or_missing_model(run_copy, tmp_path):
    video = write_video(tmp_path / "clip.avi", 5)
    _truncate(run_copy / "model.keras")
    assert_one_line_error(run_cli("predict", video, "--model", run_copy), "damaged")
    (run_copy / "model.keras").unlink()
    assert_one_line_error(run_cli("predict", video, "--model", run_copy), "no saved model")


def test_cli_predict_on_a_file_that_is_not_a_video(tmp_path):
    assert (DEMO_MODEL / "model.keras").is_file(), "shipped demo model missing"
    path = tmp_path / f"{ODD_NAME}.avi"
    _text(path)
    assert_one_line_error(run_cli("predict", path, "--model", DEMO_MODEL),
                          "cannot read video", ODD_NAME)


@pytest.mark.parametrize("make,needle", [(None, "does not exist"), (_text, "not a video"),
                                         (_zero_bytes, "empty (0 bytes)")])
def test_cli_predict_checks_the_video_before_loading_tensorflow(tmp_path, make, needle):
    path = tmp_path / "clip.avi"
    if make is not None:
        make(path)
    # -X importtime lists every module imported: TensorFlow must not be among them.
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "vidcore", "predict", path],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr[-2000:]
    imported = [line for line in out.stderr.splitlines() if line.startswith("import time:")]
    assert imported and not any(" tensorflow" in line for line in imported)
    assert_one_line_error(run_cli("predict", path), needle)


def test_cli_error_after_tensorflow_loaded_is_still_one_line(run_copy, tmp_path):
    """A model file that is a zip but not a Keras model: TensorFlow loads, then it fails."""
    import zipfile

    with zipfile.ZipFile(run_copy / "model.keras", "w") as z:
        z.writestr("config.json", "{}")
    video = write_video(tmp_path / "clip.avi", 5)
    assert_one_line_error(run_cli("predict", video, "--model", run_copy),
                          "cannot load the model", str(run_copy))


# ---------------------------------------------------------------- FFmpeg's own log lines

def _damaged_avi_header(path: Path) -> None:
    data = bytearray(write_video(path.with_name("whole.avi"), 40).read_bytes())
    at = data.find(b"strh")
    data[at + 8:at + 64] = bytes(56)  # zero the stream header: FFmpeg logs its parse failure
    path.write_bytes(bytes(data))


DECODER_PATHS = """
import sys
from vidcore.views import webio
from vidcore.data.sampling import UniformSampler
from vidcore.data.video import probe, read_frames
from vidcore.errors import VidcoreError
calls = {"probe": lambda p: probe(p), "read": lambda p: read_frames(p, UniformSampler(4)),
         "preview": lambda p: webio.browser_clip(p)}
for name, call in calls.items():
    try:
        call(sys.argv[1])
        print(name, "read")
    except VidcoreError:
        print(name, "refused")
"""


@pytest.mark.parametrize("name,make", [("random.mp4", _random_bytes),
                                       ("header-cut.avi", _truncated_header),
                                       ("damaged-header.avi", _damaged_avi_header)])
def test_ffmpeg_log_lines_never_reach_stderr(tmp_path, name, make):
    """Probe, read and the preview transcode of a damaged file: vidcore's answer only."""
    path = tmp_path / name
    make(path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCV_", "VIDCORE_"))}
    out = subprocess.run([sys.executable, "-c", DECODER_PATHS, str(path)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["probe", "refused", "read", "refused", "preview", "refused"]
    assert out.stderr == "", out.stderr
    assert_one_line_error(run_cli("predict", path), "cannot read video")
    debug = subprocess.run([sys.executable, "-c", DECODER_PATHS, str(path)], cwd=ROOT,
                           env={**env, "VIDCORE_DEBUG": "1"}, capture_output=True, text=True,
                           timeout=120)
    assert "@" in debug.stderr, "the debug mode keeps FFmpeg's own lines"
