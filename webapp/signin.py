"""Sign-in the Streamlit way (``st.login`` / ``st.user``), and whose space a session acts in.

With an ``[auth]`` section in Streamlit's secrets, signing in is required: a session
that is not signed in sees only the sign-in page. A signed-in session acts in its
user's space (``vidcore.spaces``): the finder installed here answers for the thread
of each script run, fragment or callback, from the space this module stored in that
session's state. Admins (``VIDCORE_ADMINS``) may pick anyone's space in the sidebar.
Without ``[auth]`` nothing here changes the app: the local, single-user vidcore.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from vidcore import settings, spaces
from vidcore.errors import VidcoreError
from webapp import pages
from webapp.state import SPACE, SPACE_PICK

NOBODY = ".nobody"  # the empty space of a thread that belongs to no session


def auth_on() -> bool:
    """Whether Streamlit's secrets configure sign-in (an ``[auth]`` section)."""
    try:
        return st.secrets.load_if_toml_exists() and "auth" in st.secrets
    except Exception:  # a damaged secrets file: Streamlit itself reports it
        return False


def _session_space() -> Path:
    """The space of the session whose script runs in this thread (an empty one else)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    chosen = st.session_state.get(SPACE) if ctx is not None else None
    return Path(chosen) if chosen else settings.spaces_dir() / NOBODY


def gate() -> str | None:
    """The signed-in e-mail, or None in the local app; ends the run on the sign-in page
    while sign-in is required and nobody is signed in.

    Call first in every run (app.py), before any page or sidebar is drawn.
    """
    if not auth_on():
        spaces.set_finder(None)
        return None
    spaces.set_finder(_session_space)
    if not st.user.is_logged_in:
        st.session_state.pop(SPACE, None)
        st.navigation(sign_in_pages(), position="hidden").run()
        st.stop()
    try:
        email = spaces.check_email(st.user.get("email"))
        own = spaces.open_space(email)
    except VidcoreError as err:
        st.error(f"Signed in, but {err}. Ask the server's admin to have the provider send "
                 "an e-mail claim.", icon=":material/error:")
        st.button("Sign out", on_click=st.logout)
        st.stop()
    space = str(_picked_space(email, own))
    if st.session_state.get(SPACE) not in (None, space):
        # another space now (an admin's pick): nothing the session held of the last one stays
        for key in [k for k in st.session_state if k != SPACE_PICK]:
            del st.session_state[key]
    st.session_state[SPACE] = space
    return email


def _picked_space(email: str, own: Path) -> Path:
    """The own space, or for an admin the one picked in the sidebar."""
    if not spaces.is_admin(email):
        return own
    found = {str(s["folder"]): s["email"] for s in spaces.list_spaces()}
    picked = st.session_state.get(SPACE_PICK)
    return Path(picked) if picked in found else own


def sign_in_pages() -> list:
    """Every page's address leads to the sign-in page (a bookmark of /predict too)."""
    return [st.Page(sign_in_page, title=p.title, icon=p.icon, default=p.key == "home",
                    url_path=p.key)
            for p in pages.PAGES.values()]


def sign_in_page() -> None:
    """The page a visitor sees before signing in."""
    st.title(":material/movie: vidcore")
    st.write("This vidcore server is shared. Sign in to get a space of your own: your "
             "datasets, your training runs and your active model, which nobody else sees. "
             "The demo dataset and the demo model are shared with everyone.")
    st.button("Sign in", type="primary", icon=":material/login:", on_click=st.login)


def sidebar_account(email: str | None) -> None:
    """Who is signed in, the sign-out button, and an admin's pick of a space."""
    if email is None:
        return
    with st.sidebar:
        st.caption(f":material/account_circle: Signed in as **{email}**")
        if spaces.is_admin(email):
            found = {str(s["folder"]): s["email"] for s in spaces.list_spaces()}
            own = str(spaces.space_folder(email))
            st.session_state.setdefault(SPACE_PICK, own)
            if st.session_state[SPACE_PICK] not in found:
                st.session_state[SPACE_PICK] = own
            st.selectbox("Space (admin)", list(found), format_func=found.get, key=SPACE_PICK,
                         help="An admin may open everyone's space.")
        st.button("Sign out", icon=":material/logout:", on_click=st.logout)


def mode_line(email: str | None) -> str:
    """One sentence saying which mode the server runs in (Home and the README say it)."""
    if email is None:
        return ("Local mode: one workspace on this computer, no sign-in; every dataset and "
                "run here is yours.")
    return (f"Signed in as {email}: your datasets, runs and active model are your own; "
            "the demo dataset and the demo model are shared, read-only.")
