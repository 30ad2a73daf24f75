"""The error boundary of every page (``guard``: a ``VidcoreError`` becomes ``st.error``,
never a traceback) and the one way a page ends early (``end_page``, ``page_run``)."""

from __future__ import annotations

import contextlib
import logging

import streamlit as st
from streamlit.runtime.scriptrunner import StopException, get_script_run_ctx

from vidcore import settings
from vidcore.errors import VidcoreError

log = logging.getLogger(__name__)


class PageEnded(BaseException):  # noqa: N818 - a control-flow signal, like StopIteration
    """Raised by ``end_page`` and caught by ``page_run``, so the run ends normally.

    A BaseException, so the ``except Exception`` of ``guard`` and of pages lets it by.
    """


def end_page() -> None:
    """End the page here, with the script run ending normally (never ``st.stop()``).

    ``st.stop()`` puts the session's script runner in its stopped state and ends the run
    with an exception, which skips Streamlit's forgetting of the fragments the run did
    not draw. A polling fragment (``run_every``) of the previous, longer page whose
    timer fires before the browser hears of the new run then runs again in a fresh
    runner and writes where it stood on that longer page: the browser cannot place it
    ("Bad delta path index 17 (should be between [0, 2])") and the whole app turns into
    a blank page (issue 28). A run that returns normally drops those fragments before
    it takes the next request.
    """
    ctx = get_script_run_ctx()
    if ctx is not None and ctx.fragment_ids_this_run:
        st.stop()  # a fragment's own rerun: no page around it to end
    raise PageEnded


def page_run() -> contextlib.AbstractContextManager:
    """Around the page in app.py: an ended page (``end_page``, or an ``st.stop()`` of a
    component) still ends the script run normally (see ``end_page`` for why)."""
    return contextlib.suppress(PageEnded, StopException)


@contextlib.contextmanager
def guard(action: str, stop: bool = True, hint: str = ""):
    """Show a ``VidcoreError`` as ``st.error`` (its message says what to do), never a traceback.

    Args:
        action: what was being done, e.g. ``"Reading the dataset"``.
        stop: end the page run after the error (the rest of the page needs the result).
        hint: a sentence of advice added after the error's own message.
    """
    try:
        yield
    except VidcoreError as err:
        message = str(err).rstrip(". ")
        st.error(f"**{action} failed.** {message}. {hint}".strip(), icon=":material/error:")
        if stop:
            end_page()
    except Exception as err:  # a bug: say so, keep the traceback for the log
        # (end_page, st.stop() and reruns are BaseExceptions: they pass through untouched)
        if settings.debug():
            raise
        log.exception("%s failed", action)
        st.error(f"**{action} failed unexpectedly** ({type(err).__name__}: {err}). "
                 "The details are in the server log; please report them.",
                 icon=":material/bug_report:")
        if stop:
            end_page()
