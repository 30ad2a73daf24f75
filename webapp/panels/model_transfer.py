"""Take a model away (download buttons per export format) or bring one in (bundle upload).

Used by the Evaluate page (downloads and the upload) and the Predict page (downloads).
Exports take seconds (a TFLite conversion about 20 s), so each file is made when its
button is clicked, on Streamlit's download thread, and cached per model version.
"""

import streamlit as st

from vidcore import export, runs
from vidcore.models.loading import model_version
from webapp import state
from webapp.boundary import guard

FORMATS = {  # format -> (button label, file suffix, mime type)
    "bundle": ("Bundle for another vidcore (.zip)", "zip", "application/zip"),
    "tflite": ("TFLite model (.tflite)", "tflite", "application/octet-stream"),
    "savedmodel": ("TensorFlow SavedModel (.zip)", "zip", "application/zip"),
}
UPLOAD_KEY = "bundle-upload"


@st.cache_data(max_entries=6, show_spinner=False)
def _export_bytes(run_dir: str, fmt: str, model_mtime: int) -> bytes:
    data = {"bundle": export.bundle_bytes, "tflite": export.tflite_bytes,
            "savedmodel": export.savedmodel_bytes}
    return data[fmt](run_dir)


def downloads(run_dir: str) -> None:
    """One download button per export format of the run (made on click, cached)."""
    with guard("Preparing the exports", stop=False):
        export.portable_config(runs.check_run_dir(run_dir))  # says why, before any click
        mtime = model_version(run_dir)
        name = runs.check_run_dir(run_dir).name
        st.caption("TFLite and SavedModel take raw uint8 frames [K, S, S, 3] (S: the "
                   "backbone's side, 224 for Lite0; the sampler rule is in the bundle's "
                   "model card) and give the clip's class probabilities; each file is made "
                   "when you click (TFLite: about 20 s).")
        for col, (fmt, (label, suffix, mime)) in zip(st.columns(len(FORMATS)), FORMATS.items(),
                                                      strict=True):
            col.download_button(
                label, data=lambda fmt=fmt: _export_bytes(run_dir, fmt, mtime),
                file_name=f"{name}-{fmt}.{suffix}", mime=mime, key=f"export-{fmt}",
                icon=":material/download:", on_click="ignore")


def upload() -> None:
    """An uploader for a bundle; a good one becomes a run and the chosen model."""
    data = st.file_uploader("Add a model from a bundle (.zip made by vidcore export)",
                            type=["zip"], key=UPLOAD_KEY)
    if data is None:
        return
    done = st.session_state.get("bundle-imported")
    if done and done[0] == data.file_id:  # the rerun after an import: say it once more
        st.success(f"Added {data.name} as run {done[1]}.", icon=":material/check_circle:")
        return
    with guard("Importing the bundle", stop=False):
        from vidcore.spaces import quotas

        quotas.note_upload()  # signed in: the per-user limits hold for bundles too
        quotas.check_disk(data.size)
        run_dir = export.import_bundle_bytes(data.getvalue(), data.name)
        st.session_state["bundle-imported"] = (data.file_id, run_dir.name)
        st.session_state[state.WANTED_RUN] = str(run_dir)
        st.rerun()


def panel(run_dir: str) -> None:
    """The Evaluate page's expander: downloads of this run and the bundle upload."""
    with st.expander("Take this model away, or bring one in", icon=":material/swap_horiz:"):
        downloads(run_dir)
        upload()
