"""Dataset: what the chosen dataset holds, whether its split is honest, and any clip up close."""

import streamlit as st

from vidcore.views import charts, tables
from webapp import caches, dataset_choice, media
from webapp.boundary import end_page
from webapp.panels import dataset_map

MAX_STRIP = 32  # frames shown in the strip; the fps sampler can pick hundreds
MAX_CHOICES = 200  # clips offered in the clip picker at once

st.title("Dataset")
index = dataset_choice.current_index()
st.caption(f"`{index.root}` · format **{index.format}** · split {index.split} "
           f"(from {index.splits_source})")

videos = tables.videos_frame(index)
groups = tables.groups_frame(index)
durations = caches.cached_durations(tuple(str(index.path_of(r)) for r in index.records))
cols = st.columns(4)
cols[0].metric("Classes", len(index.classes), border=True)
cols[1].metric("Videos", len(videos), border=True,
               help=f"{len(index.train)} train, {len(index.test)} test, "
                    f"{len(index.records) - len(index.train) - len(index.test)} unused")
cols[2].metric("Groups", len(groups), border=True,
               help="Source videos: clips of one group share actor, scene and camera.")
cols[3].metric("Total duration" + (" (estimate)" if durations["estimated"] else ""),
               tables.format_duration(durations["total_seconds"]), border=True,
               help=tables.duration_help(durations))

st.subheader("Videos per class and split")
st.plotly_chart(charts.counts_bar(tables.counts_frame(index)))

st.subheader("Split and groups")
leaking = index.leaking_groups()
if leaking:
    st.error(f"**{len(leaking)} groups have clips on both sides of the split** "
             f"(e.g. {', '.join(leaking[:3])}). Clips of one group share actor and scene, "
             "so the test accuracy will be inflated. Use the official split lists, or a "
             "generated split (a folder per class), which keeps each group on one side.",
             icon=":material/error:")
else:
    st.success(f"No group is on both sides of the split: "
               f"{index.groups_per_split()['train']} train groups, "
               f"{index.groups_per_split()['test']} test groups.", icon=":material/check_circle:")
with st.expander(f"Groups ({len(groups)})"):
    st.dataframe(groups, hide_index=True, height=260)

st.subheader("Missing and unlisted files")
if not index.missing and not index.unlisted:
    st.success("Every listed video is on disk and every video on disk is listed.",
               icon=":material/check_circle:")
for title, paths, why in (
    ("listed in the split files but missing on disk", index.missing,
     "They are left out of training and evaluation."),
    ("on disk but in no list of this split", index.unlisted, "They are never used."),
):
    if paths:
        st.warning(f"**{len(paths)} videos {title}.** {why}", icon=":material/warning:")
        with st.expander(f"Show the {len(paths)} paths"):
            st.dataframe({"path": list(paths)}, hide_index=True, height=200)

st.subheader("Videos")
left, mid, right = st.columns([2, 2, 1])
text = left.text_input("Search path or group", placeholder="e.g. g08 or JumpRope")
classes = mid.multiselect("Classes", index.classes, placeholder="All classes")
splits = right.multiselect("Splits", sorted(videos["split"].unique()), placeholder="All")
shown = tables.filter_videos(videos, text, classes, splits)
st.caption(f"{len(shown)} of {len(videos)} videos")
st.dataframe(shown, hide_index=True, height=280)

dataset_map.section(index)

st.subheader("Look at one clip")
if shown.empty:
    st.info("No video matches the filters above; clear them to pick a clip.",
            icon=":material/filter_alt_off:")
    end_page()
if len(shown) > MAX_CHOICES:  # a 13,320-entry selectbox takes the browser seconds
    st.caption(f"The list below holds the first {MAX_CHOICES} of the {len(shown)} matching "
               "videos: type part of a name (e.g. `g08_c03`) or a group above to find another.")
choice = st.selectbox("Video", shown["path"].head(MAX_CHOICES),
                      help="The search and filters above narrow this list.")
path = index.path_of(index.find(choice))
player, strip = st.columns([2, 3])
with player:
    media.play_clip(path)
    st.caption("Shown converted for the browser (H.264, or WebM where this server cannot "
               "write H.264): browsers cannot play UCF101's MPEG-4 Part 2 (XviD) AVI files.")
with strip:
    media.sampled_frames(path, MAX_STRIP, "change it in the sidebar")
