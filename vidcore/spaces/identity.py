"""From a signed-in identity (an e-mail) to the folder of that user's space.

A folder name is a readable slug of the e-mail plus a short hash of the whole
(normalised) e-mail: ``alice-example-com-3f9a1c0b2d4e``. The slug keeps only
``a-z``, ``0-9`` and ``-``, so no name can climb out of the spaces folder or hide a
path; the hash keeps two e-mails that slug alike (``a.b@x`` and ``a-b@x``) apart.
The e-mail itself is only ever stored as data (``identity.json``), never used as a
path or given to a shell.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from vidcore import settings
from vidcore.atomic import write_with
from vidcore.errors import InputError

IDENTITY = "identity.json"  # {"email": ...} in each space, for the admins' list
SLUG_CHARS = 32
HASH_CHARS = 12  # 48 bits: no two e-mails of one server share a folder
_EMAIL = re.compile(r"^[^@\s/\\\x00-\x1f]{1,128}@[^@\s/\\\x00-\x1f]{1,253}$")
_FOLDER = re.compile(rf"^[a-z0-9-]{{1,{SLUG_CHARS}}}-[0-9a-f]{{{HASH_CHARS}}}$")


def check_email(email: str | None) -> str:
    """The e-mail, stripped and lower-cased, when it can name a user.

    Raises:
        InputError: empty, without one ``@``, with spaces, slashes or control characters.
    """
    text = (email or "").strip().lower()
    if not _EMAIL.match(text):
        raise InputError(f"{email!r} is not an e-mail address vidcore can name a user by; "
                         "give one like alice@example.com")
    return text


def folder_name(email: str) -> str:
    """The folder name of a user's space: a slug of the e-mail plus a short hash.

    Raises:
        InputError: not a usable e-mail (see ``check_email``).
    """
    email = check_email(email)
    slug = re.sub(r"[^a-z0-9]+", "-", email).strip("-")[:SLUG_CHARS].strip("-") or "user"
    digest = hashlib.sha256(email.encode("utf-8")).hexdigest()[:HASH_CHARS]
    return f"{slug}-{digest}"


def is_space_folder(name: str) -> bool:
    """Whether a folder name is one ``folder_name`` makes (the spaces folder holds others)."""
    return bool(_FOLDER.match(name))


def space_folder(email: str) -> Path:
    """The folder of a user's space under ``settings.spaces_dir()`` (not created)."""
    return settings.spaces_dir() / folder_name(email)


def open_space(email: str) -> Path:
    """The user's space folder, created with its ``identity.json`` on first use."""
    email = check_email(email)
    folder = space_folder(email)
    if not (folder / IDENTITY).is_file():
        folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"email": email}) + "\n"
        write_with(folder / IDENTITY, lambda f: f.write(text.encode("utf-8")))
    return folder


def is_admin(email: str | None) -> bool:
    """Whether ``$VIDCORE_ADMINS`` names this e-mail."""
    try:
        return check_email(email) in settings.admins()
    except InputError:
        return False


def email_of(folder: str | Path) -> str:
    """The e-mail a space folder belongs to ("" when it has no readable ``identity.json``)."""
    try:
        return str(json.loads((Path(folder) / IDENTITY).read_text(encoding="utf-8"))["email"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def list_spaces() -> list[dict]:
    """Every user space there is: ``{"email", "folder"}``, by e-mail (for the admins)."""
    root = settings.spaces_dir()
    found = []
    for path in sorted(root.glob(f"*/{IDENTITY}")) if root.is_dir() else []:
        email = email_of(path.parent)
        if email and is_space_folder(path.parent.name):
            found.append({"email": email, "folder": path.parent})
    return sorted(found, key=lambda s: s["email"])
