"""Feature extraction distributed over a Ray cluster (``vidcore extract --engine ray``).

Design: a pool of Ray actors, each holding one backbone, runs the local streaming
pipeline (``vidcore.features.extract``) on chunks of videos handed out one at a time,
so fast workers take more chunks. Every actor writes straight into the same feature
store, whose atomic per-video entries need no coordination, so the result is exactly
what ``--engine local`` makes and a re-run skips what is stored. Only paths go out and
only ``ExtractSummary`` objects come back: pixels and features never cross the network.

On a multi-machine cluster the feature store and the videos must be visible at the
same absolute path on every node (a shared filesystem: NFS, Lustre, a cloud file
share); an actor that cannot see the store stops the run with an error that says so,
a video it cannot see is reported as failed. Ray is an optional dependency, imported
only when this engine runs: ``.venv/bin/pip install -r requirements-ray.txt``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from vidcore.errors import InputError, VidcoreError
from vidcore.features import (
    ExtractSummary,
    FeatureSpec,
    FeatureStore,
    Progress,
    backbone_runner,
    default_store_dir,
    extract,
    reporter,
)

log = logging.getLogger(__name__)

INSTALL_HINT = "install it with: .venv/bin/pip install -r requirements-ray.txt"
CPUS_PER_WORKER = 2  # one actor = decoding threads + inference; 2 CPUs keep both busy
MAX_CHUNK = 64  # videos per task: big enough to amortise the pipeline's fill and drain
CHUNKS_PER_WORKER = 4  # at least this many chunks per actor, so the tail is balanced
# Only paths and summaries go through Ray's object store, so a local instance needs
# little shared memory (Ray's minimum is 75 MB; its default is 30% of RAM).
LOCAL_OBJECT_STORE_BYTES = 256 * 1024**2


def import_ray():
    """The ``ray`` module, or an ``InputError`` saying how to install it."""
    try:
        import ray
    except ImportError as err:
        raise InputError(f"the ray engine needs Ray, which is not installed; {INSTALL_HINT}"
                         ) from err
    return ray


def extract_ray(
    paths: Iterable[str | os.PathLike],
    spec: FeatureSpec,
    store_dir: str | os.PathLike | None = None,
    address: str | None = None,
    num_workers: int | None = None,
    batch_size: int = 32,
    workers: int = 2,
    chunk_size: int | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ExtractSummary:
    """Compute and store the features of every video not yet stored, on a Ray cluster.

    Connects to the cluster at ``address`` or, without one (and without
    ``$RAY_ADDRESS``), starts a local Ray instance on this machine for the run. An
    already initialised Ray (``ray.init`` called by the caller) is used as it is.

    Args:
        paths: video files, at the same absolute path on every node.
        spec: backbone, weights and sampler.
        store_dir: the feature store root (default ``default_store_dir()``); made
            absolute here, and on a multi-machine cluster it must be a shared
            filesystem mounted at that same absolute path on every node.
        address: Ray cluster address (``HOST:6379``, or ``auto`` for the cluster of this node).
        num_workers: actors, one backbone each (default: one per 2 CPUs of the cluster).
        batch_size: frames per inference batch in each actor.
        workers: decoding threads in each actor.
        chunk_size: videos per task (default: up to 64, at least 4 chunks per actor).
        progress: called with the same dicts as ``extract``'s, after each chunk.
        should_stop: polled after each chunk; True hands out no more chunks, lets the
            running ones finish, and returns what was done.

    Returns:
        One ``ExtractSummary`` for the whole run, merged from the chunks' summaries.

    Raises:
        InputError: Ray missing, cluster unreachable, or store not visible on a node.
    """
    ray = import_ray()
    start = time.perf_counter()
    # Every node runs the driver's engine, in the precision this store folder names: a
    # node measuring its own choice could pick bfloat16 and write other features here.
    spec = spec.pinned()
    store = FeatureStore(Path(store_dir or default_store_dir()).absolute(), spec)
    paths = list(dict.fromkeys(str(Path(p).absolute()) for p in paths))
    summary = ExtractSummary(videos=len(paths), store=str(store.folder))
    report = reporter(progress, len(paths), start)
    if paths:
        with _connected(ray, address):
            pool = _start_workers(ray, spec, store.root, num_workers, len(paths),
                                  batch_size, workers)
            size = chunk_size or _default_chunk_size(len(paths), len(pool))
            _run_chunks(ray, pool, _chunks(paths, size), store, summary, report, should_stop)
    summary.seconds = time.perf_counter() - start
    return summary


@contextlib.contextmanager
def _connected(ray, address: str | None) -> Iterator[None]:
    """Use, join, or start a Ray instance; disconnect at the end only from what we joined."""
    if ray.is_initialized():
        if address:
            log.warning("Ray is already initialised; ignoring address %s", address)
        yield
        return
    if address is None and not os.environ.get("RAY_ADDRESS"):
        # "local" starts a new instance even when `ray start` left one running here
        # (reach that one with --address auto).
        address, options = "local", {"object_store_memory": LOCAL_OBJECT_STORE_BYTES}
    else:
        options = {}
    try:
        ray.init(address=address, include_dashboard=False, **options)
    except (ConnectionError, ValueError, RuntimeError) as err:
        if address == "local":
            raise InputError(f"cannot start a local Ray instance: {err}") from err
        where = address or os.environ.get("RAY_ADDRESS")
        raise InputError(
            f"cannot connect to the Ray cluster at {where}: {err}; start it with `ray start "
            "--head --port=6379` and pass --address HEAD:6379 (or --address auto on a node of "
            "the cluster); a cluster with token authentication, Ray's default, also needs "
            "RAY_AUTH_MODE=token and its token (`ray get-auth-token` on the head) in "
            "RAY_AUTH_TOKEN") from err
    try:
        yield
    finally:
        ray.shutdown()


def _start_workers(ray, spec, store_root: Path, num_workers, videos: int, batch_size: int,
                   workers: int) -> list:
    """Create the actor pool, sized to the cluster's CPUs."""
    cluster_cpus = ray.cluster_resources().get("CPU", 0)
    if cluster_cpus <= 0:
        raise InputError("the Ray cluster has no CPUs; add a worker node with "
                         "`ray start --address=HEAD:6379`")
    count, cpus = plan_workers(cluster_cpus, num_workers, videos)
    log.info("starting %d extraction actors with %.2f CPUs each on a %g-CPU cluster",
             count, cpus, cluster_cpus)
    # max_restarts=-1: a crashed actor (a decoder segfault, an OOM kill) comes back,
    # and max_task_retries=1 reruns its chunk once; what it had stored is then cached.
    actor = ray.remote(num_cpus=cpus, max_restarts=-1, max_task_retries=1)(ExtractWorker)
    threads = max(1, math.floor(cpus))
    return [actor.remote(spec, str(store_root), batch_size, workers, threads)
            for _ in range(count)]


def plan_workers(cluster_cpus: float, num_workers: int | None, videos: int) -> tuple[int, float]:
    """How many actors, and how many CPUs each asks Ray for.

    Args:
        cluster_cpus: CPUs of the whole cluster.
        num_workers: requested actors, or None for one per ``CPUS_PER_WORKER`` CPUs.
        videos: videos to process (there is no use in more actors than videos).

    Returns:
        (actors, CPUs per actor). More actors than the cluster has CPU pairs get a
        fraction each, so that all of them are scheduled rather than left pending.
    """
    if num_workers is not None and num_workers < 1:
        raise InputError(f"--ray-workers must be at least 1, not {num_workers}")
    count = num_workers or max(1, int(cluster_cpus // CPUS_PER_WORKER))
    count = max(1, min(count, videos))
    return count, min(float(CPUS_PER_WORKER), cluster_cpus / count)


def _default_chunk_size(videos: int, actors: int) -> int:
    return max(1, min(MAX_CHUNK, math.ceil(videos / (actors * CHUNKS_PER_WORKER))))


def _chunks(paths: list[str], size: int) -> list[list[str]]:
    return [paths[i:i + size] for i in range(0, len(paths), size)]


def _run_chunks(ray, pool: list, chunks: list, store: FeatureStore, summary: ExtractSummary,
                report, should_stop) -> None:
    """Hand chunks to idle actors until all are done; merge each result as it arrives."""
    queue, idle, running = deque(chunks), deque(pool), {}
    while queue or running:
        while queue and idle:
            actor, chunk = idle.popleft(), queue.popleft()
            running[actor.run.remote(chunk)] = (actor, chunk)
        (ref,), _ = ray.wait(list(running), num_returns=1)
        actor, chunk = running.pop(ref)
        merge(summary, _chunk_result(ray, ref, chunk, store))
        idle.append(actor)
        report(summary.cached + summary.computed + len(summary.failed), summary.frames)
        if queue and should_stop and should_stop():
            log.info("extraction stopped on request; %d chunks not started", len(queue))
            queue.clear()


def _chunk_result(ray, ref, chunk: list[str], store: FeatureStore) -> ExtractSummary:
    """A chunk's summary; an actor that died twice on it fails the videos it did not store."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as err:
        # A VidcoreError in an actor (the store not visible there) is the user's to fix:
        # raise it as itself so the CLI prints its one line.
        if isinstance(err.cause, VidcoreError):
            raise err.cause from None
        raise
    except ray.exceptions.RayActorError as err:
        log.warning("a Ray worker died twice on a chunk of %d videos: %s", len(chunk), err)
        return died_on(chunk, store, f"the Ray worker extracting it died ({type(err).__name__})")


def died_on(chunk: list[str], store: FeatureStore, reason: str) -> ExtractSummary:
    """The summary of a chunk whose actor died: what is stored counts, the rest failed.

    No failure note is written (unlike an unreadable video): the next run retries them.
    """
    part = ExtractSummary(videos=len(chunk))
    for path in chunk:
        try:
            stored = store.get(path) is not None
        except OSError:
            stored = False
        if stored:
            part.cached += 1
        else:
            part.failed.append({"path": path, "reason": reason})
    return part


def merge(total: ExtractSummary, part: ExtractSummary) -> ExtractSummary:
    """Add a chunk's counts and failures to the run's summary (``videos`` is set once)."""
    total.frames += part.frames
    total.computed += part.computed
    total.cached += part.cached
    total.failed.extend(part.failed)
    return total


class ExtractWorker:
    """The body of one Ray actor: one backbone, the local pipeline run on chunks of videos.

    Args:
        spec: backbone, weights and sampler.
        store_root: absolute feature store root, the same path on every node.
        batch_size: frames per inference batch.
        workers: decoding threads.
        threads: TensorFlow threads, matched to the CPUs Ray gave the actor so that
            several actors on one node do not oversubscribe it.
    """

    def __init__(self, spec: FeatureSpec, store_root: str, batch_size: int, workers: int,
                 threads: int):
        # Read by TensorFlow when it starts, which is later, in this fresh process.
        os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(threads))
        os.environ.setdefault("TF_NUM_INTEROP_THREADS", str(threads))
        self.spec, self.store_root = spec, store_root
        self.batch_size, self.workers = batch_size, workers
        # Built and traced once per actor, on its first batch: a chunk that is all
        # stored already never imports TensorFlow.
        self.runner = backbone_runner(spec, lazy=True)

    def run(self, paths: list[str]) -> ExtractSummary:
        """Extract one chunk with ``vidcore.features.extract``; return its summary."""
        self._check_precision()  # first: the store folder's name depends on it
        self._check_store()
        return extract(paths, self.spec, self.store_root, self.batch_size, self.workers,
                       model=self.runner)

    def _check_precision(self) -> None:
        # The driver pinned its own engine and precision; a node whose CPU lacks that
        # precision (or whose install lacks that engine) must not quietly write other
        # features into that store folder.
        try:
            self.spec.compute_precision()
        except InputError as err:
            raise InputError(
                f"Ray node {socket.gethostname()}: {err}; on a cluster of mixed CPUs start the "
                "run with VIDCORE_PRECISION=float32 (and VIDCORE_ENGINE=keras if some node "
                "lacks ai-edge-litert)") from err

    def _check_store(self) -> None:
        # The driver created spec.json; not seeing it means another filesystem, and
        # writing there would scatter the features over the nodes' local disks.
        spec_file = Path(self.store_root) / self.spec.folder_name() / "spec.json"
        if not spec_file.is_file():
            raise InputError(
                f"the feature store {self.store_root} is not visible on Ray node "
                f"{socket.gethostname()}: on a multi-machine cluster the store must be on "
                "a shared filesystem mounted at the same absolute path on every node "
                "(pass that path with --store)")

