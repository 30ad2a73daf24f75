"""The app in a real browser: a Streamlit server on a free port and headless Chromium.

The one copy of what the browser tests (through tests/conftest.py's fixtures),
``benchmarks/evaluate_browser.py`` and ``scripts/screenshots.py`` need: start the
server, wait until it is healthy, launch Debian's /usr/bin/chromium through Playwright
(never a Playwright browser download), open pages, wait until a script run is over,
take whole-page screenshots, stop everything again.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
EXCEPTION = '[data-testid="stException"]'  # a page that raised shows this element
SHOTS = REPO / "test-output" / "screenshots"  # the tests' screenshots (git-ignored)
QUIET_MS = 300  # a script run counts as over once the page stayed idle this long
# What the frontend says when a message cannot be placed in its element tree: the app
# then unmounts into a blank white page (issue 28).
BLANK_MARKS = ("bad delta path", "cannot set a node at a delta path")
HOLD_MS = 2000  # answers held back after a change: longer than any page timer (Train's 1.5 s)
FOLDER_HINT = "Type the path of a dataset folder"  # the sidebar's folder source, no path yet


@dataclass(frozen=True)
class Server:
    """A running ``streamlit run app.py``.

    Attributes:
        url: its base address, ``http://127.0.0.1:PORT``.
        proc: the server process (it leads its own process group).
        log: the file its output goes to.
        runs: the runs folder it was given (``VIDCORE_RUNS``), if any.
    """

    url: str
    proc: subprocess.Popen
    log: Path
    runs: Path | None

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.proc.pid

    def log_text(self) -> str:
        """Everything the server printed so far."""
        return self.log.read_text(errors="replace")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def missing_chromium() -> str | None:
    """Why the browser cannot run here, or None when Debian's Chromium is installed."""
    if Path(CHROMIUM).exists():
        return None
    return f"{CHROMIUM} is missing (install Debian's chromium: make browser)"


def start_server(env: dict, log_path: Path, port: int | None = None) -> Server:
    """``streamlit run app.py`` in its own process group on ``port`` (a free one by
    default), output to ``log_path``; ``env`` is added to this process's environment."""
    port = port or free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"),
           "--server.port", str(port), "--server.headless", "true",
           "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    log = open(log_path, "wb")  # noqa: SIM115 - the child holds it; closed with this process
    proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, **env}, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    runs = Path(env["VIDCORE_RUNS"]) if env.get("VIDCORE_RUNS") else None
    return Server(f"http://127.0.0.1:{port}", proc, Path(log_path), runs)


def wait_healthy(server: Server, timeout: float = 120) -> None:
    """Block until ``/_stcore/health`` answers ok, or raise with the reason."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with status {server.proc.returncode}:\n"
                               f"{server.log_text()[-3000:]}")
        with contextlib.suppress(OSError), \
                urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as answer:
            if answer.status == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"streamlit did not become healthy at {server.url} in {timeout:.0f} s")


def stop_server(server: Server) -> None:
    """End the server's process group, then the training runs it started (each of them
    leads its own session, so ending the group does not reach them)."""
    _kill_group(server.proc, signal.SIGTERM)
    try:
        server.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        _kill_group(server.proc, signal.SIGKILL)
        server.proc.wait(timeout=5)
    if server.runs is not None:
        end_training_runs(server.runs)


def _kill_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def end_training_runs(runs_dir: Path) -> None:
    """Stop every background training run under ``runs_dir`` that is still going."""
    from vidcore import runs
    from vidcore.views import launch

    for launched in Path(runs_dir).glob(f"*/{launch.LAUNCH}"):
        pid = (runs.read_json(launched, {}) or {}).get("pid")
        if isinstance(pid, int) and launch.run_state(launched.parent)["state"] in (
                "starting", "running"):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)


@contextlib.contextmanager
def serve(env: dict, log_path: Path) -> Iterator[Server]:
    """A healthy server for the ``with`` block, stopped (with its training runs) after."""
    server = start_server(env, log_path)
    try:
        wait_healthy(server)
        yield server
    finally:
        stop_server(server)


@contextlib.contextmanager
def chromium(extra_args: tuple[str, ...] = ()) -> Iterator:
    """Debian's headless Chromium through Playwright for the ``with`` block.

    Args:
        extra_args: command-line switches on top of ``CHROMIUM_ARGS`` (a fake camera).
    """
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=CHROMIUM_ARGS + list(extra_args))
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, width: int = 1400, height: int = 900, timeout_ms: int = 120_000):
    """A page in a fresh browser context (its own cookies: its own app session)."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    return page


def page_url(base: str, name: str) -> str:
    """The address of an app page by its name (``home`` is the default page, at ``/``)."""
    return f"{base}/" if name == "home" else f"{base}/{name}"


def open_page(page, base: str, name: str) -> None:
    """Open one app page by its address and wait for its script run to be over."""
    page.goto(page_url(base, name))
    wait_idle(page)


# The page is idle when the script does not run, no spinner shows, every plotly chart
# has drawn its SVG and every image has loaded; it must stay so for QUIET_MS, because
# right after a click the old "notRunning" state still shows until the rerun starts.
_IDLE = """quiet => {
  const app = document.querySelector('[data-testid="stApp"]');
  const busy = !app || app.getAttribute('data-test-script-state') !== 'notRunning'
    || document.querySelector('[data-testid="stSpinner"]')
    || [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
         .some(c => !c.querySelector('.main-svg'))
    || [...document.querySelectorAll('img')].some(i => !i.complete && i.loading !== 'lazy');
  const now = performance.now();
  if (busy || window.__vidcoreIdleSince === undefined) {
    window.__vidcoreIdleSince = busy ? undefined : now;
    return false;
  }
  return now - window.__vidcoreIdleSince >= quiet;
}"""


def wait_idle(page, timeout_ms: int = 120_000) -> None:
    """Wait until the app's script run is over and the page has drawn what it got."""
    page.evaluate("() => { delete window.__vidcoreIdleSince; }")
    page.wait_for_function(_IDLE, arg=QUIET_MS, timeout=timeout_ms, polling=50)


# Set once the app's script state has been "running" since: the mutation records keep
# the old values, so a run that began and ended between two callbacks is seen too.
_WATCH_RUN = """() => {
  window.__vidcoreRan = false;
  const app = document.querySelector('[data-testid="stApp"]');
  const ran = () => app.getAttribute('data-test-script-state') === 'running';
  new MutationObserver(records => {
    if (ran() || records.some(r => r.oldValue === 'running')) window.__vidcoreRan = true;
  }).observe(app, {attributes: true, attributeOldValue: true,
                   attributeFilter: ['data-test-script-state']});
}"""


def after_rerun(page, action: Callable[[], object], timeout_ms: int = 120_000) -> None:
    """Call ``action`` and wait until the script run it starts is over. ``wait_idle``
    alone can see the page idle before the server has begun that run (an upload: the
    file goes up first), and the page still shows the run before's answers then."""
    page.evaluate(_WATCH_RUN)
    action()
    page.wait_for_function("() => window.__vidcoreRan", timeout=timeout_ms, polling=50)
    wait_idle(page, timeout_ms)


def shoot(page, path: Path) -> Path:
    """A screenshot of the whole page.

    Streamlit scrolls its main area inside the window, so Playwright's ``full_page``
    sees only one screen: grow the window to the content height instead.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    height = page.evaluate(
        """() => { const m = document.querySelector('[data-testid="stMain"]');
                   return m ? m.scrollHeight : document.body.scrollHeight; }""")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], height + 40)})
    # Charts re-lay out to the new size; a page that keeps refreshing (Live) is shot anyway.
    with contextlib.suppress(PlaywrightTimeoutError):
        wait_idle(page, timeout_ms=10_000)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)
    return path


def cell_centre(page, area, shown: list[str], true: str, predicted: str) -> tuple[float, float]:
    """Window coordinates of a heatmap cell's centre, scrolled into the window first (a
    101-class matrix is taller than the window, and Streamlit scrolls its main area)."""
    area.scroll_into_view_if_needed()
    for _ in range(5):
        box, view = area.bounding_box(), page.viewport_size
        x = box["x"] + (shown.index(predicted) + 0.5) * box["width"] / len(shown)
        y = box["y"] + (shown.index(true) + 0.5) * box["height"] / len(shown)
        if 60 < y < view["height"] - 60:
            return x, y
        page.mouse.move(view["width"] / 2, view["height"] / 2)
        page.mouse.wheel(0, y - view["height"] / 2)
        page.wait_for_timeout(300)  # the wheel scrolls smoothly: let it land
    return x, y


CELL_PICKER = '[data-testid="stSelectbox"]'


def click_until(page, click, field, prefix: str, attempts: int = 3,
                timeout_ms: int = 30_000) -> str:
    """Call ``click()`` until the input ``field`` shows a value starting with ``prefix``.

    Right after a rerun plotly and the data grid may not listen to clicks yet, so a
    click can be lost; it is repeated only when nothing changed for ``timeout_ms`` (a
    second click on a chosen cell would unselect it). Returns the field's last value.
    """
    for _ in range(attempts):
        click()
        with contextlib.suppress(PlaywrightTimeoutError):
            page.wait_for_function("([el, p]) => el.value.startsWith(p)",
                                   arg=[field.element_handle(), prefix], timeout=timeout_ms)
            break
    wait_idle(page)
    return field.input_value()


def click_cell(page, chart: int, shown: list[str], true: str, predicted: str) -> str:
    """Click a confusion-matrix cell's centre (see ``click_until``); return the cell
    picker's text after."""
    area = page.locator('[data-testid="stPlotlyChart"]').nth(chart).locator(".nsewdrag").first
    picker = page.locator(CELL_PICKER, has_text="Clips of one cell").locator("input")
    return click_until(page, lambda: page.mouse.click(*cell_centre(page, area, shown, true,
                                                                    predicted)),
                       picker, f"{true} → {predicted}:")


SERVER_SITE = REPO / "tests" / "server_site"  # its sitecustomize.py patches a test server


def _patched(env: dict | None, variable: str, entries: list[str]) -> dict:
    """``env`` with tests/server_site on PYTHONPATH and ``entries`` added to ``variable``."""
    env = dict(env or {})
    paths = (env.get("PYTHONPATH") or os.environ.get("PYTHONPATH", "")).split(os.pathsep)
    path = os.pathsep.join([str(SERVER_SITE), *(p for p in paths if p and p != str(SERVER_SITE))])
    joined = ";".join(filter(None, (env.get(variable), *entries)))
    return env | {"PYTHONPATH": path, variable: joined}


def slow_previews(word: str, seconds: float, env: dict | None = None) -> dict:
    """Server environment (on top of ``env``) that delays the browser preview of clips
    whose path holds ``word``, so a test can act during the wait."""
    return _patched(env, "VIDCORE_TEST_DELAYS",
                    [f"vidcore.views.webio:browser_clip={word}:{seconds:g}"])


def held_calls(holds: dict[str, Path], env: dict | None = None) -> dict:
    """Server environment (on top of ``env``) in which each function named in ``holds``
    (``"module:function"``) waits, in the server and in every Python child it starts,
    while its flag file exists: a test makes the flag before the action whose wait it
    wants to act in, and removes it to let the work go on. The wait is then certain,
    however fast the machine, and costs nothing once the flag is gone."""
    return _patched(env, "VIDCORE_TEST_HOLDS", [f"{t}={f}" for t, f in holds.items()])


class HeldSocket:
    """A page whose server-to-browser messages can be held back for a while, and whose
    console errors are kept. Make it before the page's first ``goto``.

    Holding models a slow server or network: the page's own timers (a polling
    fragment's) fire before it hears of the run a widget change started, which is the
    race that blanked the app (issue 28), made certain instead of 1 in 3.
    """

    def __init__(self, page):
        self.page, self.errors = page, []
        self._holding, self._held, self._socket = False, [], None
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.route_web_socket("**/_stcore/stream", self._route)

    def _route(self, socket) -> None:
        server = socket.connect_to_server()
        self._socket = socket

        def to_page(message):
            if self._holding:
                self._held.append(message)
            else:
                socket.send(message)

        server.on_message(to_page)
        socket.on_message(server.send)

    @contextlib.contextmanager
    def held(self, ms: int):
        """Inside: what the browser does reaches the server, but the server's answers wait
        until ``ms`` ms after the block, then arrive in order."""
        self._holding = True
        try:
            yield
            self.page.wait_for_timeout(ms)
        finally:
            self._holding = False
            held, self._held = self._held, []
            for message in held:
                self._socket.send(message)

    def blanked(self) -> list[str]:
        """The console errors that blank the app."""
        return [e for e in self.errors if any(m in e.lower() for m in BLANK_MARKS)]

    def recovers_to(self, text: str, timeout_ms: int = 60_000) -> None:
        """Wait until the page shows ``text``; fail first when the app was blanked (a
        blank page never shows it: say why rather than time out)."""
        try:
            self.page.get_by_text(text).first.wait_for(timeout=timeout_ms)
        finally:
            assert not self.blanked(), self.errors

    def settles(self, timeout_ms: int = 60_000) -> None:
        """``wait_idle``; fail first when the app was blanked (it never settles then)."""
        try:
            wait_idle(self.page, timeout_ms)
        finally:
            assert not self.blanked(), self.errors


# Every 50 ms, ask the server for each clip and image the page shows from a /media URL;
# one it no longer serves is reported on the console (a user's browser fetches it when a
# video plays on or an image is drawn again). Catches the gap whether or not the page
# happens to fetch in it.
_DEAD_MEDIA = """setInterval(() => document.querySelectorAll('video, img').forEach(el => {
  const src = el.currentSrc || el.src;
  if (src && new URL(src, location.href).pathname.startsWith('/media/'))
    fetch(src, {method: 'HEAD'}).then(r => { if (r.status >= 400)
      console.error(`dead media ${r.status} ${el.tagName} ${src}`); }, () => {});
}), 50);"""
# Streamlit's frontend, opened at a page's own address, first asks for
# /<page>/_stcore/health and /<page>/_stcore/host-config, which 404 (streamlit#7074,
# open upstream), then for the right ones: not this app's doing.
_UPSTREAM_404 = ("/_stcore/health", "/_stcore/host-config")


class MediaWatch:
    """The console of a page (and of every page its context opens later) for media the
    server no longer serves: 404s of /media files, image source errors, and the dead
    media the page shows (``_DEAD_MEDIA``). Make it before the page's first ``goto``."""

    def __init__(self, page):
        self.seen: list[str] = []
        page.context.add_init_script(_DEAD_MEDIA)
        page.on("console", self._console)

    def _console(self, message) -> None:
        if message.type != "error":
            return
        where = (message.location or {}).get("url", "")
        text = f"{message.text} @ {where}"
        if "404" in message.text and where.endswith(_UPSTREAM_404):
            return
        if "/media/" in text or "image" in text.lower():
            self.seen.append(text)

    def problems(self) -> list[str]:
        """What it saw (empty: every clip and image the page showed stayed served)."""
        return list(self.seen)


def choose_option(page, label: str, text: str, tries: int = 3) -> str:
    """Open the selectbox ``label``, type ``text`` to filter it, click the first option
    left; returns that option's text.

    A run that ends while the list is open (players are filled at a run's end) redraws
    the selectbox and closes its list, as it would under a user's mouse; the user opens
    it again, and so does this, up to ``tries`` times.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(tries):
        try:
            page.get_by_role("combobox", name=label, exact=True).first.click()
            page.keyboard.type(text)
            option = page.locator('[role="option"]').first
            option.wait_for(timeout=30_000)
            chosen = option.inner_text()
            option.click(timeout=10_000)
            return chosen
        except PlaywrightTimeout:
            if attempt == tries - 1:
                raise
            page.keyboard.press("Escape")
    raise ValueError(f"tries must be at least 1, not {tries}")


def sidebar_source(page, label: str) -> None:
    """Click one option of the sidebar's dataset source."""
    page.locator('[data-testid="stSidebar"] [data-testid="stRadioGroup"]').get_by_text(
        label, exact=True).click()
