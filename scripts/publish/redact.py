"""Replace secret values in text before it leaves CI: GitHub masks secrets in job logs, not in a PR comment.

    python -m scripts.publish.redact GRAFANA_URL GRAFANA_TOKEN < plan.txt > plan.redacted.txt

Each named environment variable's value becomes `<NAME>`. A URL value is also redacted as the URL the
publisher prints (no user info, no trailing slash), as `host:port` and as the bare host, since dashboard
links and error lines are built from it rather than quoting it. Hosts compare case-insensitively.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping
from urllib.parse import urlsplit

from scripts.grafana.target import safe_url


def spellings(value: str) -> set[str]:
    """The ways `value` can appear in the publisher's output."""
    parts = urlsplit(value)
    if not (parts.scheme and parts.hostname):
        return {value}
    host_port = f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname
    return {value, safe_url(value), host_port, parts.hostname}


def redact(text: str, secrets: Mapping[str, str]) -> str:
    """`text` with every spelling of every non-empty secret replaced by `<NAME>`."""
    names = {
        spelling.lower(): name for name, value in secrets.items() if value for spelling in spellings(value)
    }
    if not names:
        return text
    # One pass, longest first: a URL is replaced whole before its host could be, and no replacement is
    # searched again.
    pattern = re.compile("|".join(re.escape(s) for s in sorted(names, key=len, reverse=True)), re.IGNORECASE)
    return pattern.sub(lambda match: f"<{names[match.group(0).lower()]}>", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.publish.redact", description=__doc__.split("\n")[0]
    )
    parser.add_argument("names", nargs="+", metavar="VAR", help="environment variables holding secrets")
    args = parser.parse_args(argv)
    sys.stdout.write(redact(sys.stdin.read(), {name: os.environ.get(name, "") for name in args.names}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
