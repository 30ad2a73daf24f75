"""Train: start a run in the background, watch it live, stop it, pick the active model."""

import streamlit as st

from vidcore import finetune_cost, runs
from vidcore.data.sampling import create_sampler
from vidcore.data.splits import split_notes
from vidcore.errors import VidcoreError
from vidcore.models.backbones import imagenet_weights_available, list_backbones
from vidcore.models.heads import get_head, list_heads
from vidcore.presets import PRESETS, cost_line, list_presets
from vidcore.views import launch
from webapp import dataset_choice, signin, state
from webapp.boundary import guard
from webapp.panels import queue, training

LIVE_SECONDS = 1.5  # how often a running run is re-read
SAMPLERS = ("uniform", "segments", "fps")
START_ERROR = "train-start-error"  # why the last Start click was refused
QUEUED = signin.auth_on()  # signed in: trainings go through the server's queue

st.title("Train")
dataset = dataset_choice.dataset_path()
split = int(st.session_state.get(state.DATASET_SPLIT, 1))
st.caption(f"Dataset `{dataset}`, split {split} (change it in the sidebar). Training runs in "
           "the background: you can leave this page, reload it or close the tab.")
index, _ = dataset_choice.index_or_error()
for note in split_notes(index) if index is not None else []:
    st.info(note, icon=":material/info:")  # trained, but not measured: say so before Start


def backbone_label(name: str) -> str:
    """Backbone with a note when its ImageNet weights are not installed."""
    missing = "" if imagenet_weights_available(name) else " (ImageNet weights not installed)"
    return f"{name}{missing}"


def recipe_form(preset: str) -> list[str] | None:
    """The options, prefilled from the preset; the ``vidcore train`` argv once submitted."""
    values = PRESETS[preset].values
    sampler = values["sampler"].config()
    with st.form(f"train-{preset}", border=True):  # one form per preset: its own defaults
        c1, c2, c3 = st.columns(3)
        backbone = c1.selectbox("Backbone", list_backbones(), format_func=backbone_label,
                                index=list_backbones().index(values["backbone"]))
        head = c2.selectbox("Head", list_heads(), index=list_heads().index(values["head"]),
                            help=" · ".join(f"{h}: {get_head(h).description}"
                                            for h in list_heads()))
        weights = c3.radio("Backbone weights", ("imagenet", "none"), horizontal=True,
                           format_func={"imagenet": "ImageNet", "none": "none (untrained)"}.get,
                           help="Random weights make meaningless features; only for trying "
                                "the pipeline quickly.")
        c1, c2, c3 = st.columns(3)
        sampler_name = c1.selectbox("Frame sampler", SAMPLERS,
                                    index=SAMPLERS.index(sampler["name"]))
        frames = c2.number_input("Frames per clip (uniform, segments)", 2, 64,
                                 int(sampler.get("frames") or 8))
        rate = c3.number_input("Frames per second (fps)", 0.25, 10.0,
                               float(sampler.get("rate") or 1.0), 0.25)
        c1, c2, c3 = st.columns(3)
        epochs = c1.number_input("Epochs (at most)", 1, 500, int(values.get("epochs", 60)),
                                 help="Training stops earlier when validation loss stops "
                                      "improving (patience), or when you press Stop.")
        lr = c2.number_input("Learning rate", 1e-5, 1.0, float(values.get("learning_rate", 1e-3)),
                             format="%.4f", step=1e-4)
        val = c3.slider("Validation share of training groups", 0.1, 0.5,
                        float(values.get("val_fraction", 0.15)), 0.01)
        if not st.form_submit_button("Start training", type="primary",
                                     icon=":material/play_arrow:"):
            return None
    params = {"rate": rate} if sampler_name == "fps" else {"frames": int(frames)}
    return launch.train_argv(
        dataset, split, preset, sampler=create_sampler(sampler_name, **params),
        backbone=backbone, head=head, weights=weights, epochs=int(epochs), lr=lr,
        val_fraction=val)


def live_view(run_dir: str) -> None:
    """One run: state, extraction progress, curves, Stop; reruns the page as it starts and ends."""
    now = launch.run_state(run_dir)
    records = runs.read_metrics(run_dir)
    config = runs.read_json(f"{run_dir}/{runs.CONFIG}") or \
        (runs.read_json(f"{run_dir}/{launch.LAUNCH}", {}) or {}).get("config") or \
        (runs.read_json(f"{run_dir}/{launch.QUEUED}", {}) or {}).get("config", {})
    busy = now["state"] in ("starting", "running")
    waiting = now["state"] == "waiting"
    head, stop = st.columns([5, 1])
    head.markdown(f"**{run_dir.rsplit('/', 1)[-1]}** · {training.state_badge(now['state'])}  \n"
                  f"{launch.describe_config(config)}")
    if busy and stop.button("Stop", icon=":material/stop:", key=f"stop-{run_dir}"):
        with guard("Stopping the run", stop=False):
            launch.request_stop(run_dir)
            st.toast("Stop requested: the run ends after its current batch and keeps its "
                     "best model.")
    training.render_run_progress(now, records, run_dir)
    seen = st.session_state.get(f"state-{run_dir}", now["state"])
    st.session_state[f"state-{run_dir}"] = now["state"]
    if seen != now["state"] and (seen in ("waiting", "starting") or not (busy or waiting)):
        # The run has just got its config, or has ended: refresh the run list as well,
        # and keep watching this run once it is over.
        st.session_state[state.TRAIN_RUN] = run_dir
        if runs.model_file(run_dir) is not None:  # Evaluate and Predict open on it
            st.session_state[state.WANTED_RUN] = run_dir
        st.rerun()


preset = st.selectbox("Preset", list_presets(),
                      format_func=lambda p: f"{p} — {PRESETS[p].description}")
st.caption(cost_line(preset))
if PRESETS[preset].values.get("finetune_stages"):  # the backbone trains too: say its cost
    st.caption(finetune_cost.expected_line(len(index.train) if index is not None else 0))
argv = recipe_form(preset)
if argv is not None:
    st.session_state[START_ERROR] = None
    with guard("Starting the training run", stop=False):
        try:
            if QUEUED:  # a shared server: every training waits its turn
                st.session_state[state.TRAIN_RUN] = queue.submit(argv)
            else:
                st.session_state[state.TRAIN_RUN] = str(launch.start_training(argv))
        except VidcoreError as err:
            # The live view reruns the page when a run changes state; keep the refusal
            # on screen through that rerun.
            st.session_state[START_ERROR] = str(err)
            raise
        if not QUEUED:
            st.toast("Training started.", icon=":material/rocket_launch:")
elif st.session_state.get(START_ERROR):
    st.error(f"**Starting the training run failed.** {st.session_state[START_ERROR]}",
             icon=":material/error:")

all_runs = runs.list_runs()
watched = st.session_state.get(state.TRAIN_RUN) or launch.busy_run()
watched = str(watched) if watched else None
if QUEUED:
    queue.queue_panel()
if watched:
    st.subheader("Live")
    busy = launch.run_state(watched)["state"] in ("waiting", "starting", "running")
    with st.container(key="live"):
        st.fragment(live_view, run_every=LIVE_SECONDS if busy else None)(watched)

st.subheader("Runs")
if not all_runs and not watched:
    st.info("No runs yet. Start one above; the line under the preset says what it costs.",
            icon=":material/info:")
active = runs.active_model()
for run in all_runs[:20]:
    training.run_row(run, is_active=runs.same_run(active, run["path"]))
if len(all_runs) > 20:
    st.caption(f"The 20 newest of {len(all_runs)} runs; all are under "
               f"`{runs.default_runs_dir()}` (`vidcore runs` lists them).")
