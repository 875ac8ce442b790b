"""embeds.json, the panels the `/dashboards` page can show: its entries and how it is read.

`python -m scripts.render` writes it; the app reads it once, when it is built (GRAFANA_EMBEDS_PATH).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EmbeddedPanel:
    """One entry of embeds.json."""

    title: str
    path: str  # /d-solo/<uid>/<slug>?panelId=<id>


@dataclass(frozen=True)
class EmbedCatalog:
    """What /dashboards can show: the panels, or why there are none."""

    panels: tuple[EmbeddedPanel, ...]
    problem: str | None = None


def load_embeds(path: Path) -> EmbedCatalog:
    """Read embeds.json; a missing or malformed file becomes a `problem` the page shows, not a crash."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return EmbedCatalog((), f"{path} does not exist: run `python -m scripts.render` (make render).")
    except (OSError, ValueError) as exc:
        return EmbedCatalog((), f"{path} is not readable JSON ({exc}): re-run `python -m scripts.render`.")
    if not isinstance(entries, list):
        return EmbedCatalog((), f"{path} must hold a JSON list of panels: re-run `python -m scripts.render`.")
    panels = []
    for index, entry in enumerate(entries):
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("title"), str)
            and isinstance(entry.get("path"), str)
            and entry["path"].startswith("/d-solo/")
        ):
            return EmbedCatalog((), f"{path}: entry {index} needs a title and a /d-solo/... path.")
        panels.append(EmbeddedPanel(title=entry["title"], path=entry["path"]))
    return EmbedCatalog(tuple(panels))
