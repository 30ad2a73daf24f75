"""The training queue on the Train page (sign-in on): where each training stands, cancel."""

from __future__ import annotations

import streamlit as st

from vidcore import settings, spaces, training_queue
from vidcore.errors import VidcoreError
from webapp.boundary import guard

POLL_SECONDS = 2.0


def owner() -> str:
    """The e-mail of the space this session acts in: whose trainings it queues."""
    return spaces.email_of(spaces.folder())


def submit(argv: list[str]) -> str:
    """Queue a training for the space in use; the run folder it will train into."""
    job = training_queue.submit(argv, owner=owner())
    where = next((j for j in training_queue.overview() if j["id"] == job["id"]), None)
    st.toast(f"Training queued: {training_queue.describe_wait(where) if where else 'ended'}.",
             icon=":material/queue:")
    return job["run_dir"]


def _cancel(job_id: str, me: str) -> None:
    try:
        job = training_queue.cancel(job_id, owner=me)
    except VidcoreError as err:
        st.toast(f"Could not cancel it: {err}", icon=":material/error:")
    else:
        st.toast("Cancelled." if job["state"] == "cancelled" else "Stop requested: it ends "
                 "after its current batch and keeps its best model.", icon=":material/cancel:")


def queue_panel() -> None:
    """The queue, kept fresh: own jobs named with a Cancel button, others' only counted
    (an admin sees whose they are)."""
    st.subheader("Queue")
    with st.container(key="queue-panel"):
        st.fragment(_queue_view, run_every=POLL_SECONDS)()


def _queue_view() -> None:
    with guard("Reading the training queue", stop=False):
        training_queue.dispatch()  # a job that ended makes room for the next
        jobs = training_queue.overview()
        me = owner()
        admin = spaces.is_admin(st.user.get("email"))
        lanes, address = settings.max_jobs(), settings.ray_address()
        at_once = "One training runs" if lanes == 1 else f"At most {lanes} trainings run"
        where = f"as Ray jobs on {address}" if address else "on this server"
        st.caption(f"{at_once} at once, {where}; the others wait their turn. "
                   "Predictions never wait.")
        if not jobs:
            st.caption("Nobody's training is queued right now.")
        for job in jobs:
            _job_row(job, mine=job["owner"] == me, admin=admin)


def _job_row(job: dict, mine: bool, admin: bool) -> None:
    with st.container(border=True, horizontal=True, vertical_alignment="center"):
        who = "yours" if mine else (job["owner"] if admin else "another user's")
        name = job["run_dir"].rsplit("/", 1)[-1] if mine or admin else "a training"
        st.markdown(f"**{name}** ({who}) · {training_queue.describe_wait(job)}")
        if mine or admin:
            st.button("Cancel", key=f"cancel-{job['id']}", icon=":material/cancel:",
                      on_click=_cancel, args=(job["id"], None if admin else job["owner"]))
