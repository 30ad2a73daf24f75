"""The video index over generated dataset trees, every documented quirk included."""

import json
import subprocess
import sys

import pytest

from tests.conftest import touch
from vidcore.data.index import detect_format, load_index, validation_split
from vidcore.errors import DatasetError, InputError

# classInd order is case-insensitive: JumpingJack (47) before JumpRope (48) in UCF101,
# while Python's sorted() puts JumpRope first.
UCF_CLASSES = ["Basketball", "BasketballDunk", "HandstandPushups", "JumpingJack", "JumpRope"]
FILE_PREFIX = {"HandstandPushups": "HandStandPushups"}  # the real dataset's spelling


def ucf_name(cls, g, c):
    return f"{cls}/v_{FILE_PREFIX.get(cls, cls)}_g{g:02d}_c{c:02d}.avi"


def write_crlf(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes("".join(f"{line}\r\n" for line in lines).encode())


@pytest.fixture
def ucf_tree(tmp_path):
    """UCF-101/<Class>/... with ucfTrainTestlist beside it; 10 groups x 2 clips per class."""
    tmp_path = tmp_path / "ucf"
    videos = tmp_path / "UCF-101"
    lists = tmp_path / "ucfTrainTestlist"
    write_crlf(lists / "classInd.txt", [f"{i} {c}" for i, c in enumerate(UCF_CLASSES, 1)])
    for k, test_groups in ((1, range(1, 4)), (2, range(4, 7))):
        train, test = [], []
        for i, cls in enumerate(UCF_CLASSES, 1):
            for g in range(1, 11):
                for c in (1, 2):
                    name = ucf_name(cls, g, c)
                    (test.append(name) if g in test_groups else train.append(f"{name} {i}"))
        write_crlf(lists / f"trainlist0{k}.txt", train)
        write_crlf(lists / f"testlist0{k}.txt", test)
    for cls in UCF_CLASSES:
        for g in range(1, 11):
            for c in (1, 2):
                if (cls, g, c) != ("JumpRope", 5, 2):  # one listed clip is missing
                    touch(videos, ucf_name(cls, g, c))
    touch(videos, "Basketball/v_Basketball_g99_c01.avi")  # on disk, in no list
    return tmp_path


def test_ucf101_labels_follow_classind_not_sorted(ucf_tree):
    index = load_index(ucf_tree / "UCF-101")
    assert index.format == "ucf101"
    assert index.classes == tuple(UCF_CLASSES)
    assert list(index.classes) != sorted(UCF_CLASSES)
    for r in index.records:
        assert index.classes[r.label] == r.class_name == r.path.split("/")[0]


def test_ucf101_quirks(ucf_tree):
    index = load_index(ucf_tree)  # the parent folder works too
    hs = [r for r in index.records if r.class_name == "HandstandPushups"]
    assert len(hs) == 20 and all("HandStandPushups" in r.path for r in hs)
    # prefix names: Basketball never swallows BasketballDunk clips
    counts = index.counts()
    assert counts["Basketball"]["train"] + counts["Basketball"]["test"] == 20
    assert counts["BasketballDunk"]["train"] == 14 and counts["BasketballDunk"]["test"] == 6
    assert index.missing == ("JumpRope/v_JumpRope_g05_c02.avi",)
    assert index.unlisted == ("Basketball/v_Basketball_g99_c01.avi",)
    assert not any(r.path.endswith("\r") for r in index.records)
    assert index.leaking_groups() == []
    assert all(r.group.startswith(r.class_name + "/g") for r in index.records)


def test_ucf101_split_2_and_explicit_splits_dir(ucf_tree, tmp_path):
    moved = tmp_path / "elsewhere"
    (ucf_tree / "ucfTrainTestlist").rename(moved)
    with pytest.raises(DatasetError, match="classInd"):
        load_index(ucf_tree / "UCF-101", format="ucf101")
    index = load_index(ucf_tree / "UCF-101", split=2, splits=moved)
    assert {r.group[-3:] for r in index.test} == {"g04", "g05", "g06"}
    with pytest.raises(InputError, match="available: 1, 2"):
        load_index(ucf_tree / "UCF-101", split=3, splits=moved)


def test_ucf101_leak_is_reported(ucf_tree):
    lists = ucf_tree / "ucfTrainTestlist"
    lines = (lists / "testlist01.txt").read_text().splitlines()
    write_crlf(lists / "testlist01.txt", lines + [ucf_name("Basketball", 9, 1)])
    index = load_index(ucf_tree)
    assert index.leaking_groups() == ["Basketball/g09"]
    assert index.summary()["leaking_groups"] == 1


HMDB = {
    "brush_hair": ["April_09_brush_hair_u_nm_np1_ba_goo_0.avi",
                   "April_09_brush_hair_u_nm_np1_ba_goo_1.avi",
                   "Brushing_Hair_[Super]_brush_hair_h_nm_np1_le_goo_0.avi"],
    "fall_floor": ["Die_Hard_(1988)!_&_more;_fall_floor_f_cm_np1_ri_bad_0.avi",
                   "Kick_Ass_fall_floor_f_nm_np1_fr_med_2.avi",
                   "Kick_Ass_fall_floor_f_nm_np1_fr_med_3.avi"],
}


@pytest.fixture
def hmdb_tree(tmp_path):
    root = tmp_path / "hmdb" / "hmdb51_org"
    splits = tmp_path / "hmdb" / "testTrainMulti_7030_splits"
    splits.mkdir(parents=True)
    for cls, names in HMDB.items():
        flags = ["1", "1", "2"] if cls == "brush_hair" else ["2", "1", "1"]
        for k in (1, 2):
            # real HMDB51 lines end with a space
            text = "".join(f"{n} {f} \n" for n, f in zip(names, flags, strict=True))
            (splits / f"{cls}_test_split{k}.txt").write_text(text + "extra_unused_clip_0.avi 0 \n")
        for n in names:
            touch(root, f"{cls}/{n}")
    return root


def test_hmdb51_with_odd_names_and_trailing_spaces(hmdb_tree):
    index = load_index(hmdb_tree)
    assert index.format == "hmdb51"
    assert index.classes == ("brush_hair", "fall_floor")
    assert len(index.train) == 4 and len(index.test) == 2
    odd = index.find("fall_floor/Die_Hard_(1988)!_&_more;_fall_floor_f_cm_np1_ri_bad_0.avi")
    assert odd is not None and odd.split == "test" and odd.label == 1
    assert sorted(index.missing) == ["brush_hair/extra_unused_clip_0.avi",
                                     "fall_floor/extra_unused_clip_0.avi"]
    groups = {r.path: r.group for r in index.records}
    assert groups["brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi"] == "brush_hair/April_09"
    assert index.find("brush_hair/Brushing_Hair_[Super]_brush_hair_h_nm_np1_le_goo_0.avi")


@pytest.fixture
def folder_tree(tmp_path):
    root = tmp_path / "folders" / "mine"
    for cls in ("cats", "dogs", "Birds"):
        for g in range(1, 7):
            for c in (1, 2):
                touch(root, f"{cls}/{cls}_g{g:02d}_c{c}.mp4")
    for i in range(5):
        touch(root, f"dogs/loose clip {i}.webm")  # no group token: own group
    touch(root, "dogs/notes.txt")
    return root


def test_folders_generated_split_is_group_aware_stratified_deterministic(folder_tree):
    index = load_index(folder_tree, test_fraction=0.3, seed=3)
    assert index.format == "folders" and index.classes == ("Birds", "cats", "dogs")
    assert len(index.records) == 3 * 12 + 5
    assert index.leaking_groups() == []
    assert all(index.counts()[c]["test"] > 0 for c in index.classes)
    again = load_index(folder_tree, test_fraction=0.3, seed=3)
    assert again.records == index.records
    other = load_index(folder_tree, test_fraction=0.3, seed=3, split=2)
    assert {r.path for r in other.test} != {r.path for r in index.test}
    assert index.find("dogs/loose clip 0.webm").group == "dogs/loose clip 0"


def test_validation_split_never_splits_a_group(folder_tree):
    index = load_index(folder_tree)
    train, val = validation_split(index.train, 0.25, seed=0)
    assert val and train
    assert not {r.group for r in train} & {r.group for r in val}
    assert len(train) + len(val) == len(index.train)


def test_csv_manifest_with_and_without_split(tmp_path):
    for name in ("a_g01_x.avi", "a_g02_x.avi", "b_g01_y.avi", "b_g02_y.avi"):
        touch(tmp_path, f"vids/{name}")
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label,split\nvids/a_g01_x.avi,a,train\nvids/a_g02_x.avi,a,test\n"
                        "vids/b_g01_y.avi,b,train\nvids/b_g02_y.avi,b,test\nvids/gone.avi,b,test\n")
    index = load_index(manifest)
    assert index.format == "csv" and index.classes == ("a", "b")
    assert [r.split for r in index.records] == ["train", "test", "train", "test"]
    assert index.missing == ("vids/gone.avi",)
    plain = tmp_path / "p.csv"
    plain.write_text("path,label\n" + "".join(f"vids/{n},{n[0]}\n" for n in
                     ("a_g01_x.avi", "a_g02_x.avi", "b_g01_y.avi", "b_g02_y.avi")))
    generated = load_index(plain, test_fraction=0.5)
    assert len(generated.test) == 2 and generated.leaking_groups() == []


def test_bad_inputs_give_clear_errors(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_index(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no dataset found"):
        load_index(tmp_path / "empty")
    touch(tmp_path, "novideo/cls/readme.txt")
    with pytest.raises(DatasetError, match="no video files"):
        load_index(tmp_path / "novideo")
    with pytest.raises(InputError, match="unknown dataset format"):
        load_index(tmp_path, format="kinetics")
    bad = tmp_path / "bad.csv"
    bad.write_text("file,class\nx,y\n")
    with pytest.raises(DatasetError, match="path,label"):
        load_index(bad)


def test_detect_format(ucf_tree, hmdb_tree, folder_tree):
    assert detect_format(ucf_tree / "UCF-101") == "ucf101"
    assert detect_format(hmdb_tree) == "hmdb51"
    assert detect_format(folder_tree) == "folders"


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "vidcore", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def test_cli_info_json_contract(ucf_tree):
    out = run_cli("info", ucf_tree, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    for key in ("format", "classes", "num_classes", "split", "train", "test",
                "leaking_groups", "missing", "unlisted"):
        assert key in data
    assert data["classes"] == UCF_CLASSES and data["num_classes"] == 5
    assert (data["train"], data["test"]) == (69, 30)


def test_cli_info_text_and_bad_input(ucf_tree, tmp_path):
    out = run_cli("info", ucf_tree)
    assert out.returncode == 0 and "leakage check" in out.stdout and "JumpingJack" in out.stdout
    bad = run_cli("info", tmp_path / "missing")
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "does not exist" in bad.stderr
    assert "Traceback" not in bad.stderr
