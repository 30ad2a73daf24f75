"""Every folder vidcore finds and every ``VIDCORE_*`` environment variable it reads.

This is the only module that reads a ``VIDCORE_*`` variable (a test checks it). Values
are read when asked for, not at import, so a test or a server can set a variable
before the call; a bad value is an ``InputError`` of one line that names the variable
and says what to write instead. ``docs/settings.md`` is the table of ``VARIABLES``
(``settings_table()``; a test keeps the two equal).

Where things are by default: vidcore run from a source checkout (the folder holding
``vidcore/`` and ``pyproject.toml``) keeps its runs, features, demo dataset, workspace
and converted weights in that checkout; an installed vidcore (a wheel) keeps them in
the current folder. The two files it ships (the demo model and the presets' measured
figures) are read from the checkout (``weights/demo_model``, ``docs/presets.json``),
or from the copies a wheel carries inside the package (``vidcore/_shipped/``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from vidcore.errors import InputError

PACKAGE_DIR = Path(__file__).resolve().parent
SHIPPED_DIR = PACKAGE_DIR / "_shipped"  # in a wheel: demo_model/ and presets.json

ENGINES = ("auto", "keras", "litert")
DECODERS = ("auto", "opencv", "planned")
PRECISIONS = ("auto", "float32", "bfloat16")
DEMO_SIZES = ("demo", "tiny")  # the keys of vidcore.data.demo.SIZES (a test checks)

# The variable names, for messages that tell people which one to set.
RUNS, STORE, WEIGHTS_DIR = "VIDCORE_RUNS", "VIDCORE_STORE", "VIDCORE_WEIGHTS_DIR"
DEMO_DIR, DEMO_SIZE, HOME = "VIDCORE_DEMO_DIR", "VIDCORE_DEMO_SIZE", "VIDCORE_HOME"
DATA_ROOTS, ENGINE, PRECISION = "VIDCORE_DATA_ROOTS", "VIDCORE_ENGINE", "VIDCORE_PRECISION"
DEBUG, ICE_SERVERS, ICE_SERVERS_FILE = ("VIDCORE_DEBUG", "VIDCORE_ICE_SERVERS",
                                        "VIDCORE_ICE_SERVERS_FILE")
DECODER = "VIDCORE_DECODER"
ICE_EXAMPLE = '[{"urls": ["stun:stun.example.org:3478"]}]'
SPACES, ADMINS, MAX_JOBS = "VIDCORE_SPACES", "VIDCORE_ADMINS", "VIDCORE_MAX_JOBS"
RAY_TRAIN_CPUS = "VIDCORE_RAY_TRAIN_CPUS"
RAY_ADDRESS = "RAY_ADDRESS"  # Ray's own variable (also read by Ray itself)


@dataclass(frozen=True)
class Variable:
    """One environment variable: its name, its default in words, what it sets."""

    name: str
    default: str
    meaning: str


VARIABLES: dict[str, Variable] = {v.name: v for v in (
    Variable(RUNS, "`runs/` in the project folder", "where training runs are written and "
             "listed; its `ACTIVE` file names the model `predict` uses"),
    Variable(STORE, "`features/` in the project folder", "the feature store: extracted "
             "frame features, one folder per backbone, weights, precision and sampler"),
    Variable(WEIGHTS_DIR, "`weights/` in the project folder", "converted backbone weights "
             "(EfficientNet-Lite), and in `engines/` the LiteRT conversions and the "
             "remembered engine choices"),
    Variable(DEMO_DIR, "`data/demo/` in the project folder", "where the demo dataset is "
             "generated and looked for"),
    Variable(DEMO_SIZE, "`demo`", "the demo size the app generates when there is none yet: "
             "`demo` (1128 clips) or `tiny` (100 clips, for tests)"),
    Variable(HOME, "`workspace/` in the project folder", "the workspace: datasets built "
             "in the browser (My datasets)"),
    Variable(DATA_ROOTS, "unset: any folder", f"`{os.pathsep}`-separated folders the app "
             "may open typed dataset paths under"),
    Variable(ENGINE, "`auto`", "where backbones run: `keras`, `litert` or `auto` (measured "
             "once per machine, then remembered)"),
    Variable(PRECISION, "`auto`", "what Keras backbones compute in: `float32`, `bfloat16` "
             "or `auto` (bfloat16 where the CPU has it natively)"),
    Variable(DECODER, "`auto`", "how clips are decoded: `opencv` (every frame up to the "
             "last one kept), `planned` (PyAV: only the frames a sampler keeps and what they "
             "need) or `auto` (both timed and compared on the first clips of each kind)"),
    Variable(DEBUG, "unset", "any value but `0`/`false`/`no`: tracebacks instead of "
             "one-line errors, native FFmpeg/OpenCV/TensorFlow log lines kept"),
    Variable(ICE_SERVERS, "unset: no ICE servers", "the Live page's WebRTC ICE servers, a "
             f"JSON list such as `{ICE_EXAMPLE}`"),
    Variable(ICE_SERVERS_FILE, "unset", f"a file holding that list (when {ICE_SERVERS} is "
             "unset)"),
    Variable("VIDCORE_MAX_FILE_MB", "200", "largest video one may add to a workspace "
             "dataset (an uploaded file or a zip member), in MB"),
    Variable("VIDCORE_MAX_UPLOAD_MB", "1000", "largest upload (all files, or a zip's "
             "uncompressed size), in MB"),
    Variable("VIDCORE_MAX_CLIPS", "5000", "most clips one workspace dataset may hold"),
    Variable("VIDCORE_MAX_ZIP_ENTRIES", "10000", "most entries an uploaded zip may list"),
    Variable("VIDCORE_MAX_CUT_PIECES", "500", "most pieces one cut of a long video may make"),
    Variable(SPACES, "`spaces/` in the project folder", "with sign-in on: one folder per "
             "user (a readable part of the e-mail plus a short hash), each holding that "
             "user's `runs/` and `workspace/`"),
    Variable(ADMINS, "unset: nobody", "comma-separated e-mails of the admins, who may open "
             "everyone's space"),
    Variable(MAX_JOBS, "half the machine's cores (at least 1)", "most queued trainings "
             "running at once"),
    Variable("VIDCORE_USER_DISK_MB", "5000", "with sign-in on: most disk one user's space "
             "may take (datasets and runs), in MB"),
    Variable("VIDCORE_USER_DATASETS", "20", "with sign-in on: most datasets one user may "
             "have"),
    Variable("VIDCORE_USER_CLIPS", "5000", "with sign-in on: most clips one user may hold, "
             "all datasets together"),
    Variable("VIDCORE_USER_UPLOADS_PER_MINUTE", "30", "with sign-in on: most uploads one "
             "user may make in a minute"),
    Variable("VIDCORE_USER_TRAININGS", "2", "most trainings one user may have in the "
             "queue, waiting and running together"),
    Variable(RAY_TRAIN_CPUS, "1", "with `RAY_ADDRESS` set: the CPUs each queued training "
             "reserves on the Ray cluster it runs on"),
)}
# Workspace limits: short key -> variable (their defaults are in VARIABLES).
LIMITS = {"file_mb": "VIDCORE_MAX_FILE_MB", "upload_mb": "VIDCORE_MAX_UPLOAD_MB",
          "clips": "VIDCORE_MAX_CLIPS", "zip_entries": "VIDCORE_MAX_ZIP_ENTRIES",
          "cut_pieces": "VIDCORE_MAX_CUT_PIECES", "user_disk_mb": "VIDCORE_USER_DISK_MB",
          "user_datasets": "VIDCORE_USER_DATASETS", "user_clips": "VIDCORE_USER_CLIPS",
          "user_uploads_per_minute": "VIDCORE_USER_UPLOADS_PER_MINUTE",
          "user_trainings": "VIDCORE_USER_TRAININGS", "max_jobs": MAX_JOBS,
          "ray_train_cpus": RAY_TRAIN_CPUS}


def _get(name: str, environ: Mapping[str, str] | None = None) -> str:
    """The variable's value, stripped ("" when unset)."""
    return (os.environ if environ is None else environ).get(name, "").strip()


def _choice(name: str, allowed: tuple[str, ...], default: str, what: str) -> str:
    text = _get(name)
    if text and text not in allowed:
        raise InputError(f"{name}={text!r} is not {what}: use one of {', '.join(allowed)}, "
                         "or unset it")
    return text or default


def _folder(name: str, default: Path) -> Path:
    text = _get(name)
    return Path(text).expanduser() if text else default


# ---------------------------------------------------------------- folders


def checkout_root() -> Path | None:
    """The source checkout vidcore runs from (the folder holding ``vidcore/`` and
    ``pyproject.toml``), or None for an installed package."""
    root = PACKAGE_DIR.parent
    return root if (root / "pyproject.toml").is_file() else None


def project_dir() -> Path:
    """Where vidcore keeps what it makes by default: the checkout, else the current folder."""
    return checkout_root() or Path.cwd()


def runs_dir() -> Path:
    """``<user space>/runs`` when one is in use, else ``$VIDCORE_RUNS`` or ``<project>/runs``."""
    space = user_space()
    return space / "runs" if space is not None else local_runs_dir()


def local_runs_dir() -> Path:
    """``$VIDCORE_RUNS`` or ``<project>/runs``: the runs of the local app (no sign-in)."""
    return _folder(RUNS, project_dir() / "runs")


def store_dir() -> Path:
    """``$VIDCORE_STORE`` or ``<project>/features``."""
    return _folder(STORE, project_dir() / "features")


def weights_dir() -> Path:
    """``$VIDCORE_WEIGHTS_DIR`` or ``<project>/weights``: converted backbone weights."""
    return _folder(WEIGHTS_DIR, project_dir() / "weights")


def engines_dir() -> Path:
    """``<weights dir>/engines``: LiteRT conversions and remembered engine choices."""
    return weights_dir() / "engines"


def demo_dir() -> Path:
    """``$VIDCORE_DEMO_DIR`` or ``<project>/data/demo``."""
    return _folder(DEMO_DIR, project_dir() / "data" / "demo")


def workspace_home() -> Path:
    """``<user space>/workspace`` when one is in use, else ``$VIDCORE_HOME`` (made
    absolute) or ``<project>/workspace``."""
    space = user_space()
    if space is not None:
        return space / "workspace"
    return _folder(HOME, project_dir() / "workspace").absolute()


def spaces_dir() -> Path:
    """``$VIDCORE_SPACES`` (made absolute) or ``<project>/spaces``: the users' spaces."""
    return _folder(SPACES, project_dir() / "spaces").absolute()


def limits_file() -> Path:
    """``limits.json`` in the spaces folder: the per-user limits admins set in the app."""
    return spaces_dir() / "limits.json"


def user_space() -> Path | None:
    """The folder of the user space in use (``vidcore.spaces.current``), None in the
    local app."""
    from vidcore.spaces import current

    return current.folder()


def queue_dir() -> Path:
    """Where the training queue keeps its state: ``queue/`` in the spaces folder while a
    user space is in use or once a signed-in server has made it (one queue for the whole
    machine: ``vidcore queue ls`` there lists the server's), else ``.queue/`` in the
    local runs folder."""
    if user_space() is not None or (spaces_dir() / "queue").is_dir():
        return spaces_dir() / "queue"
    return local_runs_dir() / ".queue"


def forwarded_environment() -> dict[str, str]:
    """The ``VIDCORE_*`` variables set here, with every folder setting made absolute
    (set or not): what a training started on another machine that shares this one's
    filesystem (a Ray node) needs to use this server's folders and limits."""
    env = {k: v for k, v in os.environ.items() if k.startswith("VIDCORE_")}
    folders = {RUNS: local_runs_dir(), SPACES: spaces_dir(), STORE: store_dir(),
               DEMO_DIR: demo_dir(), WEIGHTS_DIR: weights_dir(),
               HOME: _folder(HOME, project_dir() / "workspace")}
    env.update({name: str(Path(folder).absolute()) for name, folder in folders.items()})
    return env


def shipped_demo_model() -> Path:
    """The demo model vidcore ships: ``weights/demo_model`` of the checkout, else the
    copy inside the installed package."""
    root = checkout_root()
    return root / "weights" / "demo_model" if root else SHIPPED_DIR / "demo_model"


def presets_file() -> Path:
    """The presets' measured figures: ``docs/presets.json`` of the checkout, else the
    copy inside the installed package."""
    root = checkout_root()
    return root / "docs" / "presets.json" if root else SHIPPED_DIR / "presets.json"


# ---------------------------------------------------------------- behaviour


def debug() -> bool:
    """``$VIDCORE_DEBUG`` set (to anything but ``0``, ``false`` or ``no``)."""
    return _get(DEBUG).lower() not in ("", "0", "false", "no")


def engine() -> str:
    """``$VIDCORE_ENGINE``: ``auto`` (unset), ``keras`` or ``litert``."""
    return _choice(ENGINE, ENGINES, "auto", "an engine")


def decoder() -> str:
    """``$VIDCORE_DECODER``: ``auto`` (unset), ``opencv`` or ``planned``."""
    return _choice(DECODER, DECODERS, "auto", "a decoder")


def precision() -> str:
    """``$VIDCORE_PRECISION``: ``auto`` (unset), ``float32`` or ``bfloat16``."""
    text = _get(PRECISION)
    if text and text not in PRECISIONS:
        raise InputError(f"unknown precision {text!r} in {PRECISION}: use one of "
                         f"{', '.join(PRECISIONS)}, or unset it")
    return text or "auto"


def demo_size() -> str:
    """``$VIDCORE_DEMO_SIZE``: ``demo`` (unset) or ``tiny``."""
    return _choice(DEMO_SIZE, DEMO_SIZES, "demo", "a demo size")


def data_roots(text: str | None = None) -> list[Path]:
    """``$VIDCORE_DATA_ROOTS`` (or ``text``) as resolved folders; empty: any folder.

    While a user space is in use the list is never empty: that space and the demo
    folder come first (a signed-in user may never open "any folder").
    """
    text = _get(DATA_ROOTS) if text is None else text
    roots = [Path(p).expanduser().resolve() for p in text.split(os.pathsep) if p.strip()]
    space = user_space()
    if space is not None:
        roots = [space.resolve(), demo_dir().resolve(), *roots]
    return roots


def admins() -> frozenset[str]:
    """``$VIDCORE_ADMINS``: the admins' e-mails, lower-cased."""
    return frozenset(e.strip().lower() for e in _get(ADMINS).split(",") if e.strip())


def max_jobs() -> int:
    """``$VIDCORE_MAX_JOBS``, else half the machine's cores (at least 1)."""
    if _get(MAX_JOBS):
        return limit("max_jobs")
    return max(1, (os.cpu_count() or 2) // 2)


def ray_address() -> str | None:
    """``$RAY_ADDRESS`` (Ray's own variable, ``HEAD:6379``): when set, queued trainings
    run as Ray jobs on that cluster (``vidcore.queue_on_ray``); None when unset."""
    return _get(RAY_ADDRESS) or None


def limit(key: str) -> int:
    """A workspace limit (a key of ``LIMITS``): its variable, else its default.

    Raises:
        InputError: the variable is not a positive whole number.
    """
    name = LIMITS[key]
    text = _get(name) or VARIABLES[name].default
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"{name} must be a whole number, got {text!r}") from None
    if value <= 0:
        raise InputError(f"{name} must be positive, got {value}")
    return value


def ice_servers(environ: Mapping[str, str] | None = None) -> list[dict]:
    """``$VIDCORE_ICE_SERVERS`` (else the file ``$VIDCORE_ICE_SERVERS_FILE`` names) as a
    list of RTCIceServer objects; empty when neither is set.

    Raises:
        InputError: the file cannot be read, or the text is not a JSON list of objects
            that each have ``urls``.
    """
    text, where = _get(ICE_SERVERS, environ), ICE_SERVERS
    path = _get(ICE_SERVERS_FILE, environ)
    if not text and path:
        where = f"{ICE_SERVERS_FILE} ({path})"
        try:
            text = Path(path).read_text().strip()
        except OSError as err:
            raise InputError(f"{where} cannot be read ({err.strerror}); fix the path "
                             "or unset the variable") from None
    if not text:
        return []
    try:
        servers = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{where} is not valid JSON ({err.msg}); give a list like "
                         f"{ICE_EXAMPLE}") from None
    if not isinstance(servers, list) or not all(
            isinstance(s, dict) and s.get("urls") for s in servers):
        raise InputError(f"{where} must be a JSON list of objects with \"urls\", like "
                         f"{ICE_EXAMPLE}")
    return servers


def settings_table() -> str:
    """The markdown table of ``VARIABLES`` (docs/settings.md holds it)."""
    rows = ["| Variable | Default | What it sets |", "| --- | --- | --- |"]
    rows += [f"| `{v.name}` | {v.default} | {v.meaning} |" for v in VARIABLES.values()]
    return "\n".join(rows) + "\n"
