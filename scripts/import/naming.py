"""Names for generated code, derived from titles."""

from __future__ import annotations

import keyword
import re


def module_name(title: str, uid: str = "") -> str:
    """ "Kubernetes / Views / Pods" -> kubernetes_views_pods: a module name Python can import."""
    words = re.findall(r"[a-z0-9]+", title.lower()) or re.findall(r"[a-z0-9]+", uid.lower()) or ["dashboard"]
    name = "_".join(words)
    if name[0].isdigit() or keyword.iskeyword(name):
        name = f"dashboard_{name}"
    return name
