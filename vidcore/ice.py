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

import json
import os
from collections.abc import Mapping
from pathlib import Path

from vidcore.errors import InputError

ENV, ENV_FILE = "VIDCORE_ICE_SERVERS", "VIDCORE_ICE_SERVERS_FILE"


def rtc_configuration(environ: Mapping[str, str] | None = None) -> dict:
    """The RTCConfiguration for the Live page: ``{"iceServers": [...]}``, empty by default.

    Raises:
        InputError: the variable is not a JSON list of objects that each have ``urls``.
    """
    environ = os.environ if environ is None else environ
    text, where = environ.get(ENV), ENV
    if not text and environ.get(ENV_FILE):
        where = f"{ENV_FILE} ({environ[ENV_FILE]})"
        try:
            text = Path(environ[ENV_FILE]).read_text()
        except OSError as err:
            raise InputError(f"{where} cannot be read ({err.strerror}); fix the path "
                             "or unset the variable") from None
    if not text or not text.strip():
        return {"iceServers": []}
    try:
        servers = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{where} is not valid JSON ({err.msg}); give a list like "
                         '[{"urls": ["stun:stun.example.org:3478"]}]') from None
    if not isinstance(servers, list) or not all(
            isinstance(s, dict) and s.get("urls") for s in servers):
        raise InputError(f"{where} must be a JSON list of objects with \"urls\", like "
                         '[{"urls": ["stun:stun.example.org:3478"]}]')
    return {"iceServers": servers}
