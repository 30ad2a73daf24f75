"""The only Streamlit-aware helpers: state keys, cached loaders, the sidebar, the error boundary.

Pages import this module and ``vidcore``; ``vidcore`` never imports Streamlit.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from pathlib import Path

import streamlit as st

from vidcore import charts, launch, previews, settings, tables, webio
from vidcore.data import demo
from vidcore.data.index import VideoIndex, load_index
from vidcore.data.sampling import Sampler, create_sampler, describe, sampler_from_config
from vidcore.data.video import read_frames
from vidcore.errors import VidcoreError
from vidcore.models.loading import load_model, model_version

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- session-state keys
# Sidebar widgets live in app.py's run (rendered on every page), so their values
# persist across page switches; pages read them only through the functions below.
DATASET_SOURCE = "dataset_source"
DATASET_PATH = "dataset_path"
DATASET_SPLIT = "dataset_split"
SAMPLER_NAME = "sampler_name"
SAMPLER_FRAMES = "sampler_frames"
SAMPLER_RATE = "sampler_rate"
RUN_CHOICE = "run_choice"  # the model picked on Evaluate and Predict (Train's buttons set it)
WANTED_RUN = "wanted_run"  # set by a button elsewhere; moved into RUN_CHOICE by pick_model
TRAIN_RUN = "train_run"  # the run the Train page watches
DEMO, FOLDER = "Demo dataset", "A folder on this machine"
MINE = "My datasets"  # a dataset of the workspace (vidcore.workspace), built in the browser
MY_DATASET = "my_dataset"  # which one (the sidebar's selectbox)

PAGES = {
    "home": "app_pages/home.py",
    "dataset": "app_pages/dataset.py",
    "train": "app_pages/train.py",
    "evaluate": "app_pages/evaluate.py",
    "predict": "app_pages/predict.py",
    "datasets": "app_pages/datasets.py",
    "live": "app_pages/live.py",
}


# ---------------------------------------------------------------- error boundary


@contextlib.contextmanager
def guard(action: str, stop: bool = True, hint: str = ""):
    """Show a ``VidcoreError`` as ``st.error`` (its message says what to do), never a traceback.

    Args:
        action: what was being done, e.g. ``"Reading the dataset"``.
        stop: end the page run after the error (the rest of the page needs the result).
        hint: a sentence of advice added after the error's own message.
    """
    try:
        yield
    except VidcoreError as err:
        message = str(err).rstrip(". ")
        st.error(f"**{action} failed.** {message}. {hint}".strip(), icon=":material/error:")
        if stop:
            st.stop()
    except Exception as err:  # a bug: say so, keep the traceback for the log
        # (st.stop() and reruns are BaseExceptions: they pass through untouched)
        if settings.debug():
            raise
        log.exception("%s failed", action)
        st.error(f"**{action} failed unexpectedly** ({type(err).__name__}: {err}). "
                 "The details are in the server log; please report them.",
                 icon=":material/bug_report:")
        if stop:
            st.stop()


# ---------------------------------------------------------------- cached loaders


def _demo_size(out: Path) -> str:
    """The size of the demo in ``out`` (tests point the app at ``tiny``), else
    ``VIDCORE_DEMO_SIZE``, else the full demo."""
    try:
        size = json.loads((out / demo.MARKER).read_text(encoding="utf-8")).get("size")
    except (OSError, ValueError, AttributeError):
        size = settings.demo_size()
    return size if size in demo.SIZES else "demo"


def demo_root() -> str:
    """The demo dataset root (``VIDCORE_DEMO_DIR`` or data/demo), generated once when absent.

    Generation runs in a child process (``vidcore demo-data``) while the page shows its
    progress; clips written so far are kept if the page or the server goes away.

    Raises:
        VidcoreError: the generator failed (its own message, and what to do).
    """
    out = demo.default_demo_dir()
    size = _demo_size(out)
    if not demo.generation_state(out, size)["complete"]:
        _wait_for_demo(out, size)
    return str(out / demo.VIDEO_DIR)


def _wait_for_demo(out: Path, size: str) -> None:
    proc = launch.demo_generation(out, size)
    bar = st.progress(0.0, text="Preparing the demo dataset…")
    while proc.poll() is None:
        state = demo.generation_state(out, size)
        bar.progress(state["done"] / state["total"],
                     text=f"Generating the demo dataset (only on the first start, about a "
                          f"minute): {state['done']:,} of {state['total']:,} clips")
        time.sleep(0.5)
    bar.empty()
    if proc.returncode != 0 or not demo.generation_state(out, size)["complete"]:
        reason = launch.demo_log_tail(out).removeprefix("vidcore: error: ").rstrip(". ")
        raise VidcoreError(f"generating the demo dataset in {out} failed "
                           f"({reason or f'exit status {proc.returncode}'}); run "
                           f"`vidcore demo-data` in a terminal to see the details")


@st.cache_data(ttl=600, max_entries=8, show_spinner="Reading the dataset index…")
def cached_index(path: str, split: int, format: str = "auto", splits: str | None = None,
                 test_fraction: float = 0.3, seed: int = 0) -> VideoIndex:
    """``load_index`` (format detected by default), cached per arguments."""
    return load_index(path, format, split, splits, test_fraction, seed)


@st.cache_data(max_entries=8, show_spinner="Measuring video durations…")
def cached_durations(paths: tuple[str, ...]) -> dict:
    """``tables.duration_summary`` (probing is slow: a sample for large datasets), cached."""
    return tables.duration_summary(paths)


@st.cache_data(max_entries=64, show_spinner="Reading the sampled frames…")
def cached_thumbnails(path: str, mtime_ns: int, sampler_config: dict) -> dict:
    """The frames a sampler picks from a video, as small thumbnails with their times."""
    frames = read_frames(path, sampler_from_config(sampler_config))
    return {"images": webio.thumbnails(frames.images), "timestamps": frames.timestamps,
            "frame_ids": frames.frame_ids}


def mtime_ns(path) -> int:
    """Modification time of a file, for cache keys (0 when it cannot be read)."""
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def cached_model(run_dir: str, version: int):
    """``load_model``, kept per run and ``model_version`` (a model is big)."""
    return load_model(run_dir)


def model_runs() -> dict[str, str]:
    """Runs that hold a model, newest first, the shipped demo model last: path -> label."""
    from vidcore import runs

    active = runs.active_model()
    choices = {}
    for r in runs.list_runs():
        if r["has_model"]:
            star = " ★ active" if runs.same_run(active, r["path"]) else ""
            choices[r["path"]] = f"{r['name']} · {r['head']}{star}"
    if runs.model_file(runs.DEMO_MODEL_DIR) is not None:
        star = " ★ active" if active is None else ""
        choices[str(runs.DEMO_MODEL_DIR)] = f"demo model (shipped){star}"
    return choices


def pick_model(label: str = "Model") -> str:
    """A selectbox of models (the active one preselected), shared by Evaluate and Predict.

    Stops the page with what to do when there is no model at all.
    """
    from vidcore import runs

    choices = model_runs()
    if not choices:
        st.info("There is no trained model yet. Train one on the **Train** page; it takes "
                "about a minute on the demo dataset.", icon=":material/info:")
        st.page_link(PAGES["train"], label="Go to Train", icon=":material/model_training:")
        st.stop()
    wanted = st.session_state.pop(WANTED_RUN, None)  # not a widget key: survives page switches
    if wanted in choices:
        st.session_state[RUN_CHOICE] = wanted
    if st.session_state.get(RUN_CHOICE) not in choices:
        with contextlib.suppress(VidcoreError):
            active = runs.resolve_model_dir()  # resolved; the choices are listed paths
            st.session_state[RUN_CHOICE] = next(
                (path for path in choices if runs.same_run(path, active)), None)
        if st.session_state.get(RUN_CHOICE) not in choices:
            st.session_state[RUN_CHOICE] = next(iter(choices))
    return st.selectbox(label, list(choices), format_func=choices.get, key=RUN_CHOICE)


# ---------------------------------------------------------------- the sidebar


def sidebar(page_title: str) -> None:
    """Dataset picker (every page) and frame-sampler settings (the Dataset page), from app.py."""
    for key in (SAMPLER_NAME, SAMPLER_FRAMES, SAMPLER_RATE):
        # Widgets not drawn in a run lose their state; re-assigning keeps the sampler
        # settings while the sampler widgets are hidden on the other pages.
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    with st.sidebar:
        st.subheader("Dataset")
        source = st.radio("Source", (DEMO, MINE, FOLDER), key=DATASET_SOURCE,
                          label_visibility="collapsed")
        if source == MINE:
            _my_dataset_input()
        if source == FOLDER:
            roots = settings.data_roots()
            hint = (f"Only folders under {', '.join(map(str, roots))} may be opened."
                    if roots else "UCF101, HMDB51, a folder per class, or a CSV manifest.")
            st.text_input("Dataset folder or .csv file", key=DATASET_PATH,
                          placeholder="/data/UCF101", help=hint)
        st.session_state.setdefault(DATASET_SPLIT, 1)
        st.number_input("Split", min_value=1, max_value=10, key=DATASET_SPLIT,
                        help="Which official train/test split (UCF101 and HMDB51 have 3).")
        if page_title == "Dataset":
            _sampler_inputs()


def _my_dataset_input() -> None:
    """The sidebar's pick of a workspace dataset (or a link to make the first one)."""
    from vidcore import workspace

    names = workspace.list_names()
    if not names:
        st.caption("No dataset of your own yet.")
        st.page_link(PAGES["datasets"], label="Create one", icon=":material/add:")
        return
    if st.session_state.get(MY_DATASET) not in names:
        st.session_state[MY_DATASET] = names[0]
    st.selectbox("Your dataset", names, key=MY_DATASET)


def _has_no_clips(name: str) -> bool:
    """True for a workspace dataset without a single clip (False when it is not there)."""
    from vidcore import workspace

    try:
        return not workspace.clip_table(name)
    except VidcoreError:
        return False


def choose_my_dataset(name: str) -> None:
    """Make a workspace dataset the sidebar's choice (call from a widget callback)."""
    st.session_state[DATASET_SOURCE] = MINE
    st.session_state[MY_DATASET] = name


def _sampler_inputs() -> None:
    # Defaults go through session state, not value=: the state may be set already.
    st.session_state.setdefault(SAMPLER_FRAMES, 8)
    st.session_state.setdefault(SAMPLER_RATE, 1.0)
    st.subheader("Frame sampler")
    name = st.selectbox("Sampler", ("uniform", "segments", "fps"), key=SAMPLER_NAME,
                        help="Which frames of a video are looked at (the frame strip below).")
    if name == "fps":
        st.slider("Frames per second", 0.25, 5.0, step=0.25, key=SAMPLER_RATE)
    else:
        st.slider("Frames per video", 2, 32, key=SAMPLER_FRAMES)


def _chosen_path() -> str:
    """The chosen dataset path (the demo root by default).

    Raises:
        InputError: a typed path that is empty, missing or outside ``VIDCORE_DATA_ROOTS``.
    """
    if st.session_state.get(DATASET_SOURCE, DEMO) == DEMO:
        return demo_root()
    if st.session_state.get(DATASET_SOURCE) == MINE:
        from vidcore.workspace import store

        return str(store.existing(st.session_state.get(MY_DATASET) or ""))
    return str(webio.check_dataset_path(st.session_state.get(DATASET_PATH, "")))


def _ask_for_a_path() -> None:
    """Stop the page with a hint while "a folder" is chosen but no path typed yet."""
    if (st.session_state.get(DATASET_SOURCE) == MINE
            and not st.session_state.get(MY_DATASET)):
        st.info("You have no dataset of your own yet: create one on **My datasets**.",
                icon=":material/folder_open:")
        st.page_link(PAGES["datasets"], label="Go to My datasets", icon=":material/add:")
        st.stop()
    if st.session_state.get(DATASET_SOURCE) == MINE and _has_no_clips(
            st.session_state[MY_DATASET]):
        st.info(f"**{st.session_state[MY_DATASET]}** has no clips yet: add classes and clips "
                "on **My datasets**.", icon=":material/video_library:")
        st.page_link(PAGES["datasets"], label="Go to My datasets", icon=":material/add:")
        st.stop()
    if (st.session_state.get(DATASET_SOURCE, DEMO) == FOLDER
            and not st.session_state.get(DATASET_PATH, "").strip()):
        st.info("Type the path of a dataset folder (or a .csv manifest) in the sidebar: "
                "UCF101 or HMDB51 with their split lists, or one folder of videos per class.",
                icon=":material/folder_open:")
        st.stop()


def dataset_path() -> str:
    """The chosen dataset path; stops the page with an explanation when it is unusable."""
    _ask_for_a_path()
    with guard("Opening the dataset"):
        return _chosen_path()


def index_or_error() -> tuple[VideoIndex | None, str | None]:
    """The chosen dataset's index, or None and the reason (for pages that go on without it)."""
    try:
        return cached_index(_chosen_path(), int(st.session_state.get(DATASET_SPLIT, 1))), None
    except VidcoreError as err:
        return None, str(err)


def current_index() -> VideoIndex:
    """The chosen dataset's index; stops the page with an explanation when it cannot load."""
    _ask_for_a_path()
    with guard("Opening the dataset"):
        return cached_index(_chosen_path(), int(st.session_state.get(DATASET_SPLIT, 1)))


def current_sampler() -> Sampler:
    """The sampler chosen in the sidebar."""
    name = st.session_state.get(SAMPLER_NAME, "uniform")
    if name == "fps":
        return create_sampler("fps", rate=float(st.session_state.get(SAMPLER_RATE, 1.0)))
    return create_sampler(name, frames=int(st.session_state.get(SAMPLER_FRAMES, 8)))


def sampler_caption() -> str:
    """One line naming the sidebar sampler, for captions."""
    return describe(current_sampler())


# ---------------------------------------------------------------- runs


STATE_BADGES = {
    "starting": ":blue-badge[:material/hourglass_top: starting]",
    "running": ":blue-badge[:material/autorenew: running]",
    "finished": ":green-badge[:material/check: finished]",
    "stopped": ":orange-badge[:material/stop: stopped]",
    "failed": ":red-badge[:material/error: failed]",
}


def state_badge(state: str | None) -> str:
    """A coloured Markdown badge for a run state."""
    return STATE_BADGES.get(state or "", f":gray-badge[{state or 'unknown'}]")


def render_run_progress(state: dict, records: list[dict], run_dir: str) -> None:
    """Extraction progress bar, loss/accuracy curves, and how the run ended."""
    from vidcore import launch

    busy = state["state"] in ("starting", "running")
    epochs, batches = tables.epoch_frame(records), tables.batch_frame(records)
    progress = tables.extract_progress(records)
    if progress and busy and epochs.empty and batches.empty:
        st.progress(progress["fraction"], text=f"Extracting features: {progress['text']}")
    elif busy and progress is None:
        st.progress(0.0, text="Starting: loading TensorFlow and the dataset…")
    if not epochs.empty or not batches.empty:
        st.plotly_chart(charts.training_curves(epochs, batches), key=f"curves-{run_dir}")
    if state["state"] == "failed":
        st.error(f"The run failed: {state.get('error') or 'no reason recorded'}",
                 icon=":material/error:")
        with st.expander("Last lines of the training log"):
            st.code(launch.log_tail(run_dir) or "(no log)", language=None)
    elif state["state"] in ("finished", "stopped"):
        acc = state.get("best_val_accuracy")
        if acc is None:
            st.warning(f"The run {state['state']} before its first validation, so it kept no "
                       "model. Start it again and let it run for an epoch or more.",
                       icon=":material/warning:")
        else:
            st.success(f"The run {state['state']}: best validation accuracy {acc:.1%} at "
                       f"epoch {state.get('best_epoch')}.", icon=":material/check_circle:")


def _activate(path: str) -> None:
    from vidcore import runs

    try:
        runs.set_active_model(path)
    except VidcoreError as err:
        st.toast(f"Could not make it active: {err}", icon=":material/error:")
    else:
        st.toast("Active model changed: Predict uses it now.", icon=":material/star:")


def run_row(run: dict, is_active: bool) -> None:
    """One past run: name, state, scores, and its buttons (watch, make active, evaluate)."""
    with st.container(border=True):
        info, scores, buttons = st.columns([4, 2, 4], vertical_alignment="center")
        star = " :material/star: **active**" if is_active else ""
        info.markdown(f"**{run['name']}** {state_badge(run['state'])}{star}  \n"
                      f"{run['preset'] or 'custom'} · {run['head']} · {run['backbone']}")
        val, top1 = run.get("best_val_accuracy"), run.get("top1")
        scores.markdown(f"validation {'–' if val is None else f'{val:.1%}'}  \n"
                        f"test top-1 {'–' if top1 is None else f'{top1:.1%}'}")
        row = buttons.container(horizontal=True, horizontal_alignment="right")
        if row.button("Watch", key=f"watch-{run['path']}", icon=":material/monitoring:"):
            st.session_state[TRAIN_RUN] = run["path"]
            st.rerun()
        row.button("Make active", key=f"activate-{run['path']}", icon=":material/star:",
                   disabled=is_active or not run["has_model"], on_click=_activate,
                   args=(run["path"],))
        if row.button("Evaluate", key=f"evaluate-{run['path']}", icon=":material/analytics:",
                      disabled=not run["has_model"]):
            st.session_state[WANTED_RUN] = run["path"]
            st.switch_page(PAGES["evaluate"])


# ---------------------------------------------------------------- evaluation


@st.cache_data(max_entries=16, show_spinner=False)
def cached_report(run_dir: str, report_mtime_ns: int) -> dict | None:
    """A run's ``report.json`` (None before its first evaluation), per file version."""
    from vidcore import runs

    report = runs.read_json(f"{run_dir}/{runs.REPORT}")
    return report if isinstance(report, dict) and report.get("aggregators") else None


@st.cache_data(max_entries=16, show_spinner=False)
def cached_predictions(run_dir: str, csv_mtime_ns: int):
    """A run's per-video ``predictions.csv`` as a DataFrame, per file version."""
    from vidcore import runs

    return tables.read_predictions(f"{run_dir}/{runs.PREDICTIONS}")


def run_evaluation(run_dir: str) -> None:
    """Evaluate a run with a progress bar, then rerun the page to show its report."""
    from vidcore.evaluate import evaluate

    bar = st.progress(0.0, text="Reading the test clips…")

    def progress(event: dict) -> None:
        done, total = event.get("done", 0), event.get("total") or 1
        bar.progress(min(1.0, done / total),
                     text=f"Extracting test features: {done} of {total} clips · "
                          f"{event.get('frames_per_second', 0):.1f} frames/s")

    with st.spinner("Evaluating: features of every test clip, then every aggregator…"), \
            guard("Evaluating the model"):
        model = cached_model(run_dir, model_version(run_dir))
        evaluate(run_dir, progress=progress, model=model)
    st.rerun()


def cell_picked(chart_key: str, cell_key: str, cells: list) -> None:
    """Heatmap click -> select that (true, predicted) cell in the cell selectbox."""
    points = st.session_state[chart_key].selection.get("points", [])
    if points:
        select_cell(cell_key, cells, points[0].get("y"), points[0].get("x"))


def select_cell(cell_key: str, cells: list, true, predicted) -> None:
    """Set the cell selectbox to the ``(true, predicted, clips)`` cell of those classes."""
    match = [c for c in cells if c[0] == true and c[1] == predicted]
    if match:
        st.session_state[cell_key] = match[0]


def show_media(data: bytes, mime: str, start_time: int = 0) -> None:
    """A ``webio.browser_clip`` result: a video player (from ``start_time`` s), or the
    animated GIF fallback."""
    if mime.startswith("video/"):
        st.video(data, format=mime, start_time=start_time)
    else:
        st.image(data, caption="Animated GIF: this server cannot encode a browser video format.")


PREVIEWS = previews.Previews()  # one per server process: every session shares its conversions
PREVIEW_POLL_SECONDS = 0.5


def play_clip(path) -> None:
    """Play a clip once its browser preview is made; the page never waits for the transcode.

    The conversion runs in ``PREVIEWS``'s worker; until it is done a small fragment
    polls it and reruns the page once the preview is there.
    """
    with guard("Playing the clip", stop=False):
        ready = PREVIEWS.get(path)
        if ready is not None:
            show_media(*ready)
        else:
            st.fragment(_wait_for_preview, run_every=PREVIEW_POLL_SECONDS)(str(path))


def _wait_for_preview(path: str) -> None:
    with guard("Playing the clip", stop=False):
        if PREVIEWS.get(path) is not None:
            st.rerun()  # the whole page: its next run shows the player in place
        st.caption(":material/hourglass_top: Converting the clip for the browser…")


def sampled_frames(path, max_shown: int = 32,
                   where: str = "change it on the Dataset page") -> None:
    """The strip of frames the sidebar's sampler takes from a video, with their times."""
    with guard("Reading the sampled frames", stop=False):
        sampler = current_sampler()
        thumbs = cached_thumbnails(str(path), mtime_ns(path), sampler.config())
        st.markdown(f"**Sampled frames** · {sampler_caption()} ({where})")
        captions = [f"{t:.2f} s · frame {i}" for t, i in
                    zip(thumbs["timestamps"], thumbs["frame_ids"], strict=True)]
        st.image(thumbs["images"][:max_shown], caption=captions[:max_shown], width=124)
        if len(captions) > max_shown:
            st.caption(f"Showing the first {max_shown} of {len(captions)} sampled frames.")


def play_run_clip(run_dir: str, split: int, rel_path: str | None) -> None:
    """Play a clip named relative to the dataset a run was trained on."""
    from vidcore import runs

    if not rel_path:
        return
    config = runs.read_json(f"{run_dir}/{runs.CONFIG}", {}) or {}
    with guard("Finding the clip", stop=False):
        index = cached_index(runs.dataset_of(config), int(split), config.get("format", "auto"),
                             config.get("splits"), config.get("test_fraction", 0.3),
                             config.get("split_seed", 0))
        play_clip(index.root / rel_path)
        st.caption(rel_path)


# ---------------------------------------------------------------- prediction

CLASS_LIST_MAX = 12  # longer class lists go into an expander


def caption_with_classes(text: str, classes) -> None:
    """``text`` + "N actions: a, b, c." as a caption; a long list folds into an expander."""
    if len(classes) <= CLASS_LIST_MAX:
        st.caption(f"{text} {len(classes)} actions: {', '.join(classes)}.")
        return
    st.caption(f"{text} {len(classes)} actions.")
    with st.expander(f"The {len(classes)} actions it knows"):
        st.caption(", ".join(classes))


UPLOAD_HINT = ("Upload a video that plays in a video player (MP4, AVI, MOV, MKV or WebM); "
               "if yours does, convert it to H.264 MP4 and try again.")


def model_or_stop(run_dir: str):
    """The cached model of a run; stops the page with the reason when it cannot load."""

    with guard("Loading the model"):
        return cached_model(run_dir, model_version(run_dir))


def _predict_path(run_dir: str, path) -> dict:
    """Prediction, sampled-frame thumbnails and a browser preview of one video file."""
    from vidcore.predict import predict

    model = cached_model(run_dir, model_version(run_dir))
    prediction = predict(model, path).to_dict()
    # predict() does not hand back pixels; decoding the few sampled frames again is cheap.
    frames = read_frames(path, model.feature_spec.sampler)
    return {"prediction": prediction, "thumbs": webio.thumbnails(frames.images),
            "preview": webio.browser_clip(path)}


@st.cache_data(max_entries=16, show_spinner="Predicting…")
def _cached_file(run_dir: str, model_mtime: int, path: str, file_mtime: int) -> dict:
    return _predict_path(run_dir, path)


@st.cache_data(max_entries=8, show_spinner="Predicting…")
def _cached_upload(run_dir: str, model_mtime: int, digest: str, name: str, _data: bytes) -> dict:
    from vidcore.errors import VideoReadError

    try:
        with webio.saved_upload(_data, name) as path:
            result = _predict_path(run_dir, path)
    except VideoReadError as err:  # name the user's file, not the private temp path
        raise VideoReadError(name, err.reason) from None
    result["prediction"]["video"] = name
    return result


def predict_file(run_dir: str, path: str) -> dict:
    """``_predict_path`` of a dataset clip, cached per model and file version."""

    with guard("Predicting"):
        return _cached_file(run_dir, model_version(run_dir), path,
                            mtime_ns(path))


def predict_upload(run_dir: str, name: str, data: bytes) -> dict:
    """``_predict_path`` of uploaded bytes (saved privately, deleted after), cached by content."""
    import hashlib


    with guard("Reading the uploaded video", hint=UPLOAD_HINT):
        return _cached_upload(run_dir, model_version(run_dir),
                              hashlib.sha256(data).hexdigest(), name, data)
