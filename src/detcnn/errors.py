"""Exceptions that tell a physicist what went wrong with their input and how to fix it.

These are the only exceptions the ``detcnn`` command line turns into one line (and exit code 2): they mean
"your file or your config", never "our bug". Anything else keeps its traceback.
"""

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


class ConfigError(InputError):
    """A config value that cannot work: an unknown name, a setting of the wrong kind, an image size a
    network cannot take. The message names the config key (where known) and the valid choices."""

    def __init__(self, what: str, *, key: str | None = None, fix: str = "") -> None:
        super().__init__(f"config '{key}': {what}" if key else what, fix=fix)
        self.what, self.key, self.fix = what, key, fix

    def under(self, prefix: str) -> ConfigError:
        """The same error with its key placed under ``prefix`` (e.g. ``arch`` -> ``models.cnn.arch``)."""
        return ConfigError(self.what, key=f"{prefix}.{self.key}" if self.key else prefix, fix=self.fix)


class Interrupted(BaseException):
    """The process was told to stop (SIGTERM: a scheduler's time limit, a preemption, a cancelled job). What
    it had finished is saved; a rerun resumes from there. A ``BaseException``, like ``KeyboardInterrupt``, so
    that a library's ``except Exception`` does not turn it into an error of its own."""

    def __init__(self, signal_number: int) -> None:
        super().__init__(f"stopped by signal {signal_number}")
        self.signal_number = signal_number


_SIGTERM = {"depth": 0, "pending": None}  # inside how many `sigterm_waits` blocks; a signal that waits


def stop_on_sigterm() -> object:
    """A context in which SIGTERM raises :class:`Interrupted` (in the main thread; elsewhere it does nothing),
    at once, or, inside a :func:`sigterm_waits` block, when the block ends."""
    import contextlib
    import signal
    import threading

    @contextlib.contextmanager
    def context():  # type: ignore[no-untyped-def]
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: object) -> None:
            if _SIGTERM["depth"]:
                _SIGTERM["pending"] = signum
                return
            raise Interrupted(signum)

        previous = signal.signal(signal.SIGTERM, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, previous)
            _SIGTERM["pending"] = None

    return context()


def sigterm_waits() -> object:
    """A context that a SIGTERM does not cut short: a write to the tracking store or a checkpoint finishes
    (a transaction cut in half leaves the store's session unusable), then :class:`Interrupted` is raised."""
    import contextlib

    @contextlib.contextmanager
    def context():  # type: ignore[no-untyped-def]
        _SIGTERM["depth"] += 1
        try:
            yield
        finally:
            _SIGTERM["depth"] -= 1
        if not _SIGTERM["depth"] and _SIGTERM["pending"] is not None:
            signum, _SIGTERM["pending"] = _SIGTERM["pending"], None
            raise Interrupted(signum)

    return context()
