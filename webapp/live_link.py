"""Keep the Live page's camera connection through the moments a busy computer is slow.

Two things ended a healthy stream on a loaded 2-core machine (issue 28: "the stream
stopped by itself a few seconds after Keep"; Keep's clip encoding adds to the load),
both seen in the browser test with a fake camera at load averages of 6-13:

1. The browser side. streamlit-webrtc's camera component (0.79, its newest release)
ends the stream as soon as the browser reports the connection ``disconnected``. By the
WebRTC specification that state is transient: the browser's liveness checks missed their
answers for a moment and the connection "may come back without further action". On a
busy computer it does so often: Chromium reported ``disconnected`` and ``connected``
again within the same millisecond, and the component had already stopped.

``hold_script()`` is a script for the app's own page (``st.html(...,
unsafe_allow_javascript=True)``). The component's frame is served from the app's own
origin, so the page can reach into it: each time the frame loads, the script wraps the
frame's ``RTCPeerConnection.prototype.addEventListener`` so that a listener of
``connectionstatechange`` hears a ``disconnected`` only when it lasted ``GRACE_S``
seconds. ``connected``, ``failed`` and ``closed`` reach it at once (a held
``disconnected`` is dropped when the connection comes back). The frame is marked with
``window.__vidcoreGraceMs`` so a test can check that the hold is in place.

2. The server side. aioice (under aiortc) checks every 5 s that the browser still
answers (consent freshness, RFC 7675), waits 0.5 s for each answer and closes the
connection after 6 late or missing answers in a row, about 30 s. A browser starved of
CPU answers late: the server closed connections whose video was still arriving ("Consent
to send expired" with frames up to 1.5 s before). ``patient_consent`` raises that count
to CONSENT_FAILURES (about 2 minutes): a single answer in time resets it, and a browser
that is really gone is still let go (and its session's end stops the stream anyway).
"""

from __future__ import annotations

import aioice.ice

GRACE_S = 10.0  # a "disconnected" this long is a lost connection (Chromium then says failed)
COMPONENT_TITLE = "streamlit_webrtc.component.webrtc_streamer"
CONSENT_FAILURES = 24  # consent checks (every 5 s) missed in a row before the server gives up

_SCRIPT = """<script>
(() => {
  const GRACE_MS = __GRACE_MS__;
  const TITLE = "__TITLE__";
  if (window.__vidcoreHold) return;  // once per browser tab: reruns redraw this element
  window.__vidcoreHold = true;
  function hold(frame) {
    let win;
    try { win = frame.contentWindow; } catch (e) { return; }  // not our origin: leave it
    if (!win || !win.RTCPeerConnection || win.__vidcoreGraceMs) return;
    if (!win.location.href.includes("streamlit_webrtc")) return;  // still about:blank
    const proto = win.RTCPeerConnection.prototype;
    const add = proto.addEventListener;
    proto.addEventListener = function (type, listener, options) {
      if (type !== "connectionstatechange" || typeof listener !== "function")
        return add.call(this, type, listener, options);
      const pc = this;
      let timer = null;
      const held = function (event) {
        if (pc.connectionState === "disconnected") {
          if (timer === null) timer = win.setTimeout(() => {
            timer = null;
            if (pc.connectionState === "disconnected") listener.call(pc, event);
          }, GRACE_MS);
          return;
        }
        if (timer !== null) { win.clearTimeout(timer); timer = null; }
        listener.call(pc, event);
      };
      return add.call(this, type, held, options);
    };
    win.__vidcoreGraceMs = GRACE_MS;
  }
  function watch(frame) {
    if (frame.__vidcoreWatched) return;
    frame.__vidcoreWatched = true;
    frame.addEventListener("load", () => hold(frame));
    hold(frame);
  }
  const scan = () => document.querySelectorAll(`iframe[title="${TITLE}"]`).forEach(watch);
  new MutationObserver(scan).observe(document.body, {childList: true, subtree: true});
  scan();
})();
</script>"""


def hold_script(grace_s: float = GRACE_S) -> str:
    """The page script that holds a transient ``disconnected`` for ``grace_s`` seconds."""
    return (_SCRIPT.replace("__GRACE_MS__", str(round(grace_s * 1000)))
            .replace("__TITLE__", COMPONENT_TITLE))


def patient_consent(failures: int = CONSENT_FAILURES) -> None:
    """Let the server's end of a WebRTC connection miss ``failures`` consent answers in
    a row before it closes (aioice's module setting; its own default is 6, about 30 s)."""
    aioice.ice.CONSENT_FAILURES = max(failures, aioice.ice.CONSENT_FAILURES)
