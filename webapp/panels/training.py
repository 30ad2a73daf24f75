"""Training runs on the Train page: state badges, live progress and curves, a past run's row."""

from __future__ import annotations

import streamlit as st

from vidcore.errors import VidcoreError
from vidcore.views import charts, launch, tables
from webapp import pages
from webapp.state import TRAIN_RUN, WANTED_RUN

STATE_BADGES = {
    "waiting": ":violet-badge[:material/schedule: waiting in the queue]",
    "cancelled": ":gray-badge[:material/cancel: cancelled]",
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
    choice = state.get("head_choice") or {}
    if choice.get("head"):
        st.markdown(f"**Head kept: {choice['head']}** · {choice.get('why', '')}")
    for note in state.get("split_notes") or []:
        st.caption(f":material/info: {note}")


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
            st.switch_page(pages.script("evaluate"))
