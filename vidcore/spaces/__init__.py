"""User spaces: with sign-in on, each user's own datasets, runs and active model.

``identity`` (an e-mail -> a safe folder), ``current`` (which space the running code
acts in), ``confine`` (what a user may open), ``quotas`` (per-user limits). The runs
and workspace folders follow the space in use through ``vidcore.settings``; nothing
else in the library needs to know whose space it works in.
"""

from __future__ import annotations

from vidcore.spaces.current import folder, set_finder, use
from vidcore.spaces.identity import (
    check_email,
    email_of,
    folder_name,
    is_admin,
    list_spaces,
    open_space,
    space_folder,
)

__all__ = ["check_email", "email_of", "folder", "folder_name", "is_admin", "list_spaces",
           "open_space", "set_finder", "space_folder", "use"]
