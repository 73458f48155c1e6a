"""One chunk reader per format, used by both engines.

Each reader yields raw chunks: DataFrames of the file's own columns as text (or as Parquet typed
them) plus ``_row``, the 1-based data-row number in the file. Geometries become ``longitude`` and
``latitude`` in EPSG:4326 here, whatever CRS the file declares, so that the in-memory engine
(:func:`khorasan_map.events.read_events`) and the Dask engine (:mod:`khorasan_map.scale`, through
:func:`read_parquet_piece`) see the same points.

- CSV (:func:`csv_chunks`): streamed with pyarrow, UTF-8, UTF-16 (with its byte-order mark) or
  an 8-bit encoding, any of ``,`` ``;`` tab ``|`` separators.
- GeoJSON and GeoPackage (:func:`ogr_chunks`): pyogrio, one named layer.
- Parquet and GeoParquet (:func:`parquet_chunks`, :func:`read_parquet_piece`): record batches,
  the GeoParquet CRS honoured (:func:`geoparquet_geometry`).
"""

from __future__ import annotations

import codecs
import csv
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from khorasan_map import settings
from khorasan_map.errors import InputFileError
from khorasan_map.schema import GEOMETRY_COLUMN
from khorasan_map.sources import inspect_file

__all__ = [
    "csv_chunks",
    "fill_from_points",
    "geoparquet_geometry",
    "geometry_to_columns",
    "ogr_chunks",
    "parquet_chunks",
    "points_to_columns",
    "read_chunks",
    "read_parquet_piece",
]

_TYPE_NAMES = {1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint",
               5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection"}


def read_chunks(item, label, chunksize, progress, state, layer=None):
    """Yield raw chunks (DataFrames with a ``_row`` column) from one input.

    Parameters
    ----------
    item : pathlib.Path or pandas.DataFrame
        One input, as :func:`khorasan_map.sources.input_sources` yields it.
    label : str
        Its name in messages.
    chunksize : int
        Rows per chunk (CSV and Parquet stream; GeoJSON and GeoPackage are read whole).
    progress : bool or None
        Show a progress bar for CSV (None: when stderr is a terminal).
    state : object
        The reading state of :func:`khorasan_map.events.read_events`: its ``requested``,
        ``set_format``, ``filter_columns``, ``keep_mask``, ``note`` and ``bad_line``.
    layer : str or None
        The GeoPackage layer (needed when the file holds several).

    Yields
    ------
    pandas.DataFrame
    """
    if isinstance(item, pd.DataFrame):
        frame = points_to_columns(item)
        if len(frame.columns) == 0:
            raise InputFileError(f"{label} has no columns")
        for start in range(0, max(len(frame), 1), chunksize):
            part = frame.iloc[start:start + chunksize].copy()
            part["_row"] = np.arange(start + 1, start + 1 + len(part))
            yield part.reset_index(drop=True)
        return
    content = inspect_file(item)
    if content == "text":
        yield from csv_chunks(item, chunksize, progress, state)
    elif content == "parquet":
        yield from parquet_chunks(item, chunksize, state)
    else:
        yield from ogr_chunks(item, content, chunksize, layer=layer)


def points_to_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Fill latitude/longitude from point geometries (in EPSG:4326) and drop the geometry.

    Parameters
    ----------
    frame : pandas.DataFrame or geopandas.GeoDataFrame
        A plain DataFrame is returned as it is.

    Returns
    -------
    pandas.DataFrame
    """
    geom_col = getattr(frame, "_geometry_column_name", None)
    if geom_col is None or geom_col not in frame.columns:
        return frame
    import shapely

    geoms = np.asarray(frame[geom_col].values, dtype=object)
    out = pd.DataFrame(frame.drop(columns=[geom_col]))
    if getattr(frame, "crs", None) is not None and not frame.crs.equals(settings.CRS):
        geoms = np.asarray(frame[geom_col].to_crs(settings.CRS).values, dtype=object)
    fill_from_points(out, geoms, shapely)
    return out


def fill_from_points(out, geoms, shapely) -> None:
    """Put point x/y into longitude/latitude where those are absent or empty.

    Parameters
    ----------
    out : pandas.DataFrame
        Changed in place.
    geoms : numpy.ndarray
        Shapely geometries in EPSG:4326, one per row.
    shapely : module
        The shapely module (imported lazily by the caller).
    """
    # An empty point (how a province-only event is often saved) has no x/y: it stays empty.
    # Any other shape (a polygon, a line) is placed at a representative point inside it and
    # named in ``_geometry``, for validation to refuse or to accept at a lower precision.
    geoms = np.asarray(geoms, dtype=object)
    empty = shapely.is_empty(geoms) | pd.isna(geoms)
    is_point = (shapely.get_type_id(geoms) == 0) & ~empty
    shaped = ~is_point & ~empty
    x = np.full(len(geoms), np.nan)
    y = np.full(len(geoms), np.nan)
    x[is_point] = shapely.get_x(geoms[is_point])
    y[is_point] = shapely.get_y(geoms[is_point])
    if shaped.any():
        inner = shapely.point_on_surface(geoms[shaped])
        x[shaped], y[shaped] = shapely.get_x(inner), shapely.get_y(inner)
        out[GEOMETRY_COLUMN] = pd.Series(
            np.where(shaped, shapely.get_type_id(geoms), -1)).map(_TYPE_NAMES).to_numpy()
    cols = {str(c).lower(): c for c in out.columns}
    for name, values in (("longitude", x), ("latitude", y)):
        if name in cols:
            current = out[cols[name]]
            empty = current.isna() | (current.astype(str).str.strip() == "")
            out[cols[name]] = current.astype(object).where(~empty, values)
        else:
            out[name] = values


def ogr_chunks(path: Path, content: str, chunksize: int, layer=None):
    """Read GeoJSON or GeoPackage with pyogrio (whole file: these formats are small).

    Parameters
    ----------
    path : pathlib.Path
        The file.
    content : str
        "json" or "gpkg", as :func:`khorasan_map.sources.inspect_file` found.
    chunksize : int
        Rows per chunk yielded.
    layer : str or None
        The layer to read; a file with several layers needs one, and the message names them.

    Yields
    ------
    pandas.DataFrame
    """
    import pyogrio
    import shapely

    layer = _choose_layer(path, layer)
    try:
        frame = pyogrio.read_dataframe(path, layer=layer)
    except Exception as exc:  # pyogrio raises several types for unreadable data
        name = "GeoJSON" if content == "json" else "GeoPackage"
        raise InputFileError(f"{path.name} could not be read as {name}: {exc}") from exc
    if "geometry" in frame.columns:
        geoms = frame.geometry
        if frame.crs is not None and not frame.crs.equals(settings.CRS):
            geoms = geoms.to_crs(settings.CRS)
        out = pd.DataFrame(frame.drop(columns="geometry"))
        fill_from_points(out, np.asarray(geoms.values, dtype=object), shapely)
        frame = out
    if len(frame) == 0:
        raise InputFileError(f"{path.name} has no features")
    for start in range(0, len(frame), chunksize):
        part = frame.iloc[start:start + chunksize].copy()
        part["_row"] = np.arange(start + 1, start + 1 + len(part))
        yield part.reset_index(drop=True)


def geoparquet_geometry(schema) -> tuple[str | None, object]:
    """Return the primary geometry column of a (Geo)Parquet schema and its CRS.

    Parameters
    ----------
    schema : pyarrow.Schema
        The file's Arrow schema (its ``geo`` metadata is read).

    Returns
    -------
    tuple
        The geometry column (None for plain Parquet) and its CRS as the file declares it
        (PROJJSON or text; :data:`settings.CRS` when the file names none, as the GeoParquet
        specification's default OGC:CRS84 has the same axes).
    """
    meta = schema.metadata or {}
    if b"geo" not in meta:
        return None, None
    try:
        geo = json.loads(meta[b"geo"])
        column = geo.get("primary_column", "geometry")
        crs = geo.get("columns", {}).get(column, {}).get("crs")
    except (ValueError, AttributeError):
        return None, None
    return (column if column in schema.names else None), (settings.CRS if crs is None else crs)


def geometry_to_columns(part: pd.DataFrame, geom_col: str | None, crs) -> pd.DataFrame:
    """Replace a WKB geometry column by longitude/latitude in EPSG:4326.

    Parameters
    ----------
    part : pandas.DataFrame
        Rows read from a GeoParquet file.
    geom_col : str or None
        The WKB column (None: nothing to do).
    crs : object
        The CRS of the geometries (anything pyproj reads).

    Returns
    -------
    pandas.DataFrame
    """
    if not geom_col or geom_col not in part.columns:
        return part
    import geopandas as gpd
    import shapely

    geoms = gpd.GeoSeries(shapely.from_wkb(part[geom_col].to_numpy(dtype=object)), crs=crs)
    if geoms.crs is not None and not geoms.crs.equals(settings.CRS):
        geoms = geoms.to_crs(settings.CRS)
    part = part.drop(columns=geom_col)
    fill_from_points(part, np.asarray(geoms.values, dtype=object), shapely)
    return part


def _open_parquet(path: Path, label: str | None = None):
    """Open a Parquet file, refusing one that cannot be read or holds no rows."""
    import pyarrow.parquet as pq

    label = label or path.name
    try:
        handle = pq.ParquetFile(path)
    except Exception as exc:
        raise InputFileError(f"{label} could not be read as Parquet: {exc}") from exc
    if handle.metadata.num_rows == 0:
        raise InputFileError(f"{label} has columns but no data rows")
    return handle


def _text_mapper():
    import pyarrow as pa

    text = pd.StringDtype("pyarrow", na_value=np.nan)
    return {pa.string(): text, pa.large_string(): text}.get


def parquet_chunks(path: Path, chunksize: int, state):
    """Stream a (Geo)Parquet file in record batches, points in EPSG:4326.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    chunksize : int
        Rows per record batch.
    state : object
        As for :func:`read_chunks`.

    Yields
    ------
    pandas.DataFrame
    """
    import pyarrow as pa

    handle = _open_parquet(path)
    geom_col, crs = geoparquet_geometry(handle.schema_arrow)
    mapper = _text_mapper()
    names = list(handle.schema_arrow.names)
    state.set_format(names + (["latitude", "longitude"] if geom_col else []), state.requested)
    needed = state.filter_columns(names)
    start = 0
    for batch in handle.iter_batches(batch_size=chunksize):
        rows = np.arange(start + 1, start + 1 + batch.num_rows)
        start += batch.num_rows
        if needed:  # keep only the Taliban-ISK rows before converting every column
            mask = state.keep_mask(batch.select(needed).to_pandas(types_mapper=mapper))
            rows = rows[mask]
            batch = batch.filter(pa.array(mask))
        if not batch.num_rows:
            continue
        part = geometry_to_columns(batch.to_pandas(types_mapper=mapper), geom_col, crs)
        part["_row"] = rows
        yield part


def read_parquet_piece(path, row_groups, columns=None, label=None) -> pd.DataFrame:
    """Read some row groups of a (Geo)Parquet file as the Dask engine's partition.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    row_groups : sequence of int
        Row groups to read.
    columns : list of str, optional
        Columns to read besides the geometry (default: every column).
    label : str, optional
        The file's name in messages.

    Returns
    -------
    pandas.DataFrame
        The file's columns, with ``longitude``/``latitude`` from the geometry in EPSG:4326,
        exactly as :func:`parquet_chunks` gives them.
    """
    handle = _open_parquet(Path(path), label)
    geom_col, crs = geoparquet_geometry(handle.schema_arrow)
    if columns is not None:
        columns = [c for c in columns if c != geom_col] + ([geom_col] if geom_col else [])
    table = handle.read_row_groups(list(row_groups), columns=columns)
    return geometry_to_columns(table.to_pandas(types_mapper=_text_mapper()), geom_col, crs)


def _encoding(path: Path) -> str | None:
    """Return None for UTF-8, "utf-16" for text with its byte-order mark, else an 8-bit one."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as handle:
        if handle.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            return "utf-16"
        handle.seek(0)
        while True:
            block = handle.read(1 << 24)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError:
                break
            if not block:
                return None
        undefined = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")  # not in Windows-1252
        while block:
            if any(b in block for b in undefined):
                return "latin-1"
            block = handle.read(1 << 24)
    return "cp1252"


def _header(path: Path, encoding: str | None) -> tuple[list[str], str]:
    """Read the header line; return the column names and the separator."""
    with open(path, encoding=encoding or "utf-8-sig", newline="") as handle:
        line = handle.readline()
    counts = {sep: line.count(sep) for sep in (",", ";", "\t", "|")}
    sep = "," if counts[","] else max(counts, key=counts.get)
    if not counts[sep]:
        sep = ","
    names = next(csv.reader([line], delimiter=sep)) if line.strip() else []
    return [n.strip().lstrip("\ufeff") for n in names], sep


class _Counting:
    """A file wrapper that counts the bytes read, for the progress bar."""

    def __init__(self, handle):
        self.handle = handle
        self.n = 0
        self.closed = False

    def read(self, size=-1):
        data = self.handle.read(size)
        self.n += len(data)
        return data

    def readable(self):
        return True

    def seekable(self):
        return False

    def close(self):
        self.closed = True
        self.handle.close()


def _progress_bar(progress, total, label):
    """Return a started rich progress bar, or None."""
    if progress is False or (progress is None and not sys.stderr.isatty()):
        return None
    try:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )
    except ImportError:  # pragma: no cover - rich is a dependency
        return None
    from rich.console import Console

    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                   TimeRemainingColumn(), transient=True, console=Console(stderr=True))
    bar.start()
    bar.task = bar.add_task(f"reading {label}", total=total)
    return bar


def _csv_layout(path: Path, state) -> tuple[str | None, list[str], str]:
    """Return the encoding, the header's names and the separator, with notes and refusals."""
    encoding = _encoding(path)
    if encoding == "utf-16":
        state.note(f"{path.name} is UTF-16 text (Excel's \"Unicode text\"); read as UTF-16")
    elif encoding:
        state.note(f"{path.name} is not UTF-8; read as {encoding} (save it as UTF-8 to be sure "
                   "of accented and Dari/Pashto text)")
    names, sep = _header(path, encoding)
    if not [n for n in names if n]:
        raise InputFileError(f"{path.name} has no header line")
    if sep != ",":
        shown = {"\t": "tab", ";": "';'", "|": "'|'"}[sep]
        state.note(f"{path.name} looks {shown}-separated; read it with that separator")
    used = _named_columns(names)
    if len(set(used)) < len(used):
        repeated = sorted({n for n in used if used.count(n) > 1})
        shown = ", ".join(repr(n) for n in repeated)
        raise InputFileError(f"{path.name} repeats columns in its header: {shown}")
    return encoding, names, sep


def _named_columns(names: list[str]) -> list[str]:
    """Return the header's names without its trailing empty fields (spreadsheet leftovers)."""
    end = len(names)
    while end and not names[end - 1]:
        end -= 1
    return names[:end]


def _open_csv(handle, encoding, names, sep, on_bad):
    """Return a pyarrow streaming reader: every named column as text, empty ones skipped."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    used = _named_columns(names)
    return pacsv.open_csv(
        pa.PythonFile(handle, mode="r"),
        read_options=pacsv.ReadOptions(block_size=1 << 22, use_threads=False,
                                       encoding=encoding or "utf8"),
        parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True,
                                         invalid_row_handler=on_bad),
        convert_options=pacsv.ConvertOptions(
            include_columns=used, column_types={n: pa.string() for n in used},
            strings_can_be_null=False, quoted_strings_can_be_null=False),
    )


def _batched(parts, chunksize):
    """Gather small DataFrames into chunks of at least ``chunksize`` rows."""
    buffer, buffered = [], 0
    for part in parts:
        buffer.append(part)
        buffered += len(part)
        if buffered >= chunksize:
            yield pd.concat(buffer, ignore_index=True) if len(buffer) > 1 else buffer[0]
            buffer, buffered = [], 0
    if buffer:
        yield pd.concat(buffer, ignore_index=True) if len(buffer) > 1 else buffer[0]


def csv_chunks(path: Path, chunksize: int, progress, state):
    """Stream a CSV file with pyarrow, every column as text.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    chunksize : int
        Rows per chunk (after the ACLED/UCDP filter).
    progress : bool or None
        Show a progress bar.
    state : object
        As for :func:`read_chunks`; malformed lines go to its ``bad_line``.

    Yields
    ------
    pandas.DataFrame
    """
    import pyarrow as pa

    encoding, names, sep = _csv_layout(path, state)
    bad_rows = []

    def on_bad(row):
        bad_rows.append((row.number, row.actual_columns, row.text))
        return "skip"

    handle = _Counting(open(path, "rb"))
    bar = _progress_bar(progress, path.stat().st_size, path.name)
    counts = {"rows": 0, "taken": 0}
    pending = []
    try:
        reader = _open_csv(handle, encoding, names, sep, on_bad)
        state.set_format(_named_columns(names), state.requested)
        needed = state.filter_columns(_named_columns(names))

        def parts():
            next_row = 1
            for batch in reader:
                taken = counts["taken"]
                rows, next_row, used = _number_rows(batch.num_rows, next_row, bad_rows[taken:])
                pending.extend(bad_rows[taken:taken + used])
                counts["taken"] += used
                counts["rows"] += batch.num_rows
                if needed:  # keep only the Taliban-ISK rows before converting every column
                    mask = state.keep_mask(batch.select(needed).to_pandas())
                    batch = batch.filter(pa.array(mask))
                    rows = rows[mask]
                if bar is not None:
                    bar.update(bar.task, completed=handle.n)
                if batch.num_rows:
                    part = batch.to_pandas()
                    part["_row"] = rows
                    yield part

        yield from _batched(parts(), chunksize)
        pending.extend(bad_rows[counts["taken"]:])
    except pa.ArrowInvalid as exc:
        raise InputFileError(f"{path.name} could not be read as CSV: {exc}") from exc
    finally:
        if bar is not None:
            bar.stop()
        handle.close()
    for number, actual, text in pending:
        state.bad_line(number, actual, len(names), text)
    if counts["rows"] == 0 and not pending:
        raise InputFileError(f"{path.name} has a header but no data rows")


def _choose_layer(path: Path, layer):
    """Return the layer to read: the one given, or the only one; refuse to guess among several."""
    import pyogrio

    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(path)]
    except Exception:  # unreadable: read_dataframe below says why
        return layer
    if layer is not None:
        if str(layer) not in layers:
            raise InputFileError(f"{path.name} has no layer {layer!r}; its layers are: "
                                 f"{', '.join(layers)}")
        return str(layer)
    if len(layers) > 1:
        raise InputFileError(f"{path.name} holds {len(layers)} layers ({', '.join(layers)}): "
                             "choose one with --layer NAME (layer= in Python)")
    return None


def _number_rows(n, next_row, bad):
    """Give ``n`` good rows their data-row numbers, skipping the malformed lines in ``bad``."""
    skip = sorted(number - 1 for number, _, _ in bad if number is not None)
    rows = []
    row = next_row
    used = 0
    skip_iter = iter(skip)
    upcoming = next(skip_iter, None)
    if not skip:
        return np.arange(next_row, next_row + n), next_row + n, 0
    while len(rows) < n:
        if upcoming is not None and row == upcoming:
            used += 1
            upcoming = next(skip_iter, None)
        else:
            rows.append(row)
        row += 1
    while upcoming is not None and upcoming == row:
        used += 1
        row += 1
        upcoming = next(skip_iter, None)
    return np.asarray(rows), row, used
