"""Admins only (Home, sign-in on): every user's usage, and the limits set for each."""

from __future__ import annotations

import streamlit as st

from vidcore import settings, spaces, training_queue, workspace
from vidcore.errors import VidcoreError
from vidcore.spaces import limits

USER_KEY = "admin-limits-user"


def usage_rows() -> list[dict]:
    """One row per user space: what it holds, its trainings queued, and its limits."""
    queued = [j["owner"] for j in training_queue.read_jobs() if j["state"] in
              training_queue.ACTIVE]
    rows = []
    for space in spaces.list_spaces():
        email, held = space["email"], workspace.space_usage(space["folder"])
        held["user_trainings"] = queued.count(email)
        row = {"user": email}
        for key, what in limits.KEYS.items():
            used = held.get(key)
            cap = limits.limit_for(key, email)
            row[what] = f"{used} of {cap}" if used is not None else f"limit {cap}"
        rows.append(row)
    return rows


def admin_limits_panel(email: str | None) -> None:
    """The panel for the signed-in ``email``; anyone else gets one line, nothing more."""
    if not spaces.is_admin(email):
        st.error("Only an admin may see everyone's usage and set limits.",
                 icon=":material/block:")
        return
    st.subheader("Users and their limits")
    rows = usage_rows()
    if not rows:
        st.caption("Nobody has signed in yet.")
        return
    st.dataframe(rows, hide_index=True, key="admin-usage")
    users = [r["user"] for r in rows]
    user = st.selectbox("User", users, key=USER_KEY)
    set_now = limits.read_all().get(user, {})
    with st.form("admin-limits", border=True):
        st.caption("Empty: the server's limit (" + ", ".join(
            f"{what} {settings.limit(key)}" for key, what in limits.KEYS.items()) + ").")
        typed = {key: st.text_input(f"Most {what}", str(set_now.get(key, "")),
                                    key=f"admin-limit-{user}-{key}")
                 for key, what in limits.KEYS.items()}
        if st.form_submit_button("Save limits", icon=":material/save:"):
            try:
                limits.set_limits(email, user, typed)
            except VidcoreError as err:
                st.error(f"Not saved: {err}", icon=":material/error:")
            else:
                st.success(f"Limits saved for {user}.", icon=":material/check:")
