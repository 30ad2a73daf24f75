"""vidcore as a package: declared dependencies, the pinned list, and a wheel that installs.

The wheel test builds vidcore's wheel from a copy of the files it is made of, installs
it into a fresh virtual environment whose only other packages are the already
installed dependencies (reached through a ``.pth`` file, so nothing is downloaded),
checks that every declared dependency is there in a version inside its range, and
runs ``vidcore predict`` on a generated clip outside the checkout: the shipped demo
model must come from inside the installed package.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.workspace_clips import demo_clip
from vidcore import settings
from vidcore.features import FeatureSpec
from vidcore.models import engines

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
TRANSITIVE = "# ---- pinned dependencies of the dependencies"


def pins(path: Path = ROOT / "requirements.txt") -> tuple[list[Requirement], list[Requirement]]:
    """The exact pins of a requirements file: the declared ones, and the transitive ones
    (below the ``TRANSITIVE`` line)."""
    declared, transitive, below = [], [], False
    for line in path.read_text().splitlines():
        below = below or line.startswith(TRANSITIVE)
        text = line.split(" #")[0].strip()
        if text and not text.startswith(("#", "-r")):
            (transitive if below else declared).append(Requirement(text))
    return declared, transitive


def _key(req: Requirement) -> tuple[str, str]:
    return canonicalize_name(req.name), str(req.marker or "")


def test_every_pin_is_declared_and_inside_its_range():
    project = PYPROJECT["project"]
    ranges = [Requirement(r) for r in
              project["dependencies"] + project["optional-dependencies"]["app"]]
    declared, transitive = pins()
    assert sorted(map(_key, ranges)) == sorted(map(_key, declared))
    exact = {_key(p): next(iter(p.specifier)).version for p in declared + transitive}
    assert all(next(iter(p.specifier)).operator == "==" for p in declared + transitive)
    for req in ranges:
        assert req.specifier.contains(exact[_key(req)]), (req, exact[_key(req)])
    ray = Requirement(project["optional-dependencies"]["ray"][0])
    assert [str(ray)] == [str(p) for p in pins(ROOT / "requirements-ray.txt")[0]]


def test_the_package_list_is_the_tree():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "vidcore").rglob("__init__.py")}
    shipped = set(PYPROJECT["tool"]["setuptools"]["package-dir"])
    assert listed == found | shipped
    for package, folder in PYPROJECT["tool"]["setuptools"]["package-dir"].items():
        assert (ROOT / folder).is_dir(), package
    assert settings.presets_file().is_file() and settings.shipped_demo_model().is_dir()


def test_every_library_import_is_a_declared_dependency():
    """What vidcore/ imports from outside the standard library is installed by a
    dependency pyproject.toml declares (ray: the optional extra)."""
    declared = {canonicalize_name(Requirement(r).name) for r in
                PYPROJECT["project"]["dependencies"]} | {"ray"}
    providers = metadata.packages_distributions()
    for path in (ROOT / "vidcore").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for top in {n.split(".")[0] for n in names} - set(sys.stdlib_module_names):
                if top != "vidcore":
                    dists = {canonicalize_name(d) for d in providers.get(top, [top])}
                    assert dists & declared, f"{path.relative_to(ROOT)} imports {top}"


CHECK_DEPENDENCIES = """
import json, sys
from importlib import metadata
from packaging.requirements import Requirement
problems = []
for text in metadata.requires("vidcore") or []:
    req = Requirement(text)
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        continue
    try:
        version = metadata.version(req.name)
    except metadata.PackageNotFoundError:
        problems.append(f"{req.name} missing")
        continue
    if not req.specifier.contains(version, prereleases=True):
        problems.append(f"{req.name} {version} not in {req.specifier}")
print(json.dumps({"problems": problems, "vidcore": metadata.version("vidcore")}))
"""


def _run(cmd: list, **kwargs) -> subprocess.CompletedProcess:
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=300,
                         **kwargs)
    assert out.returncode == 0, f"{cmd[:3]}: {out.stdout[-2000:]}\n{out.stderr[-3000:]}"
    return out


def _source_copy(dest: Path) -> Path:
    """The files a wheel is built from (so the build writes nothing into the checkout)."""
    shutil.copytree(ROOT / "vidcore", dest / "vidcore",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for folder in PYPROJECT["tool"]["setuptools"]["package-dir"].values():
        shutil.copytree(ROOT / folder, dest / folder, dirs_exist_ok=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    return dest


def _fresh_venv(path: Path) -> Path:
    """A venv without pip whose site-packages reaches this interpreter's (a ``.pth``
    line adds a folder to sys.path without running that folder's own .pth files, so
    the checkout's editable install does not come along)."""
    _run([sys.executable, "-m", "venv", "--without-pip", path])
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(path),
                                                        "platbase": str(path)}))
    paths = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (purelib / "installed-dependencies.pth").write_text("\n".join(sorted(paths)) + "\n")
    return path / "bin" / "python"


@pytest.mark.slow
def test_the_wheel_installs_into_a_fresh_venv_and_predicts(tmp_path):
    src = _source_copy(tmp_path / "src")
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
          "--wheel-dir", tmp_path / "dist", src])
    (wheel,) = (tmp_path / "dist").glob("vidcore-*.whl")
    python = _fresh_venv(tmp_path / "venv")
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", settings.ENGINE, settings.DEBUG, settings.RUNS)}
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps",
          "--no-index", wheel], env=env)
    check = json.loads(_run([python, "-c", CHECK_DEPENDENCIES], env=env,
                            cwd=tmp_path).stdout)
    assert check["problems"] == [] and check["vidcore"] == PYPROJECT["project"]["version"]
    clip = demo_clip(tmp_path / "work" / "jack.avi", "JumpingJack", 2)
    engines.build(FeatureSpec(), "litert", "float32")  # converts once on a fresh checkout
    # converted backbone weights and the LiteRT cache: the checkout's (no reconversion)
    env[settings.WEIGHTS_DIR] = str(settings.weights_dir())
    env[settings.RUNS] = str(tmp_path / "work" / "runs")  # no active model here
    out = _run([python.parent / "vidcore", "predict", clip, "--json"], env=env,
               cwd=tmp_path / "work")
    prediction = json.loads(out.stdout)
    assert prediction["primary_label"] == "JumpingJack"
    shipped = Path(prediction["run_dir"])
    assert shipped.name == "demo_model" and (tmp_path / "venv") in shipped.parents
