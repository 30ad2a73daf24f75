"""Shared fixtures: tiny videos, trained synthetic runs, the tiny world, the app under
AppTest and in Chromium. Helpers live in modules beside it (videos.py, synthetic.py,
app_world.py, apptest.py, web.py, workspace_clips.py): import those, not this file."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pylibsrtp  # noqa: F401 - before any test loads TensorFlow: after it, it segfaults
import pytest

from tests.videos import (  # noqa: F401 - re-exported: some test files import them from here
    WRAP,
    decoded_index,
    patch_avi_rate,
    stripes_index,
    touch,
    write_phone_clip,
    write_vfr_video,
    write_video,
)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The files that take longest, longest first (per-file totals of the slowest tests of full
# runs, 2 workers, AMD EPYC avx512, 7 Dec 2026): with ``--dist loadfile`` a worker takes
# the next file when it is free, so starting with the long ones keeps both busy to the end
# instead of one finishing a long file alone (longest-first scheduling). A file missing
# here runs after them. It needs ``--no-loadscope-reorder`` (the Makefile passes it):
# pytest-xdist otherwise reorders files by their number of tests, which put the long
# one-test browser files last.
LONGEST_FIRST = ("test_browser", "test_ray", "test_live_browser", "test_signin_browser",
                 "test_datasets_browser", "test_first_start_browser", "test_bad_input",
                 "test_lite_family", "test_app",
                 "test_dataset_map_videos", "test_crash", "test_export", "test_live_app",
                 "test_demo", "test_finetune", "test_engines", "test_dataset_map_app",
                 "test_explain", "test_app_explain", "test_queue_ray", "test_presets_accurate",
                 "test_train", "test_run_disk", "test_browser_scale", "test_features",
                 "test_predict", "test_backbones", "test_export_calibration",
                 "test_evaluate", "test_precision", "test_datasets_app", "test_predict_trust",
                 "test_small_data", "test_demo_model", "test_confusion_scale",
                 "test_concurrency", "test_dataset_map_browser", "test_workspace")


def pytest_collection_modifyitems(config, items):
    """Run the longest files first (see ``LONGEST_FIRST``), each file's tests in order."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(Path(str(item.fspath)).stem, len(rank)))


@pytest.fixture
def make_video(tmp_path):
    """Factory: ``make_video(name, frames, fps=25.0, ...)`` writes under tmp_path."""

    def make(name="clip.avi", frames=50, **kwargs):
        return write_video(tmp_path / name, frames, **kwargs)

    return make


# ---------------------------------------------------------------- trained synthetic runs

SYNTHETIC_TRAINING = {  # head -> options: small and fast, still well above chance
    "frame_mlp": {"epochs": 8, "batch_size": 32},
    "temporal_conv": {"epochs": 15, "batch_size": 8, "width": 32},
    "linear": {},
}


@pytest.fixture
def fake_features(monkeypatch, tmp_path):
    """Route ``vidcore.features`` to synthetic features; runs go under tmp_path."""
    import synthetic

    synthetic.install(monkeypatch)
    monkeypatch.setenv("VIDCORE_RUNS", str(tmp_path / "runs"))
    return synthetic


@pytest.fixture(scope="session")
def synthetic_runs(shared_tmp, tmp_path_factory):
    """One run per head trained on the synthetic CSV dataset (see tests/synthetic.py).

    Trained once for the whole session, by the first test process that asks (under a
    lock; about 9 s of CPU), and copied into this process's own folder: a test may write
    into its runs (``evaluate`` writes its report there) without racing the other
    process. Returns a namespace: ``csv`` (the manifest), ``data`` (its folder, shared:
    read only), ``runs`` (head -> run directory), ``results`` (head -> TrainResult).
    """
    import pickle
    import shutil
    from dataclasses import replace
    from types import SimpleNamespace

    built = _trained_synthetic_runs(shared_tmp / "synthetic")
    results = pickle.loads((built / "results.pickle").read_bytes())
    root = tmp_path_factory.mktemp("synthetic-runs")
    for head in results:
        shutil.copytree(built / "runs" / head, root / head)
    results = {head: replace(r, run_dir=str(root / head)) for head, r in results.items()}
    return SimpleNamespace(csv=built / "data" / "manifest.csv", data=built / "data",
                           results=results, runs={h: root / h for h in results})


def _trained_synthetic_runs(root: Path) -> Path:
    """``root`` holding ``data/``, ``runs/<head>/`` and ``results.pickle``, trained there
    by the first caller of the session."""
    import pickle
    import shutil

    import synthetic

    from vidcore.locking import exclusive
    from vidcore.train import TrainConfig, train

    with exclusive(root.with_name(root.name + ".lock")):
        done = root / "results.pickle"
        if not done.exists():
            shutil.rmtree(root, ignore_errors=True)  # a build that died midway
            csv_path = synthetic.make_dataset(root / "data")
            results = {}
            with pytest.MonkeyPatch.context() as mp:
                synthetic.install(mp)
                for head, options in SYNTHETIC_TRAINING.items():
                    config = TrainConfig(dataset=str(csv_path), head=head, weights=None,
                                         val_fraction=0.3, patience=None, log_every=2,
                                         **options)
                    results[head] = train(config, run_dir=root / "runs" / head)
            temp = done.with_suffix(".tmp")
            temp.write_bytes(pickle.dumps(results))
            temp.replace(done)  # written last: its presence says the build is whole
    return root


@pytest.fixture(scope="session")
def shared_tmp(tmp_path_factory) -> Path:
    """A folder every test process of this session sees (xdist's workers share its parent).

    What is built here is built once for the whole session, under a lock (see app_world).
    """
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def tiny_demo(shared_tmp) -> Path:
    """The tiny demo dataset (100 clips), generated once for the session: treat it as
    read-only (copy it to change it). The folder that holds ``UCF-101/``: what
    ``VIDCORE_DEMO_DIR`` points at."""
    from tests import app_world

    return app_world.tiny_demo(shared_tmp)


@pytest.fixture(scope="session")
def world(shared_tmp):
    """The app tests' tiny world (tests/app_world.py), built once for the whole session."""
    from tests import app_world

    return app_world.tiny_world(shared_tmp)


# ---------------------------------------------------------------- the app under AppTest

@pytest.fixture
def runs_dir(world, tmp_path) -> Path:
    """A private runs folder holding the tiny world's run as the active model."""
    return world.runs_with_model(tmp_path / "runs")


@pytest.fixture
def app(world, runs_dir, monkeypatch):
    """app.py under AppTest on the tiny world (runs in ``runs_dir``), run once (Home).
    A test file may define its own ``app`` on another world (test_live_app.py)."""
    from tests.apptest import start_app

    return start_app(monkeypatch, {**world.env(runs_dir), "VIDCORE_DATA_ROOTS": None})


# ---------------------------------------------------------------- the app in Chromium

@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium for one test file (Playwright's sync API runs an event
    loop, so it is not kept beyond the file). Skips without Chromium, fails under CI=true."""
    from tests import web

    reason = web.missing_chromium()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    with web.chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser):
    """A page in its own browser context (its own app session), closed after the test."""
    from tests import web

    page = web.new_page(browser)
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def serve_app(browser, tmp_path_factory):
    """Factory for this test file: ``serve_app(env)`` starts the app with ``env`` on a
    free port and returns a healthy ``tests.web.Server``; every server it started is
    stopped (with its training runs) after the file, its log's end printed."""
    from tests import web

    with contextlib.ExitStack() as stack:
        def start(env: dict) -> web.Server:
            log = tmp_path_factory.mktemp("server") / "server.log"
            server = stack.enter_context(web.serve(env, log))
            stack.callback(lambda: print(server.log_text()[-3000:]))
            return server

        yield start


@pytest.fixture(autouse=True)
def _keep_main_module():
    """Put the real ``__main__`` back after each test.

    AppTest leaves the app script registered as ``sys.modules["__main__"]``; later
    tests whose multiprocessing "spawn" children re-import the main module (the demo
    generator's pool) would then run app.py in every child, and those children die.
    """
    import sys

    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main
