"""Training into a run directory on a full or read-only disk.

One clear error (CLI: exit status 2, one line, no traceback), no temporary file
left behind, and no half run: ``vidcore runs`` lists the run as failed, or not at all.

The disk is simulated by refusing vidcore's writers (``vidcore.atomic``, which every
run file goes through, and the metrics appender): a refused atomic write first fills
its temporary file, as a write that runs out of space does, so the test sees whether
that file is cleaned up. Tests run as root, where ``chmod`` does not stop writes, so
"read-only" is simulated the same way. When this process may mount a filesystem, a
real tmpfs (full, then read-only) is used as well.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import vidcore.atomic as atomic
from vidcore import runs
from vidcore.cli import main
from vidcore.errors import RunError
from vidcore.train import TrainConfig, train

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


class RefusingDisk:
    """Lets vidcore's writes through until one names ``trigger``, then refuses with ``code``.

    Args:
        monkeypatch: where to install it.
        code: the errno of the refusal (``ENOSPC``: full, ``EROFS``: read-only).
        trigger: a file-name fragment; "" refuses from the first write on.
        stays: keep refusing every later write (True), or only that one (a refused
            checkpoint's temp file is deleted, which can free enough space).
    """

    def __init__(self, monkeypatch, code: int, trigger: str = "", stays: bool = True):
        self.code, self.trigger, self.stays, self.refusing = code, trigger, stays, False
        self.refused: list[str] = []
        real_replace, real_append = atomic.replace_via_temp, runs.append_jsonl

        def replace_via_temp(path, write, prefix=None):
            if not self._refuses(path):
                return real_replace(path, write, prefix)

            def fill_then_fail(tmp):
                if self.code == errno.ENOSPC:
                    write(tmp)  # the temp file fills up before the disk says no
                raise OSError(self.code, os.strerror(self.code), str(tmp))

            return real_replace(path, fill_then_fail, prefix)

        def append_jsonl(path, record):
            if not self._refuses(path):
                return real_append(path, record)
            with open(path, "a", encoding="utf-8") as f:
                f.write('{"kind": "torn')  # half a line, as a full disk leaves it
            raise OSError(self.code, os.strerror(self.code), str(path))

        import vidcore.models.keras_fit as keras_fit

        monkeypatch.setattr(atomic, "replace_via_temp", replace_via_temp)
        monkeypatch.setattr(keras_fit, "replace_via_temp", replace_via_temp)
        monkeypatch.setattr(runs, "append_jsonl", append_jsonl)

    def _refuses(self, path) -> bool:
        hit = self.trigger in Path(path).name
        refuse = self.refusing or hit
        self.refusing = self.refusing or (hit and self.stays)
        if refuse:
            self.refused.append(Path(path).name)
        return refuse


def _config(csv, head="linear", **options) -> TrainConfig:
    epochs = {"epochs": 3, "batch_size": 8} if head != "linear" else {}
    return TrainConfig(dataset=str(csv), head=head, weights=None, val_fraction=0.3,
                       **epochs, **options)


def temp_files(root: Path) -> list[Path]:
    """Hidden temporary files of vidcore's atomic writes under ``root``."""
    return [p for p in root.rglob(".*") if ".tmp" in p.name]


def assert_one_clear_line(err: Exception, *needles: str) -> None:
    text = str(err)
    assert "\n" not in text, text
    for needle in needles:
        assert needle in text, text


@pytest.mark.parametrize("code,reason", [(errno.ENOSPC, "No space left on device"),
                                         (errno.EROFS, "Read-only file system")])
def test_refused_from_the_first_write_leaves_no_run(fake_features, tmp_path, monkeypatch,
                                                    code, reason):
    csv = fake_features.make_dataset(tmp_path / "data")
    root = tmp_path / "runs"
    disk = RefusingDisk(monkeypatch, code)
    with pytest.raises(RunError) as err:
        train(_config(csv), root / "run")
    assert_one_clear_line(err.value, str(root / "run"), reason, "no run was created")
    assert disk.refused == [runs.CONFIG]
    assert not (root / "run").exists()  # the folder it made is gone again
    assert runs.list_runs(root) == [] and temp_files(tmp_path) == []


def test_read_only_existing_run_folder_is_left_as_it_was(fake_features, tmp_path, monkeypatch):
    csv = fake_features.make_dataset(tmp_path / "data")
    run = tmp_path / "runs" / "mine"
    run.mkdir(parents=True)
    (run / "notes.txt").write_text("the user's own file")
    RefusingDisk(monkeypatch, errno.EROFS)
    with pytest.raises(RunError, match="Read-only file system"):
        train(_config(csv), run)
    assert sorted(p.name for p in run.iterdir()) == ["notes.txt"]
    assert runs.list_runs(run.parent) == []


def test_read_only_runs_folder_cannot_be_created(fake_features, tmp_path, monkeypatch):
    csv = fake_features.make_dataset(tmp_path / "data")

    def read_only_mkdir(self, *args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))

    monkeypatch.setattr(Path, "mkdir", read_only_mkdir)
    with pytest.raises(RunError) as err:
        train(_config(csv), tmp_path / "runs" / "run")
    assert_one_clear_line(err.value, "cannot create run directory", "Read-only file system")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("head,checkpoint", [("linear", runs.LINEAR_MODEL),
                                             ("frame_mlp", runs.KERAS_MODEL)])
def test_disk_full_at_the_checkpoint_fails_the_run_cleanly(fake_features, tmp_path,
                                                           monkeypatch, head, checkpoint):
    csv = fake_features.make_dataset(tmp_path / "data")
    run = tmp_path / "runs" / "run"
    # The refused checkpoint's temp file is deleted, which frees room for the status.
    disk = RefusingDisk(monkeypatch, errno.ENOSPC, trigger=checkpoint, stays=False)
    with pytest.raises(RunError) as err:
        train(_config(csv, head=head), run)
    assert_one_clear_line(err.value, str(run), "No space left on device", "marked failed")
    assert checkpoint in disk.refused
    assert temp_files(tmp_path) == [] and not (run / checkpoint).exists()
    status = runs.read_status(run)
    assert status["state"] == "failed" and "No space left on device" in status["error"]
    assert [r["state"] for r in runs.list_runs(run.parent)] == ["failed"]


def test_disk_full_metrics_line_fails_the_run_cleanly(fake_features, tmp_path, monkeypatch):
    csv = fake_features.make_dataset(tmp_path / "data")
    run = tmp_path / "runs" / "run"
    RefusingDisk(monkeypatch, errno.ENOSPC, trigger=runs.METRICS, stays=False)
    with pytest.raises(RunError, match="No space left on device"):
        train(_config(csv), run)
    assert runs.read_status(run)["state"] == "failed"
    assert runs.read_metrics(run) == []  # the torn line is skipped by readers


# ---------------------------------------------------------------- through the CLI

# The CLI in a child process, with synthetic features (placeholder videos) and,
# when a refusal is given, the simulated disk.
DRIVER = """
import errno, sys
sys.path[:0] = [{tests!r}, {root!r}]
import vidcore.cli
vidcore.cli.quiet_tensorflow_startup()  # before the imports below load TensorFlow
import pytest
import synthetic
from test_run_disk import RefusingDisk
from vidcore.cli import main
mp = pytest.MonkeyPatch()
synthetic.install(mp)
if {code!r}:
    RefusingDisk(mp, getattr(errno, {code!r}), trigger={trigger!r}, stays=True)
sys.exit(main(sys.argv[1:]))
"""
TRAIN = ("train", "--preset", "linear", "--head", "frame_mlp", "--epochs", "2", "--weights",
         "none", "--val-fraction", "0.3")


def cli_train(tmp_path, csv, run_dir, code: str = "", trigger: str = ""):
    """``vidcore train`` of the synthetic dataset into ``run_dir``, in a child process."""
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER.format(tests=str(TESTS), root=str(ROOT), code=code,
                                    trigger=trigger))
    # No TF_CPP_MIN_LOG_LEVEL: a user's shell has none, and TensorFlow loads here.
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIDCORE_DEBUG", "TF_CPP_MIN_LOG_LEVEL")}
    args = [TRAIN[0], csv, *TRAIN[1:], "--run-dir", run_dir]
    return subprocess.run([sys.executable, str(driver), *map(str, args)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)


def assert_cli_one_line(out: subprocess.CompletedProcess, *needles: str) -> None:
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    assert "Traceback" not in out.stderr, out.stderr
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("vidcore: error: "), out.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def listed_states(root: Path, capsys) -> list[str]:
    """The states ``vidcore runs --root ROOT --json`` shows."""
    capsys.readouterr()
    assert main(["runs", "--root", str(root), "--json"]) == 0
    return [r["state"] for r in json.loads(capsys.readouterr().out)["runs"]]


@pytest.mark.slow
@pytest.mark.parametrize("trigger,outcome", [("", "no run was created"),
                                             (runs.CLASSES, "marked failed"),
                                             (runs.KERAS_MODEL, "marked failed")])
def test_cli_train_on_a_disk_that_stays_full(fake_features, tmp_path, capsys, trigger,
                                             outcome):
    """Every write from ``trigger`` on is refused, the final status too: once the
    process has ended, the run reads as failed (or does not exist)."""
    csv = fake_features.make_dataset(tmp_path / "data")
    run = tmp_path / "runs" / "run"
    out = cli_train(tmp_path, csv, run, "ENOSPC", trigger)
    assert_cli_one_line(out, "No space left on device", outcome)
    assert temp_files(tmp_path) == []
    assert listed_states(run.parent, capsys) == ([] if trigger == "" else ["failed"])


# ---------------------------------------------------------------- a real filesystem


@pytest.fixture
def tmpfs(tmp_path):
    """A 1 MiB tmpfs mounted under tmp_path (skips where this process may not mount)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({made.stderr.strip() or 'not root'}); "
                    "the simulated disk tests cover the same code")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(mount: Path, leave: int) -> None:
    """Fill the filesystem until only ``leave`` bytes are free."""
    free = shutil.disk_usage(mount).free
    with open(mount / "filler", "wb") as f:
        f.write(b"\0" * max(free - leave, 0))


@pytest.mark.slow
@pytest.mark.parametrize("leave", [0, 8192, 40960])  # at the start, mid-run, at the checkpoint
def test_cli_train_on_a_real_full_disk(fake_features, tmpfs, tmp_path, capsys, leave):
    csv = fake_features.make_dataset(tmp_path / "data")
    _fill(tmpfs, leave)
    out = cli_train(tmp_path, csv, tmpfs / "run")
    assert_cli_one_line(out, "No space left on device")
    assert temp_files(tmpfs) == []
    assert listed_states(tmpfs, capsys) in ([], ["failed"])


@pytest.mark.slow
def test_cli_train_on_a_real_read_only_disk(fake_features, tmpfs, tmp_path, capsys):
    csv = fake_features.make_dataset(tmp_path / "data")
    (tmpfs / "existing").mkdir()
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    out = cli_train(tmp_path, csv, tmpfs / "new")
    assert_cli_one_line(out, "cannot create run directory", "Read-only file system")
    out = cli_train(tmp_path, csv, tmpfs / "existing")
    assert_cli_one_line(out, "Read-only file system", "no run was created")
    assert sorted(p.name for p in tmpfs.iterdir()) == ["existing"]
    assert list((tmpfs / "existing").iterdir()) == []
    assert listed_states(tmpfs, capsys) == []
