"""Sign-in in a real browser: an OpenID Connect provider on loopback, the app's secrets
for it, and signing a page in (the sign-in browser test and benchmarks/signin_load.py).

The provider is ``oidc-provider-mock`` (its own login form: one ``sub`` field and
"Authorize"); the app gets it through Streamlit's ``[auth]`` secrets in a file given
by ``STREAMLIT_SECRETS_FILES``, so nothing is written into the checkout.
"""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests import web


@contextlib.contextmanager
def provider(emails: list[str]) -> Iterator[str]:
    """The provider on a free loopback port, knowing each e-mail's claims; its address."""
    import oidc_provider_mock

    with oidc_provider_mock.run_server_in_thread(port=web.free_port()) as server:
        base = f"http://127.0.0.1:{server.server_port}"
        for email in emails:
            request = urllib.request.Request(
                f"{base}/users/{urllib.request.quote(email)}", method="PUT",
                data=json.dumps({"email": email, "name": email.split("@")[0]}).encode(),
                headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as answer:
                assert answer.status == 204, answer.status
        yield base


def secrets_env(folder: Path, app_port: int, provider_url: str) -> dict:
    """Write an ``[auth]`` secrets file for an app on ``app_port``; the variable naming it."""
    secrets = folder / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"\n'
        'cookie_secret = "a-test-cookie-secret-that-is-long-enough"\n'
        'client_id = "vidcore"\nclient_secret = "any"\n'
        f'server_metadata_url = "{provider_url}/.well-known/openid-configuration"\n')
    return {"STREAMLIT_SECRETS_FILES": str(secrets)}


def sign_in(page, base: str, email: str) -> None:
    """Open the app, sign in as ``email`` on the provider's form, wait for the app."""
    page.goto(base)
    web.wait_idle(page)
    page.get_by_role("button", name="Sign in").click()
    page.locator('input[name="sub"]').fill(email)
    page.get_by_role("button", name="Authorize").click()
    page.get_by_text(f"Signed in as {email}").first.wait_for()
    web.wait_idle(page)
