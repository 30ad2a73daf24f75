"""The error boundary of every page: a ``VidcoreError`` becomes ``st.error``, never a traceback."""

from __future__ import annotations

import contextlib
import logging

import streamlit as st

from vidcore import settings
from vidcore.errors import VidcoreError

log = logging.getLogger(__name__)


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
            st.stop()
    except Exception as err:  # a bug: say so, keep the traceback for the log
        # (st.stop() and reruns are BaseExceptions: they pass through untouched)
        if settings.debug():
            raise
        log.exception("%s failed", action)
        st.error(f"**{action} failed unexpectedly** ({type(err).__name__}: {err}). "
                 "The details are in the server log; please report them.",
                 icon=":material/bug_report:")
        if stop:
            st.stop()
