"""Typed errors: the ones a user can fix, shown as one line by the CLI and the app."""


class VidcoreError(Exception):
    """Base class of every error vidcore raises on purpose.

    The message must say what is wrong and what to do about it; the CLI prints it
    as one line (exit status 2) and the app shows it with ``st.error``.
    """


class InputError(VidcoreError):
    """Bad input from the user: a path, a file, an option."""


class DatasetError(InputError):
    """A dataset root or its split files cannot be understood."""


class VideoReadError(InputError):
    """A video file cannot be opened or decoded."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot read video {self.path}: {reason}")


class WeightsError(InputError):
    """Model weights are missing, damaged or of the wrong shape."""


class RunError(InputError):
    """A run directory is missing, incomplete or damaged."""


class TrainingError(VidcoreError):
    """Training failed for a reason that is not the user's input (the run records it)."""
