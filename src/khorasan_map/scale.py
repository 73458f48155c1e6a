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
- ``"auto"`` (default): ``"dask"`` when the input is a Dask DataFrame, or files whose total size
  exceeds :data:`AUTO_DASK_BYTES` (1 GiB), or Parquet files whose footers count more than
  :data:`AUTO_DASK_ROWS` rows (2 million; Parquet compresses about tenfold, so its bytes
  understate its size in memory); ``"pandas"`` otherwise, and always for a pandas DataFrame,
  which is already in memory. See :func:`choose_engine`. Measured on 2 cores
  (``benchmarks/bench_scale.py``): at 1 million events both engines take the same time; at 5
  million the in-memory path needs 5.3 GiB and 10.3 s per million, the Dask engine 1.4 GiB and
  6.4 s per million.

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
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from khorasan_map import settings
from khorasan_map.errors import EventValidationError, InputFileError
from khorasan_map.sources import expand_paths, file_kind

__all__ = [
    "AUTO_DASK_BYTES",
    "AUTO_DASK_ROWS",
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
    "write_synthetic_parquet",
]

#: The engine names accepted by every ``engine=`` argument.
ENGINES: tuple[str, ...] = ("pandas", "dask", "auto")

#: ``engine="auto"`` picks Dask when the input files add up to more than this many bytes.
AUTO_DASK_BYTES: int = 1 << 30

#: ``engine="auto"`` picks Dask when Parquet footers count more than this many rows (about where
#: the in-memory path starts to cost more time per event and over 2 GiB of memory).
AUTO_DASK_ROWS: int = 2_000_000

#: Rows per partition when reading Parquet (row groups are gathered up to this many rows). Half
#: a million rows of the full schema take about 0.6 GB while validated and joined; two threads
#: then stay well under 3 GB.
ROWS_PER_PARTITION: int = 500_000

#: Rows per row group in the Parquet files :func:`write_synthetic_parquet` writes.
ROW_GROUP_SIZE: int = 250_000

#: Partial results combined per task in the tree reduction.
SPLIT_EVERY: int = 8

#: Columns never needed by the join or the summaries; not read from Parquet in the own schema.
UNUSED_COLUMNS: tuple[str, ...] = ("description", "district", "source_date")

#: Rejected rows kept for the error message when the partitioned path raises.
MAX_REJECTED_KEPT: int = 1_000

# ---------------------------------------------------------------------------------------------
# Inputs and the engine choice
# ---------------------------------------------------------------------------------------------


def _is_dask(obj) -> bool:
    try:
        import dask.dataframe as dd
    except ImportError:  # pragma: no cover - dask is optional
        return False
    return isinstance(obj, dd.DataFrame)


def _parquet_rows(path: Path) -> int | None:
    try:
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception:  # not Parquet after all: the reader will say so
        return None


def choose_engine(
    source, engine: str = "auto", *, max_bytes: int | None = None, max_rows: int | None = None
) -> str:
    """Decide which engine handles ``source``.

    Parameters
    ----------
    source : path, glob, list of them, pandas.DataFrame, dask.dataframe.DataFrame or None
        The events (None: the shipped dataset).
    engine : {"auto", "pandas", "dask"}, default "auto"
        "pandas" and "dask" are returned as they are (after checking that Dask is installed);
        "auto" applies the thresholds.
    max_bytes : int, optional
        Largest total file size for the in-memory engine (default :data:`AUTO_DASK_BYTES`).
    max_rows : int, optional
        Largest Parquet row count for the in-memory engine (default :data:`AUTO_DASK_ROWS`).

    Returns
    -------
    str
        "pandas" or "dask".

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
    'pandas'
    >>> choose_engine(None, "dask")  # doctest: +SKIP
    'dask'
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine == "dask" or (engine == "auto" and _is_dask(source)):
        _require_dask()
        return "dask"
    if engine == "pandas" or source is None or isinstance(source, pd.DataFrame):
        return "pandas"
    if _is_dask(source) or isinstance(source, DaskValidationResult):
        return "dask"
    max_bytes = AUTO_DASK_BYTES if max_bytes is None else max_bytes
    max_rows = AUTO_DASK_ROWS if max_rows is None else max_rows
    paths = expand_paths(source)
    size = sum(p.stat().st_size for p in paths)
    rows = sum(_parquet_rows(p) or 0 for p in paths if file_kind(p) == "parquet")
    if size > max_bytes or rows > max_rows:
        _require_dask()
        return "dask"
    return "pandas"


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
    ddf, boundaries=None, *, tolerance_m: float = settings.BORDER_TOLERANCE_M
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
    tolerance_m : float, default settings.BORDER_TOLERANCE_M
        Snapping tolerance for points just outside every polygon.

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
# Per-partition work: validate, filter, join, reduce
# ---------------------------------------------------------------------------------------------


def _layer(boundaries):
    from khorasan_map.aggregate import _load_layer

    return _load_layer(boundaries)


@dataclasses.dataclass(frozen=True)
class _Options:
    since: pd.Timestamp | None
    until: pd.Timestamp | None
    kinds: tuple | None
    min_confidence: str | None
    with_year: bool
    split: pd.Timestamp | None
    fmt: str
    keep_all: bool
    today: pd.Timestamp
    tolerance_m: float


@dataclasses.dataclass
class _Read:
    """Validation counts carried by every partial result, and the event ids seen.

    ``ids`` holds a 64-bit hash of every valid event id read from files and ``owner`` the
    partition that holds it first; ids met in two partitions go to ``dups`` ({hash: first
    partition}), so a second pass can reject the later copies as the in-memory reader does.
    """

    n_input: int = 0
    n_rejected: int = 0
    lines: list = dataclasses.field(default_factory=list)
    rejected: list = dataclasses.field(default_factory=list)
    ids: list = dataclasses.field(default_factory=list)
    owner: list = dataclasses.field(default_factory=list)
    dups: dict = dataclasses.field(default_factory=dict)

    def add(self, other: _Read) -> None:
        self.n_input += other.n_input
        self.n_rejected += other.n_rejected
        from khorasan_map.events import MAX_LISTED

        self.lines = (self.lines + other.lines)[:MAX_LISTED]
        kept = sum(len(r) for r in self.rejected)
        if kept < MAX_REJECTED_KEPT:
            self.rejected += [r.head(MAX_REJECTED_KEPT - kept) for r in other.rejected]
        self.ids += other.ids
        self.owner += other.owner
        self.dups.update(other.dups)

    def compact(self) -> None:
        """Merge the id arrays into one, recording ids found in more than one partition."""
        if len(self.ids) < 2:
            return
        ids, owner = np.concatenate(self.ids), np.concatenate(self.owner)
        order = np.lexsort((owner, ids))
        ids, owner = ids[order], owner[order]
        first = np.ones(len(ids), dtype=bool)
        first[1:] = ids[1:] != ids[:-1]
        if not first.all():
            run = np.cumsum(first) - 1
            later = np.flatnonzero(~first)
            heads = np.flatnonzero(first)[run[later]]
            for h, o in zip(ids[heads].tolist(), owner[heads].tolist(), strict=True):
                self.dups[h] = min(o, self.dups.get(h, o))
        self.ids, self.owner = [ids[first]], [owner[first]]


def _hash_ids(events) -> np.ndarray:
    return pd.util.hash_array(events["event_id"].to_numpy(dtype=object), categorize=False)


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


def _events_of(item, opts: _Options, index: int = 0, exclude: dict | None = None):
    """Return (events DataFrame, _Read) for a piece of input or an in-memory partition.

    With ``exclude`` ({id hash: first partition}), rows whose id was first read in an earlier
    partition are rejected as repeats, as :func:`khorasan_map.events.read_events` rejects them.
    """
    if not isinstance(item, _Piece):
        return _with_coordinates(item), _Read(len(item), 0)
    result = _read_piece(item, opts.fmt, opts.keep_all, opts.today)
    events = result.events
    lines = [
        f"{item.label} {line}"
        for line in (result.messages("problems") if len(result.rejected) else [])
        if not line.startswith("... and")
    ]
    rejected = [result.rejected.head(MAX_REJECTED_KEPT)] if len(result.rejected) else []
    n_rejected = len(result.rejected)
    hashes = _hash_ids(events)
    if exclude:
        first = pd.Series(hashes).map(exclude)
        repeat = (first.notna() & (first != index)).to_numpy(bool)
        if repeat.any():
            ids = events["event_id"][repeat]
            lines.append(
                f"{item.label}: {int(repeat.sum()):,} rows repeat event ids first used in "
                f"another file or earlier rows (e.g. {ids.iloc[0]!r}); not counted"
            )
            rejected.append(
                pd.DataFrame(
                    {
                        "file": item.label,
                        "row": 0,
                        "event_id": ids.to_numpy(dtype=object),
                        "column": "event_id",
                        "value": ids.to_numpy(dtype=object),
                        "reason": "duplicate event id (first used in an earlier partition)",
                    }
                ).head(MAX_REJECTED_KEPT)
            )
            n_rejected += int(repeat.sum())
            events = events[~repeat]
            hashes = hashes[~repeat]
    read = _Read(result.n_input, n_rejected, lines, rejected)
    if exclude is None:
        read.ids, read.owner = [np.sort(hashes)], [np.full(len(hashes), index, dtype=np.int32)]
    return events, read


def _prepared(frame, layer, opts: _Options):
    """Filter and join one partition as the in-memory path does; return counted rows and more.

    Returns (counted events, left-out reason counts, join counts).
    """
    from khorasan_map import aggregate
    from khorasan_map.join import assign_provinces

    kinds = opts.kinds
    if kinds is not None:
        present = set(frame["kind"].dropna().astype(str).str.lower()) if "kind" in frame else set()
        known = set(settings.EVENT_KINDS) | {aggregate.OTHER_KIND}
        kinds = tuple(k for k in kinds if k in known or k in present)
        if not kinds:  # none of the chosen kinds occurs here: everything is left out by kind
            counted = frame.iloc[:0].assign(assigned_code=pd.Series(dtype=object))
            return counted, {aggregate.REASON_KIND: len(frame)}, _JoinCounts()
    filtered = aggregate.filter_events(frame, opts.since, opts.until, kinds, opts.min_confidence)
    reasons = filtered.left_out["reason"].value_counts().to_dict()
    kept = filtered.events
    join = _JoinCounts()
    if "assigned_code" not in kept:
        result = assign_provinces(kept, layer, tolerance_m=opts.tolerance_m)
        kept = result.events
        join = _JoinCounts(
            result.n_input,
            result.n_assigned,
            result.n_unassigned,
            result.report["case"].value_counts().to_dict(),
            kept["assigned_by"].value_counts().to_dict(),
        )
    prep = aggregate._prepare(
        kept, layer, opts.since, opts.until, kinds, opts.min_confidence, need_year=opts.with_year
    )
    for reason, n in prep.left_out["reason"].value_counts().items():
        reasons[reason] = reasons.get(reason, 0) + int(n)
    return prep.counted, {str(k): int(v) for k, v in reasons.items()}, join


@dataclasses.dataclass
class _JoinCounts:
    n_input: int = 0
    n_assigned: int = 0
    n_unassigned: int = 0
    cases: dict = dataclasses.field(default_factory=dict)
    by: dict = dataclasses.field(default_factory=dict)

    def add(self, other: _JoinCounts) -> None:
        self.n_input += other.n_input
        self.n_assigned += other.n_assigned
        self.n_unassigned += other.n_unassigned
        for mine, theirs in ((self.cases, other.cases), (self.by, other.by)):
            for k, v in theirs.items():
                mine[str(k)] = mine.get(str(k), 0) + int(v)

    def to_dict(self) -> dict:
        return {
            "n_input": self.n_input,
            "n_assigned": self.n_assigned,
            "n_unassigned": self.n_unassigned,
            "cases": _counts_dict(pd.Series(self.cases, dtype="int64")),
            "by": _counts_dict(pd.Series(self.by, dtype="int64")),
        }


def _add_counts(mine: dict, theirs: dict) -> None:
    for k, v in theirs.items():
        mine[k] = mine.get(k, 0) + v


# -- summarize partials -------------------------------------------------------------------------

_SUM_COLUMNS = (
    "events",
    *("n_" + k for k in settings.EVENT_KINDS),
    "n_other",
    "fatalities",
    "fatalities_low",
    "fatalities_high",
    "fatalities_known",
    "fatalities_low_known",
    "fatalities_high_known",
    "precise_sum",
    "precise_count",
)


@dataclasses.dataclass
class _SummaryPart:
    stats: pd.DataFrame  # indexed by group keys, additive columns plus first/last dates
    sources: dict  # {group key: unique 64-bit hashes of the source keys}
    actors: dict
    reasons: dict
    join: _JoinCounts
    read: _Read
    n_counted: int
    years: tuple  # (min year, max year) of counted events or (None, None)
    span: tuple  # (first start, last end) of counted events, NaT when none


def _group_keys(counted, with_year):
    """Return an integer group id per row and the group key (code, or (code, year)) per id."""
    code_ids, code_names = pd.factorize(counted["_code"].to_numpy(dtype=object))
    if not with_year:
        return code_ids.astype(np.int64), [str(c) for c in code_names]
    year = counted["_year"].to_numpy(dtype=np.int64)
    ids, uniq = pd.factorize(code_ids.astype(np.int64) * 1_000_000 + year)
    keys = [(str(code_names[u // 1_000_000]), int(u % 1_000_000)) for u in uniq]
    return ids.astype(np.int64), keys


def _distinct(ids: np.ndarray, keys: list, values: pd.Series) -> dict:
    """Return {group key: sorted unique 64-bit hashes of the group's non-missing values}."""
    if values.dtype == object:  # hashing Python strings directly is the fastest route
        ok = values.notna().to_numpy(bool)
        group = ids[ok].astype(np.int64)
        hashes = pd.util.hash_array(values.to_numpy(dtype=object)[ok], categorize=False)
        order = np.argsort(group, kind="stable")
        group, hashes = group[order], hashes[order]
    else:  # Arrow strings factorise fast: hash each distinct (group, value) pair once
        codes, uniques = pd.factorize(values)
        ok = codes >= 0
        width = np.int64(max(len(uniques), 1))
        pairs = np.unique(ids[ok].astype(np.int64) * width + codes[ok])
        group = pairs // width
        hashes = pd.util.hash_array(
            np.asarray(uniques, dtype=object)[pairs % width], categorize=False
        )
    if not len(group):
        return {}
    cuts = np.flatnonzero(np.diff(group)) + 1
    starts = np.concatenate([[0], cuts])
    return {
        keys[group[s]]: np.unique(chunk)
        for s, chunk in zip(starts, np.split(hashes, cuts), strict=True)
    }


def _merge_distinct(parts) -> dict:
    """Union of several {group key: unique hashes} mappings."""
    out: dict = {}
    for part in parts:
        for key, hashes in part.items():
            out.setdefault(key, []).append(hashes)
    return {
        key: (arrays[0] if len(arrays) == 1 else np.unique(np.concatenate(arrays)))
        for key, arrays in out.items()
    }


def _summary_partial(item, layer, opts: _Options, index=0, exclude=None) -> _SummaryPart:
    from khorasan_map import aggregate

    frame, read = _events_of(item, opts, index, exclude)
    counted, reasons, join = _prepared(frame, layer, opts)
    del frame
    keys = ["_code"]
    counted = counted.assign(_code=counted["assigned_code"].astype(str))
    years = (None, None)
    if opts.with_year:
        year = aggregate._event_year(counted, opts.since, opts.until)
        counted = counted.assign(_year=year.astype("int64"))
        keys = ["_code", "_year"]
        if len(counted):
            years = (int(year.min()), int(year.max()))
    g = counted.groupby(keys, sort=False)
    stats = pd.DataFrame({"events": g.size()})
    kind = counted["kind"].astype("string").str.lower() if "kind" in counted else None
    for k in settings.EVENT_KINDS:
        flag = (kind == k).fillna(False) if kind is not None else False
        stats["n_" + k] = counted.assign(_f=flag).groupby(keys, sort=False)["_f"].sum()
    other = (~kind.isin(list(settings.EVENT_KINDS))).fillna(True) if kind is not None else True
    stats["n_other"] = counted.assign(_f=other).groupby(keys, sort=False)["_f"].sum()
    figures = aggregate.fatality_figures(counted)
    for col in ("fatalities", "fatalities_low", "fatalities_high"):
        vals = counted.assign(_v=figures[col]).groupby(keys, sort=False)["_v"]
        stats[col] = vals.sum()
        stats[col + "_known"] = vals.count()
    date = aggregate._best_date(counted)
    dg = counted.assign(_d=date).groupby(keys, sort=False)["_d"]
    stats["first_date"] = dg.min()
    stats["last_date"] = dg.max()
    if "location_precision" in counted:
        flag = counted["location_precision"].astype("string").str.lower() == "province"
        flag = flag.fillna(False).astype(float)
    else:
        flag = pd.Series(np.nan, index=counted.index)
    pg = counted.assign(_p=flag).groupby(keys, sort=False)["_p"]
    stats["precise_sum"] = pg.sum()
    stats["precise_count"] = pg.count()

    ids, group_keys = _group_keys(counted, opts.with_year)
    sources = _distinct(ids, group_keys, aggregate._source_key(counted))
    actor_parts = []
    for col in ("actor1", "actor2"):
        if col in counted:
            actor = counted[col].astype("string").str.strip()
            actor = actor.where(actor.str.len().fillna(0) > 0)
            actor_parts.append(_distinct(ids, group_keys, actor))
    actors = _merge_distinct(actor_parts)
    span = aggregate.event_span(counted)
    return _SummaryPart(stats, sources, actors, reasons, join, read, len(counted), years, span)


def _combine_summary(*parts: _SummaryPart) -> _SummaryPart:
    stats = [p.stats for p in parts if len(p.stats)]
    if stats:
        both = pd.concat(stats)
        level = list(range(both.index.nlevels))
        g = both.groupby(level=level, sort=False)
        combined = g[list(_SUM_COLUMNS)].sum()
        combined["first_date"] = g["first_date"].min()
        combined["last_date"] = g["last_date"].max()
    else:
        combined = parts[0].stats
    reasons: dict = {}
    join, read = _JoinCounts(), _Read()
    lo = [p.years[0] for p in parts if p.years[0] is not None]
    hi = [p.years[1] for p in parts if p.years[1] is not None]
    for p in parts:
        _add_counts(reasons, p.reasons)
        join.add(p.join)
        read.add(p.read)
    read.compact()
    return _SummaryPart(
        combined,
        _merge_distinct([p.sources for p in parts]),
        _merge_distinct([p.actors for p in parts]),
        reasons,
        join,
        read,
        sum(p.n_counted for p in parts),
        (min(lo) if lo else None, max(hi) if hi else None),
        (
            pd.Series([p.span[0] for p in parts], dtype="datetime64[ns]").min(),
            pd.Series([p.span[1] for p in parts], dtype="datetime64[ns]").max(),
        ),
    )


def _run(items, partial, combine, layer, opts: _Options, scheduler):
    """Reduce every item to one partial result; a second pass drops ids repeated across files.

    The first pass records every valid event id read from files (as 64-bit hashes). Ids met in
    more than one partition are rare (overlapping exports); when there are any, every partition
    is read again with the later copies rejected, so the counts equal the in-memory reader's,
    which rejects an id's second and later rows.
    """
    import dask

    layer_d = dask.delayed(layer, pure=True, traverse=False)
    parts = [dask.delayed(partial, pure=True)(it, layer_d, opts, i) for i, it in enumerate(items)]
    (total,) = _compute(_tree(parts, combine), scheduler=scheduler)
    if not total.read.dups:
        return total
    exclude = dict(total.read.dups)
    del total
    parts = [
        dask.delayed(partial, pure=True)(it, layer_d, opts, i, exclude)
        for i, it in enumerate(items)
    ]
    (total,) = _compute(_tree(parts, combine), scheduler=scheduler)
    return total


def _tree(parts, combine):
    import dask

    parts = list(parts)
    while len(parts) > 1:
        parts = [
            dask.delayed(combine, pure=True)(*parts[i : i + SPLIT_EVERY])
            for i in range(0, len(parts), SPLIT_EVERY)
        ]
    return parts[0]


# ---------------------------------------------------------------------------------------------
# Public: summarize and coverage
# ---------------------------------------------------------------------------------------------


def _items(source, opts: _Options, rows_per_partition: int):
    """Return the per-partition inputs (pieces of files, or delayed partitions) and a label."""
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


def _options(
    since, until, kinds, min_confidence, by, split_date, fmt, keep_all, today, tolerance_m, source
):
    from khorasan_map import aggregate

    selected = _parse_kinds_globally(kinds, source)
    return _Options(
        since=aggregate.parse_date(since, name="since"),
        until=aggregate.parse_date(until, end=True, name="until"),
        kinds=selected,
        min_confidence=aggregate._parse_confidence(min_confidence),
        with_year=aggregate._parse_by(by),
        split=None if split_date is None else aggregate.parse_date(split_date, name="split_date"),
        fmt=fmt,
        keep_all=keep_all,
        today=pd.Timestamp.today().normalize() if today is None else pd.Timestamp(today),
        tolerance_m=float(tolerance_m),
    )


def _parse_kinds_globally(kinds, source):
    """Check the kinds once; kinds outside the known ones must occur somewhere in the data."""
    from khorasan_map.aggregate import parse_kinds

    try:
        return parse_kinds(kinds)
    except ValueError:
        if isinstance(source, pd.DataFrame):
            present = source["kind"].dropna().unique() if "kind" in source else ()
        elif _is_dask(source) and "kind" in source.columns:
            present = _compute(source["kind"].dropna().unique())[0]
        else:
            raise
        return parse_kinds(kinds, present)


def _check_window(opts):
    if opts.since is not None and opts.until is not None and opts.since > opts.until:
        from khorasan_map.aggregate import _iso

        raise ValueError(f"since {_iso(opts.since)} is after until {_iso(opts.until)}")


def _finish_read(read: _Read, on_invalid: str):
    if read.n_rejected and on_invalid == "raise":
        rejected = pd.concat(read.rejected, ignore_index=True) if read.rejected else None
        _raise_rejected(read.n_rejected, read.n_input, read.lines, rejected)


def summarize_dask(
    source,
    boundaries=None,
    *,
    since=None,
    until=None,
    kinds=None,
    min_confidence=None,
    by="province",
    format: str = "auto",
    on_invalid: str = "raise",
    keep_all: bool = False,
    today=None,
    tolerance_m: float = settings.BORDER_TOLERANCE_M,
    scheduler=None,
    rows_per_partition: int = ROWS_PER_PARTITION,
):
    """Count events per province with the partitioned engine; same table as the in-memory path.

    Each partition is read, validated, filtered, joined and reduced to per-province partial
    counts in one task; partial results are combined in a tree as they arrive. The result
    equals :func:`khorasan_map.aggregate.summarize` on the same events, row for row.

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
    since, until, kinds, min_confidence, by
        As for :func:`khorasan_map.aggregate.summarize`.
    format, keep_all, today
        How files are read, as for :func:`khorasan_map.events.read_events`.
    on_invalid : {"raise", "report"}, default "raise"
        "raise": after the pass, raise :class:`~khorasan_map.errors.EventValidationError` when
        any row was rejected (``.rejected`` holds the first :data:`MAX_REJECTED_KEPT`).
        "report": count the valid rows and record the rejected ones in ``attrs["scale"]``.
    tolerance_m : float, default settings.BORDER_TOLERANCE_M
        Snapping tolerance of the join.
    scheduler : str, dask.distributed.Client or None
        None: local threads, or ``DASK_SCHEDULER_ADDRESS`` when set; "synchronous",
        "processes", a Client or a ``tcp://host:port`` address.
    rows_per_partition : int, default :data:`ROWS_PER_PARTITION`
        Rows per partition for Parquet files and pandas DataFrames.

    Returns
    -------
    geopandas.GeoDataFrame
        The table of :func:`khorasan_map.aggregate.summarize`, with the same ``attrs`` plus
        ``attrs["scale"]``: ``n_input``, ``n_rejected``, ``problems`` (the first rejection
        messages, "file row N, column C: reason"), ``n_partitions`` and ``join``
        (``n_input``, ``n_assigned``, ``n_unassigned``, ``cases``, ``by`` of the join of the
        filtered events).

    Examples
    --------
    >>> table = summarize_dask("events/*.parquet", kinds="clash")  # doctest: +SKIP
    >>> int(table["events"].sum()) == table.attrs["n_events"]  # doctest: +SKIP
    True
    """
    _require_dask()
    import geopandas as gpd

    from khorasan_map import aggregate

    opts = _options(
        since, until, kinds, min_confidence, by, None, format, keep_all, today, tolerance_m, source
    )
    _check_window(opts)
    layer = _layer(boundaries)
    items = _items(source, opts, rows_per_partition)
    total = _run(items, _summary_partial, _combine_summary, layer, opts, scheduler)
    _finish_read(total.read, on_invalid)

    keys = ["province_code", "year"] if opts.with_year else ["province_code"]
    base = pd.DataFrame(
        {
            "province_code": layer["province_code"].astype(str).to_numpy(),
            "province": layer["province"].to_numpy(),
            "province_dari": layer["province_dari"].to_numpy(),
        }
    )
    if opts.with_year:
        lo = opts.since.year if opts.since is not None else total.years[0]
        hi = opts.until.year if opts.until is not None else total.years[1]
        span = list(range(int(lo), int(hi) + 1)) if lo is not None and hi is not None else []
        base = base.merge(pd.DataFrame({"year": np.array(span, dtype="int64")}), how="cross")
    stats = _final_stats(total, opts.with_year)
    table = base.merge(stats, how="left", on=keys) if len(stats) else base
    table = aggregate._fill(table)
    table = table.sort_values(keys, kind="stable").reset_index(drop=True)
    geometry = layer.set_index(layer["province_code"].astype(str)).geometry
    geo = gpd.GeoDataFrame(
        table, geometry=geometry.reindex(table["province_code"]).to_numpy(), crs=layer.crs
    )
    n_left_out = sum(total.reasons.values())
    geo.attrs.update(
        {
            "n_events": int(total.n_counted),
            "n_left_out": int(n_left_out),
            "left_out_reasons": _counts_dict(pd.Series(total.reasons, dtype="int64")),
            "since": aggregate._iso(opts.since),
            "until": aggregate._iso(opts.until),
            "kinds": list(opts.kinds) if opts.kinds is not None else ["all"],
            "min_confidence": opts.min_confidence,
            "span": [aggregate._iso(x) for x in total.span],
            "scale": _scale_info(total.read, total.join, len(items)),
        }
    )
    return geo


def _scale_info(read: _Read, join: _JoinCounts, n_partitions: int) -> dict:
    return {
        "engine": "dask",
        "n_input": read.n_input,
        "n_rejected": read.n_rejected,
        "problems": list(read.lines),
        "n_partitions": n_partitions,
        "join": join.to_dict(),
    }


def _final_stats(total: _SummaryPart, with_year: bool) -> pd.DataFrame:
    stats = total.stats
    if not len(stats):
        return pd.DataFrame()
    out = pd.DataFrame(index=stats.index)
    out["events"] = stats["events"].astype("int64")
    for k in (*settings.EVENT_KINDS, "other"):
        out["n_" + k] = stats["n_" + k].astype("int64")
    for col in ("fatalities", "fatalities_low", "fatalities_high"):
        out[col] = stats[col].astype(float).where(stats[col + "_known"] > 0)
    out["fatalities_known"] = stats["fatalities_known"].astype("int64")
    out["first_date"] = stats["first_date"]
    out["last_date"] = stats["last_date"]
    index = (
        [(str(c), int(y)) for c, y in stats.index] if with_year else [str(c) for c in stats.index]
    )
    for name, distinct in (("n_sources", total.sources), ("n_actors", total.actors)):
        out[name] = np.array([len(distinct.get(key, ())) for key in index], dtype="int64")
    share = stats["precise_sum"] / stats["precise_count"]
    out["share_province_precise"] = share.where(stats["precise_count"] > 0)
    out = out.reset_index()
    out = out.rename(columns={"_code": "province_code", "_year": "year"})
    return out


# -- coverage -----------------------------------------------------------------------------------


@dataclasses.dataclass
class _CoveragePart:
    codes: set
    year_codes: set
    before: set
    after: set
    n_before: int
    n_after: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    reasons: dict
    join: _JoinCounts
    read: _Read
    n_counted: int


def _coverage_partial(item, layer, opts: _Options, index=0, exclude=None) -> _CoveragePart:
    from khorasan_map import aggregate

    frame, read = _events_of(item, opts, index, exclude)
    counted, reasons, join = _prepared(frame, layer, opts)
    del frame
    code = counted["assigned_code"].astype(str)
    year = aggregate._event_year(counted, opts.since, opts.until)
    dated = year.notna().to_numpy(bool)
    year_codes = set(zip(year[dated].astype("int64").tolist(), code[dated].tolist(), strict=True))
    start, end = aggregate._date_bounds(counted)
    starts, ends = start.dropna(), end.dropna()
    before = (start < opts.split).fillna(False).to_numpy(bool)
    after = (end >= opts.split).fillna(False).to_numpy(bool)
    return _CoveragePart(
        set(code),
        year_codes,
        set(code[before]),
        set(code[after]),
        int(before.sum()),
        int(after.sum()),
        starts.min() if len(starts) else None,
        ends.max() if len(ends) else None,
        reasons,
        join,
        read,
        len(counted),
    )


def _combine_coverage(*parts: _CoveragePart) -> _CoveragePart:
    out = _CoveragePart(set(), set(), set(), set(), 0, 0, None, None, {}, _JoinCounts(), _Read(), 0)
    for p in parts:
        out.codes |= p.codes
        out.year_codes |= p.year_codes
        out.before |= p.before
        out.after |= p.after
        out.n_before += p.n_before
        out.n_after += p.n_after
        if p.first is not None:
            out.first = p.first if out.first is None else min(out.first, p.first)
        if p.last is not None:
            out.last = p.last if out.last is None else max(out.last, p.last)
        _add_counts(out.reasons, p.reasons)
        out.join.add(p.join)
        out.read.add(p.read)
        out.n_counted += p.n_counted
    out.read.compact()
    return out


def _side(codes, n_events, since, until, noun, total):
    from khorasan_map import aggregate

    codes = sorted(codes)
    if since is not None and until is not None and since > until:
        since = until = None
    since_iso, until_iso = aggregate._iso(since), aggregate._iso(until)
    return {
        "provinces_with_events": len(codes),
        "share": len(codes) / total if total else 0.0,
        "province_codes": codes,
        "since": since_iso,
        "until": until_iso,
        "n_events": int(n_events),
        "sentence": aggregate.coverage_sentence(noun, len(codes), total, since_iso, until_iso),
    }


def coverage_dask(
    source,
    boundaries=None,
    *,
    since=None,
    until=None,
    kinds=("clash",),
    min_confidence=None,
    split_date=settings.SHIFT_DATE,
    format: str = "auto",
    on_invalid: str = "raise",
    keep_all: bool = False,
    today=None,
    tolerance_m: float = settings.BORDER_TOLERANCE_M,
    scheduler=None,
    rows_per_partition: int = ROWS_PER_PARTITION,
):
    """Count the provinces with events, with the partitioned engine; same answer as in memory.

    Parameters
    ----------
    source : path, glob, list of them, dask.dataframe.DataFrame, DaskValidationResult,
        pandas.DataFrame or None
        As for :func:`summarize_dask`.
    boundaries : geopandas.GeoDataFrame, optional
        Province layer; the shipped 34 provinces when omitted.
    since, until, kinds, min_confidence, split_date
        As for :func:`khorasan_map.aggregate.coverage`.
    format, on_invalid, keep_all, today, tolerance_m, scheduler, rows_per_partition
        As for :func:`summarize_dask`.

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
    _require_dask()

    from khorasan_map import aggregate

    opts = _options(
        since,
        until,
        kinds,
        min_confidence,
        "province",
        split_date,
        format,
        keep_all,
        today,
        tolerance_m,
        source,
    )
    if opts.split is None:
        raise ValueError("split_date is required")
    _check_window(opts)
    layer = _layer(boundaries)
    items = _items(source, opts, rows_per_partition)
    c = _run(items, _coverage_partial, _combine_coverage, layer, opts, scheduler)
    _finish_read(c.read, on_invalid)

    total = int(len(layer))
    noun = aggregate.kinds_noun(opts.kinds)
    codes = sorted(c.codes)
    names = dict(zip(layer["province_code"].astype(str), layer["province"], strict=False))
    first = opts.since if opts.since is not None else c.first
    last = opts.until if opts.until is not None else c.last
    since_iso, until_iso = aggregate._iso(first), aggregate._iso(last)
    by_year: dict[int, int] = {}
    if first is not None and last is not None:
        per_year: dict[int, int] = {}
        for year, _ in c.year_codes:
            per_year[year] = per_year.get(year, 0) + 1
        for year in range(first.year, last.year + 1):
            by_year[year] = int(per_year.get(year, 0))
    day = pd.Timedelta(days=1)
    before_until = None if last is None else min(last, opts.split - day)
    after_since = None if first is None else max(first, opts.split)
    cov = aggregate.Coverage(
        provinces_with_events=len(codes),
        total_provinces=total,
        share=len(codes) / total if total else 0.0,
        province_codes=codes,
        provinces=[str(names.get(x, x)) for x in codes],
        since=since_iso,
        until=until_iso,
        kinds=list(opts.kinds) if opts.kinds is not None else ["all"],
        sentence=aggregate.coverage_sentence(noun, len(codes), total, since_iso, until_iso),
        by_year=by_year,
        split_date=aggregate._iso(opts.split),
        before=_side(c.before, c.n_before, first, before_until, noun, total),
        after=_side(c.after, c.n_after, after_since, last, noun, total),
        n_events=int(c.n_counted),
        n_left_out=int(sum(c.reasons.values())),
        left_out_reasons=_counts_dict(pd.Series(c.reasons, dtype="int64")),
        min_confidence=opts.min_confidence,
    )
    cov.scale = _scale_info(c.read, c.join, len(items))
    return cov


# -- dispatchers --------------------------------------------------------------------------------


def _read_in_memory(source, format, on_invalid, keep_all, today):
    """Read for the pandas engine; return the events and ``attrs["scale"]``-like counts."""
    from khorasan_map.events import read_events

    if source is None:
        frame = read_events()
    elif isinstance(source, pd.DataFrame):
        frame = source
    else:
        paths = [str(p) for p in expand_paths(source)]
        result = read_events(
            paths,
            format=format,
            on_invalid="report",
            keep_all=keep_all,
            today=today,
            progress=False,
        )
        if len(result.rejected) and on_invalid == "raise":
            _raise_rejected(
                len(result.rejected), result.n_input, result.messages("problems"), result.rejected
            )
        return result.events, {
            "engine": "pandas",
            "n_input": result.n_input,
            "n_rejected": len(result.rejected),
            "problems": result.messages("problems"),
            "n_partitions": 1,
        }
    return frame, {
        "engine": "pandas",
        "n_input": len(frame),
        "n_rejected": 0,
        "problems": [],
        "n_partitions": 1,
    }


def summarize(
    events_or_paths=None,
    boundaries=None,
    *,
    engine: str = "auto",
    scheduler=None,
    format: str = "auto",
    on_invalid: str = "raise",
    keep_all: bool = False,
    today=None,
    **filters,
):
    """Summarise per province with the engine that suits the input's size.

    Parameters
    ----------
    events_or_paths : DataFrame, dask DataFrame, path, glob, list of them or None
        The events, or files to read (None: the shipped dataset).
    boundaries : geopandas.GeoDataFrame, optional
        Province layer; the shipped 34 provinces when omitted.
    engine : {"auto", "pandas", "dask"}, default "auto"
        See :func:`choose_engine`.
    scheduler : str, dask.distributed.Client or None
        Dask only; see :func:`summarize_dask`.
    format, on_invalid, keep_all, today
        How files are read (see :func:`summarize_dask`).
    **filters
        ``since``, ``until``, ``kinds``, ``min_confidence``, ``by`` as for
        :func:`khorasan_map.aggregate.summarize`.

    Returns
    -------
    geopandas.GeoDataFrame
        The same table whichever engine ran; ``attrs["engine"]`` names it and
        ``attrs["scale"]`` counts the rows read (``n_input``, ``n_rejected``).

    Examples
    --------
    >>> summarize("events/*.parquet", engine="auto").attrs["engine"]  # doctest: +SKIP
    'dask'
    """
    from khorasan_map import aggregate

    chosen = choose_engine(events_or_paths, engine)
    if chosen == "dask":
        table = summarize_dask(
            events_or_paths,
            boundaries,
            format=format,
            on_invalid=on_invalid,
            keep_all=keep_all,
            today=today,
            scheduler=scheduler,
            **filters,
        )
    else:
        frame, info = _read_in_memory(events_or_paths, format, on_invalid, keep_all, today)
        table = aggregate.summarize(frame, boundaries, **filters)
        table.attrs["scale"] = info
    table.attrs["engine"] = chosen
    return table


def coverage(
    events_or_paths=None,
    boundaries=None,
    *,
    engine: str = "auto",
    scheduler=None,
    format: str = "auto",
    on_invalid: str = "raise",
    keep_all: bool = False,
    today=None,
    **filters,
):
    """Answer "in how many provinces?" with the engine that suits the input's size.

    Parameters
    ----------
    events_or_paths : DataFrame, dask DataFrame, path, glob, list of them or None
        The events, or files to read (None: the shipped dataset).
    boundaries : geopandas.GeoDataFrame, optional
        Province layer; the shipped 34 provinces when omitted.
    engine : {"auto", "pandas", "dask"}, default "auto"
        See :func:`choose_engine`.
    scheduler : str, dask.distributed.Client or None
        Dask only; see :func:`summarize_dask`.
    format, on_invalid, keep_all, today
        How files are read (see :func:`summarize_dask`).
    **filters
        ``since``, ``until``, ``kinds``, ``min_confidence``, ``split_date`` as for
        :func:`khorasan_map.aggregate.coverage`.

    Returns
    -------
    khorasan_map.aggregate.Coverage
        The same answer whichever engine ran; its ``engine`` attribute names it and its
        ``scale`` attribute counts the rows read (``n_input``, ``n_rejected``).

    Examples
    --------
    >>> coverage("events/*.parquet", engine="dask").sentence  # doctest: +SKIP
    'Clashes recorded in 34 of 34 provinces (100%), 2015-01-01 to 2025-12-31'
    """
    from khorasan_map import aggregate

    chosen = choose_engine(events_or_paths, engine)
    if chosen == "dask":
        cov = coverage_dask(
            events_or_paths,
            boundaries,
            format=format,
            on_invalid=on_invalid,
            keep_all=keep_all,
            today=today,
            scheduler=scheduler,
            **filters,
        )
    else:
        frame, info = _read_in_memory(events_or_paths, format, on_invalid, keep_all, today)
        cov = aggregate.coverage(frame, boundaries, **filters)
        cov.scale = info
    cov.engine = chosen
    return cov


# ---------------------------------------------------------------------------------------------
# Synthetic partitioned Parquet
# ---------------------------------------------------------------------------------------------


def write_synthetic_parquet(
    path, n: int, seed: int = 0, rows_per_file: int = 1_000_000, boundaries=None
) -> list[Path]:
    """Write ``n`` synthetic events as a folder of Parquet files, one chunk at a time.

    File ``i`` holds :func:`khorasan_map.synthetic.synthetic_events` of its rows with seed
    ``seed + i`` (its event ids, ``SYN-<seed>-<n>``, are therefore unique across files); only
    one file's rows are ever in memory. A ``_SUCCESS`` file records ``n``, ``seed`` and
    ``rows_per_file`` once every file is written (readers skip names starting with ``_``).

    Parameters
    ----------
    path : str or pathlib.Path
        Folder to create (existing ``part-*.parquet`` files in it are replaced).
    n : int
        Number of events.
    seed : int, default 0
        Seed of the first file.
    rows_per_file : int, default 1_000_000
        Rows per file, in row groups of :data:`ROW_GROUP_SIZE` rows.
    boundaries : geopandas.GeoDataFrame, optional
        Layer the points are drawn in (the shipped provinces when omitted).

    Returns
    -------
    list of pathlib.Path
        The files written, in order.

    Examples
    --------
    >>> files = write_synthetic_parquet("/tmp/ev", 3_000, rows_per_file=1_000)  # doctest: +SKIP
    >>> [f.name for f in files]  # doctest: +SKIP
    ['part-00000.parquet', 'part-00001.parquet', 'part-00002.parquet']
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from khorasan_map.synthetic import synthetic_events

    if n < 0 or rows_per_file < 1:
        raise ValueError(f"n must be >= 0 and rows_per_file >= 1 (got {n}, {rows_per_file})")
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "_SUCCESS").unlink(missing_ok=True)
    for old in folder.glob("part-*.parquet"):
        old.unlink()
    written = []
    for i, start in enumerate(range(0, n, rows_per_file)):
        rows = min(rows_per_file, n - start)
        kwargs = {} if boundaries is None else {"boundaries": boundaries}
        frame = synthetic_events(rows, seed=seed + i, **kwargs)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        target = folder / f"part-{i:05d}.parquet"
        pq.write_table(table, target, row_group_size=ROW_GROUP_SIZE, compression="zstd")
        written.append(target)
        del frame, table
    (folder / "_SUCCESS").write_text(
        json.dumps(
            {
                "n": int(n),
                "seed": int(seed),
                "rows_per_file": int(rows_per_file),
                "files": len(written),
            }
        )
        + "\n"
    )
    return written
