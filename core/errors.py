"""Errors raised by services for bad input or illegal moves.

Views and the API turn a ``DomainError`` into a 4xx with its message; it is
never a 500. The message is written for the person who caused it.
"""

from __future__ import annotations


class DomainError(Exception):
    """A request the domain refuses; ``message`` says why in plain words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class IllegalTransition(DomainError):
    """A state change that the state machine does not allow from the current state."""


class FourEyesViolation(DomainError):
    """Someone tried to approve their own work."""


class DuplicateError(DomainError):
    """The thing already exists (e.g. the same URL referred twice)."""


class PermissionRefused(DomainError):
    """The user's role does not allow this action (a 403, with the reason)."""

    permission: str = ""
