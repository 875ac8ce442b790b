"""Grafana's error bodies (grafana/grafana: pkg/api/response/response.go,
pkg/apimachinery/errutil/errors.go): which writer an endpoint uses decides the JSON keys.

Handlers raise `ApiError`; the server turns it into the status code and body. Keeping the four shapes here
means every endpoint picks one on purpose instead of improvising a body.
"""

from __future__ import annotations

import random
from typing import Any


class ApiError(Exception):
    """An HTTP error answer: status plus the exact JSON body (None = empty body)."""

    def __init__(self, status: int, body: dict[str, Any] | None) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body


def plain(status: int, message: str, *, trace: bool = False) -> ApiError:
    """Shape (A) `response.Error`: {"message"}, plus "traceID" when a Go error was attached."""
    body: dict[str, Any] = {"message": message}
    if trace:
        body["traceID"] = ""
    return ApiError(status, body)


def with_status(status: int, message: str, status_text: str) -> ApiError:
    """Shape (B) dashboard/folder errors: {"message", "status"}, never a traceID."""
    return ApiError(status, {"message": message, "status": status_text})


def public(status: int, message_id: str, message: str) -> ApiError:
    """Shape (C) errutil public error: {"statusCode", "messageId", "message"} (+ empty traceID)."""
    return ApiError(
        status, {"statusCode": status, "messageId": message_id, "message": message, "traceID": ""}
    )


def access_denied(needed: object) -> ApiError:
    """Shape (D) the RBAC middleware's denial (pkg/services/accesscontrol/middleware.go, deny()): the message
    ends with the route's evaluator as its String() prints it (pkg/services/accesscontrol/evaluator.go): a
    permission as its action (never its scopes), EvalAny as "any of a, b", EvalAll as "all of a, b"."""
    message = "You'll need additional permissions to perform this action. Permissions needed: "
    return ApiError(
        403,
        {
            "title": "Access denied",
            "message": f"{message}{needed}",
            "accessErrorId": "ACE" + "".join(random.choices("0123456789", k=10)),
        },
    )


def empty(status: int) -> ApiError:
    """`response.Empty(status)`: no body at all (e.g. 404 for a single provisioned alert rule)."""
    return ApiError(status, None)
