"""vidcore.settings: the one place paths and ``VIDCORE_*`` variables are read."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vidcore import settings
from vidcore.data import demo
from vidcore.data.video import probe
from vidcore.errors import InputError, VideoReadError

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [*sorted((ROOT / "vidcore").rglob("*.py")), *sorted((ROOT / "webapp").rglob("*.py")),
           *sorted((ROOT / "app_pages").glob("*.py")), ROOT / "app.py"]


def _environment_reads(tree: ast.AST):
    """Every ``os.environ.get(X)``, ``os.getenv(X)``, ``os.environ[X]`` (X as an AST node)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            name = ast.unparse(node.func)
            if name in ("os.environ.get", "os.getenv", "environ.get", "_os.environ.get"):
                yield node.args[0]
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith("environ"):
            yield node.slice


def test_no_module_but_settings_reads_a_vidcore_variable():
    for path in SOURCES:
        if path.name == "settings.py" and path.parent.name == "vidcore":
            continue
        for arg in _environment_reads(ast.parse(path.read_text())):
            # a literal other name (KERAS_HOME, RAY_ADDRESS) is fine; a constant could
            # hide a VIDCORE_ one
            assert isinstance(arg, ast.Constant) and not str(arg.value).startswith(
                "VIDCORE_"), f"{path.relative_to(ROOT)} reads {ast.unparse(arg)}"


def test_every_variable_named_in_the_code_is_in_the_table():
    named = set()
    for path in SOURCES:
        named |= set(re.findall(r"\bVIDCORE_[A-Z_]*[A-Z]\b", path.read_text()))
    assert named <= set(settings.VARIABLES), named - set(settings.VARIABLES)
    assert len(settings.VARIABLES) == 27


def test_docs_table_is_the_generated_one():
    text = (ROOT / "docs" / "settings.md").read_text()
    assert settings.settings_table() in text


def test_demo_sizes_are_the_generators():
    assert tuple(demo.SIZES) == settings.DEMO_SIZES


def test_folders_follow_their_variables(tmp_path, monkeypatch):
    for name in (settings.RUNS, settings.STORE, settings.WEIGHTS_DIR, settings.DEMO_DIR,
                 settings.HOME):
        monkeypatch.delenv(name, raising=False)
    assert settings.checkout_root() == ROOT
    assert settings.runs_dir() == ROOT / "runs"
    assert settings.engines_dir() == ROOT / "weights" / "engines"
    assert settings.shipped_demo_model() == ROOT / "weights" / "demo_model"
    assert settings.presets_file() == ROOT / "docs" / "presets.json"
    monkeypatch.setenv(settings.STORE, "~/elsewhere")
    assert settings.store_dir() == Path.home() / "elsewhere"
    monkeypatch.setenv(settings.HOME, "ws")
    assert settings.workspace_home() == Path.cwd() / "ws"


@pytest.mark.parametrize("name, value, call, match", [
    ("VIDCORE_ENGINE", "tpu", settings.engine, r"VIDCORE_ENGINE='tpu' is not an engine"),
    ("VIDCORE_PRECISION", "half", settings.precision, r"unknown precision 'half'"),
    ("VIDCORE_DEMO_SIZE", "huge", settings.demo_size, r"VIDCORE_DEMO_SIZE='huge'.*tiny"),
    ("VIDCORE_MAX_CLIPS", "many", lambda: settings.limit("clips"), r"whole number"),
    ("VIDCORE_MAX_CLIPS", "-3", lambda: settings.limit("clips"), r"must be positive"),
])
def test_bad_values_are_one_line_errors(monkeypatch, name, value, call, match):
    monkeypatch.setenv(name, value)
    with pytest.raises(InputError, match=match) as err:
        call()
    assert "\n" not in str(err.value)


def test_debug_and_defaults(monkeypatch):
    for value, expected in (("", False), ("0", False), ("no", False), ("1", True)):
        monkeypatch.setenv(settings.DEBUG, value)
        assert settings.debug() is expected
    monkeypatch.delenv(settings.ENGINE, raising=False)
    monkeypatch.delenv("VIDCORE_MAX_FILE_MB", raising=False)
    assert settings.engine() == "auto" and settings.limit("file_mb") == 200


def test_importing_vidcore_leaves_the_environment_alone():
    # (cv2's own import adds its library folder to LD_LIBRARY_PATH: not vidcore's doing)
    code = ("import json, os; before = dict(os.environ); import vidcore, vidcore.cli, "
            "vidcore.features, vidcore.predict, vidcore.data.video; "
            "print(json.dumps(sorted(k for k in set(os.environ) ^ set(before) "
            "if k.startswith(('OPENCV_', 'TF_', 'VIDCORE_')))))")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCV_", "VIDCORE_"))}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []


def test_opening_a_video_quiets_native_logs_unless_debugging(monkeypatch, tmp_path):
    path = tmp_path / "empty.avi"
    path.write_bytes(b"not a video")
    for debug, expected in (("1", None), ("", "-8")):
        for name in ("OPENCV_FFMPEG_LOGLEVEL", "OPENCV_LOG_LEVEL"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv(settings.DEBUG, debug)
        with pytest.raises(VideoReadError):
            probe(path)
        assert os.environ.get("OPENCV_FFMPEG_LOGLEVEL") == expected
