"""The "My datasets" page with Streamlit's AppTest: create, readiness, edits, other pages on it.

Uploads need a real browser (tests/test_datasets_browser.py); here clips are added
through the library the page calls, and the page's own buttons do the rest.
"""

from __future__ import annotations

import pytest

from tests.apptest import messages, open_page, start_app
from tests.workspace_clips import demo_clips
from vidcore import workspace as ws
from webapp import state


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return demo_clips(tmp_path_factory.mktemp("page-clips"))


@pytest.fixture
def at(tiny_demo, tmp_path, monkeypatch):
    """The app on My datasets, with the tiny demo as its demo dataset (Home opens on it)
    and an empty workspace and runs folder."""
    (tmp_path / "runs").mkdir()
    env = {"VIDCORE_DEMO_DIR": tiny_demo, "VIDCORE_RUNS": tmp_path / "runs",
           "VIDCORE_STORE": tmp_path / "features", "VIDCORE_HOME": tmp_path / "ws"}
    return open_page(start_app(monkeypatch, env), "datasets")


def test_create_from_the_page_selects_it_everywhere(at):
    assert "up to 200 MB a file (a zip too), 1000 MB in all for one upload" in at.caption[0].value
    at.text_input(key="new-dataset").input("bad name!")
    at.button[0].click().run()  # the form's Create
    assert "not a usable dataset name" in messages(at)
    at.text_input(key="new-dataset").input("my-actions")
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert "Created **my-actions**" in messages(at)
    assert ws.list_names() == ["my-actions"]
    assert at.sidebar.radio(key=state.DATASET_SOURCE).value == state.MINE
    assert at.sidebar.selectbox(key=state.MY_DATASET).value == "my-actions"
    assert "a classifier needs at least 2" in messages(at)
    open_page(at, "train")  # an empty dataset: a hint, not an error
    assert not at.error, at.error
    assert "**my-actions** has no clips yet" in messages(at)


def test_readiness_edits_and_the_other_pages(at, clips):
    ws.create("acts")
    ws.add_clips("acts", "JumpingJack", [(p.name, p) for (c, g), p in clips.items()
                                         if c == "JumpingJack"], one_recording=True)
    ws.add_clips("acts", "Kick", [(p.name, p) for (c, g), p in clips.items() if c == "Kick"])
    at.run()
    at.button(key="open-acts").click().run()
    assert not at.exception, at.exception
    assert "JumpingJack has 3 clips from 1 recording" in messages(at)
    assert "it is trained but not tested" in messages(at)
    assert "add 1 recording more (another take) to test it" in messages(at)
    # Rename a class with the page's own form.
    at.selectbox(key="edit-class").select("Kick")
    at.text_input(key="edit-new").input("Kicking").run()
    next(b for b in at.button if b.label == "Rename").click().run()
    assert not at.exception, at.exception
    assert "Renamed **Kick** to **Kicking**" in messages(at)
    assert [c["class"] for c in ws.describe("acts")["classes"]] == ["JumpingJack", "Kicking"]
    # Move the picked clip to JumpingJack: it becomes a second recording there.
    picked = at.selectbox(key="clip-pick").value  # the first clip: a JumpingJack one
    at.selectbox(key=f"clip-target-{picked}-JumpingJack").select("Kicking").run()
    next(b for b in at.button if b.label == "Move").click().run()
    assert not at.exception, at.exception
    assert "to **Kicking**" in messages(at)
    assert {r["clip"]: r["class"] for r in ws.clip_table("acts")}[picked] == "Kicking"
    # The Dataset page reads the workspace dataset the sidebar now points at.
    open_page(at, "dataset")
    assert str(ws.resolve_dataset("acts")) in at.caption[0].value
    # JumpingJack's single recording no longer blocks Train (issue 26): it trains, untested,
    # and the Train page says so before Start.
    open_page(at, "train")
    assert not at.exception, at.exception
    assert "JumpingJack: no test clips, its accuracy is not measured" in messages(at)
