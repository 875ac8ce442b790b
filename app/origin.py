"""Who may reach the chat: the Host allowlist (DNS rebinding) and the Origin check of /ws (CSWSH).

DNS rebinding: a page on evil.example, whose name the attacker re-points to 127.0.0.1, is same-origin with
everything it then loads from "evil.example": the browser sends `Host: evil.example` and
`Origin: http://evil.example:PORT`. Comparing the Origin with the Host alone lets it in, so the Host itself
must be one we serve (Django's ALLOWED_HOSTS rule: the name without the port, `.example.com` for a domain
and its subdomains, `*` for any).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Always served: what the machine itself calls us (docker-compose adds its service name).
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
# Bind addresses that are no name a client would use.
_WILDCARD_BINDS = ("0.0.0.0", "::", "")
_NAME_CHARS = re.compile(r"[a-z0-9._-]+")
_IPV6_CHARS = re.compile(r"[0-9a-f:.]+")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def allowed_host_patterns(extra: tuple[str, ...], bind_host: str) -> tuple[str, ...]:
    """LOCAL_HOSTS, the interface the server listens on (if it names one) and CHAT_ALLOWED_HOSTS."""
    own = () if bind_host in _WILDCARD_BINDS else (bind_host.strip("[]").lower(),)
    return tuple(dict.fromkeys((*LOCAL_HOSTS, *own, *(pattern.strip("[]") for pattern in extra))))


def host_name(host_header: str) -> str | None:
    """The name of a Host header value without its port ("[::1]:8000" -> "::1"); None if malformed."""
    value = host_header.strip().lower()
    if value.startswith("["):
        name, bracket, rest = value[1:].partition("]")
        port_ok = rest == "" or (rest.startswith(":") and _is_port(rest[1:]))
        return name if bracket and port_ok and _IPV6_CHARS.fullmatch(name) else None
    name, colon, port = value.partition(":")
    if colon and not _is_port(port):
        return None
    return name if _NAME_CHARS.fullmatch(name) else None


def host_allowed(host_header: str | None, patterns: tuple[str, ...]) -> bool:
    """Whether the Host header names a host of `patterns` (exact, `.domain` suffix, or `*`)."""
    name = host_name(host_header or "")
    if name is None:
        return False
    name = name.rstrip(".")  # "localhost." is the same name
    for pattern in patterns:
        if pattern == "*" or name == pattern:
            return True
        if pattern.startswith(".") and (name.endswith(pattern) or name == pattern[1:]):
            return True
    return False


def origin_allowed(
    origin: str | None, scheme: str, host_header: str, allowed_origins: tuple[str, ...]
) -> bool:
    """Whether a browser page of `origin` may open /ws on this request (scheme + host header).

    No Origin header: allowed (not a browser, so no ambient cookies to abuse). The request's own origin
    (same scheme, host and port; the Host having passed `host_allowed`): allowed. Otherwise only an entry of
    `allowed_origins` (lower-case "scheme://host[:port]") is, compared the same way.
    """
    if not origin:
        return True
    theirs = normalized_origin(origin)
    if theirs is None:
        return False  # "null" (a sandboxed or file: page) and anything unparsable
    own = normalized_origin(f"{_http_scheme(scheme)}://{host_header}")
    return theirs == own or theirs in {normalized_origin(entry) for entry in allowed_origins}


def normalized_origin(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin, with the scheme's default port made explicit; None if not one."""
    try:
        parts = urlsplit(origin.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        return None
    if parts.username is not None or parts.query or parts.fragment:
        return None
    return parts.scheme, parts.hostname, port if port is not None else _DEFAULT_PORTS[parts.scheme]


def _http_scheme(scheme: str) -> str:
    """A page's origin is http(s) even though it opens ws(s): compare like with like."""
    return {"ws": "http", "wss": "https"}.get(scheme, scheme)


def _is_port(text: str) -> bool:
    return text.isdigit() and 0 < int(text) < 65536
