"""The generated-split rule, the split notes and the readiness advice built on them (issue 26)."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.videos import touch
from vidcore.data import split_rule
from vidcore.data.index import load_index, validation_split
from vidcore.data.splits import check_honest_split, split_notes
from vidcore.errors import DatasetError
from vidcore.workspace.readiness import readiness

SIZES = {"One": 1, "Two": 2, "Three": 3, "Five": 5, "Twelve": 12}  # recordings per class


def ladder(root, sizes=SIZES, clips=2):
    """A folder dataset: class -> that many recordings of ``clips`` clips each."""
    for name, n in sizes.items():
        for g in range(1, n + 1):
            for c in range(1, clips + 1):
                touch(root, f"{name}/v_{name}_g{g:02d}_c{c:02d}.avi")
    return root


def sides(index):
    """Class -> Counter of recordings per side."""
    out = {c: Counter() for c in index.classes}
    for group in {(r.class_name, r.group, r.split) for r in index.records}:
        out[group[0]][group[2]] += 1
    return out


@pytest.mark.parametrize("split", [1, 2, 3])
def test_every_class_of_two_or_more_recordings_is_tested(tmp_path, split):
    index = load_index(ladder(tmp_path / "d"), split=split, seed=4)
    got = sides(index)
    assert got["One"] == {"train": 1}  # trained, untested, not refused
    assert got["Two"] == {"train": 1, "test": 1}
    assert got["Three"] == {"train": 2, "test": 1}
    assert got["Five"]["test"] == 2 and got["Twelve"]["test"] == 4  # round(n * 0.3)
    assert index.leaking_groups() == []
    train, val = validation_split(index.train, 0.15, seed=0)
    validated = {r.class_name for r in val}
    assert validated == {"Three", "Five", "Twelve"}  # from 3 recordings on
    assert not {r.group for r in train} & {r.group for r in val}
    assert split_notes(index) == ["One: no test clips, its accuracy is not measured (its "
                                  "clips come from 1 recording; a class needs 2 to be tested)"]
    check_honest_split(index)  # honest: no refusal


def test_one_video_per_class_indexes_and_info_notes_every_class_untested(tmp_path):
    import subprocess
    import sys

    root = ladder(tmp_path / "d", {"walk": 1, "wave": 1}, clips=1)
    assert [r.split for r in load_index(root).records] == ["train", "train"]
    out = subprocess.run([sys.executable, "-m", "vidcore", "info", str(root)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("no test clips, its accuracy is not measured") == 2


def test_the_rule_is_deterministic_rotates_and_keeps_other_classes(tmp_path):
    first = load_index(ladder(tmp_path / "a"), seed=1)
    assert load_index(tmp_path / "a", seed=1).records == first.records
    rotated = load_index(tmp_path / "a", seed=1, split=2)
    tested = {r.group for r in first.test}
    assert tested != {r.group for r in rotated.test}
    more = load_index(ladder(tmp_path / "b", {**SIZES, "Added": 4}), seed=1)
    assert {r.group for r in more.test if r.class_name != "Added"} == tested
    assert {r.group for r in load_index(tmp_path / "a", seed=2).test} != tested


def test_counts_and_takes_needed():
    counts = [(n, split_rule.test_count(n, 0.3), split_rule.validation_count(n, 0.15))
              for n in (1, 2, 3, 4, 10)]
    assert counts == [(1, 0, 0), (2, 1, 1), (3, 1, 1), (4, 1, 1), (10, 3, 2)]
    assert split_rule.takes_needed(1) == {"to_test": 1, "to_validate": 2}
    assert split_rule.takes_needed(3) == {"to_test": 0, "to_validate": 0}


def write_csv(root, rows):
    for path, *_ in rows:
        touch(root, path)
    (root / "m.csv").write_text("path,label,group,split\n"
                                + "".join(",".join(r) + "\n" for r in rows))
    return root / "m.csv"


def test_official_lists_with_an_untested_class_are_honest_and_noted(tmp_path):
    rows = [(f"{c}/v_{c}_g{g:02d}.avi", c, f"g{g:02d}", "test" if g == 1 and c != "Knitting"
             else "train") for c in ("Knitting", "Punch", "PushUps") for g in (1, 2, 3)]
    index = load_index(write_csv(tmp_path, rows))
    check_honest_split(index)
    assert split_notes(index) == ["Knitting: no test clips, its accuracy is not measured "
                                  "(the split lists test none of its 3 recordings)"]
    leaking = write_csv(tmp_path / "leak", rows + [("Punch/v_Punch_g02_b.avi", "Punch", "g02",
                                                   "test")])
    with pytest.raises(DatasetError, match="cannot be split honestly: 1 groups"):
        check_honest_split(load_index(leaking))


def test_readiness_says_how_many_takes_make_each_class_testable(tmp_path):
    root = ladder(tmp_path / "d", {"Wave": 1, "Clap": 2, "Jump": 3}, clips=1)
    ready = readiness(root)
    assert ready["ready"]  # one take of Wave trains, untested
    rows = {c["class"]: c for c in ready["classes"]}
    assert (rows["Wave"]["tested"], rows["Wave"]["takes_to_test"],
            rows["Wave"]["takes_to_validate"]) == (False, 1, 2)
    assert (rows["Clap"]["tested"], rows["Clap"]["takes_to_validate"]) == (True, 1)
    assert (rows["Jump"]["tested"], rows["Jump"]["takes_to_validate"]) == (True, 0)
    findings = {f["class_name"]: f for f in ready["findings"]}
    assert findings["Wave"]["level"] == "warning"
    assert "trained but not tested" in findings["Wave"]["message"]
    assert findings["Wave"]["action"].startswith("add 1 recording more")
    assert "Jump" not in findings
