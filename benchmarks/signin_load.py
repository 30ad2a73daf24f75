"""A signed-in server under load: N users in headless Chromium while trainings are queued.

    .venv/bin/python benchmarks/signin_load.py [--users 20] [--trainings 5] [--rounds 2]

Starts ``oidc-provider-mock`` and the app with sign-in on (spaces in a temp folder, the
tiny demo as the demo dataset), queues ``--trainings`` trainings of ``--trainings``
users (``vidcore.training_queue``, as the Train page does), signs ``--users`` browser
contexts in, then in each round opens Home, Dataset, Predict with an uploaded clip and
Evaluate in every context at once (all navigations are started, then each is waited
for). A page's time is from its navigation until its script run was over and all it
drew had loaded (measured in the page itself, so waiting on one page does not inflate
another's). Prints p50/p95 per page, pages with an exception, the server's peak memory,
and how every queued training ended. Figures are this machine's (CPU flags and load
printed), not universal.

One more signed-in user keeps the Live page open on Chromium's fake camera (a looped
demo clip, ``../shared/docs/live-testing.md``) from before the load to its end, in a
browser of its own driven from its own thread; its "Processed frames/s" and "Arrival
to label" are read every 2 s and reported before and during the load. WebRTC needs a
loopback address other than 127.0.0.1, so the benchmark re-runs itself in a private
network namespace (``unshare -n``, root); ``--no-live`` leaves the Live session out.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psutil  # noqa: E402

from tests import signin_web, web  # noqa: E402
from tests.workspace_clips import demo_clip  # noqa: E402
from vidcore.models.cpu import flags_line  # noqa: E402

PAGES = ("home", "dataset", "predict", "evaluate")
IDLE_AT = "() => window.__vidcoreIdleSince"  # ms after navigation start (tests.web._IDLE)
INSIDE = "VIDCORE_LOAD_NETNS"  # set once the benchmark runs in its network namespace
LIVE_USER = "live@example.com"
LIVE_SAMPLE_S = 2.0
LIVE_QUIET_S = 30.0  # how long the Live rate is read before the load starts
IFRAME = 'iframe[title="streamlit_webrtc.component.webrtc_streamer"]'


def _peak_rss(pid: int, stop: threading.Event, out: list[float]) -> None:
    proc = psutil.Process(pid)
    while not stop.is_set():
        try:
            out.append(proc.memory_info().rss / 2**20)
        except psutil.Error:
            return
        time.sleep(0.5)


def _queue_trainings(count: int, demo: Path) -> list[dict]:
    from vidcore import spaces, training_queue
    from vidcore.views import launch

    jobs = []
    for k in range(count):
        email = f"trainer{k}@example.com"
        with spaces.use(spaces.open_space(email)):
            argv = launch.train_argv(demo / "UCF-101", 1, "default", weights="none",
                                     head="linear", epochs=2, val_fraction=0.34)
            jobs.append(training_queue.submit(argv, owner=email))
    return jobs


class LiveWatch:
    """The Live page on a fake camera, in its own thread and browser, read every 2 s.

    ``samples`` holds ``(time, frames/s, delay s)``; ``error`` what went wrong, if anything.
    """

    def __init__(self, base: str, tmp: Path):
        self.base, self.tmp = base, tmp
        self.samples: list[tuple[float, float, float | None]] = []
        self.error: str | None = None
        self.started = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self._watch()
        except Exception as err:  # reported by the main thread
            self.error = f"{type(err).__name__}: {str(err).splitlines()[0]}"
            self.started.set()

    def _watch(self) -> None:
        import numpy as np

        from tests.test_live_browser import CLASS, write_y4m
        from vidcore.data.demo import render_clip

        clip = np.concatenate([render_clip(CLASS, 3, c) for c in (1, 2, 3)])
        camera = write_y4m(self.tmp / "camera.y4m", clip)
        flags = ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                 f"--use-file-for-fake-video-capture={camera}",
                 "--allow-loopback-in-peer-connection")
        with web.chromium(flags) as browser:
            page = web.new_page(browser, height=1750, timeout_ms=300_000)
            signin_web.sign_in(page, self.base, LIVE_USER)
            page.goto(web.page_url(self.base, "live"))
            web.wait_idle(page)
            page.frame_locator(IFRAME).get_by_role("button", name="Start").click()
            page.locator(".st-key-live-label h1").wait_for(timeout=300_000)
            self.started.set()
            while not self.stop.wait(LIVE_SAMPLE_S):
                self.samples.append((time.monotonic(), *self._read(page)))

    @staticmethod
    def _read(page) -> tuple[float, float | None]:
        def metric(label: str) -> str:
            box = page.locator('[data-testid="stMetric"]').filter(has_text=label)
            return box.locator('[data-testid="stMetricValue"]').first.inner_text()

        fps, delay = metric("Processed frames/s"), metric("Arrival to label")
        return float(fps), (None if delay.strip() == "–" else float(delay.split()[0]))

    def report(self, since: float, until: float, what: str) -> str:
        """Median frames/s and delay of the samples taken between two times."""
        got = [s for s in self.samples if since <= s[0] <= until]
        if not got:
            return f"Live {what}: no reading ({self.error or 'no samples'})"
        delays = [s[2] for s in got if s[2] is not None]
        delay = f"{statistics.median(delays):.2f} s" if delays else "–"
        return (f"Live {what}: {statistics.median(s[1] for s in got):.1f} frames/s "
                f"(min {min(s[1] for s in got):.1f}), arrival to label {delay} "
                f"({len(got)} readings)")


def _round(pages: list, base: str, clip: Path) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in PAGES}
    errors = 0
    for name in PAGES:
        for page in pages:
            page.goto(web.page_url(base, name), wait_until="commit")
        for page in pages:
            if name == "predict":
                page.locator('input[type="file"]').set_input_files(str(clip))
            web.wait_idle(page, timeout_ms=600_000)
            times[name].append(page.evaluate(IDLE_AT) / 1000)
            errors += page.locator(web.EXCEPTION).count()
    times["errors"] = [errors]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--trainings", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-live", action="store_true", help="no Live session")
    args = parser.parse_args()
    if not args.no_live and os.environ.get(INSIDE) != "1":
        _rerun_in_namespace()
        return
    tmp = Path(tempfile.mkdtemp(prefix="vidcore-load-"))
    from vidcore.data.demo import ensure_demo_dataset

    demo = ensure_demo_dataset(tmp / "demo", size="tiny").parent
    env = {"VIDCORE_SPACES": str(tmp / "spaces"), "VIDCORE_DEMO_DIR": str(demo),
           "VIDCORE_STORE": str(tmp / "features"), "VIDCORE_RUNS": str(tmp / "local-runs")}
    os.environ.update(env)  # the trainings are queued from here, into the same spaces
    emails = [f"user{k}@example.com" for k in range(args.users)]
    signed_in = [*emails, *([] if args.no_live else [LIVE_USER])]
    clip = demo_clip(tmp / "upload.avi", "JumpingJack", 9)
    print(f"CPU: {flags_line()}; load {os.getloadavg()}")
    with signin_web.provider(signed_in) as provider:
        port = web.free_port()
        server = web.start_server({**env, **signin_web.secrets_env(tmp, port, provider)},
                                  tmp / "server.log", port=port)
        stop, rss = threading.Event(), []
        try:
            web.wait_healthy(server)
            threading.Thread(target=_peak_rss, args=(server.pid, stop, rss), daemon=True).start()
            live = None if args.no_live else _start_live(server.url, tmp)
            quiet = time.monotonic()
            jobs = _queue_trainings(args.trainings, demo)
            with web.chromium() as browser:
                pages = [web.new_page(browser, timeout_ms=600_000) for _ in emails]
                for page, email in zip(pages, emails, strict=True):
                    signin_web.sign_in(page, server.url, email)
                for k in range(args.rounds):
                    times = _round(pages, server.url, clip)
                    for name in PAGES:
                        t = sorted(times[name])
                        p95 = t[min(len(t) - 1, round(0.95 * (len(t) - 1)))]
                        print(f"round {k + 1} {name:9s} p50 {statistics.median(t):6.2f} s  "
                              f"p95 {p95:6.2f} s")
                    print(f"round {k + 1} pages with an exception: {times['errors'][0]}")
            loaded = time.monotonic()
            _report_jobs(jobs)
            if live is not None:
                live.stop.set()
                live.thread.join(timeout=30)
                print(live.report(quiet - LIVE_QUIET_S, quiet, "before the load"))
                print(live.report(quiet, loaded, "during the load"))
        finally:
            stop.set()
            web.stop_server(server)
            for runs_dir in (tmp / "spaces").glob("*/runs"):
                web.end_training_runs(runs_dir)
    print(f"server peak memory {max(rss, default=0):.0f} MB; load {os.getloadavg()}")
    tracebacks = server.log_text().count("Traceback")
    print(f"tracebacks in the server log: {tracebacks}")


def _start_live(base: str, tmp: Path) -> LiveWatch:
    """The Live session, streaming and read for ``LIVE_QUIET_S`` before the load."""
    live = LiveWatch(base, tmp)
    live.thread.start()
    live.started.wait(timeout=600)
    if live.error:
        print(f"Live session failed to start: {live.error}")
    else:
        time.sleep(LIVE_QUIET_S)
    return live


def _rerun_in_namespace() -> None:
    """Run this benchmark again in a private network namespace with 127.0.0.2 (WebRTC)."""
    inner = ("ip link set lo up && ip addr add 127.0.0.2/8 dev lo && exec "
             f"{shlex.join([sys.executable, str(Path(__file__).resolve()), *sys.argv[1:]])}")
    # --mount-proc: this namespace's own /proc, so the server's memory can be read by pid
    done = subprocess.run(["unshare", "-n", "-p", "-f", "--mount-proc", "--kill-child",
                           "bash", "-c", inner],
                          env={**os.environ, INSIDE: "1"}, cwd=REPO)
    sys.exit(done.returncode)


def _report_jobs(jobs: list[dict], timeout: float = 900) -> None:
    from vidcore import training_queue

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        training_queue.dispatch()
        states = {j["id"]: j["state"] for j in training_queue.read_jobs()}
        if all(states.get(j["id"]) not in training_queue.ACTIVE for j in jobs):
            break
        time.sleep(1)
    print("queued trainings:", ", ".join(states.get(j["id"], "?") for j in jobs))


if __name__ == "__main__":
    main()
