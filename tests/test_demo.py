"""The generated demo dataset (vidcore.data.demo), checked on the ``tiny`` size.

``tiny`` is generated once per module; the tests then read it like a user's UCF101 copy.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

import vidcore
from vidcore.atomic import replace_via_temp
from vidcore.data import demo
from vidcore.errors import InputError

TINY = demo.SIZES["tiny"]
NAME = re.compile(r"^v_(?P<cls>[A-Za-z]+)_g(?P<group>\d\d)_c(?P<clip>\d\d)\.avi$")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny demo, generated in parallel, with the progress calls it made."""
    out = tmp_path_factory.mktemp("tiny")
    calls = []
    start = time.perf_counter()
    root = demo.generate_demo_dataset(out, size="tiny", progress=lambda *a: calls.append(a))
    # a measurement for the log, not an assertion: shared CI machines vary too much
    print(f"\ntiny demo generated in {time.perf_counter() - start:.2f} s")
    return root, calls


def videos(root: Path) -> list[str]:
    """Every file under the class folders, as ``Class/file``."""
    return sorted(f"{d.name}/{f.name}" for d in root.iterdir() for f in d.iterdir())


def read_list(path: Path) -> list[str]:
    """Lines of a CRLF split file (the file must end with CRLF unless empty)."""
    text = path.read_bytes().decode("ascii")
    assert text == "" or text.endswith("\r\n")
    assert text.count("\n") == text.count("\r\n"), "bare LF line ending"
    return text.split("\r\n")[:-1]


def group_of(rel: str) -> int:
    return int(NAME.match(rel.split("/")[1])["group"])


def decode(path: Path) -> tuple[np.ndarray, float, tuple[int, int]]:
    """RGB frames, fps and (width, height) as OpenCV reports them."""
    cap = cv2.VideoCapture(str(path))
    fps, size = cap.get(cv2.CAP_PROP_FPS), (int(cap.get(3)), int(cap.get(4)))
    frames = []
    while (got := cap.read())[0]:
        frames.append(cv2.cvtColor(got[1], cv2.COLOR_BGR2RGB))
    cap.release()
    return np.stack(frames), fps, size


def coarse_left_strip(frame: np.ndarray) -> np.ndarray:
    """Block means of the left 40 columns: background only, robust to camera shake."""
    return cv2.resize(frame[:, :40], (5, 30), interpolation=cv2.INTER_AREA).astype(float)


# ---------------------------------------------------------------- constants


def test_classes_and_pairs():
    assert len(demo.DEMO_CLASSES) >= 8
    # classInd order is case-insensitive, which differs from sorted() here as in UCF101
    assert list(demo.DEMO_CLASSES) == sorted(demo.DEMO_CLASSES, key=str.lower)
    assert list(demo.DEMO_CLASSES) != sorted(demo.DEMO_CLASSES)
    assert len(demo.REVERSE_PAIRS) >= 2
    in_pairs = [c for pair in demo.REVERSE_PAIRS for c in pair]
    assert len(set(in_pairs)) == len(in_pairs) and set(in_pairs) <= set(demo.DEMO_CLASSES)


def test_sizes():
    full = demo.SIZES["demo"]
    assert full.groups == 25 and full.clips_per_group[0] >= 4
    assert 2.0 <= full.duration_s[0] <= full.duration_s[1] <= 6.0
    assert TINY.groups > 7  # split 1 needs train groups beyond the tested 1-7
    with pytest.raises(AttributeError):
        full.groups = 3  # frozen


@pytest.mark.parametrize("call", [
    lambda: demo.render_clip("Kick", 1, 1, size="huge"),
    lambda: demo.generate_demo_dataset("/nonexistent/never", size="huge"),
    lambda: demo.ensure_demo_dataset("/nonexistent/never", size="huge"),
])
def test_unknown_size_lists_valid_ones(call):
    with pytest.raises(InputError, match="huge.*demo.*tiny"):
        call()


def test_bad_clip_arguments():
    with pytest.raises(InputError, match="valid classes: ArmWave"):
        demo.render_clip("Basketball", 1, 1)
    with pytest.raises(InputError, match="group"):
        demo.render_clip("Kick", 26, 1)
    with pytest.raises(InputError, match="seed"):
        demo.render_clip("Kick", 1, 1, seed=-1)


def test_default_demo_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("VIDCORE_DEMO_DIR", raising=False)
    repo = Path(vidcore.__file__).resolve().parent.parent
    assert demo.default_demo_dir() == repo / "data" / "demo"
    monkeypatch.setenv("VIDCORE_DEMO_DIR", str(tmp_path / "elsewhere"))
    assert demo.default_demo_dir() == tmp_path / "elsewhere"


# ---------------------------------------------------------------- rendering


def test_render_clip_is_rgb_uint8_and_deterministic():
    a = demo.render_clip("Kick", 3, 1, seed=5, size="tiny")
    assert a.dtype == np.uint8 and a.shape == (50, 240, 320, 3)
    assert np.array_equal(a, demo.render_clip("Kick", 3, 1, seed=5, size="tiny"))
    assert not np.array_equal(a, demo.render_clip("Kick", 3, 1, seed=6, size="tiny"))


@pytest.mark.parametrize("forward, backward", demo.REVERSE_PAIRS)
@pytest.mark.parametrize("group, clip", [(1, 1), (12, 3)])
def test_reverse_pairs_are_exact_reverses(forward, backward, group, clip):
    ahead = demo.render_clip(forward, group, clip, size="tiny")
    back = demo.render_clip(backward, group, clip, size="tiny")
    assert np.array_equal(back, ahead[::-1])
    # and the motion really is one-way: the clip is not its own reverse
    assert np.abs(ahead[0].astype(int) - ahead[-1]).mean() > 1.0


@pytest.mark.parametrize("class_name", ["Kick", "JumpingJack", "StandUp"])
def test_groups_differ_in_background_clips_of_a_group_share_it(class_name):
    strips = {g: coarse_left_strip(demo.render_clip(class_name, g, 1, size="tiny")[0])
              for g in (1, 2, 3, 4)}
    for g in (2, 3, 4):
        assert np.abs(strips[1] - strips[g]).mean() > 15
    other_clip = demo.render_clip(class_name, 1, 2, size="tiny")
    assert np.abs(strips[1] - coarse_left_strip(other_clip[0])).mean() < 12
    assert not np.array_equal(other_clip[0], demo.render_clip(class_name, 1, 1, size="tiny")[0])


# ---------------------------------------------------------------- the generated tree


def test_layout_and_names(tiny):
    root, _ = tiny
    assert root.name == "UCF-101"
    assert sorted(d.name for d in root.iterdir()) == sorted(demo.DEMO_CLASSES)
    names = videos(root)  # hidden temporary files would show up here too
    assert len(names) == len(demo.DEMO_CLASSES) * TINY.groups
    for rel in names:
        folder, file = rel.split("/")
        m = NAME.match(file)
        assert m and m["cls"] == folder and 1 <= int(m["group"]) <= TINY.groups
    assert (root.parent / demo.MARKER).is_file()


def test_progress_reports_every_video(tiny):
    _, calls = tiny
    total = len(demo.DEMO_CLASSES) * TINY.groups
    assert calls[-1] == (total, total)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_class_ind_crlf_and_order(tiny):
    lists = tiny[0].parent / "ucfTrainTestlist"
    lines = read_list(lists / "classInd.txt")
    assert lines == [f"{i} {c}" for i, c in enumerate(demo.DEMO_CLASSES, 1)]
    assert (lists / "classInd.txt").read_bytes().endswith(b"StandUp\r\n")


@pytest.mark.parametrize("split", [1, 2, 3])
def test_splits_follow_ucf101_groups(tiny, split):
    root, _ = tiny
    lists = root.parent / "ucfTrainTestlist"
    index = {c: i for i, c in enumerate(demo.DEMO_CLASSES, 1)}
    train = [line.split(" ") for line in read_list(lists / f"trainlist0{split}.txt")]
    test = read_list(lists / f"testlist0{split}.txt")
    assert all(int(i) == index[rel.split("/")[0]] for rel, i in train)
    train_paths = [rel for rel, _ in train]
    tested = set(range(7 * split - 6, 7 * split + 1))
    assert {group_of(rel) for rel in test} == tested & set(range(1, TINY.groups + 1))
    assert not {group_of(rel) for rel in train_paths} & tested
    assert sorted(train_paths + test) == videos(root)  # each video listed exactly once
    assert all((root / rel).is_file() for rel in train_paths + test)


def test_split_one_has_train_and_test_in_every_class(tiny):
    lists = tiny[0].parent / "ucfTrainTestlist"
    train = {line.split("/")[0] for line in read_list(lists / "trainlist01.txt")}
    test = {line.split("/")[0] for line in read_list(lists / "testlist01.txt")}
    assert train == test == set(demo.DEMO_CLASSES)


def test_videos_decode_at_ucf101_format(tiny):
    root, _ = tiny
    lo, hi = TINY.duration_s
    for rel in videos(root):
        frames, fps, size = decode(root / rel)
        assert size == (320, 240) and fps == pytest.approx(25.0)
        assert frames.shape[1:] == (240, 320, 3)
        assert lo - 0.04 <= len(frames) / 25 <= hi + 0.04, rel


def test_files_hold_the_rendered_rgb_clips(tiny):
    root, _ = tiny
    decoded, _, _ = decode(root / "Punch" / "v_Punch_g02_c01.avi")
    rendered = demo.render_clip("Punch", 2, 1, size="tiny").astype(int)
    assert decoded.shape == rendered.shape
    error = np.abs(decoded - rendered).mean()
    swapped = np.abs(decoded - rendered[..., ::-1]).mean()
    assert error < 8 and swapped > 2 * error  # lossy coding, but RGB in, RGB out


def test_reverse_pair_files_play_backwards(tiny):
    root, _ = tiny
    ahead, _, _ = decode(root / "SitDown" / "v_SitDown_g05_c01.avi")
    back, _, _ = decode(root / "StandUp" / "v_StandUp_g05_c01.avi")
    assert np.abs(back.astype(int) - ahead[::-1]).mean() < 3  # equal up to coding noise


# ---------------------------------------------------------------- ensure / regenerate


def mtimes(folder: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_ensure_keeps_a_complete_dataset(tiny):
    root, _ = tiny
    before = mtimes(root.parent)
    assert demo.ensure_demo_dataset(root.parent, size="tiny") == root
    assert mtimes(root.parent) == before


def test_ensure_regenerates_without_marker_identically(tiny, tmp_path):
    root, _ = tiny
    copy = tmp_path / "copy"
    shutil.copytree(root.parent, copy)
    (copy / demo.MARKER).unlink()  # as if generation had been interrupted
    probe = copy / "UCF-101" / "Kick" / "v_Kick_g01_c01.avi"
    os.utime(probe, ns=(0, 0))
    assert demo.ensure_demo_dataset(copy, size="tiny") == copy / "UCF-101"
    assert probe.stat().st_mtime_ns != 0 and (copy / demo.MARKER).is_file()
    for rel in videos(root):  # the encoder is deterministic: byte-identical files
        assert (copy / "UCF-101" / rel).read_bytes() == (root / rel).read_bytes(), rel
    for name in ("classInd.txt", "trainlist01.txt", "testlist02.txt"):
        lists = "ucfTrainTestlist"
        assert (copy / lists / name).read_bytes() == (root.parent / lists / name).read_bytes()


@pytest.mark.parametrize("change", ["seed", "unfinished"])
def test_ensure_notices_a_different_or_unfinished_dataset(tiny, tmp_path, monkeypatch, change):
    root, _ = tiny
    copy = tmp_path / "copy"
    shutil.copytree(root.parent, copy)
    seed = 0
    if change == "seed":
        seed = 1
    else:
        marker = (copy / demo.MARKER).read_text().replace('"complete": true', '"complete": false')
        (copy / demo.MARKER).write_text(marker)
    calls = []
    monkeypatch.setattr(demo, "_generate", lambda out, *args: calls.append(out) or out)
    demo.ensure_demo_dataset(copy, size="tiny", seed=seed)
    assert calls == [copy]


def test_refuses_to_overwrite_a_foreign_dataset(tmp_path):
    foreign = tmp_path / "UCF-101" / "Basketball" / "v_Basketball_g01_c01.avi"
    foreign.parent.mkdir(parents=True)
    foreign.write_bytes(b"not ours")
    with pytest.raises(InputError, match="not a vidcore demo"):
        demo.generate_demo_dataset(tmp_path, size="tiny")
    assert foreign.read_bytes() == b"not ours"


def leftover_temp(target: Path) -> Path:
    """The temp file vidcore.atomic writes ``target`` through, left as a kill -9 would."""
    names = []

    def interrupted(tmp: Path) -> None:
        names.append(tmp)
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        replace_via_temp(target, interrupted)
    names[0].write_bytes(b"half a file")
    return names[0]


def test_killed_generation_without_marker_is_recognised_as_ours(tiny, tmp_path):
    root, _ = tiny
    copy = tmp_path / "copy"
    shutil.copytree(root.parent, copy)
    (copy / demo.MARKER).unlink()  # killed before the marker said "ours"
    temps = [leftover_temp(copy / "UCF-101" / "Kick" / "v_Kick_g01_c02.avi"),
             leftover_temp(copy / "ucfTrainTestlist" / "classInd.txt")]
    assert demo.ensure_demo_dataset(copy, size="tiny") == copy / "UCF-101"
    assert not any(t.exists() for t in temps)
    assert videos(copy / "UCF-101") == videos(root)


class _Killed(BaseException):
    """Stands for a kill mid-generation (a BaseException, like KeyboardInterrupt)."""


def test_interrupted_generation_resumes_keeping_what_was_written(tiny, tmp_path):
    """The CLI finishes an interrupted demo without rewriting its clips, with a progress bar."""
    import subprocess
    import sys

    root, _ = tiny
    out = tmp_path / "demo"

    def killed_after_80(done: int, total: int) -> None:
        if done >= 80:
            raise _Killed

    with pytest.raises(_Killed):
        demo.generate_demo_dataset(out, size="tiny", workers=1, progress=killed_after_80)
    state = demo.generation_state(out, "tiny")
    assert not state["complete"] and 80 <= state["done"] < state["total"] == 100
    kept = mtimes(out / "UCF-101")
    temp = leftover_temp(out / "UCF-101" / "Kick" / "v_Kick_g09_c01.avi")
    cli = subprocess.run([sys.executable, "-m", "vidcore", "demo-data", "--size", "tiny",
                          "--out", str(out)], capture_output=True, text=True, timeout=300,
                         cwd=Path(vidcore.__file__).parents[1])
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.strip() == str(out / "UCF-101")
    assert "100/100" in cli.stderr  # the terminal's progress bar reached the end
    assert {p: m for p, m in mtimes(out / "UCF-101").items() if p in kept} == kept
    assert not temp.exists()
    assert demo.generation_state(out, "tiny") == {"complete": True, "done": 100, "total": 100}
    for rel in videos(root):  # resumed: byte-identical to an uninterrupted run
        assert (out / "UCF-101" / rel).read_bytes() == (root / rel).read_bytes(), rel
