"""The CLI's exit statuses and its one-line error."""

from __future__ import annotations

__all__ = ["EXIT_ADDRESS_IN_USE", "EXIT_DUPLICATE", "EXIT_RUNTIME", "EXIT_USAGE", "PROG", "CLIError"]

PROG = "gowork"

EXIT_RUNTIME = 1
EXIT_USAGE = 2
EXIT_DUPLICATE = 3
#: ``gowork webui`` cannot listen on its address (port taken, or not allowed)
EXIT_ADDRESS_IN_USE = 4


class CLIError(Exception):
    """A failure reported as one line, ``gowork: error: <message>``, and exit ``code``."""

    def __init__(self, message: str, code: int = EXIT_RUNTIME) -> None:
        super().__init__(message)
        self.code = code


def _usage_error(message: str) -> CLIError:
    return CLIError(message, EXIT_USAGE)
