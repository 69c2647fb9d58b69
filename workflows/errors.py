"""Errors of the case layer; each says what the user should fix."""

from __future__ import annotations


class CaseError(Exception):
    """Base class of case-layer errors."""


class IntakeError(CaseError):
    """A submission is not acceptable; `fields` maps each field to what to fix."""

    def __init__(self, fields: dict[str, str]):
        self.fields = fields
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))


class CaseNotFoundError(CaseError):
    """No case with that code or id."""


class AccessDeniedError(CaseError):
    """The user may not do this (role or unit); the web layer answers 403."""


class SignInError(CaseError):
    """Username or password wrong, or the account is locked for a while."""
