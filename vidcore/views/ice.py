"""Where WebRTC looks for a path between browser and server (the Live page's ICE servers).

By default none: ``{"iceServers": []}``, written exactly so. An empty dict would mean
"not set" to streamlit-webrtc, which then contacts a public STUN server (and, with
``HF_TOKEN``, ``TWILIO_*`` or ``CLOUDFLARE_TURN_*`` set, fetches TURN credentials over
HTTPS). With no servers the camera works when the browser and the app are on one
machine or one network, and nothing else is contacted.

For a remote deployment (the browser behind another NAT) set ``VIDCORE_ICE_SERVERS``
to a JSON list of RTCIceServer objects, e.g.
``[{"urls": ["stun:stun.example.org:3478"]},
{"urls": ["turn:turn.example.org:3478"], "username": "u", "credential": "p"}]``,
or put the same list in a file and set ``VIDCORE_ICE_SERVERS_FILE`` to its path.
"""

from __future__ import annotations

from collections.abc import Mapping

from vidcore import settings

ENV, ENV_FILE = settings.ICE_SERVERS, settings.ICE_SERVERS_FILE


def rtc_configuration(environ: Mapping[str, str] | None = None) -> dict:
    """The RTCConfiguration for the Live page: ``{"iceServers": [...]}``, empty by default.

    Args:
        environ: where to read the two variables (default ``os.environ``).

    Raises:
        InputError: the variable is not a JSON list of objects that each have ``urls``.
    """
    return {"iceServers": settings.ice_servers(environ)}
