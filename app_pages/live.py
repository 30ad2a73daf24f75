"""Live: what the camera sees, named as it happens (a thin shell over vidcore.stream)."""

import tempfile
from pathlib import Path

import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from vidcore import clips, workspace
from vidcore.data.video import resize_frame
from vidcore.models.loading import model_version
from vidcore.stream import StreamClassifier, window_plan
from vidcore.views import charts, ice, stream_tables
from vidcore.views.live import LiveSession, window_note
from webapp import live_link, media, model_choice
from webapp.boundary import guard

SESSION = "live-session"
CAMERA = "live-camera"  # the webrtc_streamer key
CLIP = "live-clip"
CONNECT_LIMIT_S = 20.0  # Start pressed, no frame yet: say what to check
HISTORY_S = 30.0
TOP = 3
# While the camera runs the label redraws this often, the chart and frames less often:
# drawing costs CPU in the server and the browser, which the camera's frames need too.
REFRESH_S, HISTORY_REFRESH_S = 1.0, 3.0
# FIXED_PLACES: in the two polling fragments every container is drawn in every run and
# keeps its index (an optional message lives inside a container of its own, the frame
# strip is always K columns), and the fragments keep theirs on the page. Why (issue 28,
# the blank page after Keep): when Streamlit starts a fragment's next run before the last
# run's messages went out, it drops that run's unsent deltas but keeps its references to
# large elements the browser has cached (an image sent again unchanged), so such a
# reference arrives without the containers it goes in. Where that place held an element
# (a warning drawn before the picture), the browser cannot place it ("'setIn' cannot be
# called on an ElementNode"), unmounts the whole app and closes its connection.
THUMB_WIDTH = 120
PICTURE_WIDTH = 320  # the newest classified frame, as the camera picture
# The component's own messages, in words that say what to do.
TRANSLATIONS = {
    "media_api_not_available": "This browser offers no camera to this page. Open the app "
                               "at http://localhost (or over HTTPS): browsers give cameras "
                               "only to secure pages.",
    "device_not_available": "No camera found. Plug one in (or free it from another app) "
                            "and press Start again.",
    "device_access_denied": "Camera permission denied. Allow the camera for this site in "
                            "the browser's address bar, then press Start again.",
}


@st.cache_resource(show_spinner="Preparing the model for live frames…")
def warmed_up(run_dir: str, model_mtime_ns: int) -> bool:
    """Build and trace the shared model once per server, before a camera waits on it."""
    StreamClassifier(model_choice.model_or_stop(run_dir)).warm_up()
    return True

# What the component's own error lines (``NAME: message``) mean, and what to do.
CAMERA_HELP = f"""
- **NotAllowedError** (permission denied): allow the camera for this site (the camera
  icon in the address bar), then press Start again.
- **NotFoundError** or **NotReadableError**: no camera, or another app is using it.
  Plug one in or close the other app, then press Start again.
- **Media API not available**: the page is not secure. Open it as `http://localhost`
  or over HTTPS.
- **Taking longer than expected** / nothing arrives: the browser and this server cannot
  reach each other. On one machine or network this works without settings; for a
  remote server set `{ice.ENV}` to a STUN/TURN server (README, Live).
"""


def session() -> LiveSession:
    """This browser session's live state (its own stream; the model is shared)."""
    if SESSION not in st.session_state:
        st.session_state[SESSION] = LiveSession()
    return st.session_state[SESSION]


def settings(plan) -> dict:
    """Threshold and smoothing from the user; the ``StreamClassifier`` options."""
    left, right = st.columns(2)
    threshold = left.slider("Unsure below", 0.0, 1.0, 0.5, 0.05, key="live-threshold",
                            help="A label whose confidence is below this shows as unsure.")
    smooth = right.toggle("Smooth over steps", True, key="live-smooth",
                          help="Average each verdict with the previous ones (exponential "
                               "moving average): steadier, a little slower to change.")
    return {"threshold": threshold, "smoothing": 0.5 if smooth else None,
            "min_frames": max(2, plan.frames // 2)}


def show_label(step, stats, frames: list) -> None:
    """The newest classified frame, the current label, large, with its confidence and
    the stream's speed (and what the window really spans when this computer is slow)."""
    with st.container(key="live-picture"):  # always drawn: see FIXED_PLACES
        if frames:  # send-only WebRTC draws no picture of its own: show what the model saw
            st.image(media.frame(frames[-1][1]), width=PICTURE_WIDTH,
                     caption="The newest frame the model classified")
    with st.container(key="live-label"):
        if step is None:
            st.markdown("## …")
            st.caption("Filling the first window…")
        elif step.unfamiliar:
            st.markdown("## unfamiliar")
            st.caption("Unlike the clips this model was trained on: no answer "
                       f"(its best guess would be {step.label} {step.confidence:.0%})")
        elif step.unsure:
            st.markdown("## unsure")
            st.caption(f"best guess {step.label} {step.confidence:.0%}")
        else:
            st.markdown(f"# {step.label}")
            st.caption(f"confidence {step.confidence:.0%} · {step.frames} frames in the window")
    a, b, c = st.columns(3)
    a.metric("Processed frames/s", f"{stats.processed_fps:.1f}")
    b.metric("Arrival to label", "–" if stats.delay_s is None else f"{stats.delay_s:.2f} s")
    c.metric("Dropped frames", stats.dropped,
             help="Frames the model wanted but could not keep up with (newest kept).")
    with st.container(key="live-count"):
        st.caption(f"{stats.processed:,} frames classified of {stats.offered:,} that arrived "
                   f"({stats.kept:,} kept at the model's rate)")
    note = window_note([t for t, _ in frames], plan, stats.processed_fps)
    if note:
        st.warning(note, icon=":material/speed:")


def show_history(live, aggregator: str) -> None:
    """Rolling chart of the top classes and the window's frames with their times (both
    containers always drawn, the strip always K columns wide: see FIXED_PLACES)."""
    steps = [s.to_dict(live.classifier.classes) for s in live.history()]
    with st.container(key="live-chart"):
        if steps:
            now = steps[-1]["time"]
            table = stream_tables.step_probabilities(steps, aggregator, TOP, now=now)
            st.plotly_chart(charts.live_probability_lines(table, HISTORY_S,
                                                           live.classifier.classes))
    frames = live.window_frames()
    with st.container(key="live-frames"):
        st.markdown(f"**The {len(frames)} frames of the current window**" if frames else "")
        now = frames[-1][0] if frames else 0.0
        for col, (t, image) in zip(st.columns(live.classifier.plan.frames), frames, strict=False):
            col.image(media.frame(thumbnail(image)), caption=f"{t - now:+.2f} s")


def thumbnail(image):
    """A small copy for the frame strip (less to encode and send each redraw)."""
    h, w = image.shape[:2]
    return resize_frame(image, (THUMB_WIDTH, max(2, round(h * THUMB_WIDTH / w))))


def show_record(live) -> None:
    """Keep the last N seconds as a clip file to download."""
    seconds = st.slider("Seconds to keep", 1, int(live.record_s), int(live.record_s),
                        key="live-record-seconds")
    if st.button("Keep the last seconds as a clip", icon=":material/fiber_manual_record:",
                 key="live-record"):
        with guard("Writing the clip", stop=False):
            old = st.session_state.get(CLIP)
            out = Path(tempfile.mkdtemp(prefix="vidcore-live-"))
            st.session_state[CLIP] = str(clips.write_clip(live.recorded(seconds), out))
            if old:  # one clip per session on disk
                Path(old).unlink(missing_ok=True)
    clip = st.session_state.get(CLIP)
    if clip and Path(clip).is_file():
        st.download_button(f"Download {Path(clip).name}", Path(clip).read_bytes(),
                           file_name=Path(clip).name, mime="video/x-msvideo",
                           icon=":material/download:", on_click="ignore")
        send_to_dataset(Path(clip))


def send_to_dataset(clip: Path) -> None:
    """Add the kept clip to a class of one of the user's datasets (My datasets)."""
    names = workspace.list_names()
    if not names:
        st.caption("Create a dataset on **My datasets** to collect recorded clips in it.")
        return
    with st.form("live-send", border=True):
        st.markdown("**Add this clip to one of My datasets**")
        left, right = st.columns(2)
        name = left.selectbox("Dataset", names, key="live-send-dataset")
        cls = right.text_input("Class (a new one is created)", key="live-send-class")
        if st.form_submit_button("Add the clip", icon=":material/add:"):
            with guard("Adding the clip", stop=False):
                added = workspace.add_clips(name, cls, [(clip.name, clip)], source="camera")
                st.success(f"Added to {name} / {cls.strip()} ({added['added']} clip).",
                           icon=":material/check:")


st.title("Live")
run_dir = model_choice.pick_model()
model = model_choice.model_or_stop(run_dir)
plan = window_plan(model)
warmed_up(run_dir, model_version(run_dir))
st.caption(f"Point the camera at an action and press Start. The model looks at the last "
           f"{plan.seconds:g} s as {plan.frames} frames (one every {plan.interval:.2f} s) and "
           f"knows {len(model.classes)} actions: {', '.join(model.classes)}.")
live_session = session()
live_session.configure(model, **settings(plan))
with guard("Reading the WebRTC settings"):
    rtc = ice.rtc_configuration()

# The camera component ends the stream on a "disconnected" that a busy computer reports
# for a moment (issue 28, after Keep): hold it until it lasts (webapp.live_link).
live_link.patient_consent()  # and the server's end: late answers of a busy browser
with st.container(key="live-link", height=1, border=False):
    st.html(live_link.hold_script(), unsafe_allow_javascript=True)


def camera_changed() -> None:
    """The component's state changed: note when the browser stopped (for the reason)."""
    state = st.session_state[CAMERA].state
    if not state.playing and not state.signalling:
        live_session.browser_stopped()


ctx = webrtc_streamer(
    key=CAMERA, mode=WebRtcMode.SENDONLY, rtc_configuration=rtc,
    media_stream_constraints={"video": True, "audio": False},
    video_frame_callback=live_session.on_frame, on_video_ended=live_session.on_ended,
    on_change=camera_changed, translations=TRANSLATIONS)
active = ctx.state.playing or ctx.state.signalling
hint = st.empty()  # one place whether shown or not: the fragments below keep theirs
if not ctx.state.playing:  # the component shows browser errors by their raw names
    hint.caption(":material/help: If Start shows **NotFoundError** or **NotReadableError**, the "
               "browser found no camera, or another app is using it: plug one in or close "
               "the other app, then press Start again.")
with st.expander("The camera does not start?", icon=":material/help:"):
    st.markdown(CAMERA_HELP)
if not active:
    live_session.stop()
    live_session.connect_since = None
elif live_session.connect_since is None:
    live_session.connect_since = live_session.now()


@st.fragment(run_every=REFRESH_S if active else None)
def panel() -> None:
    """Redrawn every REFRESH_S while the camera runs. Its notes go in one container that
    is always drawn first, so what follows keeps its place (see FIXED_PLACES)."""
    with st.container(key="live-notes"):
        live = notes()
    if live is not None:
        show_label(live.latest(), live.stats(), live.window_frames())


def notes():
    """The panel's warnings and errors; the stream to show, or None before the first."""
    waited = live_session.waited() if active else None
    if waited is not None and waited > CONNECT_LIMIT_S:
        st.warning(f"No video has reached the server {waited:.0f} s after Start. Check that "
                   "the browser allowed the camera, that it and this server can reach each "
                   "other (same machine or network), and, for a remote server, that "
                   f"{ice.ENV} names a STUN/TURN server (README, Live).",
                   icon=":material/wifi_off:")
    live = live_session.stream
    error = live_session.error or (live.stats().error if live else None)
    if error:
        st.error(f"Classifying the camera failed: {error}", icon=":material/error:")
    if live is None:
        if not active:
            st.info("Press **Start** and allow the camera.", icon=":material/videocam:")
        return None
    silent = live_session.silent_for() if active else None
    if silent is not None:
        side = ("the server's end of the connection has closed"
                if live_session.ended_on_server else "the connection is interrupted or the "
                "camera stopped sending")
        st.warning(f"No video for {silent:.0f} s: {side}. Waiting for it to come back; "
                   "press Stop, then Start, if it does not.", icon=":material/wifi_off:")
    if not active:
        if live_session.stop_reason:
            st.error(f"Stopped by itself. {live_session.stop_reason}",
                     icon=":material/link_off:")
        else:
            st.info("Stopped. The last results stay here until the next Start.",
                    icon=":material/stop_circle:")
    return live


@st.fragment(run_every=HISTORY_REFRESH_S if active else None)
def history() -> None:
    """The chart and the frames: redrawn less often (plotly and images cost the most)."""
    live = live_session.stream
    if live is not None:
        show_history(live, model.primary)
        show_record(live)


panel()
history()
