"""Exception classes.

Every class subclasses :class:`KhorasanMapError` and a built-in, so ``except ValueError`` (or
``OSError``) keeps working in callers that do not know this package.
"""

from __future__ import annotations


class KhorasanMapError(Exception):
    """Base class of every error this package raises on purpose."""


class UnknownProvinceError(KhorasanMapError, ValueError):
    """Text that names no province, or more than one.

    Parameters
    ----------
    text : str
        The input as given.
    suggestions : list of str, optional
        Up to three likely provinces, as "Name (CODE)".
    reason : str, optional
        Why it failed, when more than "unknown" is known (for example "ambiguous").
    """

    def __init__(self, text, suggestions=(), reason=None):
        self.text = text
        self.suggestions = list(suggestions)[:3]
        self.reason = reason
        message = f"{text!r} is not a known Afghan province"
        if reason:
            message += f" ({reason})"
        if self.suggestions:
            message += "; did you mean " + ", ".join(self.suggestions) + "?"
        super().__init__(message)


class BoundaryError(KhorasanMapError, ValueError):
    """A boundary layer that cannot be used: missing field, no CRS, unreadable geometry."""


class InputFileError(KhorasanMapError, ValueError):
    """An input that cannot be read at all: missing, a directory, empty, not what it claims."""


class EventValidationError(KhorasanMapError, ValueError):
    """Rows that failed validation.

    Parameters
    ----------
    message : str
        One message listing every problem.
    rejected : pandas.DataFrame, optional
        The rejected rows with ``row``, ``column`` and ``reason``.
    """

    def __init__(self, message, rejected=None):
        self.rejected = rejected
        super().__init__(message)


class OutputError(KhorasanMapError, OSError):
    """A file or folder that cannot be written: a link, a file in the way, a locked build.

    Parameters
    ----------
    message : str
        One line naming the path and the cause.
    path : path-like, optional
        The path that could not be written.
    """

    def __init__(self, message, path=None):
        super().__init__(message)
        self.path = path

    def __str__(self):
        return str(self.args[0])
