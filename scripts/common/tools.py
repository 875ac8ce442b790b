"""Find the external programs the stages run (promtool, prometheus, node): one error when one is missing."""

from __future__ import annotations

import shutil

# program -> how to get it on the Debian machines this project runs on
INSTALL_HINTS = {
    "promtool": "apt-get install prometheus",
    "prometheus": "apt-get install prometheus",
    "node": "apt-get install nodejs npm (Node.js 20+)",
    "redis-server": "apt-get install redis-server (make system-deps)",
}


class ToolMissingError(RuntimeError):
    """An external program (or the packages it needs) is not installed, or cannot run: the stage cannot."""


def require_tool(name: str) -> str:
    """The path of program `name`; ToolMissingError naming how to install it when it is not on PATH."""
    path = shutil.which(name)
    if path is None:
        raise ToolMissingError(f"{name} is not installed: {INSTALL_HINTS.get(name, f'install {name}')}")
    return path
