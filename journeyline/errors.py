"""Errors a user can act on, each with the exit code a scheduler can act on.

Exit codes: 0 published · 2 bad configuration or input · 3 blocked by a quality
gate (published tables unchanged) · 4 a pipeline step failed · 1 anything else.
"""

from __future__ import annotations


class JourneylineError(Exception):
    """A failure explained in words: what happened, and what to do about it."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.hint}" if self.hint else self.message


class InputError(JourneylineError):
    """An input is missing or unreadable."""

    exit_code = 2


class PipelineError(JourneylineError):
    """A step of the job (Beam, dbt, publishing) failed."""

    exit_code = 4


class GateBlocked(JourneylineError):
    """An error-severity quality check failed; nothing was published."""

    exit_code = 3
