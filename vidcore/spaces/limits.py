"""Per-user limits that admins set in the app, kept in one settings file.

``limits.json`` in the spaces folder (``settings.limits_file()``) holds, per e-mail,
the limits an admin set for that user; a limit not set there is the server's
(``VIDCORE_USER_*``, ``vidcore.settings.limit``). The file is changed only under its
lock and written atomically; ``vidcore.spaces.quotas`` and the training queue read it
through ``limit_for``. Only an admin (``VIDCORE_ADMINS``) may change it.
"""

from __future__ import annotations

import json

from vidcore import settings
from vidcore.atomic import write_with
from vidcore.errors import InputError
from vidcore.locking import exclusive
from vidcore.spaces import identity

# The limits an admin may set per user: key of ``settings.LIMITS`` -> what it counts.
KEYS = {"user_disk_mb": "disk (MB)", "user_datasets": "datasets", "user_clips": "clips",
        "user_uploads_per_minute": "uploads a minute", "user_trainings": "trainings queued"}
MAX_VALUE = 10**9  # anything larger is a typo, not a limit


def read_all() -> dict[str, dict[str, int]]:
    """The limits set per e-mail (a missing or damaged file reads as none)."""
    try:
        data = json.loads(settings.limits_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {email: {k: v for k, v in values.items() if k in KEYS and isinstance(v, int)}
            for email, values in data.items() if isinstance(values, dict)}


def limit_for(key: str, email: str | None) -> int:
    """A user's limit: the one an admin set for ``email``, else the server's."""
    if email:
        value = read_all().get(email.strip().lower(), {}).get(key)
        if value is not None:
            return value
    return settings.limit(key)


def parse(key: str, text: str) -> int | None:
    """A typed limit as a number (None: empty, back to the server's limit).

    Raises:
        InputError: not a whole number, not positive, or absurdly large.
    """
    what = KEYS[key]
    text = str(text).strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"the limit for {what} must be a whole number, not {text!r}; "
                         "leave it empty for the server's limit") from None
    if value <= 0:
        raise InputError(f"the limit for {what} must be positive, not {value}; leave it "
                         "empty for the server's limit")
    if value > MAX_VALUE:
        raise InputError(f"the limit for {what} is at most {MAX_VALUE:,}, not {value:,}")
    return value


def set_limits(admin: str | None, email: str, typed: dict[str, str]) -> dict[str, int]:
    """Set one user's limits as an admin typed them; empty ones go back to the server's.

    Args:
        admin: the e-mail of who asks (signed in); only an admin may.
        email: the user whose limits these are.
        typed: limit key -> the text typed (every key of ``KEYS`` may appear).

    Returns:
        The limits now set for that user.

    Raises:
        InputError: not an admin, not a user's e-mail, an unknown key, or a bad value
            (nothing is written then).
    """
    if not identity.is_admin(admin):
        raise InputError("only an admin may set limits; ask one of them (VIDCORE_ADMINS)")
    email = identity.check_email(email)
    unknown = set(typed) - set(KEYS)
    if unknown:
        raise InputError(f"unknown limit {sorted(unknown)[0]!r}; choose from {', '.join(KEYS)}")
    values = {key: parse(key, text) for key, text in typed.items()}
    path = settings.limits_file()
    with exclusive(path.with_name(".limits.lock")):
        data = read_all()
        mine = {**data.get(email, {}), **values}
        data[email] = {k: v for k, v in mine.items() if v is not None}
        text = json.dumps({e: v for e, v in data.items() if v}, indent=1, sort_keys=True)
        write_with(path, lambda f: f.write(text.encode("utf-8")))
    return data[email]
