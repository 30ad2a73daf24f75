"""The Dataset page's Map: every clip on a map, near-duplicates, likely label issues.

Mapping runs as a background process (``vidcore.views.map_jobs``); this section only
starts it and reads its folder, so the page stays responsive, and a reload or a
second tab shows the same progress. For a dataset of My datasets, an issue's clip
moves to the suggested class (or goes) in one click, and a near-duplicate pair offers
"keep one", through the workspace API so its manifest and recordings stay right.
"""

from __future__ import annotations

import streamlit as st

from vidcore.data.index import VideoIndex
from vidcore.features import FeatureSpec
from vidcore.views import map_jobs, map_view
from webapp import caches, dataset_choice, media
from webapp.boundary import guard
from webapp.state import DATASET_SOURCE, MINE, MY_DATASET

POLL_SECONDS = 1.0
PICKED = "map-picked-clip"  # the clip last clicked on the map
REMAP = "map-remap"  # set after a workspace edit: map the changed dataset again
EDITED = "map-edited"  # set by an edit's callback: the whole page must run again
ROWS = 200  # rows shown of each table


def section(index: VideoIndex) -> None:
    """The Map section for the chosen dataset under the sidebar's sampler."""
    st.subheader("Map")
    st.session_state.pop(EDITED, None)  # the whole page runs now
    spec = map_view.map_spec(dataset_choice.current_sampler())
    st.caption(f"Each point is a clip, placed by its {spec.backbone} features "
               f"({dataset_choice.sampler_caption()}): clips that look alike lie close. "
               "Click a point to play the clip.")
    with guard("Finding the dataset's map", stop=False):
        folder = map_jobs.job_folder(index, spec)
        state = map_jobs.job_state(folder)
        if state["state"] == "none" and st.session_state.pop(REMAP, False):
            map_jobs.start_map_job(index, spec)
            state = map_jobs.job_state(folder)
        if state["state"] == "done":
            media.fragment(show)(index, state["result"])
        elif state["state"] == "running":
            st.fragment(_watch, run_every=POLL_SECONDS)(str(folder))
        else:
            _offer_start(index, spec, state)


def _offer_start(index: VideoIndex, spec: FeatureSpec, state: dict) -> None:
    if state["state"] == "failed":
        st.error(f"**Mapping failed.** {state['error']}", icon=":material/error:")
    st.info(f"Mapping reads every clip's features ({len(index.records)} clips; missing ones "
            "are extracted first, which takes a while on a large dataset) and runs in the "
            "background: you can leave this page and come back.", icon=":material/scatter_plot:")
    if st.button("Map this dataset", type="primary", icon=":material/scatter_plot:",
                 key="map-start"):
        with guard("Starting the mapping", stop=False):
            map_jobs.start_map_job(index, spec)
        st.rerun()


def _watch(folder: str) -> None:
    state = map_jobs.job_state(folder)
    if state["state"] != "running":
        st.rerun()  # the whole page: its next run shows the map (or the failure)
    if state.get("stage") == "extracting" and state.get("total"):
        done, total = state.get("done", 0), state["total"]
        st.progress(min(1.0, done / total),
                    text=f"Mapping: features of {done} of {total} clips…")
    elif state.get("stage") == "mapping":
        st.progress(1.0, text=f"Mapping: laying out {state.get('clips', '')} clips, "
                              "searching near-duplicates and label issues…")
    else:
        st.progress(0.0, text="Mapping: starting…")


@st.cache_data(max_entries=8, show_spinner=False)
def _table(csv_path: str, mtime: int, result: dict):
    return map_view.map_table(csv_path, result)


def cached_table(result: dict):
    """``map_view.map_table`` of a finished job's result, cached per CSV version."""
    csv = result["map"]["file"]
    return _table(csv, caches.mtime_ns(csv), result)


def show(index: VideoIndex, result: dict) -> None:
    """The finished map: scatter, clicked clip, near-duplicates, label issues.

    Run as a fragment: a colour, a click or a row picked reruns this section only,
    not the whole page (13,320 clips: the videos table alone is heavy); after a
    workspace edit the whole page runs again, since the dataset changed.
    """
    if st.session_state.pop(EDITED, False):  # this fragment's own rerun, after an edit
        st.rerun()
    table = cached_table(result)
    cols = st.columns(3)
    cols[0].metric("Clips mapped", len(table), border=True,
                   help=f"{len(result.get('unreadable', []))} could not be read.")
    cols[1].metric("Near-duplicate pairs", result["duplicates_total"], border=True,
                   help=f"{result['cross_split_total']} across the train/test split "
                        f"(similarity ≥ {result['threshold']}).")
    cols[2].metric("Likely label issues", result["label_issues_total"], border=True)
    color = st.segmented_control("Colour by", list(map_view.COLOR_BY), default="class",
                                 key="map-color") or "class"
    event = st.plotly_chart(map_view.map_figure(table, color), key="dataset-map",
                            on_select="rerun", selection_mode="points",
                            config=map_view.PLOT_CONFIG)
    picked = map_view.picked_path(getattr(event, "selection", None))
    if picked:
        st.session_state[PICKED] = picked
    if st.session_state.get(PICKED) in set(table["path"]):
        _play(index, st.session_state[PICKED])
    _duplicates(index, result)
    _issues(index, result)


def _play(index: VideoIndex, rel_path: str, frames: bool = True) -> None:
    path = index.root / rel_path
    if frames:
        player, strip = st.columns([2, 3])
        with player:
            media.play_clip(path)
            st.caption(rel_path)
        with strip:
            media.sampled_frames(path, 16, "change it in the sidebar")
    else:
        media.play_clip(path)
        st.caption(rel_path)


def _listed(title: str, frame, empty: str, columns: dict) -> bool:
    """A table under its title (``ROWS`` rows at most); False when it has none."""
    st.markdown(title)
    if frame.empty:
        st.caption(empty)
        return False
    st.dataframe(frame.head(ROWS), hide_index=True, column_config=columns,
                 height=min(300, 35 * (min(len(frame), ROWS) + 1) + 3))
    return True


def _duplicates(index: VideoIndex, result: dict) -> None:
    pairs = map_view.duplicates_frame(result).head(ROWS)
    if not _listed("**Near-duplicates** · across the split first: a test clip with a twin in "
                   "training inflates the test accuracy.", pairs, "No two clips are that alike.",
                   {"similarity": st.column_config.NumberColumn(format="%.3f"),
                    "cross_split": "across the split", "same_group": "same recording"}):
        return
    row = st.selectbox("Play a pair side by side", range(len(pairs)), index=None,
                       key="map-pair", placeholder="Choose a pair",
                       format_func=lambda i: f"{pairs['a'][i]} ↔ {pairs['b'][i]} "
                                             f"({pairs['similarity'][i]:.3f})")
    if row is None:
        return
    a, b = pairs["a"][row], pairs["b"][row]
    for col, (rel, other) in zip(st.columns(2), ((a, b), (b, a)), strict=True):
        with col:
            _play(index, rel, frames=False)
            if _workspace_name():
                _edit_button(f"Keep this one (delete {other.split('/')[-1]})",
                             "delete", other, key=f"keep-{rel}-{other}")


def _issues(index: VideoIndex, result: dict) -> None:
    issues = map_view.issues_frame(result).head(ROWS)
    if not _listed("**Likely label issues** · clips whose features fit another class better "
                   "than their own, most likely first.", issues, "No clip looks mislabelled.",
                   {"score": st.column_config.NumberColumn(
                       "label quality", format="%.3f",
                       help="0: surely mislabelled, 1: surely right")}):
        return
    row = st.selectbox("Look at one", range(len(issues)), index=None, key="map-issue",
                       placeholder="Choose a clip",
                       format_func=lambda i: f"{issues['path'][i]}: filed as "
                                             f"{issues['given'][i]}, looks like "
                                             f"{issues['suggested'][i]}")
    if row is None:
        return
    issue = issues.iloc[row]
    _play(index, issue["path"])
    if _workspace_name():
        left, right = st.columns(2)
        with left:
            _edit_button(f"Move it to {issue['suggested']}", "move", issue["path"],
                         issue["suggested"], key=f"move-{issue['path']}")
        with right:
            _edit_button("Delete it", "delete", issue["path"], key=f"delete-{issue['path']}")


def _workspace_name() -> str | None:
    """The My-datasets name when the chosen dataset is one (edits are offered then)."""
    if st.session_state.get(DATASET_SOURCE) == MINE:
        return st.session_state.get(MY_DATASET) or None
    return None


def _edit_button(label: str, action: str, rel_path: str, target: str | None = None,
                 key: str = "") -> None:
    st.button(label, key=key, on_click=_edit, args=(action, rel_path, target),
              icon=":material/drive_file_move:" if action == "move" else ":material/delete:")


def _edit(action: str, rel_path: str, target: str | None) -> None:
    """Move or delete a workspace clip, then map the changed dataset again."""
    from vidcore import workspace

    name = _workspace_name()
    with guard("Changing the dataset", stop=False):
        if action == "move":
            workspace.move_clip(name, rel_path, target)
            st.toast(f"Moved {rel_path} to {target}.", icon=":material/check_circle:")
        else:
            workspace.delete_clip(name, rel_path)
            st.toast(f"Deleted {rel_path}.", icon=":material/check_circle:")
        caches.cached_index.clear()
        st.session_state[REMAP] = st.session_state[EDITED] = True
        for key in (PICKED, "map-pair", "map-issue"):  # rows of the old tables
            st.session_state.pop(key, None)
