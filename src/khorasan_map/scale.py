"""The same pipeline on event tables larger than memory, with Dask.

The in-memory path (:func:`khorasan_map.events.read_events`, :func:`khorasan_map.join.
assign_provinces`, :func:`khorasan_map.aggregate.summarize` and :func:`~khorasan_map.aggregate.
coverage`) holds every event in one pandas DataFrame. This module runs the same code on one
partition at a time and combines small per-partition results, so tens of millions of events fit
in a few hundred megabytes per partition, on a laptop's cores or on a Dask cluster.

Engines
-------
Every public entry point takes ``engine``:

- ``"pandas"``: the in-memory path, unchanged.
- ``"dask"``: this module's partitioned path.
- ``"auto"`` (default): ``"dask"`` when the input is a Dask DataFrame, or files whose estimated
  peak memory in the in-memory path exceeds :data:`AUTO_MEMORY_SHARE` (half) of the memory
  available now; ``"pandas"`` otherwise, and always for a pandas DataFrame, which is already in
  memory. See :func:`choose_engine`. The estimate is rows times a measured peak per row of each
  format (:data:`PEAK_BYTES_PER_ROW`): rows come from Parquet footers, or for CSV from the file
  size divided by the mean length of the first lines. Where the memory available cannot be
  read, the old size rule applies (:data:`AUTO_DASK_BYTES`, :data:`AUTO_DASK_ROWS`). Measured on
  2 cores (``benchmarks/bench_scale.py``): at 1 million events both engines take the same time;
  at 5 million the in-memory path needs 5.3 GiB and 10.3 s per million, the Dask engine 1.4 GiB
  and 6.4 s per million.

Same results, to the row
------------------------
Each partition goes through the very functions of the in-memory path: validation with
:func:`~khorasan_map.events.read_events`, the join with :func:`~khorasan_map.join.
assign_provinces` (a left join: every event is kept, and unassigned events are counted, which
``dask_geopandas.sjoin`` cannot do since it is an inner join), and the filters of
:func:`~khorasan_map.aggregate.filter_events`. Per-partition results are then combined:

- counts and fatality sums are added (fatalities are whole numbers, so sums are exact);
- first and last dates are the minimum and maximum of the partitions' own;
- the share of province-precise records is recomputed from summed numerators and denominators;
- distinct sources and actors per province are counted over the union of each partition's
  distinct (province, value) pairs, kept as 64-bit hashes so that memory stays bounded when
  every event has its own source URL (two different values would have to share a hash within
  the same province for a count to be off by one; with 20 million distinct values the chance is
  about one in 100,000).

Repeated event ids: the in-memory reader rejects the second and later rows of an id, across
files too. The partitioned path records a 64-bit hash of every valid id read from files (8 bytes
an event); ids found in more than one partition trigger a second pass that rejects the later
copies, so the counts stay the same (merged exports that overlap cost one more pass). A CSV file
is one partition, so split very large CSV files (or convert them to Parquet, which is split by
row groups).

Memory and speed
----------------
Reading Parquet projects the columns the summary needs (``description``, ``district`` and
``source_date`` are never read), partitions hold about :data:`ROWS_PER_PARTITION` rows, and the
reduction is streaming: each partition is read, validated, joined and reduced to a small partial
result in one task, and partial results are combined in a tree as they arrive, so no partition
outlives its task. The default scheduler is local threads (processes would copy the data).

Clusters
--------
``scheduler`` picks where the work runs: None (local threads, or the cluster named by the
``DASK_SCHEDULER_ADDRESS`` environment variable when it is set), ``"threads"``,
``"synchronous"``, ``"processes"``, a ``dask.distributed.Client``, or a scheduler address such as
``"tcp://10.0.0.5:8786"`` (needs the ``distributed`` package). On a cluster, every worker needs
``khorasan-map`` installed and must see the input files at the same paths; the province layer is
sent to each worker once.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from khorasan_map import settings
from khorasan_map.errors import EventValidationError, InputFileError
from khorasan_map.sources import expand_paths, file_kind

# The synthetic Parquet writer lives in khorasan_map.synthetic; these are its old names here.
from khorasan_map.synthetic import ROW_GROUP_SIZE, write_synthetic_parquet  # noqa: F401

__all__ = [
    "AUTO_DASK_BYTES",
    "AUTO_DASK_ROWS",
    "AUTO_MEMORY_SHARE",
    "PEAK_BYTES_PER_ROW",
    "available_memory",
    "estimate_peak_memory",
    "ENGINES",
    "ROWS_PER_PARTITION",
    "DaskValidationResult",
    "assign_provinces_dask",
    "choose_engine",
    "coverage",
    "coverage_dask",
    "expand_paths",
    "join_counts",
    "read_events_dask",
    "summarize",
    "summarize_dask",
    "tally_dask",
    "write_synthetic_parquet",
]

#: The engine names accepted by every ``engine=`` argument ("pandas" is the old name of
#: "memory").
ENGINES: tuple[str, ...] = ("auto", "memory", "dask", "pandas")

#: ``engine="auto"`` picks Dask when the estimated peak memory of the in-memory path is more than
#: this share of the memory available (the rest is left to the maps, the report and other work).
AUTO_MEMORY_SHARE: float = 0.5

#: Peak resident memory of the in-memory build per event, by input format, in bytes: measured
#: on the full schema, 1 million CSV events peaking at 5.6 GiB (issue 13) and 5 million Parquet
#: events at 5.3 GiB (``benchmarks/bench_scale.py``), rounded up.
PEAK_BYTES_PER_ROW: dict[str, int] = {"csv": 6_000, "parquet": 1_200}

#: Bytes read from the start of a CSV file to estimate its bytes per row.
CSV_SAMPLE_BYTES: int = 1 << 16

#: Where the memory available cannot be read: ``engine="auto"`` picks Dask when the input files
#: add up to more than this many bytes.
AUTO_DASK_BYTES: int = 1 << 30

#: Where the memory available cannot be read: ``engine="auto"`` picks Dask when Parquet footers
#: count more than this many rows (about where
#: the in-memory path starts to cost more time per event and over 2 GiB of memory).
AUTO_DASK_ROWS: int = 2_000_000

#: Rows per partition when reading Parquet (row groups are gathered up to this many rows). Half
#: a million rows of the full schema take about 0.6 GB while validated and joined; two threads
#: then stay well under 3 GB.
ROWS_PER_PARTITION: int = 500_000

#: Columns never needed by the join or the summaries; not read from Parquet in the own schema.
UNUSED_COLUMNS: tuple[str, ...] = ("description", "district", "source_date")


# ---------------------------------------------------------------------------------------------
# Inputs and the engine choice
# ---------------------------------------------------------------------------------------------


def _is_dask(obj) -> bool:
    # A Dask DataFrame can only exist once dask.dataframe is imported: look it up rather than
    # import it (importing it costs 1-3 s, on every small build).
    dd = sys.modules.get("dask.dataframe")
    return dd is not None and isinstance(obj, dd.DataFrame)


def _parquet_rows(path: Path) -> int | None:
    try:
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception:  # not Parquet after all: the reader will say so
        return None


def available_memory() -> int | None:
    """Bytes of memory available to a new task now, or None when it cannot be read.

    ``psutil.virtual_memory().available`` when psutil is installed, else ``MemAvailable`` from
    ``/proc/meminfo`` (Linux).

    Returns
    -------
    int or None
        Available bytes.
    """
    try:
        import psutil
    except ImportError:
        pass
    else:
        return int(psutil.virtual_memory().available)
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _csv_rows(path: Path) -> int:
    """Estimated data rows of a CSV file: its size over the mean length of its first lines."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        sample = handle.read(CSV_SAMPLE_BYTES)
    lines = sample.count(b"\n")
    if size <= len(sample):  # the whole file: its lines less the header
        return max(lines - 1, 0)
    return int(size * max(lines, 1) / len(sample))


def estimate_peak_memory(paths) -> int:
    """Estimated peak memory of the in-memory engine on these files, in bytes.

    Rows (Parquet footers, or CSV size over the mean length of the first lines) times the
    measured peak per row of the format (:data:`PEAK_BYTES_PER_ROW`).

    Parameters
    ----------
    paths : list of pathlib.Path
        Input files (:func:`~khorasan_map.sources.expand_paths`).

    Returns
    -------
    int
        Estimated bytes.
    """
    total = 0
    for path in paths:
        kind = file_kind(path)
        rows = _parquet_rows(path) if kind == "parquet" else None
        if rows is None:
            kind, rows = "csv", _csv_rows(path)
        total += rows * PEAK_BYTES_PER_ROW[kind]
    return total


def choose_engine(
    source, engine: str = "auto", *, max_bytes: int | None = None, max_rows: int | None = None
) -> str:
    """Decide which engine handles ``source``.

    ``"auto"`` picks Dask for a Dask DataFrame, and for files whose estimated peak memory in the
    in-memory path (:func:`estimate_peak_memory`) exceeds :data:`AUTO_MEMORY_SHARE` of the
    memory available (:func:`available_memory`); when that cannot be read, for files over
    :data:`AUTO_DASK_BYTES` or Parquet over :data:`AUTO_DASK_ROWS` rows.

    Parameters
    ----------
    source : path, glob, list of them, pandas.DataFrame, dask.dataframe.DataFrame or None
        The events (None: the shipped dataset).
    engine : {"auto", "pandas", "dask"}, default "auto"
        "memory" and "dask" are returned as they are (after checking that Dask is installed);
        "pandas" is the old name of "memory"; "auto" applies the rule above.
    max_bytes : int, optional
        Largest total file size for the in-memory engine, checked as well as the memory rule.
    max_rows : int, optional
        Largest Parquet row count for the in-memory engine, checked as well as the memory rule.

    Returns
    -------
    str
        "memory" or "dask".

    Raises
    ------
    ValueError
        For an unknown engine name.
    ImportError
        For "dask" when dask or dask-geopandas is not installed.

    Examples
    --------
    >>> import pandas as pd
    >>> choose_engine(pd.DataFrame({"event_id": ["a"]}))
    'memory'
    >>> choose_engine(None, "dask")  # doctest: +SKIP
    'dask'
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine == "dask" or (engine == "auto" and _is_dask(source)):
        _require_dask()
        return "dask"
    in_memory = isinstance(getattr(source, "events", None), pd.DataFrame)
    if engine in ("memory", "pandas") or source is None or isinstance(source, pd.DataFrame) \
            or in_memory:
        return "memory"
    if _is_dask(source) or isinstance(source, DaskValidationResult):
        return "dask"
    if _too_big_for_memory(expand_paths(source), max_bytes, max_rows):
        _require_dask()
        return "dask"
    return "memory"


def _too_big_for_memory(paths: list[Path], max_bytes: int | None, max_rows: int | None) -> bool:
    """Apply the ``auto`` rule to files: the memory estimate, and any explicit size limits."""
    available = available_memory()
    if available is None:  # no memory figure: the size rule of old
        max_bytes = AUTO_DASK_BYTES if max_bytes is None else max_bytes
        max_rows = AUTO_DASK_ROWS if max_rows is None else max_rows
    elif estimate_peak_memory(paths) > AUTO_MEMORY_SHARE * available:
        return True
    size = sum(p.stat().st_size for p in paths)
    rows = sum(_parquet_rows(p) or 0 for p in paths if file_kind(p) == "parquet")
    too_large = max_bytes is not None and size > max_bytes
    return too_large or (max_rows is not None and rows > max_rows)


def _require_dask():
    try:
        import dask  # noqa: F401
        import dask.dataframe  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "engine='dask' needs dask and dask-geopandas: pip install 'khorasan-map[scale]'"
        ) from exc


# ---------------------------------------------------------------------------------------------
# Reading: pieces of files, validated one at a time
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Piece:
    """One partition's worth of input: a whole file, or some row groups of a Parquet file."""

    path: str
    label: str
    kind: str  # "parquet" or "csv"
    row_groups: tuple[int, ...] | None = None
    first_row: int = 1  # data-row number of the piece's first row in its file
    n_rows: int | None = None


def _pieces(paths: list[Path], rows_per_partition: int) -> list[_Piece]:
    labels = [p.name for p in paths]
    if len(set(labels)) < len(labels):
        labels = [str(p) for p in paths]
    out = []
    for path, label in zip(paths, labels, strict=True):
        kind = file_kind(path)
        if kind != "parquet":  # CSV, GeoJSON, GeoPackage: one piece, read whole
            out.append(_Piece(str(path), label, "csv"))
            continue
        import pyarrow.parquet as pq

        try:
            meta = pq.ParquetFile(path).metadata
        except Exception as exc:
            raise InputFileError(f"{label} could not be read as Parquet: {exc}") from exc
        if meta.num_rows == 0:
            raise InputFileError(f"{label} has columns but no data rows")
        group, n_group, first = [], 0, 1
        for i in range(meta.num_row_groups):
            n = meta.row_group(i).num_rows
            if group and n_group + n > rows_per_partition:
                out.append(_Piece(str(path), label, "parquet", tuple(group), first, n_group))
                first += n_group
                group, n_group = [], 0
            group.append(i)
            n_group += n
        if group:
            out.append(_Piece(str(path), label, "parquet", tuple(group), first, n_group))
    return out


def _projection(names: list[str], fmt: str) -> list[str]:
    """Return the columns to read from a Parquet file (the geometry aside)."""
    from khorasan_map.events import detect_format

    if fmt == "auto":
        fmt = detect_format(names)
    return [n for n in names if not (fmt == "khorasan" and n.strip().lower() in UNUSED_COLUMNS)]


def _read_piece(piece: _Piece, fmt: str, keep_all: bool, today):
    """Read and validate one piece; return the :class:`ValidationResult` with file row numbers."""
    from khorasan_map.events import read_events

    if piece.kind == "csv":
        return read_events(
            piece.path,
            format=fmt,
            on_invalid="report",
            keep_all=keep_all,
            today=today,
            progress=False,
        )
    import pyarrow.parquet as pq

    from khorasan_map.readers import geoparquet_geometry, read_parquet_piece

    schema = pq.read_schema(piece.path)
    geom_col, _ = geoparquet_geometry(schema)
    columns = _projection([n for n in schema.names if n != geom_col], fmt)
    frame = read_parquet_piece(piece.path, piece.row_groups, columns, label=piece.label)
    result = read_events(
        frame, format=fmt, on_invalid="report", keep_all=keep_all, today=today, progress=False
    )
    offset = piece.first_row - 1
    for report in (result.rejected, result.warnings, result.problems):
        if len(report):
            report["file"] = piece.label
            report.loc[report["row"] > 0, "row"] += offset
    result.sources = [piece.label]
    del frame
    return result


@dataclasses.dataclass
class DaskValidationResult:
    """What :func:`read_events_dask` returns with ``on_invalid="report"``.

    ``events`` and ``rejected`` come from the same per-partition validation: compute them
    together (``dask.compute(result.events, result.rejected)``) to validate once.

    Attributes
    ----------
    events : dask.dataframe.DataFrame
        The valid events, columns :data:`khorasan_map.events.EVENT_COLUMNS`.
    rejected : dask.dataframe.DataFrame
        The rejected rows: ``file``, ``row`` (1-based data row in its file), ``event_id``,
        ``column``, ``value``, ``reason``.
    n_rows : int or None
        Rows in the input when the file footers say so (Parquet), else None.
    sources : list of str
        The files read.
    """

    events: object
    rejected: object
    n_rows: int | None
    sources: list

    def counts(self, scheduler=None) -> dict:
        """Return input, valid and rejected row counts, validating every partition once.

        Parameters
        ----------
        scheduler : str, dask.distributed.Client or None
            Where to run, as in :func:`summarize_dask`.

        Returns
        -------
        dict
            ``n_input``, ``n_valid``, ``n_rejected``; ``n_input == n_valid + n_rejected``.
        """
        n_valid, n_rejected = _compute(
            self.events.shape[0], self.rejected.shape[0], scheduler=scheduler
        )
        return {
            "n_input": int(n_valid + n_rejected),
            "n_valid": int(n_valid),
            "n_rejected": int(n_rejected),
        }


def _events_meta():
    from khorasan_map.events import EVENT_COLUMNS

    meta = pd.DataFrame({c: pd.Series(dtype="str") for c in EVENT_COLUMNS})
    for c in ("date", "date_start", "date_end"):
        meta[c] = pd.Series(dtype="datetime64[ns]")
    for c in ("latitude", "longitude", "fatalities", "fatalities_low", "fatalities_high"):
        meta[c] = pd.Series(dtype="float64")
    return meta


def _report_meta():
    from khorasan_map.events import REPORT_COLUMNS

    return pd.DataFrame(
        {c: pd.Series(dtype="int64" if c == "row" else "str") for c in REPORT_COLUMNS}
    )


def _valid_part(result):
    return result.events


def _rejected_part(result):
    from khorasan_map.events import REPORT_COLUMNS

    return result.rejected[list(REPORT_COLUMNS)].astype({"row": "int64"})


def _raise_if_rejected(result):
    if len(result.rejected):
        _raise_rejected(
            len(result.rejected), result.n_input, result.messages("problems"), result.rejected
        )
    return result.events


def _raise_rejected(n_rejected, n_input, lines, rejected):
    from khorasan_map.validate import rejection_message

    raise EventValidationError(rejection_message(n_rejected, n_input, lines), rejected=rejected)


def read_events_dask(
    paths_or_glob,
    *,
    format: str = "auto",
    on_invalid: str = "raise",
    keep_all: bool = False,
    today=None,
    rows_per_partition: int = ROWS_PER_PARTITION,
):
    """Read event files lazily into a Dask DataFrame in the schema, validating each partition.

    Each partition is a CSV file or a run of row groups of a Parquet file (about
    ``rows_per_partition`` rows), read and validated by
    :func:`khorasan_map.events.read_events`, so the rules and messages are the same as in
    memory; rejected rows keep their file name and 1-based row number in that file. Parquet in
    the project's own schema is read without the columns no summary needs (see
    :data:`UNUSED_COLUMNS`); those come back empty. An event id repeated in two partitions is
    not rejected here (each partition is validated alone); :func:`summarize_dask` and
    :func:`coverage_dask` do reject such repeats, as the in-memory reader does.

    Parameters
    ----------
    paths_or_glob : str, pathlib.Path or list of them
        Files, glob patterns or folders (see :func:`expand_paths`): CSV, Parquet or GeoParquet.
    format : {"auto", "khorasan", "acled", "ucdp"}, default "auto"
        As for :func:`khorasan_map.events.read_events`.
    on_invalid : {"raise", "report"}, default "raise"
        "raise": a Dask DataFrame whose partitions raise
        :class:`~khorasan_map.errors.EventValidationError` when computed if they hold invalid
        rows. "report": a :class:`DaskValidationResult` with the valid events and the rejected
        rows as two Dask DataFrames.
    keep_all : bool, default False
        As for :func:`khorasan_map.events.read_events`.
    today : str or pandas.Timestamp, optional
        Dates after this day are rejected (default: today).
    rows_per_partition : int, default :data:`ROWS_PER_PARTITION`
        Target rows per Parquet partition.

    Returns
    -------
    dask.dataframe.DataFrame or DaskValidationResult
        Lazy valid events (``on_invalid="raise"``), or valid and rejected rows.

    Raises
    ------
    InputFileError
        When a glob matches no file, or a file is missing or not Parquet/CSV as it claims.

    Examples
    --------
    >>> ddf = read_events_dask("events/part-*.parquet")  # doctest: +SKIP
    >>> ddf.npartitions, len(ddf)  # doctest: +SKIP
    (20, 20000000)
    >>> res = read_events_dask("events/*.csv", on_invalid="report")  # doctest: +SKIP
    >>> res.counts()  # doctest: +SKIP
    {'n_input': 3000, 'n_valid': 2990, 'n_rejected': 10}
    """
    _require_dask()
    import dask
    import dask.dataframe as dd

    if on_invalid not in ("raise", "report"):
        raise ValueError(f"on_invalid must be 'raise' or 'report', not {on_invalid!r}")
    paths = expand_paths(paths_or_glob)
    pieces = _pieces(paths, int(rows_per_partition))
    today = pd.Timestamp.today().normalize() if today is None else pd.Timestamp(today)
    results = [dask.delayed(_read_piece, pure=True)(p, format, keep_all, today) for p in pieces]
    n_rows = sum(p.n_rows for p in pieces) if all(p.n_rows is not None for p in pieces) else None
    if on_invalid == "raise":
        parts = [dask.delayed(_raise_if_rejected)(r) for r in results]
        return dd.from_delayed(parts, meta=_events_meta(), verify_meta=False)
    events = dd.from_delayed(
        [dask.delayed(_valid_part)(r) for r in results], meta=_events_meta(), verify_meta=False
    )
    rejected = dd.from_delayed(
        [dask.delayed(_rejected_part)(r) for r in results], meta=_report_meta(), verify_meta=False
    )
    return DaskValidationResult(events, rejected, n_rows, [p.label for p in pieces])


# ---------------------------------------------------------------------------------------------
# The join, partition by partition
# ---------------------------------------------------------------------------------------------


def _join_events_part(frame, layer, tolerance_m):
    from khorasan_map.join import assign_provinces

    return assign_provinces(frame, layer, tolerance_m=tolerance_m)


def _joined(result):
    return result.events


def _join_report(result):
    return result.report


def assign_provinces_dask(
    ddf, boundaries=None, *, tolerance_m: float | None = None
):
    """Assign provinces to a Dask DataFrame of events, partition by partition.

    Every partition goes through :func:`khorasan_map.join.assign_provinces` against the same
    layer (sent once to each worker; the point grid is built once per worker and cached), so the
    assignments and the report rows are exactly those of the in-memory join. It is a left join:
    every event is kept, unassigned ones with ``assigned_code`` None (``dask_geopandas.sjoin``
    is inner-only and would drop them). Use :func:`join_counts` for the totals.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        Events in the schema (e.g. from :func:`read_events_dask`).
    boundaries : geopandas.GeoDataFrame, optional
        Province layer; the shipped 34 provinces when omitted.
    tolerance_m : float, optional
        Snapping tolerance for points just outside every polygon; by default
        :data:`settings.BORDER_TOLERANCE_M`, read when the function is called.

    Returns
    -------
    events : dask.dataframe.DataFrame
        The input plus ``assigned_code``, ``assigned_province`` and ``assigned_by``.
    report : dask.dataframe.DataFrame
        The join report rows (``event_id``, ``case``, ``detail``, ``stated_code``,
        ``point_code``, ``used``, ``distance_km``). Both come from one join per partition:
        compute them together to join once.

    Examples
    --------
    >>> events, report = assign_provinces_dask(read_events_dask("ev/*.parquet"))  # doctest: +SKIP
    >>> join_counts(events, report)  # doctest: +SKIP
    {'n_input': 20000000, 'n_assigned': 19990000, 'n_unassigned': 10000, ...}
    """
    _require_dask()
    import dask
    import dask.dataframe as dd

    from khorasan_map.join import REPORT_COLUMNS

    if tolerance_m is None:
        tolerance_m = settings.BORDER_TOLERANCE_M
    layer = _layer(boundaries)
    layer_d = dask.delayed(layer, pure=True, traverse=False)
    results = [
        dask.delayed(_join_events_part, pure=True)(part, layer_d, tolerance_m)
        for part in ddf.to_delayed()
    ]
    meta = ddf._meta.assign(
        assigned_code=pd.Series(dtype=object),
        assigned_province=pd.Series(dtype=object),
        assigned_by=pd.Series(dtype=object),
    )
    report_meta = pd.DataFrame(
        {c: pd.Series(dtype=float if c == "distance_km" else object) for c in REPORT_COLUMNS}
    )
    events = dd.from_delayed(
        [dask.delayed(_joined)(r) for r in results], meta=meta, verify_meta=False
    )
    report = dd.from_delayed(
        [dask.delayed(_join_report)(r) for r in results], meta=report_meta, verify_meta=False
    )
    return events, report


def join_counts(events, report, scheduler=None) -> dict:
    """Count assigned and unassigned events and the report cases of a partitioned join.

    Parameters
    ----------
    events, report : dask.dataframe.DataFrame
        As returned by :func:`assign_provinces_dask`.
    scheduler : str, dask.distributed.Client or None
        Where to run, as in :func:`summarize_dask`.

    Returns
    -------
    dict
        ``n_input``, ``n_assigned``, ``n_unassigned`` (which add up), ``cases``
        ({case: rows}) and ``by`` ({assigned_by: rows}), computed in one pass.

    Examples
    --------
    >>> join_counts(*assign_provinces_dask(ddf))["n_unassigned"]  # doctest: +SKIP
    12
    """
    n, n_unassigned, by, cases = _compute(
        events.shape[0],
        events["assigned_code"].isna().sum(),
        events["assigned_by"].value_counts(),
        report["case"].value_counts(),
        scheduler=scheduler,
    )
    return {
        "n_input": int(n),
        "n_assigned": int(n - n_unassigned),
        "n_unassigned": int(n_unassigned),
        "cases": _counts_dict(cases),
        "by": _counts_dict(by),
    }


def _counts_dict(series) -> dict:
    return {str(k): int(v) for k, v in sorted(series.items(), key=lambda kv: (-kv[1], kv[0]))}


# ---------------------------------------------------------------------------------------------
# Schedulers
# ---------------------------------------------------------------------------------------------


def _scheduler_kwargs(scheduler):
    if scheduler is None:
        scheduler = os.environ.get("DASK_SCHEDULER_ADDRESS") or "threads"
    if isinstance(scheduler, str) and "://" in scheduler:
        try:
            from distributed import Client
        except ImportError as exc:
            raise ImportError(
                f"scheduler {scheduler!r} is a cluster address, which needs the 'distributed' "
                "package: pip install 'dask[distributed]'"
            ) from exc
        return {"scheduler": Client(scheduler, set_as_default=False)}, True
    if isinstance(scheduler, str):
        names = {
            "threads": "threads",
            "threading": "threads",
            "sync": "synchronous",
            "synchronous": "synchronous",
            "single-threaded": "synchronous",
            "processes": "processes",
        }
        if scheduler not in names:
            raise ValueError(
                f"scheduler {scheduler!r} is not one of {', '.join(names)} "
                "or a cluster address such as tcp://host:8786"
            )
        return {"scheduler": names[scheduler]}, False
    return {"scheduler": scheduler}, False


def _compute(*objs, scheduler=None):
    import dask

    kwargs, owned = _scheduler_kwargs(scheduler)
    try:
        return dask.compute(*objs, **kwargs)
    finally:
        if owned:
            kwargs["scheduler"].close()


# ---------------------------------------------------------------------------------------------
# Per-partition work: read and validate, then tally with khorasan_map.aggregate
# ---------------------------------------------------------------------------------------------


def _layer(boundaries):
    from khorasan_map.aggregate import load_layer

    return load_layer(boundaries)


@dataclasses.dataclass(frozen=True)
class _Options:
    since: object
    until: object
    split_date: object
    fmt: str
    keep_all: bool
    today: pd.Timestamp
    tolerance_m: float | None
    several: tuple  # per partition: whether an earlier file precedes it (for repeat messages)


@dataclasses.dataclass
class _Part:
    """One partition's tally, with the 64-bit hashes and file rows of its valid event ids."""

    tally: object
    ids: np.ndarray
    rows: np.ndarray
    label: str


def _hash_ids(ids) -> np.ndarray:
    return pd.util.hash_array(np.asarray(ids, dtype=object), categorize=False)


def _with_coordinates(frame):
    """Fill missing latitude/longitude from point geometries (dask-geopandas partitions)."""
    geom_col = getattr(frame, "_geometry_column_name", None)
    if geom_col is None or geom_col not in frame.columns:
        return frame
    import shapely

    geoms = frame.geometry
    if geoms.crs is not None and not geoms.crs.equals(settings.CRS):
        geoms = geoms.to_crs(settings.CRS)
    values = np.asarray(geoms.values, dtype=object)
    point = shapely.get_type_id(values) == 0
    fill = {
        "longitude": np.where(point, shapely.get_x(values), np.nan),
        "latitude": np.where(point, shapely.get_y(values), np.nan),
    }
    out = pd.DataFrame(frame.drop(columns=geom_col))
    for name, vals in fill.items():
        if name not in out:
            out[name] = vals
        else:
            out[name] = pd.to_numeric(out[name], errors="coerce").fillna(
                pd.Series(vals, index=out.index)
            )
    return out


def _valid_rows(result, piece: _Piece, n_valid: int) -> np.ndarray:
    """File row of each valid event: the piece's rows, less the rejected ones, in order.

    Rows dropped by the ACLED/UCDP filter are not reported, so there the rows are unknown (0).
    """
    if result.n_read != result.n_input:
        return np.zeros(n_valid, dtype=np.int64)
    rows = np.arange(piece.first_row, piece.first_row + result.n_input, dtype=np.int64)
    rows = rows[~np.isin(rows, result.rejected["row"].to_numpy(dtype=np.int64))]
    return rows if len(rows) == n_valid else np.zeros(n_valid, dtype=np.int64)


_DUPLICATE = "duplicate event id"


def _in_file_words(rejected, piece: _Piece, several: bool):
    """Word a piece's repeat messages as the whole-file reader does: file rows, file name.

    A piece of a Parquet file is validated alone, so "first used in row N" counts from the
    piece's first row and names no file; the in-memory reader counts from the file's first row
    and names the file from the second file on.
    """
    offset = piece.first_row - 1
    prefix = f"{piece.label} " if several else ""
    if not len(rejected) or (offset == 0 and not prefix):
        return rejected
    reason = rejected["reason"].astype(str).str.replace(
        r"\(first used in row (\d+)\)",
        lambda m: f"(first used in {prefix}row {int(m.group(1)) + offset})",
        regex=True,
    )
    return rejected.assign(reason=reason)


def _first_use_text(event_id, cited, several):
    label, row = cited
    return f"{_DUPLICATE} '{event_id}' (first used in {label + ' ' if several else ''}row {row})"


def _reject_repeats(events, rows, rejected, label, index, exclude, several):
    """Reject the rows whose id was first used in an earlier partition, as read_events does.

    Valid rows become rejected rows; rows already rejected gain the repeat as one more problem.
    Returns the events, their rows, the rejected rows and a problem line (or None).
    """
    firsts = [exclude.get(h) for h in _hash_ids(events["event_id"]).tolist()]
    repeat = np.array([f is not None and f[2] != index for f in firsts], dtype=bool)
    ids = events["event_id"].to_numpy(dtype=object)[repeat]
    texts = [_first_use_text(i, _cited(f, label, r), several)
             for f, i, r in zip([f for f, x in zip(firsts, repeat, strict=True) if x], ids,
                                rows[repeat], strict=True)]
    new = pd.DataFrame({"file": label, "row": rows[repeat], "event_id": ids,
                        "column": "event_id", "value": ids, "reason": texts})
    rejected = _add_repeat_problems(rejected, label, index, exclude, several)
    note = None
    if repeat.any():
        note = (f"{label}: {int(repeat.sum()):,} rows repeat event ids first used in another "
                f"file or earlier rows (e.g. {ids[0]!r}); not counted")
    both = pd.concat([r for r in (rejected, new) if len(r)] or [rejected], ignore_index=True)
    both = both.sort_values("row", kind="stable").reset_index(drop=True)
    return events[~repeat], rows[~repeat], both, note


def _add_repeat_problems(rejected, label, index, exclude, several):
    """Give already-rejected repeats the in-memory reader's repeat problem and citation."""
    if not len(rejected):
        return rejected
    rejected = rejected.copy()
    ids = rejected["event_id"].fillna("").astype(str)
    where = {c: rejected.columns.get_loc(c) for c in ("column", "value", "reason")}
    for i, (event_id, reason, row) in enumerate(zip(ids, rejected["reason"].astype(str),
                                                    rejected["row"], strict=True)):
        first = exclude.get(int(_hash_ids([event_id])[0])) if event_id else None
        if first is None:
            continue
        text = _first_use_text(event_id, _cited(first, label, int(row)), several)
        if _DUPLICATE in reason:  # a repeat within the piece: cite the file's first row
            start = reason.index(f"{_DUPLICATE} '{event_id}'")
            end = reason.index(")", start) + 1
            rejected.iat[i, where["reason"]] = reason[:start] + text + reason[end:]
            continue
        if first[2] == index:
            continue
        columns = dict.fromkeys([*str(rejected.iat[i, where["column"]]).split(", "), "event_id"])
        rejected.iat[i, where["column"]] = ", ".join(columns)
        rejected.iat[i, where["value"]] = f"{rejected.iat[i, where['value']]} | {event_id}"
        rejected.iat[i, where["reason"]] = f"{reason}; {text}"
    return rejected


def _registered_ids(events, rows, rejected):
    """Return hashes and rows of the ids a partition uses first.

    Those are its valid rows and its rejected rows that are not repeats themselves (the
    in-memory reader counts an invalid row's id as used, too).
    """
    hashes, at = [_hash_ids(events["event_id"])], [rows]
    if len(rejected):
        ids = rejected["event_id"].fillna("").astype(str)
        used = ((ids != "") & ~rejected["reason"].astype(str).str.contains(_DUPLICATE))
        used = used.to_numpy(bool)
        hashes.append(_hash_ids(ids[used]))
        at.append(rejected["row"].to_numpy(np.int64)[used])
    return np.concatenate(hashes), np.concatenate(at)


def _partial(item, layer, opts: _Options, index=0, exclude=None) -> _Part:
    """Read, validate, place and tally one partition (a piece of a file or a DataFrame).

    With ``exclude`` ({id hash: (label, row, partition) of its first use}), rows whose id was
    first used in an earlier partition are rejected as repeats, as the in-memory reader does.
    """
    from khorasan_map.aggregate import tally_events

    window = {"since": opts.since, "until": opts.until, "split_date": opts.split_date,
              "tolerance_m": opts.tolerance_m}
    if not isinstance(item, _Piece):
        tally = tally_events(_with_coordinates(item), layer, **window)
        return _Part(tally, np.zeros(0, np.uint64), np.zeros(0, np.int64), "")
    result = _read_piece(item, opts.fmt, opts.keep_all, opts.today)
    several = opts.several[index]
    rejected = _in_file_words(result.rejected, item, several)
    events = result.events
    rows = _valid_rows(result, item, len(events))
    lines = [f"{item.label} {line}" for line in result.messages("problems")
             if not line.startswith("... and")] if len(result.rejected) else []
    if exclude:
        events, rows, rejected, note = _reject_repeats(events, rows, rejected, item.label,
                                                       index, exclude, several)
        lines += [note] if note else []
    hashes, at = _registered_ids(events, rows, rejected)
    tally = tally_events(events, layer, n_input=result.n_input, rejected=rejected,
                         problems=lines, **window)
    return _Part(tally, hashes, at, item.label)


def _first_uses(parts: list) -> dict:
    """Return where each id met in more than one partition was first used.

    ``{id hash: (file label, row, partition, {file label: first row in that file})}``: the
    first use overall (partitions are in file and row order), and the first in each file, which
    the in-memory reader cites for a repeat within one file.
    """
    sizes = [len(p.ids) for p in parts]
    if sum(sizes) < 2:
        return {}
    seen = pd.DataFrame({
        "id": np.concatenate([p.ids for p in parts]),
        "owner": np.repeat(np.arange(len(parts), dtype=np.int64), sizes),
        "row": np.concatenate([p.rows for p in parts]),
    })
    seen = seen[seen["id"].duplicated(keep=False)]
    if not len(seen):
        return {}
    seen = seen[seen.groupby("id")["owner"].transform("nunique") > 1]
    seen["label"] = [parts[o].label for o in seen["owner"]]
    seen = seen.sort_values(["id", "owner", "row"], kind="stable")
    per_file = seen.groupby(["id", "label"], sort=False)["row"].min()
    files: dict = {}
    for (h, label), row in per_file.items():
        files.setdefault(int(h), {})[label] = int(row)
    heads = seen.drop_duplicates("id")
    return {int(h): (parts[o].label, int(r), int(o), files[int(h)])
            for h, o, r in zip(heads["id"], heads["owner"], heads["row"], strict=True)}


def _cited(first, label, row):
    """Return the use a repeat at (label, row) cites: an earlier row of its file, else the first."""
    in_file = first[3].get(label)
    if in_file is not None and in_file < row:
        return label, in_file
    return first[0], first[1]


def _run(items, layer, opts: _Options, scheduler):
    """Tally every partition in one compute; re-read only partitions holding repeated ids.

    Ids met in more than one partition are rare (overlapping exports). Then the partitions
    holding a later copy are read again with those copies rejected, so the counts and the
    rejected rows equal the in-memory reader's, which keeps an id's first row in (file, row)
    order. Every other partition is read once.
    """
    import dask

    from khorasan_map.aggregate import Tally

    layer_d = dask.delayed(layer, pure=True, traverse=False)
    tasks = [dask.delayed(_partial, pure=True)(it, layer_d, opts, i) for i, it in enumerate(items)]
    parts = list(_compute(*tasks, scheduler=scheduler))
    first = _first_uses(parts)
    if first:
        repeated = np.fromiter(first, dtype=np.uint64, count=len(first))
        affected = [i for i, p in enumerate(parts)
                    if any(first[h][2] != i for h in p.ids[np.isin(p.ids, repeated)].tolist())]
        redo = [dask.delayed(_partial, pure=True)(items[i], layer_d, opts, i, first)
                for i in affected]
        for i, part in zip(affected, _compute(*redo, scheduler=scheduler), strict=True):
            parts[i] = part
    return Tally.combine(*[p.tally for p in parts])


def _items(source, rows_per_partition: int):
    """Return the per-partition inputs: pieces of files, or (delayed) DataFrame partitions."""
    if _is_dask(source):
        return list(source.to_delayed())
    if isinstance(source, DaskValidationResult):
        return list(source.events.to_delayed())
    if isinstance(source, pd.DataFrame):
        step = max(int(rows_per_partition), 1)
        return [source.iloc[i : i + step] for i in range(0, max(len(source), 1), step)]
    if source is None:
        from khorasan_map.events import read_events

        return [read_events()]
    return _pieces(expand_paths(source), int(rows_per_partition))


def _several(items) -> tuple:
    """Per partition: whether it belongs to the second or a later file."""
    labels = [it.label if isinstance(it, _Piece) else "" for it in items]
    order = {lab: i for i, lab in enumerate(dict.fromkeys(labels))}
    return tuple(order[lab] > 0 for lab in labels)


def tally_dask(
    source,
    boundaries=None,
    *,
    since=None,
    until=None,
    split_date=None,
    format: str = "auto",
    keep_all: bool = False,
    today=None,
    tolerance_m: float | None = None,
    scheduler=None,
    rows_per_partition: int | None = None,
):
    """Tally events partition by partition, in one pass over the data.

    Each partition is read, validated, placed and tallied with
    :func:`khorasan_map.aggregate.tally_events` in one task, and the tallies are combined with
    :meth:`khorasan_map.aggregate.Tally.combine`: every summary column, coverage figure,
    rejected row and join count comes out of this one compute.

    Parameters
    ----------
    source : path, glob, list of them, dask.dataframe.DataFrame, DaskValidationResult,
        pandas.DataFrame or None
        As for :func:`summarize_dask`.
    boundaries : geopandas.GeoDataFrame, optional
        Province layer; the shipped 34 provinces when omitted.
    since, until, split_date
        The window and the split, as for :func:`khorasan_map.aggregate.coverage`.
    format, keep_all, today, tolerance_m, scheduler, rows_per_partition
        As for :func:`summarize_dask`.

    Returns
    -------
    khorasan_map.aggregate.Tally
        Finish it with :meth:`~khorasan_map.aggregate.Tally.summary` and
        :meth:`~khorasan_map.aggregate.Tally.coverage`.

    Examples
    --------
    >>> t = tally_dask("events/*.parquet")  # doctest: +SKIP
    >>> t.summary().attrs["n_events"], t.coverage().sentence  # doctest: +SKIP
    """
    _require_dask()
    rows = ROWS_PER_PARTITION if rows_per_partition is None else rows_per_partition
    items = _items(source, rows)
    opts = _Options(
        since=since,
        until=until,
        split_date=split_date,
        fmt=format,
        keep_all=keep_all,
        today=pd.Timestamp.today().normalize() if today is None else pd.Timestamp(today),
        tolerance_m=tolerance_m,
        several=_several(items),
    )
    result = _run(items, _layer(boundaries), opts, scheduler)
    result.engine = "dask"
    return result


def summarize_dask(source, boundaries=None, **options):
    """Count events per province with the partitioned engine; same table as in memory.

    :func:`khorasan_map.aggregate.summarize` with ``engine="dask"``: each partition is read,
    validated, placed and tallied in one task (:func:`tally_dask`), then the tallies are
    combined and the table finished once.

    Parameters
    ----------
    source : path, glob, list of them, dask.dataframe.DataFrame, DaskValidationResult,
        pandas.DataFrame or None
        Event files (CSV, Parquet; see :func:`expand_paths`), or events already in a DataFrame
        (validated; with or without ``assigned_code``; a dask-geopandas GeoDataFrame of points
        has its missing ``latitude``/``longitude`` filled from the geometry), or None for the
        shipped dataset.
    boundaries : geopandas.GeoDataFrame, optional
        Province layer; the shipped 34 provinces when omitted.
    **options
        As for :func:`khorasan_map.aggregate.summarize`: ``since``, ``until``, ``kinds``,
        ``min_confidence``, ``by``, and how files are read: ``format``, ``on_invalid``
        ("raise": after the pass, raise :class:`~khorasan_map.errors.EventValidationError`
        when any row was rejected; "report": record them in ``attrs["scale"]``), ``keep_all``,
        ``today``, ``tolerance_m``, ``scheduler`` (None: local threads, or
        ``DASK_SCHEDULER_ADDRESS`` when set; "synchronous", "processes", a Client or a
        ``tcp://host:port`` address) and ``rows_per_partition`` (default
        :data:`ROWS_PER_PARTITION`).

    Returns
    -------
    geopandas.GeoDataFrame
        The table of :func:`khorasan_map.aggregate.summarize`, with the same ``attrs``;
        ``attrs["scale"]``: ``n_input``, ``n_rejected``, ``problems`` (the first rejection
        messages, "file row N, column C: reason"), ``n_partitions`` and ``join``.

    Examples
    --------
    >>> table = summarize_dask("events/*.parquet", kinds="clash")  # doctest: +SKIP
    >>> int(table["events"].sum()) == table.attrs["n_events"]  # doctest: +SKIP
    True
    """
    return _front_door("summarize")(source, boundaries, engine="dask", **options)


def coverage_dask(source, boundaries=None, **options):
    """Count the provinces with events, with the partitioned engine; same answer as in memory.

    :func:`khorasan_map.aggregate.coverage` with ``engine="dask"``.

    Parameters
    ----------
    source, boundaries
        Events and province layer, as for :func:`summarize_dask`.
    **options
        ``since``, ``until``, ``kinds``, ``min_confidence``, ``split_date`` as for
        :func:`khorasan_map.aggregate.coverage`; how files are read, as for
        :func:`summarize_dask`.

    Returns
    -------
    khorasan_map.aggregate.Coverage
        Equal to what :func:`khorasan_map.aggregate.coverage` returns for the same events. Its
        ``scale`` attribute (not part of ``to_dict()``) holds ``n_input``, ``n_rejected``,
        ``n_partitions`` and the join counts.

    Examples
    --------
    >>> coverage_dask("events/*.parquet").sentence  # doctest: +SKIP
    'Clashes recorded in 34 of 34 provinces (100%), 2015-01-01 to 2025-12-31'
    """
    return _front_door("coverage")(source, boundaries, engine="dask", **options)


def _front_door(name):
    """Return the aggregate front door that this module's function of that name serves."""
    from khorasan_map import aggregate

    return getattr(aggregate, name)


def summarize(events_or_paths=None, boundaries=None, **options):
    """Run :func:`khorasan_map.aggregate.summarize`, kept here under its old name.

    ``engine="pandas"`` is the old name of ``engine="memory"``.
    """
    return _front_door("summarize")(events_or_paths, boundaries, **options)


def coverage(events_or_paths=None, boundaries=None, **options):
    """Run :func:`khorasan_map.aggregate.coverage`, kept here under its old name.

    ``engine="pandas"`` is the old name of ``engine="memory"``.
    """
    return _front_door("coverage")(events_or_paths, boundaries, **options)
