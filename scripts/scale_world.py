"""A dataset and an evaluated run at UCF101's scale, for trying the app at 101 (or 400) classes.

    .venv/bin/python scripts/scale_world.py OUT [--classes 101] [--clips 13320]

writes ``OUT/UCF-101/<Class>/v_<Class>_gXX_cYY.avi`` with ``OUT/ucfTrainTestlist/``
(classInd, trainlist01, testlist01: groups 1-7 tested, as in UCF101's split 1) and
``OUT/runs/<run>``: a linear-head run whose report and per-clip predictions are
generated (about 60% right, each class mostly confused with two neighbours), in the
run-directory format Evaluate reads. It is a fixture for the app, benchmarks and tests,
not a trained model: its weights are random, so its predictions on new clips mean nothing.

Every clip is a hard link to one tiny real video (a grey square moving, 16 frames), so
13,320 clips take one file's space and any of them decodes, transcodes and plays.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

_UCF101_NAMES = (
    "ApplyEyeMakeup ApplyLipstick Archery BabyCrawling BalanceBeam BandMarching BaseballPitch "
    "Basketball BasketballDunk BenchPress Biking Billiards BlowDryHair BlowingCandles "
    "BodyWeightSquats Bowling BoxingPunchingBag BoxingSpeedBag BreastStroke BrushingTeeth "
    "CleanAndJerk CliffDiving CricketBowling CricketShot CuttingInKitchen Diving Drumming "
    "Fencing FieldHockeyPenalty FloorGymnastics FrisbeeCatch FrontCrawl GolfSwing Haircut "
    "Hammering HammerThrow HandstandPushups HandstandWalking HeadMassage HighJump HorseRace "
    "HorseRiding HulaHoop IceDancing JavelinThrow JugglingBalls JumpingJack JumpRope Kayaking "
    "Knitting LongJump Lunges MilitaryParade Mixing MoppingFloor Nunchucks ParallelBars "
    "PizzaTossing PlayingCello PlayingDaf PlayingDhol PlayingFlute PlayingGuitar PlayingPiano "
    "PlayingSitar PlayingTabla PlayingViolin PoleVault PommelHorse PullUps Punch PushUps "
    "Rafting RockClimbingIndoor RopeClimbing Rowing SalsaSpin ShavingBeard Shotput "
    "SkateBoarding Skiing Skijet SkyDiving SoccerJuggling SoccerPenalty StillRings "
    "SumoWrestling Surfing Swing TableTennisShot TaiChi TennisSwing ThrowDiscus "
    "TrampolineJumping Typing UnevenBars VolleyballSpiking WalkingWithDog WallPushups "
    "WritingOnBoard YoYo")
UCF101_CLASSES = tuple(_UCF101_NAMES.split())
GROUPS = 25  # UCF101: 25 groups a class; split 1 tests groups 1-7
TEST_GROUPS = range(1, 8)


def class_names(n: int) -> list[str]:
    """UCF101's names for up to 101 classes; beyond, ``<name>Variant<k>`` (Kinetics-sized)."""
    names = list(UCF101_CLASSES[:n])
    k = 2
    while len(names) < n:
        names += [f"{c}Variant{k}" for c in UCF101_CLASSES][:n - len(names)]
        k += 1
    return names


def write_tiny_clip(path: Path, frames: int = 16, size=(64, 48)) -> Path:
    """A tiny real MPEG-4 AVI (a grey square moving right), as UCF101 stores clips."""
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FMP4"), 25.0, size)
    if not writer.isOpened():  # an OpenCV without the MPEG-4 encoder
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, size)
    for i in range(frames):
        image = np.full((size[1], size[0], 3), 40, np.uint8)
        image[16:32, 2 + 2 * i: 18 + 2 * i] = 220
        writer.write(image)
    writer.release()
    return path


def _clips_per_class(classes: int, clips: int) -> list[int]:
    base, extra = divmod(clips, classes)
    return [base + (i < extra) for i in range(classes)]


def make_ucf_tree(out: Path, classes: int = 101, clips: int = 13_320) -> Path:
    """UCF101's layout and split-1 lists with ``clips`` clips over ``classes`` classes.

    Returns:
        The video root ``out/UCF-101``.
    """
    root, lists = out / "UCF-101", out / "ucfTrainTestlist"
    names = class_names(classes)
    source = write_tiny_clip(out / "tiny-source.avi")
    lists.mkdir(parents=True, exist_ok=True)
    train, test = [], []
    for label, (name, count) in enumerate(zip(names, _clips_per_class(classes, clips),
                                              strict=True)):
        (root / name).mkdir(parents=True, exist_ok=True)
        for k in range(count):  # clips spread over the 25 groups, c01, c02 ... in each
            group, clip = k % GROUPS + 1, k // GROUPS + 1
            rel = f"{name}/v_{name}_g{group:02d}_c{clip:02d}.avi"
            _link(source, root / rel)
            (test if group in TEST_GROUPS else train).append(
                rel if group in TEST_GROUPS else f"{rel} {label + 1}")
    (lists / "classInd.txt").write_text(
        "".join(f"{i + 1} {n}\n" for i, n in enumerate(names)), encoding="utf-8")
    (lists / "trainlist01.txt").write_text("\n".join(train) + "\n", encoding="utf-8")
    (lists / "testlist01.txt").write_text("\n".join(test) + "\n", encoding="utf-8")
    return root


def _link(source: Path, target: Path) -> None:
    if target.exists():
        return
    try:
        os.link(source, target)
    except OSError:  # another file system, or no hard links: a copy is 6 kB anyway
        shutil.copyfile(source, target)


def fake_probabilities(true: np.ndarray, classes: int, seed: int = 0,
                       right: float = 0.6) -> np.ndarray:
    """Clip probabilities where about ``right`` of the clips are right and most mistakes
    go to the true class's two neighbours in label order (as similar actions would)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1, (len(true), classes))
    target = true.copy()
    wrong = rng.random(len(true)) > right
    neighbour = (true + rng.choice([1, 2, -1], len(true), p=[0.5, 0.3, 0.2])) % classes
    scattered = rng.random(len(true)) < 0.3
    target[wrong] = np.where(scattered[wrong], rng.integers(0, classes, len(true))[wrong],
                             neighbour[wrong])
    logits[np.arange(len(true)), target] += 6
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def make_evaluated_run(runs_dir: Path, dataset: Path, seed: int = 0) -> Path:
    """A linear-head run on ``dataset`` with a generated report and predictions table."""
    from vidcore import runs
    from vidcore.data.index import load_index
    from vidcore.evaluate import clip_vote, mode_vote, predictions_table, score
    from vidcore.models.linear import LinearHead
    from vidcore.report import Report

    index = load_index(dataset)
    classes, n = list(index.classes), len(index.classes)
    run = runs_dir / f"scale-{n}-classes"
    run.mkdir(parents=True, exist_ok=True)
    config = {"dataset": str(dataset), "format": "ucf101", "split": 1, "splits": None,
              "test_fraction": 0.3, "split_seed": 0, "backbone": "efficientnet_lite0",
              "weights": "imagenet", "sampler": {"name": "uniform", "frames": 8},
              "head": "linear", "preset": "linear", "note": "scripts/scale_world.py fixture"}
    rng = np.random.default_rng(seed)
    LinearHead(rng.normal(0, 0.01, (n, 1280)).astype(np.float32), np.zeros(n, np.float32),
               np.zeros(1280, np.float32), np.ones(1280, np.float32)).save(run / runs.LINEAR_MODEL)
    true = np.array([r.label for r in index.test])
    probs = fake_probabilities(true, n, seed)
    frames = probs[:, None, :] * rng.uniform(0.7, 1.3, (len(true), 4, n))  # 4 "frames" a clip
    frames /= frames.sum(axis=2, keepdims=True)  # each frame's output is a probability
    answers = {"linear": [clip_vote(p) for p in probs],
               "mode": [mode_vote(f) for f in frames],
               "mean": [clip_vote(f.mean(0)) for f in frames]}
    metrics = {name: score(name, true, np.stack([a.ranking for a in aggs]), classes)
               for name, aggs in answers.items()}
    csv_path = run / runs.PREDICTIONS
    runs.write_text(csv_path, predictions_table([r.path for r in index.test], true, answers,
                                                classes))
    report = Report(str(run), 1, "linear", "efficientnet_lite0", classes, len(true), "linear",
                    metrics, [], str(csv_path), 0.0)
    runs.write_json(run / runs.REPORT, report.to_dict())
    runs.write_json(run / runs.CONFIG, config)
    runs.write_json(run / runs.CLASSES, classes)
    runs.write_status(run, "finished", best_val_accuracy=metrics["linear"].top1, best_epoch=1)
    return run


def main(argv=None) -> int:
    """Write the tree and the run; print their paths."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--classes", type=int, default=101)
    parser.add_argument("--clips", type=int, default=13_320)
    args = parser.parse_args(argv)
    root = make_ucf_tree(Path(args.out), args.classes, args.clips)
    run = make_evaluated_run(Path(args.out) / "runs", root)
    print(f"dataset {root}\nrun     {run}\ntry:    VIDCORE_RUNS={run.parent} "
          f".venv/bin/streamlit run app.py  (Dataset: the sidebar folder {root})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
