"""Exception classes.

Every exception class of the package lives here and is exported from ``khorasan_map``. Every
error subclasses :class:`KhorasanMapError` and a built-in, so ``except ValueError`` (or
``OSError``) keeps working in callers that do not know this package; every warning subclasses
:class:`UserWarning`; :class:`Interrupted`, the one interrupt, subclasses
:class:`KeyboardInterrupt`. The modules that raise them re-export them under their old import
paths (``khorasan_map.gazetteer.UnknownProvincesError``,
``khorasan_map.boundaries.BoundaryRepairWarning``, ``khorasan_map.export.OfflineAssetError``).
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


class UnknownProvincesError(UnknownProvinceError):
    """Several values that name no province, reported together by ``resolve_provinces``.

    Parameters
    ----------
    problems : list of UnknownProvinceError
        One error per distinct bad value, in order of first appearance.
    rows : list of tuple of int
        For each problem, the number of values affected and the 0-based position of the first.
    """

    def __init__(self, problems, rows):
        first = problems[0]
        super().__init__(first.text, first.suggestions, first.reason)
        self.problems = list(problems)
        self.rows = list(rows)
        lines = [
            f"  position {pos} ({count} value{'s' if count != 1 else ''}): {problem}"
            for problem, (count, pos) in zip(self.problems, self.rows, strict=True)
        ]
        n = len(self.problems)
        head = f"{n} distinct value{'s' if n != 1 else ''} name no known Afghan province:"
        self.args = ("\n".join([head, *lines]),)


class BoundaryError(KhorasanMapError, ValueError):
    """A boundary layer that cannot be used: missing field, no CRS, unreadable geometry."""


class BoundaryRepairWarning(UserWarning):
    """A boundary layer was changed on loading: invalid polygons repaired, codes normalised."""


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


class OfflineAssetError(KhorasanMapError, ValueError):
    """A map needs a script or stylesheet that has no offline copy.

    Parameters
    ----------
    url : str
        The address of the asset as the page refers to it.
    reason : str
        Why it cannot be inlined and what to do instead.
    """

    def __init__(self, url, reason):
        self.url = url
        self.reason = reason
        super().__init__(f"cannot make the map offline: {url}: {reason}")


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


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM, raised by :func:`khorasan_map.output.interrupt_on` for cleaning up.

    A subclass rather than ``KeyboardInterrupt`` itself: when a bare ``KeyboardInterrupt`` ends
    code that ``exec()`` or ``eval()`` runs from a string (as :mod:`dataclasses` and
    :func:`collections.namedtuple` do when they make a class), CPython (3.11) run as
    ``python -m`` marks the process to kill itself with SIGINT when it exits, even after the
    interrupt was caught. A command interrupted while a library made such a class then ended
    by SIGINT, not with exit code 130. CPython marks only that exact class.
    """
