"""Everything the toolkit writes: files, CSV tables, build folders and terminal text.

One home for each way of writing:

- :func:`atomic_write` writes a file through a temporary file in the same folder, ``fsync`` and
  :func:`os.replace`: a reader sees the old file or the new one, never half of one, and the
  destination is never written through a symbolic link.
- :func:`write_csv` is the one CSV writer of the project (``provinces.csv``, ``rejected.csv``,
  ``join_report.csv``, ``validate --rejected``, :func:`khorasan_map.export.save_table`): UTF-8
  with a byte-order mark, CR LF line ends, every text cell quoted, formula prefixes
  neutralised.
- :func:`staged_folder` gives a build a staging folder beside its destination, holds a lock on
  the destination while it is used, and publishes it in one rename: the destination always holds
  one whole build.
- :func:`escape_control` makes data text safe to print on a terminal.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno as errno_codes
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from khorasan_map.errors import Interrupted, OutputError

__all__ = [
    "BUILD_MANIFEST",
    "atomic_write",
    "escape_control",
    "escape_formula",
    "interrupt_on",
    "iso_dates",
    "staged_folder",
    "write_bytes",
    "write_csv",
]

#: The file every build writes last, listing what it wrote (how the next build knows its files).
BUILD_MANIFEST = "build.json"

#: First characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")

#: :data:`FORMULA_STARTS` as the one-character class that begins a cell (Arrow's RE2 syntax).
_FORMULA_START = "^[" + "".join(re.escape(c) for c in FORMULA_STARTS) + "]"
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
# C0 controls but LF and TAB, DEL, C1 controls, and the Unicode bidirectional overrides that
# reorder what a terminal shows.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


# --------------------------------------------------------------------------------------------
# Terminal text
# --------------------------------------------------------------------------------------------


def escape_control(text: Any) -> str:
    r"""Return text with every control character written as a visible ``\uXXXX`` escape.

    ESC (and so every ANSI and OSC sequence), the other C0 and C1 controls, DEL, CR and the
    Unicode bidirectional overrides are escaped; line feeds and tabs are kept, so messages keep
    their lines.

    Parameters
    ----------
    text : object
        A message, or anything ``str()`` turns into one.

    Returns
    -------
    str
        The text, safe to print on a terminal.

    Examples
    --------
    >>> escape_control("Kunar\x1b]0;owned\x07")
    'Kunar\\u001b]0;owned\\u0007'
    """
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group(0)):04x}", str(text))


class EscapingStream:
    """A text stream that escapes control characters in everything written to it.

    Parameters
    ----------
    stream : text stream
        Where the escaped text goes (``sys.stdout`` or ``sys.stderr``); ``unescaped`` gives it
        back, for the progress display that draws with ANSI codes of its own.
    """

    def __init__(self, stream):
        self.unescaped = stream

    def write(self, text):
        """Write ``text`` with its control characters escaped (text only, as a text stream)."""
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        return self.unescaped.write(escape_control(text))

    def __getattr__(self, name):
        return getattr(self.unescaped, name)


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def _refuse_symlink(path: Path) -> None:
    if path.is_symlink():
        target = os.readlink(path)
        state = "" if path.exists() else ", which does not exist"
        raise OutputError(
            f"cannot write {path}: it is a symbolic link to {target}{state}; files are never "
            "written through links: remove it or choose another name",
            path=path,
        )


def _fault(exc: OSError, path: Path) -> OSError:
    """Return ``exc`` again (same class), naming the destination instead of a temporary file."""
    if isinstance(exc, OutputError):
        return exc
    cause = exc.strerror or str(exc)
    try:
        return type(exc)(exc.errno, cause, str(path))
    except TypeError:  # an OSError subclass with another signature
        return exc


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary path next to ``path``, fsync it, then rename it.

    Parameters
    ----------
    path : str or path-like
        Destination file; its folder must exist. A symbolic link there is refused.
    write : callable
        Writes the whole file to the path it is given.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    FileNotFoundError
        When the folder does not exist.
    khorasan_map.errors.OutputError
        When ``path`` is a symbolic link.
    OSError
        When writing fails (full disk, no permission): the same class, naming ``path``. The
        temporary file is removed and an old file at ``path`` is left as it was.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write {path}: folder {folder} does not exist")
    _refuse_symlink(path)
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=folder
        )
    except OSError as exc:
        raise _fault(exc, path) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~umask()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise _fault(exc, path) from exc
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_folder(folder)
    return path


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # make a rename durable where supported
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def umask() -> int:
    """Return the process umask (without changing it).

    Returns
    -------
    int
        The bits new files do not get.
    """
    current = os.umask(0o022)
    os.umask(current)
    return current


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`).

    Parameters
    ----------
    path : str or path-like
        Destination file.
    data : bytes
        The whole content.

    Returns
    -------
    pathlib.Path
        ``path``.
    """

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()

    return atomic_write(path, write)


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


def escape_formula(value: Any) -> Any:
    """Prefix an apostrophe to text a spreadsheet would run as a formula.

    Parameters
    ----------
    value : object
        A cell value; only strings are changed.

    Returns
    -------
    object
        ``"'" + value`` when a string starts with ``=``, ``+``, ``-``, ``@``, a tab or a
        carriage return and is not a plain number; otherwise ``value`` unchanged.

    Examples
    --------
    >>> escape_formula("=HYPERLINK(1)"), escape_formula("-12.5"), escape_formula("Kunar")
    ("'=HYPERLINK(1)", '-12.5', 'Kunar')
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(
        value
    ):
        return "'" + value
    return value


def iso_dates(series):
    """Return dates as ISO 8601 text: ``YYYY-MM-DD`` when every time is midnight, else in full.

    Parameters
    ----------
    series : pandas.Series
        Datetime values; missing values stay missing (None).

    Returns
    -------
    pandas.Series
        Object dtype, text or None.
    """
    import pandas as pd

    values = pd.to_datetime(series)
    if _dates_only(values):
        text = values.dt.strftime("%Y-%m-%d")
    else:
        text = values.map(lambda v: v.isoformat(), na_action="ignore")
    return text.astype(object).where(values.notna(), None)


def _dates_only(values) -> bool:
    """Whether every time in a datetime Series is midnight (so :func:`iso_dates` writes days)."""
    present = values.dropna()
    return bool((present == present.dt.normalize()).all())


def _iso_date_column(series):
    """Return a datetime column as Arrow text, as :func:`iso_dates` writes it (days by Arrow)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    values = pd.to_datetime(series)
    if values.dt.tz is None and _dates_only(values):  # a date's text is its ISO day
        return pc.cast(pc.cast(pa.array(values, from_pandas=True), pa.date32()), pa.string())
    return pa.array(iso_dates(values), type=pa.string(), from_pandas=True)


def _csv_table(df, escape_formulas: bool):
    """Return ``df`` as an Arrow table of what the CSV shows, cell for cell.

    Geometry is dropped, dates become ISO text (:func:`iso_dates`), and text cells are guarded
    against formula injection (:func:`escape_formula`, here over whole columns).
    """
    import pandas as pd
    import pyarrow as pa

    frame = pd.DataFrame(df)  # a new frame: copy-on-write leaves ``df`` as it was
    frame = frame.drop(columns=[c for c in frame.columns if str(frame[c].dtype) == "geometry"])
    names = [str(c) for c in frame.columns]
    if escape_formulas:
        names = [escape_formula(name) for name in names]
    columns = [_csv_column(frame.iloc[:, i]) for i in range(frame.shape[1])]
    if escape_formulas:
        columns = [_escaped_text(c) if _is_text(c.type) else c for c in columns]
    return pa.Table.from_arrays(columns, names=names)


def _is_text(arrow_type) -> bool:
    import pyarrow as pa

    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def _printable(arrow_type) -> bool:
    """Whether the CSV writer prints this Arrow type as it is (else cells go as ``str(value)``)."""
    import pyarrow as pa

    return (_is_text(arrow_type) or pa.types.is_integer(arrow_type)
            or pa.types.is_floating(arrow_type) or pa.types.is_boolean(arrow_type)
            or pa.types.is_null(arrow_type))


def _csv_column(series):
    """Return one column as an Arrow array of text, numbers or booleans; missing is null."""
    import pandas as pd
    import pyarrow as pa

    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    if pd.api.types.is_datetime64_any_dtype(series):
        return _iso_date_column(series)
    try:
        array = pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        array = None  # mixed values, as in a rejected row's own cells
    if array is None or not _printable(array.type):
        text = series.astype(object).map(str, na_action="ignore")
        array = pa.array(text.where(series.notna(), None), type=pa.string(), from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _escaped_text(array):
    """Return a text column with :func:`escape_formula` applied to every cell, in Arrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    starts = pc.match_substring_regex(array, _FORMULA_START)
    if not pc.any(starts).as_py():
        return array
    number = pc.match_substring_regex(array, "^(" + _NUMBER.pattern + ")$")
    flagged = pc.and_(starts, pc.invert(number))
    apostrophe, nothing = pa.scalar("'", type=array.type), pa.scalar("", type=array.type)
    return pc.if_else(flagged, pc.binary_join_element_wise(apostrophe, array, nothing), array)


def write_csv(df, path: str | os.PathLike, *, escape_formulas: bool = True) -> Path:
    r"""Write a table as CSV, the one way this project writes CSV.

    Parameters
    ----------
    df : pandas.DataFrame
        The table; a geometry column is dropped, dates are written as ISO 8601 text
        (``2021-08-26``), missing values as empty cells.
    path : str or path-like
        Destination file, written atomically (:func:`atomic_write`), never through a link.
    escape_formulas : bool, default True
        Text cells and column names that start with ``=``, ``+``, ``-``, ``@``, a tab or a
        carriage return (and are not plain numbers) get a leading apostrophe, so a spreadsheet
        shows them as text instead of running them (:func:`escape_formula`).

    Returns
    -------
    pathlib.Path
        ``path``.

    Notes
    -----
    The file is UTF-8 with a byte-order mark (so spreadsheets read Dari and Pashto names
    right) and CR LF line ends (RFC 4180). Every text cell and column name is quoted (a quote
    inside doubled), numbers and booleans (``true``, ``false``) are not, so no cell can start
    a row of its own and a reader can tell the text ``"12"`` from the number 12. Whole numbers
    in a float column are written without ``.0``. Written by Arrow's CSV writer
    (:func:`pyarrow.csv.write_csv`), column by column in C++: a million events in about 1.7 s
    where pandas' ``to_csv`` took about 14 s.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> write_csv(pd.DataFrame({"note": ["a\r=1+1", "=2"], "n": [3.0, None]}), out).read_bytes()
    b'\xef\xbb\xbf"note","n"\r\n"a\r=1+1",3\r\n"\'=2",\r\n'
    """
    import pyarrow.csv

    table = _csv_table(df, escape_formulas)
    options = pyarrow.csv.WriteOptions(quoting_style="needed", eol="\r\n")

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            handle.write("\ufeff".encode())  # the byte-order mark spreadsheets look for
            if table.num_columns:
                pyarrow.csv.write_csv(table, handle, options)

    return atomic_write(path, write)


# --------------------------------------------------------------------------------------------
# Build folders: a staging folder beside the destination, a lock, one rename to publish
# --------------------------------------------------------------------------------------------


def _checked_destination(out_dir) -> Path:
    """Return the build folder to replace, refusing a file, a dangling link or the cwd."""
    out = Path(out_dir).absolute()
    if out.is_symlink():
        if not out.exists():
            raise OutputError(f"cannot build into {out}: it is a symbolic link to "
                              f"{os.readlink(out)}, which does not exist", path=out)
        out = out.resolve()  # a link to a folder: build into the folder it names
    if out.exists() and not out.is_dir():
        raise OutputError(f"cannot build into {out}: it is a file, not a folder", path=out)
    for above in out.parents:
        if above.exists() and not above.is_dir():
            raise OutputError(f"cannot build into {out}: {above} is a file, not a folder",
                              path=out)
    cwd = Path.cwd().resolve()
    if out.resolve() == cwd or out.resolve() in cwd.parents:
        raise OutputError(f"cannot build into {out}: it holds the current folder; give --out "
                          "a folder of its own", path=out)
    return out


def _previous_files(out: Path, known: frozenset[str]) -> set[str] | None:
    """Names the previous build in ``out`` wrote; None when ``out`` holds files of others."""
    import json

    manifest = out / BUILD_MANIFEST
    if manifest.is_file():
        with contextlib.suppress(OSError, ValueError, TypeError):
            return set(json.loads(manifest.read_text("utf-8"))["files"]) | {BUILD_MANIFEST}
    names = {p.name for p in out.iterdir()}
    return names if names <= known else None


def _carry_over(old: Path, new: Path, theirs: set[str]) -> None:
    """Hard-link into ``new`` what someone else put into the old build folder."""
    for entry in old.iterdir():
        if entry.name in theirs or (new / entry.name).exists():
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, new / entry.name, symlinks=True, copy_function=_link)
        else:
            _link(entry, new / entry.name)


def _link(source, target) -> None:
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError:
        shutil.copy2(source, target, follow_symlinks=False)


_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2``); False where that is not supported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError, TypeError):  # not Linux, or a C library without it
        return False
    at_cwd = -100
    if renameat2(at_cwd, os.fsencode(a), at_cwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno_codes.ENOSYS, errno_codes.EINVAL, errno_codes.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _publish(staging: Path, out: Path) -> None:
    """Put ``staging`` at ``out`` in one rename; what was at ``out`` ends at ``staging``."""
    if not out.exists():
        os.rename(staging, out)
        return
    if not _exchange(staging, out):  # elsewhere: two renames, the old build kept until the end
        old = staging.with_name(staging.name.replace(".staging-", ".old-"))
        os.rename(out, old)
        os.rename(staging, out)
        os.rename(old, staging)
    _fsync_folder(out.parent)


class _Lock:
    """An exclusive ``flock`` on ``.NAME.lock`` beside a build folder, removed when released."""

    def __init__(self, out: Path):
        self.path = out.with_name(f".{out.name}.lock")
        self.fd = None

    def acquire(self) -> None:
        try:
            import fcntl
        except ImportError:  # not POSIX: builds into one folder are not locked there
            return
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
                os.close(fd)
                folder = self.path.with_name(self.path.name[1:-5])
                raise OutputError(
                    f"cannot build into {folder}: another build (process {holder}) is writing "
                    "it; wait for it to finish or choose another --out", path=folder,
                ) from None
            if os.path.exists(self.path) and os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                break  # else the holder removed the file as we opened it: lock the new one
            os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            os.close(self.fd)
            self.fd = None


def _remove_leftovers(out: Path) -> None:
    """Remove staging folders of builds that were killed (SIGKILL, power loss) before cleaning."""
    for left in out.parent.glob(f".{glob_escape(out.name)}.*-*"):
        if left.is_dir() and re.fullmatch(r"\.(staging|old)-\w+", left.name[len(out.name) + 1:]):
            shutil.rmtree(left, ignore_errors=True)


def glob_escape(text: str) -> str:
    """Return ``text`` with the glob wildcards ``*``, ``?`` and ``[`` matched literally.

    Parameters
    ----------
    text : str
        A file name.

    Returns
    -------
    str
        The pattern matching exactly ``text``.
    """
    return re.sub(r"([*?\[])", r"[\1]", text)


@contextlib.contextmanager
def interrupt_on(*signums: int) -> Iterator[None]:
    """Raise :class:`Interrupted` for each signal of ``signums`` while the block runs.

    A signal the process was started ignoring (``nohup``, a background job) stays ignored.
    Does nothing outside the main thread, where Python cannot set signal handlers.

    Parameters
    ----------
    *signums : int
        The signals, such as ``signal.SIGINT`` and ``signal.SIGTERM``.

    Yields
    ------
    None
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise Interrupted(f"signal {signal.Signals(signum).name}")

    previous = {signum: signal.signal(signum, interrupt) for signum in signums
                if signal.getsignal(signum) is not signal.SIG_IGN}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back in the main thread while the block runs.

    A publish runs inside it, so it is never cut in half; a thread started inside it begins
    with them blocked (:func:`khorasan_map.worker._signal_free_thread`).
    """
    held = {signal.SIGINT, signal.SIGTERM}
    if (threading.current_thread() is not threading.main_thread()
            or not hasattr(signal, "pthread_sigmask")):
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)


@contextlib.contextmanager
def staged_folder(out_dir, known: frozenset[str] = frozenset()) -> Iterator[Path]:
    """Give a build a staging folder beside ``out_dir``; publish it there in one rename.

    While the block runs, ``out_dir`` is locked (a second build is refused with a message
    naming the process that holds it) and SIGTERM interrupts like Ctrl-C. When the block ends
    normally the staging folder replaces ``out_dir`` in one step: ``out_dir`` then holds only
    what this build wrote, plus any file someone else put into the previous build folder.
    When it fails or is interrupted, the staging folder is removed and ``out_dir`` is left as
    it was. Staging folders of killed builds are removed on the next build.

    Parameters
    ----------
    out_dir : path-like
        The build folder; created when missing. A link to a folder builds into that folder.
    known : frozenset of str
        File names a build writes: a folder holding only these (and no :data:`BUILD_MANIFEST`)
        counts as an earlier build's.

    Yields
    ------
    pathlib.Path
        The staging folder to write into. Write :data:`BUILD_MANIFEST` there last.

    Raises
    ------
    khorasan_map.errors.OutputError
        When ``out_dir`` is a file, below a file, a dangling link, the current folder, a folder
        holding files no build wrote, or locked by another build; or when it cannot be created.
    """
    out = _checked_destination(out_dir)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot build into {out}: {exc.strerror or exc}", path=out) from None
    lock = _Lock(out)
    try:
        lock.acquire()
    except PermissionError as exc:
        raise OutputError(f"cannot build into {out}: {exc.strerror} in {out.parent}",
                          path=out) from None
    try:
        _remove_leftovers(out)
        previous = _previous_files(out, known) if out.is_dir() else set()
        if previous is None:
            raise OutputError(
                f"cannot build into {out}: it holds files no build wrote; give --out an empty "
                "or new folder, or one an earlier build wrote", path=out)
        yield from _staged(out, previous)
    finally:
        lock.release()


def _staged(out: Path, previous: set[str]) -> Iterator[Path]:
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    except OSError as exc:
        raise OutputError(f"cannot build into {out}: {exc.strerror or exc}", path=out) from None
    mode = out.stat().st_mode & 0o7777 if out.is_dir() else 0o777 & ~umask()
    os.chmod(staging, mode)  # mkdtemp makes it private; the build keeps the folder's mode
    try:
        with interrupt_on(signal.SIGTERM):
            yield staging
            if out.is_dir():
                _carry_over(out, staging, previous)
            with signals_held():
                _publish(staging, out)
    except OSError as exc:
        if isinstance(exc, OutputError):
            raise
        raise OutputError(f"cannot write {_final_name(exc, staging, out)}: "
                          f"{exc.strerror or exc}; {out} is left as it was", path=out) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _final_name(exc: OSError, staging: Path, out: Path) -> Path:
    """Return the path a fault names as it will be once published, not in the staging folder."""
    if exc.filename:
        with contextlib.suppress(ValueError):
            return out / Path(exc.filename).relative_to(staging)
        return Path(exc.filename)
    return out
