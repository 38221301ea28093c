"""Why an edit of the specs did not happen: the exceptions the editing API raises.

Every one means *nothing was changed* (no file written, nothing committed), and every
one explains itself: ``message`` says what is wrong, ``hint`` how to fix it, and
``diagnostics`` carries the located findings of the spec validator when the edit would
have made the spec set invalid. A commit that fails after the edit was written is not
an exception: it is reported in ``EditResult.commit``. This module defines types only.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.errors import ReconcilerError
from reconciler.spec import Diagnostic


class EditRefused(ReconcilerError):
    """The edit was refused and nothing was changed.

    ``message``: what is wrong; ``hint``: how to fix it (or ``None``); ``diagnostics``:
    the validator's errors (file, line, column, message, hint) when the resulting spec
    set would be invalid or break a policy, else empty.
    """

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        diagnostics: Sequence[Diagnostic] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.diagnostics = tuple(diagnostics)

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message


class BadArgument(EditRefused):
    """An argument cannot be understood (a principal, a date, a duration, a file name).

    The command line reports it as a usage error (exit status 2).
    """


class SpecsLocked(EditRefused):
    """Another writer held the spec directory's lock for longer than the timeout.

    Transient: trying again later may succeed.
    """


class AlreadyExists(EditRefused):
    """The grant (same principal and path) or membership to add is already in the specs.

    Extend it instead (``extend_grant``, ``extend_membership``).
    """
