"""Errors that reach the user: each carries one plain sentence and, where useful, a hint."""

from __future__ import annotations


class ConnectGuardError(Exception):
    """Base of every error connectguard reports to its user as a sentence, not a traceback."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class InputError(ConnectGuardError):
    """The command line, an option value or a file given by the user is wrong."""


class DescriptorError(ConnectGuardError):
    """The app descriptor could not be fetched, parsed or validated."""
