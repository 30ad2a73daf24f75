"""My datasets: build a dataset in the browser (upload, zip, cut), see its groups, edit, check.

A thin shell over ``vidcore.workspace``: every button calls one library function.
The dataset being edited is the sidebar's "My datasets" choice, so the other pages
(Dataset, Train, Evaluate, Predict) work on it as soon as it is made.
"""

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from vidcore import words
from vidcore import workspace as ws
from vidcore.data.video import VIDEO_EXTENSIONS
from vidcore.errors import VidcoreError
from webapp import caches, media, sidebar, state
from webapp.boundary import end_page, guard

VIDEO_TYPES = [e.lstrip(".") for e in VIDEO_EXTENSIONS]
NOTICE = "datasets-notice"  # (kind, text) of the last change, shown after the rerun
UPLOADS = "datasets-uploads"  # bumped to empty the file uploaders after an add
LEVEL_ICONS = {"blocking": ":material/block:", "warning": ":material/warning:",
               "ok": ":material/check_circle:"}


def notify(kind: str, text: str) -> None:
    """Keep a message for the next run (buttons rerun the page)."""
    st.session_state[NOTICE] = (kind, text)


def changed(kind: str, text: str) -> None:
    """After a change: message, empty uploaders, fresh indexes on every page."""
    notify(kind, text)
    st.session_state[UPLOADS] = st.session_state.get(UPLOADS, 0) + 1
    caches.cached_index.clear()


def attempt(action: str, call, *args, **kwargs):
    """Run a library call; a ``VidcoreError`` becomes the page's notice. Returns the result."""
    try:
        return call(*args, **kwargs)
    except VidcoreError as err:
        notify("error", f"**{action} failed.** {str(err).rstrip('.')}.")
        return None


def added_text(result: dict) -> str:
    """What an add did, in words: clips added, tail dropped, files skipped with reasons."""
    text = f"Added {words.count(result['added'], 'clip')} to **{result['dataset']}**."
    if result.get("dropped_seconds"):
        text += (f" The last {result['dropped_seconds']:.1f} s were shorter than a piece "
                 "and dropped.")
    for skipped in result["skipped"][:10]:
        text += f"  \nSkipped *{skipped['name']}*: {skipped['reason']}"
    return text


def on_create() -> None:
    """Create the dataset typed in the form and make it the sidebar's choice."""
    name = st.session_state.get("new-dataset", "")
    if attempt("Creating the dataset", ws.create, name) is not None:
        sidebar.choose_my_dataset(name.strip())
        changed("success", f"Created **{name.strip()}**. Add classes and clips below.")


def on_restore() -> None:
    """Import an uploaded zip as a dataset (an export, or any zip of class folders)."""
    upload = st.session_state.get(f"restore-{st.session_state.get(UPLOADS, 0)}")
    if upload is None:
        notify("error", "Choose a zip to restore first.")
        return
    name = st.session_state.get("restore-name", "").strip() or None
    result = attempt("Restoring the zip", ws.import_zip, upload.name, upload, name)
    if result is not None:
        sidebar.choose_my_dataset(result["dataset"])
        changed("success", added_text(result))


def create_and_restore() -> None:
    """The create form and the restore-from-zip form, side by side."""
    left, right = st.columns(2)
    with left.form("create", border=True):
        st.markdown("**New dataset**")
        st.text_input("Name", key="new-dataset", placeholder="e.g. my-actions",
                      help="Letters, digits, '-' and '_'.")
        st.form_submit_button("Create", icon=":material/add:", on_click=on_create,
                              type="primary")
    with right.container(border=True):
        st.markdown("**Restore a dataset from its zip**")
        st.file_uploader("Zip", type=["zip"], key=f"restore-{st.session_state.get(UPLOADS, 0)}",
                         help="A zip downloaded here, or any zip with a folder per class.")
        st.text_input("Name (optional)", key="restore-name",
                      help="A new name creates the dataset; an existing one gets the clips.")
        st.button("Restore", icon=":material/unarchive:", on_click=on_restore)


def show_notice() -> None:
    """The message of the last change, once."""
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        kind, text = notice
        getattr(st, kind)(text, icon=LEVEL_ICONS.get(
            {"success": "ok", "error": "blocking"}.get(kind, "warning")))


def readiness_view(name: str) -> dict:
    """Per class clips and groups, and each finding with what to do."""
    info = ws.describe(name)
    cols = st.columns(4)
    cols[0].metric("Classes", len(info["classes"]), border=True)
    cols[1].metric("Clips", info["clips"], border=True)
    cols[2].metric("Recordings (groups)", info["groups"], border=True,
                   help="A split keeps every clip of a recording on one side, so test "
                        "clips never share a scene with training clips.")
    cols[3].metric("Ready to train", "yes" if info["ready"] else "not yet", border=True)
    for finding in info["findings"]:
        text = finding["message"][0].upper() + finding["message"][1:]
        if finding["action"]:
            text += f". **What to do:** {finding['action']}."
        show = {"ok": st.success, "warning": st.warning, "blocking": st.error}[finding["level"]]
        show(text, icon=LEVEL_ICONS[finding["level"]])
    if info["classes"]:
        st.dataframe(pd.DataFrame(info["classes"]).rename(columns={"groups": "recordings"}),
                     hide_index=True)
    return info


def class_picker(label: str, classes: list[str], key: str) -> str | None:
    """A class: an existing one, or a new name typed in."""
    return st.selectbox(label, classes, index=None, key=key, accept_new_options=True,
                        placeholder="Pick a class or type a new one")


def add_files_tab(name: str, classes: list[str], n: int) -> None:
    """Several video files for one class."""
    class_name = class_picker("Class", classes, f"files-class-{n}")
    files = st.file_uploader("Videos", type=VIDEO_TYPES, accept_multiple_files=True,
                             key=f"files-{n}")
    one = st.checkbox("These clips come from one recording", key=f"files-one-{n}",
                      help="Then they share a group, and a split keeps them on one side. "
                           "Names with a _gNN_ token (UCF101 style) set their own groups.")
    if st.button("Add the videos", icon=":material/upload:", key=f"files-add-{n}",
                 disabled=not (class_name and files)):
        with st.spinner("Checking every clip…"):
            result = attempt("Adding the videos", ws.add_clips, name, class_name,
                             [(f.name, f) for f in files], one_recording=one)
        if result is not None:
            changed("success", added_text(result))
        st.rerun()


def add_zip_tab(name: str, classes: list[str], n: int) -> None:
    """One zip: class folders inside, or clips of one class."""
    layout = st.radio("The zip holds", ("a folder per class", "clips of one class"),
                      horizontal=True, key=f"zip-layout-{n}")
    class_name = (class_picker("Class", classes, f"zip-class-{n}")
                  if layout == "clips of one class" else None)
    upload = st.file_uploader("Zip", type=["zip"], key=f"zip-{n}")
    one = st.checkbox("These clips come from one recording", key=f"zip-one-{n}")
    ready = upload is not None and (layout == "a folder per class" or class_name)
    if st.button("Add the zip", icon=":material/folder_zip:", key=f"zip-add-{n}",
                 disabled=not ready):
        with st.spinner("Checking the zip and every clip in it…"):
            if class_name:
                result = attempt("Adding the zip", ws.add_clips, name, class_name,
                                 [(upload.name, upload)], one_recording=one)
            else:
                result = attempt("Adding the zip", ws.add_zip, name, upload.name, upload,
                                 one_recording=one)
        if result is not None:
            changed("success", added_text(result))
        st.rerun()


def cut_tab(name: str, classes: list[str], n: int) -> None:
    """One long video of an action, cut into clips of N seconds."""
    class_name = class_picker("Class", classes, f"cut-class-{n}")
    upload = st.file_uploader("Long video", type=VIDEO_TYPES, key=f"cut-{n}")
    left, right = st.columns(2)
    seconds = left.number_input("Seconds a clip", 0.5, 60.0, 2.0, 0.5, key=f"cut-s-{n}")
    overlap = right.number_input("Overlap (seconds)", 0.0, 59.5, 0.0, 0.5, key=f"cut-o-{n}",
                                 help="Consecutive clips share this much video.")
    st.caption("Every piece belongs to the same recording (one group), so a split never "
               "puts pieces of it on both sides.")
    if st.button("Cut and add", icon=":material/content_cut:", key=f"cut-add-{n}",
                 disabled=not (class_name and upload)):
        with st.spinner("Cutting the video…"):
            result = attempt("Cutting the video", ws.cut_and_add, name, class_name,
                             upload.name, upload, seconds, overlap)
        if result is not None:
            changed("success", added_text(result))
        st.rerun()


def edit_classes(name: str, classes: list[str]) -> None:
    """Rename or delete a class."""
    left, mid, right = st.columns([2, 2, 2], vertical_alignment="bottom")
    old = left.selectbox("Class", classes, key="edit-class")
    new = mid.text_input("New name", key="edit-new")
    if right.button("Rename", icon=":material/edit:", disabled=not (old and new.strip())):
        if attempt("Renaming the class", ws.rename_class, name, old, new) is not None:
            changed("success", f"Renamed **{old}** to **{new.strip()}**.")
        st.rerun()
    sure = st.checkbox(f"Yes, delete {old} and all its clips", key="edit-sure")
    if st.button("Delete the class", icon=":material/delete:", disabled=not (old and sure)):
        count = attempt("Deleting the class", ws.delete_class, name, old)
        if count is not None:
            changed("success", f"Deleted **{old}** and its {words.count(count, 'clip')}.")
        st.rerun()


def clips_view(name: str, classes: list[str]) -> None:
    """Every clip with its group; one clip played with its sampled frames, moved or deleted."""
    table = pd.DataFrame(ws.clip_table(name))
    if table.empty:
        st.info("No clips yet: add some above.", icon=":material/video_library:")
        return
    st.dataframe(table[["class", "group_label", "display_name", "source", "duration", "clip"]]
                 .rename(columns={"group_label": "recording (group)", "display_name": "name"}),
                 hide_index=True, height=260)
    labels = {r["clip"]: f"{r['class']} · {r['display_name']} ({r['clip']})"
              for r in table.to_dict("records")}
    clip = st.selectbox("Clip", list(labels), format_func=labels.get, key="clip-pick")
    row = table.set_index("clip").loc[clip]
    player, strip = st.columns([2, 3])
    with player:
        media.play_clip(row["path"])
        st.caption(f"Recording: {row['group_label']} · source: {row['source']}")
    with strip:
        media.sampled_frames(row["path"])
    left, mid, right = st.columns([2, 1, 1], vertical_alignment="bottom")
    target = left.selectbox("Move to class", [c for c in classes if c != row["class"]],
                            index=None, accept_new_options=True,
                            key=f"clip-target-{clip}-{row['class']}",
                            placeholder="Pick a class or type a new one")
    if mid.button("Move", icon=":material/drive_file_move:", disabled=not target):
        if attempt("Moving the clip", ws.move_clip, name, clip, target) is not None:
            changed("success", f"Moved {row['display_name']} to **{target}**.")
        st.rerun()
    if right.button("Delete the clip", icon=":material/delete:"):
        if attempt("Deleting the clip", ws.delete_clip, name, clip) is not None:
            changed("success", f"Deleted {row['display_name']}.")
        st.rerun()


def download(name: str) -> None:
    """The dataset as one zip, to keep or to restore elsewhere."""
    if st.button("Prepare the zip", icon=":material/folder_zip:"):
        with st.spinner("Packing the dataset…"), guard("Packing the dataset", stop=False), \
                tempfile.TemporaryDirectory(prefix="vidcore-export-") as tmp:
            out = Path(tmp) / f"{name}.zip"
            ws.export_zip(name, out)
            st.session_state["export"] = (name, out.read_bytes())
    ready = st.session_state.get("export")
    if ready and ready[0] == name:
        st.download_button(f"Download {name}.zip ({len(ready[1]) / 2**20:.1f} MB)",
                           lambda: ready[1],  # handed over on click, not fetched at once
                           file_name=f"{name}.zip", mime="application/zip",
                           icon=":material/download:")


st.title("My datasets")
st.caption("Build a dataset from your own videos, right here: create it, add classes and "
           "clips, check that it can be split honestly, then train on it on **Train**. "
           "Limits on this server: "
           f"{ws.limits().describe(st.get_option('server.maxUploadSize'))}.")
show_notice()
with st.expander("Create a dataset, or restore one from a zip",
                 expanded=not ws.list_names()):
    create_and_restore()

if st.session_state.get(state.DATASET_SOURCE) != state.MINE or not ws.list_names():
    names = ws.list_names()
    if names:
        st.info("Pick which of your datasets to work on:", icon=":material/folder_open:")
        for each in names:
            st.button(f"Open {each}", key=f"open-{each}", on_click=sidebar.choose_my_dataset,
                      args=(each,))
    end_page()

name = st.session_state.get(state.MY_DATASET)
with guard("Opening the dataset"):
    st.header(name)
    st.caption(f"`{ws.resolve_dataset(name)}` · the sidebar's choice: every page uses it now.")
    info = readiness_view(name)
classes = [c["class"] for c in info["classes"]]
n = st.session_state.get(UPLOADS, 0)

st.subheader("Add clips")
ADD_WAYS = {"Video files": add_files_tab, "A zip": add_zip_tab,
            "Cut a long video": cut_tab}
way = st.radio("Add clips by", list(ADD_WAYS), horizontal=True, key="add-way",
               label_visibility="collapsed")
with st.container(border=True):
    ADD_WAYS[way](name, classes, n)

if classes:
    st.subheader("Classes")
    edit_classes(name, classes)
st.subheader("Clips and their recordings")
clips_view(name, classes)
st.subheader("Download")
download(name)
