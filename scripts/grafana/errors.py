"""The one error type of publish: a failure shown as one line, with the exit code the CLI ends with."""

from __future__ import annotations

from typing import Any

from scripts.common.exits import ExitCode


class PublishError(Exception):
    """A failure to show as one line; `exit_code` is what the CLI exits with."""

    def __init__(
        self, message: str, exit_code: int = ExitCode.FAILED, status: int = 0, body: Any = None
    ) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.status = status
        self.body = body


def config_error(message: str) -> PublishError:
    """A setting, file or credential publish cannot use (exit 2)."""
    return PublishError(message, exit_code=ExitCode.CONFIG)


def is_not_found(error: PublishError) -> bool:
    return error.status == 404
