"""Frame features: a streaming extraction pipeline and the on-disk feature store.

Store format (one folder per feature spec, one file per video)::

    <store>/<backbone>__<weights id>__<precision>__<sampler>/spec.json
    <store>/<backbone>__<weights id>__<precision>__<sampler>/<k[:2]>/<k>.npz   one video
    <store>/<backbone>__<weights id>__<precision>__<sampler>/<k[:2]>/<k>.failed.json
                                                          (why it could not be read)

``<precision>`` is the one the backbone really computes in (``f32`` or ``bf16``, see
``vidcore.models.precision``), so features of the two never mix. The engine
(``vidcore.models.engines``) is not in the key: LiteRT computes in float32 only, and
its float32 features equal Keras float32's to about 1e-5 (every conversion is guarded
at 1e-3, float16 storage rounds at about 2e-3), so the two share ``f32`` folders,
while bfloat16 (off by up to 0.27) keeps its own.

``k`` hashes the video's absolute path, size and mtime, so an edited video is
recomputed. Why one ``.npz`` per video: each entry is written to a temporary file
in the same folder and renamed into place, which is atomic on POSIX. A reader never
sees half an entry, a ``kill -9`` loses at most the videos in flight, and two
processes extracting into one store need no lock: they may both compute a video,
and whichever rename lands last leaves an identical, complete file.

The package: ``spec`` (``FeatureSpec``, ``VideoFeatures``), ``store`` (``FeatureStore``
and the folder it lives in), ``pipeline`` (``extract``, ``load_features``,
``video_features``, ``backbone_runner``). Every public name is importable from here.
"""

from vidcore.features.pipeline import (
    ExtractSummary,
    Progress,
    backbone_runner,
    extract,
    load_features,
    reporter,
    video_features,
)
from vidcore.features.spec import FeatureSpec, VideoFeatures
from vidcore.features.store import (
    ENTRY_KEYS,
    STALE_TEMP_SECONDS,
    TEMP_PREFIX,
    FeatureStore,
    default_store_dir,
    entry_files,
    open_store,
    store_usage,
    video_key,
)

__all__ = ["ENTRY_KEYS", "STALE_TEMP_SECONDS", "TEMP_PREFIX", "ExtractSummary", "FeatureSpec",
           "FeatureStore", "Progress", "VideoFeatures", "backbone_runner", "default_store_dir",
           "entry_files", "extract", "load_features", "open_store", "reporter", "store_usage",
           "video_features", "video_key"]
