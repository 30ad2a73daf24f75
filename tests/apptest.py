"""The app headless with Streamlit's AppTest: start it on an environment, switch pages,
read what a page says. Shared by every AppTest file (the ``app`` fixture of
tests/conftest.py is built on it)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def start_app(monkeypatch, env: dict, timeout: float = 120) -> AppTest:
    """app.py under AppTest with ``env`` set (``None`` values unset), run once (Home).

    Args:
        monkeypatch: the test's ``monkeypatch``; the variables go back after the test.
        env: environment variables for the app (``VIDCORE_RUNS`` ...).
        timeout: seconds one script run may take.
    """
    for key, value in env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, str(value))
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.run()
    assert not at.exception, at.exception
    return at


def open_page(at: AppTest, page: str) -> AppTest:
    """Switch to ``app_pages/<page>.py`` and run it; it must not raise."""
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> str:
    """The values of some elements (``at.error``, ``at.caption`` ...) as one string."""
    return " ".join(str(e.value) for e in elements)


def messages(at: AppTest) -> str:
    """Every error, warning, success and info message of the page as one string."""
    return " ".join(texts(getattr(at, kind)) for kind in ("error", "warning", "success", "info"))
