"""A tiny world for the app tests: the tiny demo dataset and one quickly trained run.

Built once per test process (both test_app.py and test_browser.py use it) and kept
in a module global, because session fixtures defined in two test modules would be
built twice.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from vidcore.data.sampling import UniformSampler

FRAMES = 4  # frames per clip of the tiny run: few, so extraction takes seconds
_WORLD = None


@dataclass(frozen=True)
class World:
    """Paths of the tiny world.

    Attributes:
        demo_dir: what ``VIDCORE_DEMO_DIR`` points at (holds ``UCF-101/``).
        dataset: the dataset root (``demo_dir/UCF-101``).
        run: a finished run (temporal head, random backbone weights, 4 uniform frames).
        store: the feature store its features are in.
        classes: the run's classes.
    """

    demo_dir: Path
    dataset: Path
    run: Path
    store: Path
    classes: tuple[str, ...]

    def env(self, runs_dir: Path) -> dict:
        """Environment of an app on this world, with runs under ``runs_dir``."""
        return {"VIDCORE_DEMO_DIR": str(self.demo_dir), "VIDCORE_RUNS": str(runs_dir),
                "VIDCORE_STORE": str(self.store)}

    def runs_with_model(self, runs_dir: Path, active: bool = True) -> Path:
        """A runs folder holding a copy of the trained run (made the active model)."""
        from vidcore import runs

        copy = runs_dir / self.run.name
        if not copy.exists():
            shutil.copytree(self.run, copy)
        if active:
            runs.set_active_model(copy, root=runs_dir)
        return runs_dir


def tiny_world() -> World:
    """The world, built on first use (about 15 s: generate 100 clips, train 2 epochs)."""
    global _WORLD
    if _WORLD is None:
        _WORLD = _build(Path(tempfile.mkdtemp(prefix="vidcore-app-tests-")))
    return _WORLD


def _build(root: Path) -> World:
    from vidcore import runs
    from vidcore.data.demo import generate_demo_dataset
    from vidcore.train import TrainConfig, train

    dataset = generate_demo_dataset(root / "demo", size="tiny")
    store = root / "features"
    # 3 training groups per class in tiny split 1: a third of them for validation.
    config = TrainConfig(dataset=str(dataset), weights=None, sampler=UniformSampler(FRAMES),
                         head="temporal_conv", epochs=2, val_fraction=0.34,
                         store_dir=str(store))
    result = train(config, root / "built-runs" / "tiny-run")
    classes = tuple(runs.read_json(Path(result.run_dir) / runs.CLASSES))
    return World(root / "demo", dataset, Path(result.run_dir), store, classes)


def cleanup() -> None:
    """Remove the world's folder (called at the end of the test session)."""
    global _WORLD
    if _WORLD is not None:
        shutil.rmtree(_WORLD.demo_dir.parent, ignore_errors=True)
        _WORLD = None
