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
printed), not universal. Not done here: the Live session from a fake camera.
"""

from __future__ import annotations

import argparse
import os
import statistics
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
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vidcore-load-"))
    from vidcore.data.demo import ensure_demo_dataset

    demo = ensure_demo_dataset(tmp / "demo", size="tiny").parent
    env = {"VIDCORE_SPACES": str(tmp / "spaces"), "VIDCORE_DEMO_DIR": str(demo),
           "VIDCORE_STORE": str(tmp / "features"), "VIDCORE_RUNS": str(tmp / "local-runs")}
    os.environ.update(env)  # the trainings are queued from here, into the same spaces
    emails = [f"user{k}@example.com" for k in range(args.users)]
    clip = demo_clip(tmp / "upload.avi", "JumpingJack", 9)
    print(f"CPU: {flags_line()}; load {os.getloadavg()}")
    with signin_web.provider(emails) as provider:
        port = web.free_port()
        server = web.start_server({**env, **signin_web.secrets_env(tmp, port, provider)},
                                  tmp / "server.log", port=port)
        stop, rss = threading.Event(), []
        try:
            web.wait_healthy(server)
            threading.Thread(target=_peak_rss, args=(server.pid, stop, rss), daemon=True).start()
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
            _report_jobs(jobs)
        finally:
            stop.set()
            web.stop_server(server)
            for runs_dir in (tmp / "spaces").glob("*/runs"):
                web.end_training_runs(runs_dir)
    print(f"server peak memory {max(rss, default=0):.0f} MB; load {os.getloadavg()}")
    tracebacks = server.log_text().count("Traceback")
    print(f"tracebacks in the server log: {tracebacks}")


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
