"""The workspace of user datasets: create, add, cut, edit, zips in and out, readiness, safety."""

from __future__ import annotations

import json
import stat
import threading
import zipfile
from pathlib import Path

import pytest

from tests.workspace_clips import demo_clip, zip_bytes
from vidcore import workspace as ws
from vidcore.data.index import load_index
from vidcore.errors import InputError
from vidcore.workspace.config import MANIFEST
from vidcore.workspace.store import display_names


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Three 2 s clips of each of two demo classes (different recordings) and a long one."""
    root = tmp_path_factory.mktemp("clips")
    made = {(c, g): demo_clip(root / f"{c}{g}.avi", c, g)
            for c in ("JumpingJack", "Kick") for g in (1, 2, 3)}
    made["long"] = demo_clip(root / "long.mp4", "Punch", 4, repeat=4)  # 8 s
    return made


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDCORE_HOME", str(tmp_path / "ws"))
    return tmp_path / "ws"


def _files(clips, class_name, groups=(1, 2, 3), names=None):
    return [((names or {}).get(g, clips[class_name, g].name), clips[class_name, g].read_bytes())
            for g in groups]


def _leftovers(root: Path) -> list[str]:
    """Hidden staging/temp files and class clips in a dataset folder."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.name not in (MANIFEST, ".lock"))


def test_create_validates_names_and_lists(home):
    path = ws.create("my-actions")
    assert path == home / "my-actions" and (path / MANIFEST).is_file()
    assert ws.list_names() == ["my-actions"]
    for bad in ("", "../up", "a/b", ".hidden", "x" * 65, "sp ace"):
        with pytest.raises(InputError, match="not a usable dataset name"):
            ws.create(bad)
    with pytest.raises(InputError, match="exists already"):
        ws.create("my-actions")
    with pytest.raises(InputError, match="no dataset 'nope'"):
        ws.add_clips("nope", "A", [])


def test_added_clips_index_with_their_groups(home, clips):
    ws.create("d")
    own = ws.add_clips("d", "JumpingJack", _files(clips, "JumpingJack"))
    ucf = {1: "v_Kick_g08_c01.avi", 2: "v_Kick_g08_c02.avi", 3: "v_Kick_g09_c01.avi"}
    named = ws.add_clips("d", "Kick", _files(clips, "Kick", names=ucf))
    batch = ws.add_clips("d", "Punch", _files(clips, "Kick"), one_recording=True)
    assert (own["added"], named["added"], batch["added"]) == (3, 3, 3)
    index = load_index(home / "d")
    groups = {c: {r.group for r in index.records if r.class_name == c} for c in index.classes}
    assert {c: len(g) for c, g in groups.items()} == {"JumpingJack": 3, "Kick": 2, "Punch": 1}
    table = ws.clip_table("d")
    assert sorted(r["display_name"] for r in table if r["class"] == "Kick") == sorted(ucf.values())
    assert all(Path(r["path"]).name.startswith("c") for r in table)  # server-chosen names
    # The app lists the index's clips under the names they were uploaded under.
    shown = display_names(home / "d")
    kicks = [r for r in index.records if r.class_name == "Kick"]
    assert sorted(shown[r.path] for r in kicks) == sorted(f"Kick/{n}" for n in ucf.values())
    assert display_names(home / "d" / "Kick") == {}  # not a workspace dataset
    assert {r["group_label"] for r in table if r["class"] == "Kick"} == {
        "g08 in the file names", "g09 in the file names"}
    # A later upload of the same recording token joins its group.
    ws.add_clips("d", "Kick", [("v_Kick_g09_c02.avi", clips["Kick", 1].read_bytes())])
    assert len({r["group"] for r in ws.clip_table("d") if r["class"] == "Kick"}) == 2


def test_bad_files_are_skipped_with_reasons_and_nothing_stays(home, clips):
    ws.create("d")
    result = ws.add_clips("d", "A", [("good.avi", clips["Kick", 1].read_bytes()),
                                     ("broken.mp4", b"\x00not a video" * 100),
                                     ("notes.txt", b"hello")])
    assert result["added"] == 1
    reasons = {s["name"]: s["reason"] for s in result["skipped"]}
    assert "not a video vidcore can read" in reasons["broken.mp4"]
    assert "not a video file" in reasons["notes.txt"]
    with pytest.raises(InputError, match="nothing was added.*broken.mp4"):
        ws.add_clips("d", "B", [("broken.mp4", b"\x00" * 1000)])
    assert _leftovers(home / "d") == ["A", f"A/{result['clips'][0]['clip']}"]


def test_cut_makes_pieces_of_one_group(home, clips):
    ws.create("d")
    result = ws.cut_and_add("d", "Punch", "long.mp4", clips["long"], seconds=2.0, overlap=0.5)
    # 200 frames at 25 fps, 50-frame pieces every 38 frames: starts 0, 38, 76, 114.
    assert result["pieces"] == 4 and result["dropped_seconds"] == pytest.approx(1.44)
    table = ws.clip_table("d")
    assert [r["duration"] for r in table] == [2.0] * 4
    assert len({r["group"] for r in table}) == 1
    assert [json.loads((home / "d" / MANIFEST).read_text())["clips"][f"Punch/{r['clip']}"]
            ["cut"]["start"] for r in table] == [0.0, 1.52, 3.04, 4.56]
    again = ws.cut_and_add("d", "Punch", "same-file-again.mp4", clips["long"], seconds=4.0)
    assert again["pieces"] == 2  # no overlap: 0-4 s, 4-8 s
    assert len({r["group"] for r in ws.clip_table("d")}) == 1  # same recording, same group
    with pytest.raises(InputError, match="shorter than one piece"):
        ws.cut_and_add("d", "Punch", "long.mp4", clips["long"], seconds=9.0)
    with pytest.raises(InputError, match="overlap"):
        ws.cut_and_add("d", "Punch", "long.mp4", clips["long"], seconds=2.0, overlap=2.0)


def test_rename_delete_and_move(home, clips):
    ws.create("d")
    ws.add_clips("d", "Jump", _files(clips, "JumpingJack"))
    ws.add_clips("d", "Kick", _files(clips, "Kick"))
    assert ws.rename_class("d", "Jump", "JumpingJack") == "JumpingJack"
    with pytest.raises(InputError, match="exists already"):
        ws.rename_class("d", "JumpingJack", "kick")
    with pytest.raises(InputError, match="not a usable class name"):
        ws.rename_class("d", "JumpingJack", "../x")
    names = {r["clip"]: r for r in ws.clip_table("d")}
    moved = next(c for c, r in names.items() if r["class"] == "Kick")
    assert ws.move_clip("d", moved, "JumpingJack") == f"JumpingJack/{moved}"
    after = {r["clip"]: r for r in ws.clip_table("d")}
    assert after[moved]["class"] == "JumpingJack"
    assert after[moved]["display_name"] == names[moved]["display_name"]
    assert ws.delete_clip("d", moved.split("_")[0]) == f"JumpingJack/{moved}"
    assert ws.delete_class("d", "Kick") == 2
    index = load_index(home / "d")
    assert index.classes == ("JumpingJack",) and len(index.records) == 3
    ws.delete("d")
    assert ws.list_names() == []


def test_export_import_round_trip(home, clips, tmp_path):
    ws.create("src")
    ws.add_clips("src", "JumpingJack", _files(clips, "JumpingJack"))
    ws.cut_and_add("src", "Punch", "long.mp4", clips["long"], seconds=2.0)
    out = tmp_path / "src.zip"
    assert ws.export_zip("src", out)["clips"] == 7
    result = ws.import_zip("src.zip", out.read_bytes(), name="copy")
    assert result["created"] and result["added"] == 7

    def view(name):
        return sorted((r["class"], r["display_name"], r["group_label"], r["duration"])
                      for r in ws.clip_table(name))

    assert view("copy") == view("src")
    groups = [load_index(home / n).groups_per_split() for n in ("src", "copy")]
    assert sum(groups[0].values()) == sum(groups[1].values())
    imported = ws.import_zip("src.zip", str(out))  # the name comes from the zip's folder
    assert imported["dataset"] == "src" and len(ws.clip_table("src")) == 14


def _hostile(name: str, mode: int | None = None, data: bytes = b"x") -> bytes:
    info = zipfile.ZipInfo(name)
    if mode is not None:
        info.external_attr = mode << 16
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("A/ok.avi", b"placeholder")
        archive.writestr(info, data)
    return buf.getvalue()


@pytest.mark.parametrize("entry, mode, message", [
    ("../../evil.avi", None, "climbs out"),
    ("A/../../evil.avi", None, "climbs out"),
    ("A\\..\\..\\evil.avi", None, "climbs out"),  # Windows separators
    ("/tmp/evil.avi", None, "absolute path"),
    ("C:/evil.avi", None, "absolute path"),
    ("A/link.avi", stat.S_IFLNK | 0o777, "symbolic link"),
    ("A/dev.avi", stat.S_IFCHR | 0o644, "a device"),
    ("A/fifo.avi", stat.S_IFIFO | 0o644, "a pipe"),
])
def test_hostile_zip_entries_refuse_the_whole_zip(home, tmp_path, entry, mode, message):
    ws.create("d")
    with pytest.raises(InputError, match=message):
        ws.add_zip("d", "evil.zip", _hostile(entry, mode, b"/etc/passwd"))
    assert _leftovers(home / "d") == []
    assert not list(tmp_path.rglob("evil.avi"))


def test_zip_bombs_are_refused_before_extracting(home, monkeypatch, clips):
    ws.create("d")
    monkeypatch.setenv("VIDCORE_MAX_ZIP_ENTRIES", "5")
    many = zip_bytes({f"A/{i}.avi": b"x" for i in range(6)})
    with pytest.raises(InputError, match="6 entries; at most 5"):
        ws.add_zip("d", "many.zip", many)
    monkeypatch.setenv("VIDCORE_MAX_UPLOAD_MB", "1")
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("A/bomb.avi", b"\0" * (3 << 20))  # 3 MB that deflates to a few KB
    assert len(buf.getvalue()) < 20_000
    with pytest.raises(InputError, match="3 MB uncompressed"):
        ws.add_zip("d", "bomb.zip", buf.getvalue())
    assert _leftovers(home / "d") == []


def test_zip_of_class_folders_skips_what_is_not_a_clip(home, clips):
    ws.create("d")
    data = zip_bytes({
        "top/JumpingJack/a.avi": clips["JumpingJack", 1].read_bytes(),
        "top/JumpingJack/b.avi": clips["JumpingJack", 2].read_bytes(),
        "top/Kick/c.avi": clips["Kick", 1].read_bytes(),
        "top/Kick/readme.txt": b"notes",
        "top/Kick/bad.mp4": b"garbage" * 50,
        "__MACOSX/top/Kick/._c.avi": b"resource fork",
    })
    result = ws.add_zip("d", "mine.zip", data)
    assert result["added"] == 3
    assert {s["name"] for s in result["skipped"]} == {"top/Kick/readme.txt", "bad.mp4"}
    assert load_index(home / "d").classes == ("JumpingJack", "Kick")
    one_class = ws.add_clips("d", "Punch", [("more.zip", data)])  # folders ignored
    assert one_class["added"] == 3 and {r["class"] for r in one_class["clips"]} == {"Punch"}


def test_concurrent_adds_lose_nothing(home, clips):
    ws.create("d")
    data = clips["Kick", 1].read_bytes()
    errors = []

    def add(who: str) -> None:
        try:
            for i in range(4):
                ws.add_clips("d", "Kick", [(f"{who}{i}.avi", data)])
        except Exception as err:  # surfaced below: a thread cannot fail the test itself
            errors.append(err)

    threads = [threading.Thread(target=add, args=(w,)) for w in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    table = ws.clip_table("d")
    assert sorted(r["display_name"] for r in table) == sorted(
        f"{w}{i}.avi" for w in "ab" for i in range(4))
    assert len({r["clip"] for r in table}) == 8 == len(load_index(home / "d").records)


def test_limits(home, clips, monkeypatch):
    ws.create("d")
    monkeypatch.setenv("VIDCORE_MAX_CLIPS", "2")
    ws.add_clips("d", "A", _files(clips, "Kick", (1, 2)))
    with pytest.raises(InputError, match="may hold 2"):
        ws.add_clips("d", "A", _files(clips, "Kick", (3,)))
    monkeypatch.setenv("VIDCORE_MAX_CLIPS", "100")
    monkeypatch.setenv("VIDCORE_MAX_FILE_MB", "1")
    result = ws.add_clips("d", "A", [("big.avi", b"\0" * (2 << 20)),
                                     ("ok.avi", clips["Kick", 3].read_bytes())])
    assert result["added"] == 1 and "larger than the 1 MB" in result["skipped"][0]["reason"]
    monkeypatch.setenv("VIDCORE_MAX_FILE_MB", "10")
    monkeypatch.setenv("VIDCORE_MAX_UPLOAD_MB", "1")
    with pytest.raises(InputError, match="larger than the 1 MB allowed in one go"):
        ws.add_clips("d", "A", [("a.avi", clips["Kick", 1].read_bytes()),
                                ("b.avi", b"\0" * (1 << 20))])
    assert len(ws.clip_table("d")) == 3
    assert "10 MB a file (a zip too), 1 MB in all for one upload" in ws.limits().describe()
    # The page states the browser uploader's own limit per file when it is the smaller.
    assert ws.limits().describe(uploader_mb=4).startswith("up to 4 MB a file")


def test_readiness_says_what_to_add_and_one_recording_trains(home, clips, monkeypatch,
                                                            tmp_path):
    ws.create("d")
    ws.add_clips("d", "JumpingJack", _files(clips, "JumpingJack"), one_recording=True)
    ws.add_clips("d", "Kick", _files(clips, "Kick"))
    ready = ws.readiness(home / "d")
    assert ready["ready"]  # trained, reported untested: never refused
    assert [f["message"].split(":")[0] for f in ready["findings"]] == [
        "JumpingJack has 3 clips from 1 recording"]
    assert ready["findings"][0]["action"] == ("add 1 recording more (another take) to test "
                                              "it, 2 to validate it too")
    ws.check_honest_split(load_index(home / "d"))
    monkeypatch.setenv("VIDCORE_RUNS", str(tmp_path / "runs"))
    from vidcore.train import TrainConfig, train

    result = train(TrainConfig(dataset=ws.resolve_dataset("d"), weights=None, head="linear"))
    assert result.state == "finished"
    assert result.split_notes[0].startswith("JumpingJack: no test clips")
    ws.add_clips("d", "JumpingJack", _files(clips, "Kick", (1, 2)))  # two more recordings
    ready = ws.readiness(home / "d")
    assert ready["ready"] and [f["level"] for f in ready["findings"]] == ["ok"]
    assert [c["groups"] for c in ready["classes"]] == [3, 3]
    ws.add_clips("d", "Kick", _files(clips, "Kick") * 5)  # 18 Kick clips, 5 JumpingJack
    (finding,) = ws.readiness(home / "d")["findings"]
    assert finding["level"] == "warning" and "imbalanced" in finding["message"]
    assert finding["action"] == "add clips to JumpingJack (or remove some from Kick)"


def test_resolver_prefers_paths(home, tmp_path, monkeypatch):
    ws.create("d")
    assert ws.resolve_dataset("d") == str(home / "d")
    assert ws.resolve_dataset("elsewhere") == "elsewhere"
    (tmp_path / "d").mkdir()
    monkeypatch.chdir(tmp_path)
    assert ws.resolve_dataset("d") == "d"  # an existing path wins over a name


def test_a_killed_upload_leaves_nothing_that_lasts(home, clips):
    ws.create("d")
    stale = home / "d" / ".staging-999999999-killed"  # no such process
    stale.mkdir()
    (stale / "half.avi").write_bytes(b"half a clip")
    ws.add_clips("d", "A", _files(clips, "Kick", (1,)))
    assert not stale.exists()
    assert len(ws.clip_table("d")) == 1
