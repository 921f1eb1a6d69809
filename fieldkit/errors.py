"""One exception hierarchy: every error carries a one-sentence message for the user."""

from __future__ import annotations


class FieldkitError(Exception):
    """Base of every error the user may see; ``str(err)`` is the translated sentence."""

    exit_code = 1

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(FieldkitError):
    """A value typed, scanned or imported is wrong; nothing was saved."""

    exit_code = 2


class NeedsConfirmation(ValidationError):
    """A value is valid but unusual (e.g. a number outside the registered bracelet ranges)."""


class WrongPassphrase(FieldkitError):
    exit_code = 3


class StoreDamaged(FieldkitError):
    exit_code = 4


class StoreMissing(FieldkitError):
    exit_code = 5


class PermissionDenied(FieldkitError):
    """The station's role may not do or read this."""

    exit_code = 6


class NotFound(FieldkitError):
    exit_code = 7


class SyncError(FieldkitError):
    exit_code = 8
