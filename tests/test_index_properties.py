"""Property-based tests of the split-file parsers: any line ending, spacing and naming."""

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import touch
from vidcore.data.index import load_index

NAME = st.text(alphabet=st.sampled_from("abcdefghijXYZ"), min_size=1, max_size=6)
ODD = st.text(alphabet=st.sampled_from("ab_[]!&();-"), min_size=1, max_size=8)
ENDING = st.sampled_from(["\n", "\r\n"])


@settings(max_examples=40, deadline=None)
@given(classes=st.lists(NAME, min_size=2, max_size=5, unique_by=str.lower),
       groups=st.integers(2, 4), ending=ENDING, trailing=st.sampled_from(["", " ", "\t"]))
def test_ucf101_lists_parse_back(classes, groups, ending, trailing):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        lists = root / "ucfTrainTestlist"
        lists.mkdir()
        order = sorted(classes, key=str.lower)
        write = lambda name, lines: (lists / name).write_bytes(  # noqa: E731
            "".join(line + trailing + ending for line in lines).encode())
        write("classInd.txt", [f"{i} {c}" for i, c in enumerate(order, 1)])
        train, test, expected = [], [], {}
        for i, cls in enumerate(order, 1):
            for g in range(1, groups + 1):
                rel = f"{cls}/v_{cls}_g{g:02d}_c01.avi"
                touch(root / "UCF-101", rel)
                (test.append(rel) if g == 1 else train.append(f"{rel} {i}"))
                expected[rel] = (i - 1, "test" if g == 1 else "train")
        write("trainlist01.txt", train)
        write("testlist01.txt", test)
        index = load_index(root)
        assert index.classes == tuple(order)
        assert {r.path: (r.label, r.split) for r in index.records} == expected
        assert index.missing == () and index.unlisted == () and index.leaking_groups() == []


@settings(max_examples=40, deadline=None)
@given(names=st.lists(ODD, min_size=3, max_size=6, unique=True),
       flags=st.lists(st.sampled_from("012"), min_size=6, max_size=6),
       ending=ENDING, trailing=st.sampled_from(["", " ", "  "]))
def test_hmdb51_lines_parse_back(names, flags, ending, trailing):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "videos"
        splits = Path(tmp) / "testTrainMulti_7030_splits"
        splits.mkdir()
        lines = []
        for name, flag in zip(names, flags, strict=False):
            touch(root, f"act/{name}.avi")
            lines.append(f"{name}.avi {flag}{trailing}{ending}")
        (splits / "act_test_split1.txt").write_text("".join(lines), newline="")
        index = load_index(root)
        part = {"0": "unused", "1": "train", "2": "test"}
        want = {f"act/{n}.avi": part[f] for n, f in zip(names, flags, strict=False)}
        assert {r.path: r.split for r in index.records} == want
