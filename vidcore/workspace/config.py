"""Where the workspace lives, what a name may be, and the limits on what users add.

Every limit can be set by an environment variable (``vidcore.settings.LIMITS``; the page
and ``vidcore dataset ls`` state the values in force), so a shared server can be
tightened without code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vidcore import settings
from vidcore.errors import InputError

MANIFEST = "vidcore-dataset.json"
DATASET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
# Class names become folder names: word characters, spaces and dashes only (no dot,
# no slash), so a name can never address another folder.
CLASS_NAME = re.compile(r"^[^\W_][\w -]{0,63}$")
MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Bounds on what one upload and one dataset may hold.

    Attributes:
        file_bytes: largest single video (an uploaded file or a zip member).
        upload_bytes: largest total of one upload (all files, or a zip's uncompressed size).
        clips: most clips one dataset may hold.
        zip_entries: most entries a zip may list (zip bombs list millions).
        cut_pieces: most pieces one cut may make.
    """

    file_bytes: int
    upload_bytes: int
    clips: int
    zip_entries: int
    cut_pieces: int

    def describe(self, uploader_mb: int | None = None) -> str:
        """One sentence stating the limits, for the page and the CLI.

        Args:
            uploader_mb: the web uploader's own limit per file (Streamlit's
                ``server.maxUploadSize``), which no file of a browser upload can pass.
        """
        per_file = self.file_bytes // MB
        if uploader_mb is not None:
            per_file = min(per_file, uploader_mb)
        return (f"up to {per_file} MB a file (a zip too), {self.upload_bytes // MB} MB in all "
                f"for one upload (a zip counts unpacked), {self.clips} clips a dataset, "
                f"{self.zip_entries} entries a zip, {self.cut_pieces} pieces a cut")


def limits() -> Limits:
    """The limits in force (``VIDCORE_MAX_FILE_MB``, ``VIDCORE_MAX_UPLOAD_MB``,
    ``VIDCORE_MAX_CLIPS``, ``VIDCORE_MAX_ZIP_ENTRIES``, ``VIDCORE_MAX_CUT_PIECES``)."""
    return Limits(file_bytes=settings.limit("file_mb") * MB,
                  upload_bytes=settings.limit("upload_mb") * MB,
                  clips=settings.limit("clips"), zip_entries=settings.limit("zip_entries"),
                  cut_pieces=settings.limit("cut_pieces"))


home = settings.workspace_home  # ``$VIDCORE_HOME`` or ``workspace/`` in the project folder


def check_dataset_name(name: str) -> str:
    """The name, stripped, when it may name a dataset.

    Raises:
        InputError: it is empty, too long or has characters other than letters,
            digits, ``-`` and ``_``.
    """
    name = (name or "").strip()
    if not DATASET_NAME.match(name):
        raise InputError(f"{name!r} is not a usable dataset name: use 1-64 letters, digits, "
                         "'-' or '_', starting with a letter or digit (e.g. my-actions)")
    return name


def check_class_name(name: str) -> str:
    """The name, stripped, when it may name a class (a folder of the dataset).

    Raises:
        InputError: empty, too long, or with characters other than letters, digits,
            spaces, ``-`` and ``_``.
    """
    name = " ".join((name or "").split())
    if not CLASS_NAME.match(name):
        raise InputError(f"{name!r} is not a usable class name: use 1-64 letters, digits, "
                         "spaces, '-' or '_', starting with a letter or digit (e.g. JumpingJack)")
    return name
