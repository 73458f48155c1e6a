"""Where events come from: paths, folders and quoted globs expanded once, and files checked.

Every command and both engines turn their inputs into files with :func:`expand_paths`, and every
file is checked by :func:`inspect_file` before a reader opens it: a missing file, a folder, a
FIFO or a device, an empty file, or a file that is not what its extension says is refused with
one line naming the path and the likely cause.
"""

from __future__ import annotations

import codecs
import glob
import importlib.resources
import os
import stat
from pathlib import Path

import pandas as pd

from khorasan_map import settings
from khorasan_map.dataset import SHIPPED_DATASET
from khorasan_map.errors import InputFileError

__all__ = ["EVENT_SUFFIXES", "expand_paths", "file_kind", "input_sources", "inspect_file", "sniff"]

#: File suffixes taken from a folder, and the reader each one goes to.
EVENT_SUFFIXES: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".tab": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".geoparquet": "parquet",
    ".geojson": "ogr",
    ".gpkg": "ogr",
}
_GLOB_CHARS = set("*?[")


def expand_paths(paths_or_glob) -> list[Path]:
    """Turn paths, globs and folders into a list of event files.

    Parameters
    ----------
    paths_or_glob : str, pathlib.Path or list of them
        Files, glob patterns (``"events/*.parquet"``, ``"data/**/*.csv"``; a file whose own
        name holds ``[`` or ``*`` is taken as it is) or folders (every event file below it,
        by :data:`EVENT_SUFFIXES`, leaving out names that start with ``_`` or ``.``).

    Returns
    -------
    list of pathlib.Path
        Matching files; each pattern's matches sorted, patterns in the order given, no repeats.
        A path that exists but is not a regular file (a FIFO, a device) is kept, for
        :func:`inspect_file` to refuse by name.

    Raises
    ------
    InputFileError
        When a pattern matches nothing, a path does not exist or a folder holds no event files.

    Examples
    --------
    >>> expand_paths("no/such/*.parquet")
    Traceback (most recent call last):
    ...
    khorasan_map.errors.InputFileError: no files match 'no/such/*.parquet'
    """
    items = (
        [paths_or_glob] if isinstance(paths_or_glob, (str, os.PathLike)) else list(paths_or_glob)
    )
    if not items:
        raise InputFileError("no input given: pass a path, a glob or a list of them")
    found: dict[Path, None] = {}
    for item in items:
        found.update(dict.fromkeys(_expand_one(item)))
    return list(found)


def _expand_one(item) -> list[Path]:
    """Return the files one path, folder or pattern stands for."""
    text = os.path.expanduser(str(item))
    path = Path(text)
    if path.is_dir():
        matches = sorted(
            p for p in path.rglob("*")
            if p.is_file() and p.suffix.lower() in EVENT_SUFFIXES
            and not p.name.startswith(("_", "."))
        )
        if not matches:
            others = ", ".join(sorted(set(EVENT_SUFFIXES) - {".parquet", ".csv"}))
            raise InputFileError(f"{item} is a directory with no event files: no .parquet or "
                                 f".csv files (nor {others}) below it")
        return matches
    if os.path.lexists(text):
        return [path]
    if _GLOB_CHARS & set(text):
        matches = sorted(p for p in glob.glob(text, recursive=True) if Path(p).is_file())
        if not matches:
            raise InputFileError(f"no files match {str(item)!r}")
        return [Path(p) for p in matches]
    raise InputFileError(f"{item} does not exist (no such file or folder)")


def file_kind(path: Path) -> str:
    """Return "csv", "parquet" or "ogr" for a file, by its suffix or else its first bytes.

    Parameters
    ----------
    path : pathlib.Path
        An existing file.

    Returns
    -------
    str
        Which reader of :mod:`khorasan_map.readers` takes it.
    """
    kind = EVENT_SUFFIXES.get(Path(path).suffix.lower())
    if kind is None:
        with open(path, "rb") as handle:
            content = sniff(handle.read(4096))
        kind = {"parquet": "parquet", "json": "ogr", "gpkg": "ogr"}.get(content, "csv")
    return kind


def input_sources(source):
    """Yield ``(label, path or frame, default dataset)`` for each input of :func:`read_events`.

    Parameters
    ----------
    source : str, pathlib.Path, list of them, pandas.DataFrame or None
        None is the shipped dataset; paths, folders and globs go through :func:`expand_paths`.

    Yields
    ------
    tuple
        The label reports use (the file name, or the path when names repeat), the path or the
        DataFrame, and the dataset name rows get when they give none.
    """
    if source is None:
        ref = importlib.resources.files("khorasan_map") / "data" / settings.EVENTS_FILE
        if not ref.is_file():
            raise InputFileError(
                f"the shipped dataset {settings.EVENTS_FILE} is missing from the package")
        yield settings.EVENTS_FILE, Path(str(ref)), SHIPPED_DATASET
        return
    if isinstance(source, pd.DataFrame):
        yield "<DataFrame>", source, "user"
        return
    if isinstance(source, (str, Path)):
        source = [source]
    items = []
    for item in source:
        items.extend([item] if isinstance(item, pd.DataFrame) else expand_paths(item))
    if not items:
        raise InputFileError("no input given: pass a path, a list of paths or a DataFrame")
    labels = [Path(s).name if not isinstance(s, pd.DataFrame) else f"<DataFrame {i + 1}>"
              for i, s in enumerate(items)]
    if len(set(labels)) < len(labels):
        labels = [str(s) if not isinstance(s, pd.DataFrame) else lab
                  for s, lab in zip(items, labels, strict=False)]
    for lab, item in zip(labels, items, strict=False):
        if isinstance(item, pd.DataFrame):
            yield lab, item, "user"
        else:
            yield lab, Path(item).expanduser(), "user"


_EXPECTED = {".csv": "text", ".tsv": "text", ".txt": "text", ".tab": "text",
             ".parquet": "parquet", ".geoparquet": "parquet", ".pq": "parquet",
             ".geojson": "json", ".json": "json", ".gpkg": "gpkg"}


_DESCRIBE = {"text": "CSV text", "parquet": "a Parquet file", "json": "JSON",
             "gpkg": "a GeoPackage (SQLite)", "zip": "a ZIP archive (an Excel workbook?)",
             "binary": "binary data"}


def sniff(head: bytes) -> str:
    """Name what the first bytes of a file look like.

    Parameters
    ----------
    head : bytes
        The first few kilobytes.

    Returns
    -------
    str
        "parquet", "gpkg", "zip", "json", "text" or "binary"; UTF-16 text (with its byte-order
        mark, as Excel's "Unicode text" writes it) is "text".

    Examples
    --------
    >>> sniff("event_id,date".encode("utf-16"))
    'text'
    """
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = head.decode("utf-16", errors="ignore").encode("utf-8")
    stripped = head.lstrip(codecs.BOM_UTF8).lstrip()
    if stripped[:1] in (b"{", b"["):
        return "json"
    if b"\x00" in head:
        return "binary"
    return "text"


def inspect_file(path: Path) -> str:
    """Check that ``path`` is a readable, non-empty file and return what it holds.

    Parameters
    ----------
    path : pathlib.Path
        The file to check, before any reader opens it.

    Returns
    -------
    str
        "text" (CSV in UTF-8, UTF-16 or an 8-bit encoding), "parquet", "json" or "gpkg".

    Raises
    ------
    InputFileError
        Missing, a directory, a FIFO or device, unreadable, empty, or not what its extension
        says.
    """
    size = _regular_file_size(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if size == 0:
        raise InputFileError(f"{path.name} is empty (0 bytes)")
    content = sniff(head)
    expected = _EXPECTED.get(path.suffix.lower())
    if expected and content != expected:
        raise InputFileError(
            f"{path.name} is not {_DESCRIBE[expected]} as its extension says: "
            f"it looks like {_DESCRIBE[content]}")
    if content in ("zip", "binary"):
        raise InputFileError(f"{path.name} looks like {_DESCRIBE[content]}; save the events "
                             "as CSV, GeoJSON, GeoPackage or Parquet")
    return content


def _regular_file_size(path: Path) -> int:
    """Return the size of ``path``, refusing what is missing or not a regular file, unopened."""
    try:
        mode = os.stat(path)
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if stat.S_ISDIR(mode.st_mode):
        raise InputFileError(f"{path} is a directory, not an events file; "
                             "give the file(s) inside it")
    if not stat.S_ISREG(mode.st_mode):
        what = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode.st_mode)
                else "a socket" if stat.S_ISSOCK(mode.st_mode) else "a device")
        raise InputFileError(f"{path} is {what}, not a regular file; save the events to a "
                             "file and read that")
    return mode.st_size
