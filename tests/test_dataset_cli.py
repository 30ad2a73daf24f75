"""``vidcore dataset ...`` end to end through the CLI, and a workspace name as DATASET."""

from __future__ import annotations

import json

import pytest

from tests.workspace_clips import demo_clip
from vidcore.cli import main


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VIDCORE_HOME", str(tmp_path / "ws"))

    def run(*argv):
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-clips")
    return {"jj": [demo_clip(root / f"jj{g}.avi", "JumpingJack", g) for g in (1, 2, 3)],
            "long": demo_clip(root / "kick.mp4", "Kick", 2, repeat=3)}


def test_build_edit_and_use_a_dataset_from_the_shell(cli, videos, tmp_path):
    assert cli("dataset", "create", "acts")[0] == 0
    code, out, _ = cli("dataset", "add", "acts", "JumpingJack", *videos["jj"], "--json")
    assert code == 0 and json.loads(out)["added"] == 3
    code, out, _ = cli("dataset", "cut", "acts", "Kick", videos["long"], "--seconds", "1",
                       "--overlap", "0.5", "--json")
    assert json.loads(out)["pieces"] == 11  # 150 frames: 25-frame pieces every 12 (12.5)
    code, out, _ = cli("dataset", "ls", "acts", "--json")
    listing = json.loads(out)
    assert [(c["class"], c["clips"], c["groups"]) for c in listing["classes"]] == [
        ("JumpingJack", 3, 3), ("Kick", 11, 1)]
    assert listing["ready"]  # Kick's one recording trains, untested (issue 26)
    assert "Kick has 11 clips from 1 recording: it is trained but not tested" in out
    # info (and extract, train) take the name where they take a path.
    code, out, _ = cli("info", "acts", "--json")
    assert code == 0 and json.loads(out)["classes"] == ["JumpingJack", "Kick"]
    clip = next(c["clip"] for c in listing["clip_list"] if c["class"] == "Kick")
    assert cli("dataset", "mv", "acts", clip, "Punch")[0] == 0
    assert cli("dataset", "rename", "acts", "Punch", "Other")[0] == 0
    assert cli("dataset", "rm", "acts", "Other", clip)[0] == 0
    out_zip = tmp_path / "acts.zip"
    code, out, _ = cli("dataset", "export", "acts", out_zip)
    assert code == 0 and "13 clips" in out
    code, out, _ = cli("dataset", "import", out_zip, "--name", "copy", "--json")
    assert json.loads(out)["added"] == 13
    code, out, _ = cli("dataset", "ls")
    assert code == 0 and "acts" in out and "copy" in out and "not ready" in out
    assert cli("dataset", "rm", "copy")[0] == 0
    assert "copy" not in cli("dataset", "ls", "--json")[1]


@pytest.mark.parametrize("argv, message", [
    (("dataset", "create", "bad/name"), "not a usable dataset name"),
    (("dataset", "add", "missing", "A", "x.avi"), "no dataset 'missing'"),
    (("dataset", "ls", "missing"), "no dataset 'missing'"),
    (("dataset", "export", "missing", "o.zip"), "no dataset 'missing'"),
])
def test_errors_are_one_line_exit_2(cli, argv, message):
    code, out, err = cli(*argv)
    assert code == 2 and out == "" and message in err and err.count("\n") == 1


def test_refusals_on_an_existing_dataset(cli, videos, tmp_path):
    cli("dataset", "create", "acts")
    code, _, err = cli("dataset", "add", "acts", "A", tmp_path / "nope.avi")
    assert code == 2 and "is not a file" in err
    code, _, err = cli("dataset", "cut", "acts", "A", videos["jj"][0], "--seconds", "5")
    assert code == 2 and "shorter than one piece" in err
    code, _, err = cli("dataset", "rm", "acts", "A")
    assert code == 2 and "has no class 'A'" in err
    code, _, err = cli("dataset", "import", videos["jj"][0])
    assert code == 2 and "not a readable zip" in err
