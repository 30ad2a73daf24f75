"""Per-user limits that admins set in the app (vidcore.spaces.limits, the Home panel)."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from vidcore import settings, spaces, workspace
from vidcore.errors import InputError
from vidcore.spaces import limits

ADMIN, ALICE = "admin@example.com", "alice@example.com"


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.setenv(settings.SPACES, str(tmp_path / "spaces"))
    monkeypatch.setenv(settings.RUNS, str(tmp_path / "local-runs"))
    monkeypatch.setenv(settings.ADMINS, ADMIN)
    monkeypatch.setenv("VIDCORE_USER_DATASETS", "20")
    return spaces.open_space(ALICE)


def test_an_admin_sets_a_users_limits_and_the_checks_use_them(server):
    with pytest.raises(InputError, match="only an admin may set limits"):
        limits.set_limits(ALICE, ALICE, {"user_datasets": "100"})
    for typed, message in (("many", "must be a whole number, not 'many'"),
                           ("-3", "must be positive, not -3"), ("0", "must be positive"),
                           ("1.5", "whole number"), ("1" + "0" * 12, "at most")):
        with pytest.raises(InputError, match=message):
            limits.set_limits(ADMIN, ALICE, {"user_datasets": typed})
    with pytest.raises(InputError, match="unknown limit"):
        limits.set_limits(ADMIN, ALICE, {"max_jobs": "9"})
    assert not settings.limits_file().exists()  # nothing refused was written
    assert limits.set_limits(ADMIN, ALICE, {"user_datasets": " 1 ", "user_clips": ""}) == {
        "user_datasets": 1}
    assert json.loads(settings.limits_file().read_text()) == {ALICE: {"user_datasets": 1}}
    assert limits.limit_for("user_datasets", ALICE) == 1
    assert limits.limit_for("user_datasets", "bob@example.com") == 20  # the server's
    with spaces.use(server):
        workspace.create("first")
        with pytest.raises(InputError, match="1 datasets, the most"):
            workspace.create("second")
        assert workspace.space_usage(server)["user_datasets"] == 1
    limits.set_limits(ADMIN, ALICE, {"user_datasets": ""})  # back to the server's
    assert limits.limit_for("user_datasets", ALICE) == 20
    assert not list(settings.limits_file().parent.glob(".limits.json.*"))  # atomic


def _panel(email):
    from webapp.panels.admin_limits import admin_limits_panel

    admin_limits_panel(email)


def _render(email: str) -> AppTest:
    at = AppTest.from_function(_panel, args=(email,), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_panel_shows_usage_refuses_bad_values_and_non_admins(server):
    assert "Only an admin may" in _render(ALICE).error[0].value
    at = _render(ADMIN)
    assert at.dataframe[0].value["user"].tolist() == [ALICE]

    def save(typed: str) -> None:  # the widgets are found anew after each run
        next(t for t in at.text_input if t.label == "Most datasets").input(typed)
        at.button[0].click().run()

    for typed, message in (("lots", "must be a whole number, not 'lots'"),
                           ("-2", "must be positive, not -2")):
        save(typed)
        assert message in at.error[0].value and at.error[0].value.startswith("Not saved")
    save("3")
    assert "Limits saved for alice@example.com" in at.success[0].value
    assert limits.limit_for("user_datasets", ALICE) == 3
    at.run()
    assert "0 of 3" in at.dataframe[0].value["datasets"].tolist()
