"""Exceptions that tell a physicist what went wrong with their input and how to fix it."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input: a missing file or branch, a wrong dtype, an empty selection or NaN values.

    The message always names the file (and branch, where there is one) and says what to do.
    """

    def __init__(self, what: str, *, path: object = None, branch: str | None = None, fix: str = "") -> None:
        where = []
        if path is not None:
            where.append(f"file '{path}'")
        if branch is not None:
            where.append(f"branch '{branch}'")
        msg = what
        if where:
            msg = f"{', '.join(where)}: {what}"
        if fix:
            msg += f". Fix: {fix}"
        super().__init__(msg)
        self.path = path
        self.branch = branch
