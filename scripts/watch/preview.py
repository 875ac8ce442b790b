"""The preview target: the configured Grafana, but a folder, uids, titles and an owner of the user's own.

Its owner (`grafana-chat-as-code/preview-<user>`) is not `make publish`'s, so the publish ownership rules
refuse every write to their objects: a watch session can never touch what `make publish` owns.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace

from scripts.grafana.target import Target

# Rendered uids are up to 25 characters (alert rules); "-pv-" and this many leave them within Grafana's 40.
USER_CHARS = 10
HASH_CHARS = 4


def preview_user(login: str) -> str:
    """The login as uid characters, at most USER_CHARS: a long one is cut and keeps a hash of the whole,
    so two long logins with one prefix still get different previews."""
    name = re.sub(r"[^a-z0-9]+", "-", login.lower()).strip("-") or "user"
    if len(name) <= USER_CHARS:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:HASH_CHARS]
    return f"{name[: USER_CHARS - HASH_CHARS - 1]}-{digest}"


def preview_target(target: Target, login: str) -> Target:
    user = preview_user(login)
    return replace(
        target,
        name=f"preview-{user}",
        folder_uid=f"preview-{user}",
        folder_title=f"preview-{user}",
        uid_suffix=f"-pv-{user}",
        title_suffix=f" (preview {user})",
    )
