"""Event records: one schema, readers for our own files, ACLED and UCDP GED, and validation.

Every event the toolkit handles, whatever file it came from, ends up in the columns of
:data:`EVENT_COLUMNS`. :func:`read_events` reads a file (CSV, GeoJSON, GeoPackage, Parquet or
GeoParquet), several files, or a DataFrame already in memory; recognises ACLED and UCDP GED
exports by their columns; maps them to the schema; and validates every row. Each input row ends
up either valid or rejected with its row number, column and reason: nothing is dropped silently.

Row numbers are 1-based data rows: the first row under the header is row 1.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import functools
import importlib.resources
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from khorasan_map import settings
from khorasan_map.errors import EventValidationError, InputFileError

__all__ = [
    "EVENT_COLUMNS",
    "REQUIRED_COLUMNS",
    "REPORT_COLUMNS",
    "ValidationResult",
    "read_events",
    "detect_format",
]

#: The event schema, in column order.
EVENT_COLUMNS: tuple[str, ...] = (
    "event_id",
    "date",
    "date_start",
    "date_end",
    "date_precision",
    "kind",
    "actor1",
    "actor2",
    "province_code",
    "province",
    "district",
    "latitude",
    "longitude",
    "location_precision",
    "fatalities",
    "fatalities_low",
    "fatalities_high",
    "description",
    "source_name",
    "source_title",
    "source_date",
    "source_url",
    "confidence",
    "dataset",
)

#: Columns a file in the project's own schema must have. Each entry names a requirement and the
#: alternatives that satisfy it: a date may come as ``date`` or ``date_start``; a location as a
#: province name, a province code, or both coordinates. Every other column is optional.
REQUIRED_COLUMNS: dict[str, tuple[tuple[str, ...], ...]] = {
    "event_id": (("event_id",),),
    "date": (("date",), ("date_start",)),
    "kind": (("kind",),),
    "location": (("province",), ("province_code",), ("latitude", "longitude")),
}

#: Columns of the rejection and warning reports (``file`` names the input).
REPORT_COLUMNS: tuple[str, ...] = ("file", "row", "event_id", "column", "value", "reason")

#: Kind given to ACLED and UCDP rows outside the Taliban-ISK rivalry when ``keep_all=True``.
OTHER_KIND: str = "other"

#: How many problems an error message lists before "and N more".
MAX_LISTED: int = 20

_FORMATS = ("auto", "khorasan", "acled", "ucdp")
_TEXT_COLUMNS = (
    "event_id", "date_precision", "kind", "actor1", "actor2", "province_code", "province",
    "district", "location_precision", "description", "source_name", "source_title",
    "source_date", "source_url", "confidence", "dataset",
)
_NUMBER_COLUMNS = (
    "latitude", "longitude", "fatalities", "fatalities_low", "fatalities_high",
)
_ALIASES = {"lat": "latitude", "lon": "longitude", "lng": "longitude", "long": "longitude",
            "url": "source_url"}

_ACLED_SIGNATURE = {"event_id_cnty", "event_date", "actor1", "geo_precision"}
_ACLED_REQUIRED = ("event_id_cnty", "event_date", "event_type", "actor1", "actor2", "admin1",
                   "latitude", "longitude", "geo_precision")
_UCDP_SIGNATURE = {"dyad_name", "where_prec", "date_prec", "best"}
_UCDP_REQUIRED = ("id", "dyad_name", "date_start", "date_end", "date_prec", "where_prec",
                  "adm_1", "latitude", "longitude", "best")

#: ACLED columns named in messages instead of the schema columns they fill.
_ACLED_NAMES = {"event_id": "event_id_cnty", "date": "event_date", "date_start": "event_date",
                "date_end": "event_date", "date_precision": "time_precision",
                "province": "admin1", "district": "admin2", "location_precision": "geo_precision",
                "description": "notes", "source_name": "source"}
_UCDP_NAMES = {"event_id": "id", "date": "date_start", "date_precision": "date_prec",
               "province": "adm_1", "district": "adm_2", "location_precision": "where_prec",
               "fatalities": "best", "fatalities_low": "low", "fatalities_high": "high",
               "actor1": "side_a", "actor2": "side_b", "source_name": "source_office",
               "source_title": "source_headline"}

_KILLING = "taliban_killing_of_suspected_isk"
_URL_OK = re.compile(r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#\"'<>\\]+[^\s\"'<>\\]*$")
_TALIBAN = r"(?i)\btaliban\b"
_TALIBAN_STATE = r"(?i)forces of afghanistan \(2021-"  # ACLED's name for the Taliban state
_ISK = r"(?i)islamic state|\biskp?\b|\bis-k\b|\bdaesh\b"
_PAKISTANI_TALIBAN = r"(?i)tehr[ei]+k|\bttp\b|pakistan"
_UNATTRIBUTED = r"(?i)\band/or\b"


def rejected_reasons(n_rejected: int) -> dict[str, int]:
    """Return rows rejected by validation as a map's left-out reasons, ``{reason: count}``."""
    return {"rejected as invalid": int(n_rejected)} if n_rejected else {}


@dataclasses.dataclass
class ValidationResult:
    """What :func:`read_events` returns with ``on_invalid="report"``.

    Attributes
    ----------
    events : pandas.DataFrame
        The valid events, columns :data:`EVENT_COLUMNS`.
    rejected : pandas.DataFrame
        One row per rejected input row: :data:`REPORT_COLUMNS` (when a row has several
        problems, ``column`` and ``reason`` list them all), then the row's original columns.
    warnings : pandas.DataFrame
        Problems that do not reject a row (for example a stated province that disagrees with the
        coordinates), same columns as :data:`REPORT_COLUMNS`. ``row`` 0 means the whole file
        (for example "not UTF-8; read as Windows-1252").
    n_input : int
        Rows that entered validation; always ``len(events) + len(rejected)``.
    n_read : int
        Rows read from the input, before the ACLED/UCDP Taliban-ISK filter.
    n_left_out : int
        Rows left out by that filter (``n_read - n_input``): not errors, just other conflicts.
    sources : list of str
        The inputs, as named in the reports.
    problems : pandas.DataFrame
        One row per problem (a rejected row may have several), :data:`REPORT_COLUMNS`.
    """

    events: pd.DataFrame
    rejected: pd.DataFrame
    warnings: pd.DataFrame
    n_input: int
    n_read: int = 0
    n_left_out: int = 0
    sources: list = dataclasses.field(default_factory=list)
    problems: pd.DataFrame = dataclasses.field(default_factory=lambda: _empty_report())

    @property
    def ok(self) -> bool:
        """True when no row was rejected."""
        return len(self.rejected) == 0

    def summary(self) -> str:
        """Return one sentence: rows read, valid, rejected and warned about.

        Returns
        -------
        str
            For example "12 rows read from events.csv: 10 valid, 2 rejected; 1 warning."
        """
        names = ", ".join(self.sources) if self.sources else "the input"
        text = f"{_plural(self.n_read, 'row')} read from {names}"
        if self.n_left_out:
            text += (f"; {self.n_left_out:,} left out (not Taliban-vs-ISK in Afghanistan),"
                     f" {self.n_input:,} checked")
        text += f": {len(self.events):,} valid, {len(self.rejected):,} rejected"
        n_warn = len(self.warnings)
        if n_warn:
            text += f"; {_plural(n_warn, 'warning')}"
        return text + "."

    def messages(self, kind: str = "problems", limit: int | None = MAX_LISTED) -> list[str]:
        """Return the problems (or warnings) as lines a person can read.

        Parameters
        ----------
        kind : {"problems", "warnings"}
            Which report to format.
        limit : int or None
            At most this many lines, then one "... and N more" line; None for all.

        Returns
        -------
        list of str
        """
        report = self.problems if kind == "problems" else self.warnings
        return _format_lines(report, limit, several=len(self.sources) > 1)


def detect_format(columns) -> str:
    """Tell the project's own schema from an ACLED or a UCDP GED export by its columns.

    Parameters
    ----------
    columns : iterable of str
        Column names as read.

    Returns
    -------
    str
        "acled", "ucdp" or "khorasan".

    Examples
    --------
    >>> detect_format(["event_id_cnty", "event_date", "actor1", "geo_precision"])
    'acled'
    """
    names = {str(c).strip().lower() for c in columns}
    if _ACLED_SIGNATURE <= names:
        return "acled"
    if _UCDP_SIGNATURE <= names:
        return "ucdp"
    return "khorasan"


def read_events(
    source=None,
    *,
    format: str = "auto",
    on_invalid: str = "raise",
    keep_all: bool = False,
    ucdp_government_from: str | None = settings.SHIFT_DATE,
    today=None,
    progress: bool | None = None,
    chunksize: int = 250_000,
):
    """Read events, map them to the schema and validate every row.

    Parameters
    ----------
    source : str, pathlib.Path, list of them, pandas.DataFrame or None
        None reads the shipped, sourced dataset. A path may be CSV (any of ``,`` ``;`` tab
        ``|`` separators, UTF-8 with or without BOM; Windows-1252/Latin-1 is read with a
        warning), GeoJSON, GeoPackage, Parquet or GeoParquet; point geometries fill
        ``latitude``/``longitude`` when those are absent. A list reads each file in turn
        (row numbers restart per file; reports name the file).
    format : {"auto", "khorasan", "acled", "ucdp"}
        "auto" recognises ACLED exports (``event_id_cnty``, ``event_date``, ``actor1``,
        ``geo_precision``) and UCDP GED (``dyad_name``, ``where_prec``, ``date_prec``,
        ``best``) by their columns; anything else is read as the project's own schema.
    on_invalid : {"raise", "report"}
        "raise" returns the valid events and raises one :class:`EventValidationError` listing
        every problem when any row is rejected. "report" returns a :class:`ValidationResult`.
    keep_all : bool
        ACLED/UCDP: keep every row, with kind "other" for those outside the Taliban-ISK rivalry
        (default: keep only Taliban-vs-ISK rows). Own schema: accept kinds outside
        :data:`settings.EVENT_KINDS`.
    ucdp_government_from : str or None
        UCDP codes the Taliban as the "Government of Afghanistan" once they held Kabul. Rows of
        the dyad "Government of Afghanistan - IS" starting on or after this date are read as
        Taliban-vs-ISK clashes (default :data:`settings.SHIFT_DATE`, 2021-08-15); earlier rows
        of that dyad involve the former republic and are left out. None switches the rule off.
    today : str, datetime.date or pandas.Timestamp, optional
        Dates after this day are rejected as in the future (default: today).
    progress : bool or None
        Show a progress bar on stderr. None: only when stderr is a terminal.
    chunksize : int
        Rows read and validated at a time; a large CSV or Parquet file is streamed in chunks,
        and ACLED/UCDP rows are filtered per chunk, so the whole file never sits in memory.

    Returns
    -------
    pandas.DataFrame or ValidationResult
        The valid events (columns :data:`EVENT_COLUMNS`; ``date``, ``date_start`` and
        ``date_end`` as datetime64, NaT only when ``date_precision`` is "unknown"), or with
        ``on_invalid="report"`` a :class:`ValidationResult`.

    Raises
    ------
    InputFileError
        The input cannot be used at all: missing, a directory, empty, header only, not what its
        extension says, or missing required columns.
    EventValidationError
        With ``on_invalid="raise"``, when rows are rejected; ``.rejected`` holds them.

    Notes
    -----
    Schema columns:

    event_id
        Unique identifier (text). Required; a repeated id rejects the second and later rows.
    date, date_start, date_end
        ISO dates (YYYY-MM-DD, YYYY-MM or YYYY; "15 March 2019" is also read; a time after the
        date is ignored, the calendar day is kept). ``date`` is the
        best single date and defaults to ``date_start``; ``date_start`` defaults to ``date``;
        ``date_end`` defaults from the precision (the last day of the month or year). Required
        (``date`` or ``date_start``) unless ``date_precision`` is "unknown". Impossible dates
        (2021-02-30), dates after ``today`` and ends before starts are rejected.
    date_precision
        day, month, year, range or unknown; inferred from the date's form when empty.
    kind
        One of :data:`settings.EVENT_KINDS` (clash, defection, isk_attack_on_taliban,
        taliban_raid_on_isk, ...); any other kind only with ``keep_all``.
    actor1, actor2
        Free text.
    province_code, province
        ISO 3166-2 code (AF-KAB) and English name; either may be given (names are resolved with
        the gazetteer: spellings, Dari); they must agree. Unknown names are rejected with
        suggestions.
    district
        Free text.
    latitude, longitude
        Decimal degrees, WGS 84; both or neither. Points outside Afghanistan are rejected (the
        message says when swapping them would put the point inside). A point in another
        province than the stated one is a warning, not a rejection.
    location_precision
        exact, near, district or province (default: exact with coordinates, else province).
        A row needs a province or coordinates.
    fatalities, fatalities_low, fatalities_high
        Non-negative numbers or empty (best estimate, low, high); low must not exceed high.
    description, source_name, source_title, source_date
        Free text (Dari and Pashto kept intact); ``source_date`` as given.
    source_url
        Optional, but when present an absolute http:// or https:// URL; ``javascript:``,
        ``data:`` and relative links are rejected so they can never reach a map.
    confidence
        low, medium or high, or empty.
    dataset
        Where the record came from: "khorasan_map" (shipped), "acled", "ucdp", "user"
        (default for other files and DataFrames), "synthetic".

    ACLED rows are kept when a Taliban actor (including ACLED's post-2021 "Military/Police
    Forces of Afghanistan (2021-)", the Taliban state, unless ``ucdp_government_from`` is None;
    excluding the Pakistani Tehreek-i-Taliban) is on one side
    (``actor1`` or ``assoc_actor_1``) and an IS/ISKP actor on the other (``actor2`` or
    ``assoc_actor_2``), or the reverse; "X and/or Y" actors are unattributed and never count.
    Rows whose ``iso``/``country`` is not Afghanistan are left out, even with ``keep_all``.
    ``event_type`` "Battles" becomes "clash"; any other event type becomes
    "isk_attack_on_taliban" when the IS side is actor1 and "taliban_raid_on_isk" when the
    Taliban side is, except "Violence against civilians" by the Taliban side against people
    coded as IS, which becomes "taliban_killing_of_suspected_isk". ``geo_precision`` 1, 2, 3
    becomes exact, near, province (coordinates dropped for 3); ``time_precision`` 1 is a day,
    2 a range of three days either side of ``event_date`` (ACLED knows only the week), 3 the
    calendar month. ``notes`` becomes the description and ``source`` the source name; ACLED
    gives no URL and no confidence, so both stay empty.

    UCDP GED rows are kept for the dyad "IS - Taleban", conflict 13651 (the Zabul fighting of
    November 2015) and, from ``ucdp_government_from``, "Government of Afghanistan - IS"; all
    become "clash". Only rows in Afghanistan are kept when a ``country``/``country_id``
    column says so. ``where_prec`` 1 exact, 2 near, 3 district, 4 province (coordinates
    dropped: they are a province centroid), 5 (a larger area) province when ``adm_1`` names
    one, otherwise rejected, like 6 (country) and 7 (waters/airspace), as too vague to map.
    ``date_prec`` 1 is a day; larger values use UCDP's start and end as a range (month or year
    when both fall in the same one). ``best``/``low``/``high`` become the fatalities,
    ``source_office``/``source_headline``/``source_date`` the source fields,
    ``event_clarity`` 1 high confidence and 2 low.

    Large files: CSV is streamed with pyarrow in blocks and Parquet in record batches; ACLED
    and UCDP rows are filtered per block on the few columns the filter needs before the
    other columns are converted, so only the Taliban-ISK rows are ever held in memory (a
    1.2 GB UCDP-format file peaks near 460 MiB). A file that is not UTF-8 is scanned once to
    pick Windows-1252 or Latin-1. Row accounting: ``n_read`` rows are read,
    ``n_left_out`` of them are other conflicts, and each of the remaining ``n_input`` rows is
    either valid or rejected; a malformed CSV line (wrong number of fields) is a rejected row.

    Examples
    --------
    >>> events = read_events()  # doctest: +SKIP
    >>> result = read_events("acled_export.csv", on_invalid="report")  # doctest: +SKIP
    >>> print(result.summary())  # doctest: +SKIP
    """
    if format not in _FORMATS:
        raise ValueError(f"format must be one of {', '.join(_FORMATS)}, not {format!r}")
    if on_invalid not in ("raise", "report"):
        raise ValueError(f"on_invalid must be 'raise' or 'report', not {on_invalid!r}")
    if int(chunksize) < 1:
        raise ValueError(f"chunksize must be a positive number of rows, not {chunksize!r}")
    state = _State(
        keep_all=keep_all,
        government_from=None if ucdp_government_from is None
        else pd.Timestamp(ucdp_government_from),
        today=pd.Timestamp.today().normalize() if today is None
        else pd.Timestamp(today).normalize(),
    )
    for label, item, dataset in _sources(source):
        state.start(label, dataset)
        state.requested = format
        for chunk in _chunks(item, label, int(chunksize), progress, state):
            state.add(chunk, format)
            del chunk
            _release_memory()
    result = state.result()
    if on_invalid == "report":
        return result
    for line in result.messages("warnings", limit=5):
        warnings.warn(line, UserWarning, stacklevel=2)
    if len(result.rejected):
        lines = result.messages("problems", limit=MAX_LISTED)
        head = (f"{len(result.rejected):,} of {result.n_input:,} rows failed validation "
                f"({len(result.problems):,} problems):")
        raise EventValidationError("\n".join([head, *("  " + x for x in lines)]),
                                   rejected=result.rejected)
    return result.events


# --------------------------------------------------------------------------- sources and files


def _sources(source):
    """Yield (label, path-or-frame, default dataset) for each input."""
    if source is None:
        ref = importlib.resources.files("khorasan_map") / "data" / settings.EVENTS_FILE
        if not ref.is_file():
            raise InputFileError(
                f"the shipped dataset {settings.EVENTS_FILE} is missing from the package")
        yield settings.EVENTS_FILE, Path(str(ref)), "khorasan_map"
        return
    if isinstance(source, pd.DataFrame):
        yield "<DataFrame>", source, "user"
        return
    if isinstance(source, (str, Path)):
        source = [source]
    items = list(source)
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


def _sniff(head: bytes) -> str:
    """Name what the first bytes of a file look like."""
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    stripped = head.lstrip(codecs.BOM_UTF8).lstrip()
    if stripped[:1] in (b"{", b"["):
        return "json"
    if b"\x00" in head:
        return "binary"
    return "text"


def _inspect(path: Path) -> str:
    """Check that ``path`` is a readable, non-empty file and return how to read it."""
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    if path.is_dir():
        raise InputFileError(f"{path} is a directory, not an events file; "
                             "give the file(s) inside it")
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if size == 0:
        raise InputFileError(f"{path.name} is empty (0 bytes)")
    content = _sniff(head)
    expected = _EXPECTED.get(path.suffix.lower())
    if expected and content != expected:
        raise InputFileError(
            f"{path.name} is not {_DESCRIBE[expected]} as its extension says: "
            f"it looks like {_DESCRIBE[content]}")
    if content in ("zip", "binary"):
        raise InputFileError(f"{path.name} looks like {_DESCRIBE[content]}; save the events "
                             "as CSV, GeoJSON, GeoPackage or Parquet")
    return content


def _chunks(item, label, chunksize, progress, state):
    """Yield raw chunks (DataFrames with a ``_row`` column) from one input."""
    if isinstance(item, pd.DataFrame):
        frame = _points_to_columns(item)
        if len(frame.columns) == 0:
            raise InputFileError(f"{label} has no columns")
        for start in range(0, max(len(frame), 1), chunksize):
            part = frame.iloc[start:start + chunksize].copy()
            part["_row"] = np.arange(start + 1, start + 1 + len(part))
            yield part.reset_index(drop=True)
        return
    content = _inspect(item)
    if content == "text":
        yield from _csv_chunks(item, chunksize, progress, state)
    elif content == "parquet":
        yield from _parquet_chunks(item, chunksize, state)
    else:
        yield from _ogr_chunks(item, content, chunksize)


def _points_to_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Fill latitude/longitude from point geometries and drop the geometry column."""
    geom_col = getattr(frame, "_geometry_column_name", None)
    if geom_col is None or geom_col not in frame.columns:
        return frame
    import shapely

    geoms = np.asarray(frame[geom_col].values, dtype=object)
    out = pd.DataFrame(frame.drop(columns=[geom_col]))
    if getattr(frame, "crs", None) is not None and not frame.crs.equals(settings.CRS):
        geoms = np.asarray(frame[geom_col].to_crs(settings.CRS).values, dtype=object)
    _fill_from_points(out, geoms, shapely)
    return out


def _fill_from_points(out, geoms, shapely) -> None:
    """Put point x/y into longitude/latitude where those are absent or empty."""
    # An empty point (how a province-only event is often saved) has no x/y: it stays empty.
    is_point = (shapely.get_type_id(geoms) == 0) & ~shapely.is_empty(geoms)
    x = np.full(len(geoms), np.nan)
    y = np.full(len(geoms), np.nan)
    x[is_point] = shapely.get_x(geoms[is_point])
    y[is_point] = shapely.get_y(geoms[is_point])
    cols = {str(c).lower(): c for c in out.columns}
    for name, values in (("longitude", x), ("latitude", y)):
        if name in cols:
            current = out[cols[name]]
            empty = current.isna() | (current.astype(str).str.strip() == "")
            out[cols[name]] = current.astype(object).where(~empty, values)
        else:
            out[name] = values


def _ogr_chunks(path: Path, content: str, chunksize: int):
    """Read GeoJSON or GeoPackage with pyogrio (whole file: these formats are small)."""
    import pyogrio
    import shapely

    try:
        frame = pyogrio.read_dataframe(path)
    except Exception as exc:  # pyogrio raises several types for unreadable data
        name = "GeoJSON" if content == "json" else "GeoPackage"
        raise InputFileError(f"{path.name} could not be read as {name}: {exc}") from exc
    if "geometry" in frame.columns:
        geoms = frame.geometry
        if frame.crs is not None and not frame.crs.equals(settings.CRS):
            geoms = geoms.to_crs(settings.CRS)
        out = pd.DataFrame(frame.drop(columns="geometry"))
        _fill_from_points(out, np.asarray(geoms.values, dtype=object), shapely)
        frame = out
    if len(frame) == 0:
        raise InputFileError(f"{path.name} has no features")
    for start in range(0, len(frame), chunksize):
        part = frame.iloc[start:start + chunksize].copy()
        part["_row"] = np.arange(start + 1, start + 1 + len(part))
        yield part.reset_index(drop=True)


def _parquet_chunks(path: Path, chunksize: int, state):
    """Stream a (Geo)Parquet file in record batches."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq
    import shapely

    try:
        handle = pq.ParquetFile(path)
    except Exception as exc:
        raise InputFileError(f"{path.name} could not be read as Parquet: {exc}") from exc
    if handle.metadata.num_rows == 0:
        raise InputFileError(f"{path.name} has columns but no data rows")
    geo = handle.schema_arrow.metadata or {}
    geom_col = None
    if b"geo" in geo:
        try:
            geom_col = json.loads(geo[b"geo"]).get("primary_column", "geometry")
        except ValueError:
            geom_col = None
    start = 0
    text = pd.StringDtype("pyarrow", na_value=np.nan)
    mapper = {pa.string(): text, pa.large_string(): text}.get
    names = list(handle.schema_arrow.names)
    state.set_format(names + (["latitude", "longitude"] if geom_col in names else []),
                     state.requested)
    needed = state.filter_columns(handle.schema_arrow.names)
    for batch in handle.iter_batches(batch_size=chunksize):
        first = start
        start += batch.num_rows
        if needed:  # keep only the Taliban-ISK rows before converting every column
            mask = state.keep_mask(batch.select(needed).to_pandas(types_mapper=mapper))
            rows = np.arange(first + 1, first + 1 + batch.num_rows)[mask]
            batch = batch.filter(pa.array(mask))
        else:
            rows = np.arange(first + 1, first + 1 + batch.num_rows)
        if not batch.num_rows:
            continue
        part = batch.to_pandas(types_mapper=mapper)
        if geom_col and geom_col in part.columns:
            geoms = shapely.from_wkb(part[geom_col].to_numpy(dtype=object))
            part = part.drop(columns=geom_col)
            _fill_from_points(part, geoms, shapely)
        part["_row"] = rows
        yield part


def _encoding(path: Path) -> str | None:
    """Return None for UTF-8, else the 8-bit encoding that reads the file."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as handle:
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
    return [n.strip() for n in names], sep


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


def _csv_chunks(path: Path, chunksize: int, progress, state):
    """Stream a CSV file with pyarrow, every column as text."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    encoding = _encoding(path)
    if encoding:
        state.note(f"{path.name} is not UTF-8; read as {encoding} (save it as UTF-8 to be sure "
                   "of accented and Dari/Pashto text)")
    names, sep = _header(path, encoding)
    if not [n for n in names if n]:
        raise InputFileError(f"{path.name} has no header line")
    if sep != ",":
        shown = {"\t": "tab", ";": "';'", "|": "'|'"}[sep]
        state.note(f"{path.name} looks {shown}-separated; read it with that separator")
    if len(set(names)) < len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise InputFileError(f"{path.name} repeats columns in its header: {', '.join(repeated)}")
    bad_rows = []

    def on_bad(row):
        bad_rows.append((row.number, row.actual_columns, row.text))
        return "skip"

    handle = _Counting(open(path, "rb"))
    bar = _progress_bar(progress, path.stat().st_size, path.name)
    try:
        reader = pacsv.open_csv(
            pa.PythonFile(handle, mode="r"),
            read_options=pacsv.ReadOptions(block_size=1 << 22, use_threads=False,
                                           encoding=encoding or "utf8"),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True,
                                             invalid_row_handler=on_bad),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                quoted_strings_can_be_null=False),
        )
        state.set_format(names, state.requested)
        needed = state.filter_columns(names)
        next_row, pending, taken = 1, [], 0
        n_rows = 0
        buffer, buffered = [], 0
        for batch in reader:
            rows, next_row, used = _number_rows(batch.num_rows, next_row, bad_rows[taken:])
            pending.extend(bad_rows[taken:taken + used])
            taken += used
            n_rows += batch.num_rows
            if needed:  # keep only the Taliban-ISK rows before converting every column
                mask = state.keep_mask(batch.select(needed).to_pandas())
                batch = batch.filter(pa.array(mask))
                rows = rows[mask]
            if batch.num_rows:
                part = batch.to_pandas()
                part["_row"] = rows
                buffer.append(part)
                buffered += len(part)
            if bar is not None:
                bar.update(bar.task, completed=handle.n)
            if buffered >= chunksize:
                yield pd.concat(buffer, ignore_index=True) if len(buffer) > 1 else buffer[0]
                buffer, buffered = [], 0
        if buffer:
            yield pd.concat(buffer, ignore_index=True) if len(buffer) > 1 else buffer[0]
        for number, actual, text in bad_rows[taken:]:
            pending.append((number, actual, text))
    except pa.ArrowInvalid as exc:
        raise InputFileError(f"{path.name} could not be read as CSV: {exc}") from exc
    finally:
        if bar is not None:
            bar.stop()
        handle.close()
    for number, actual, text in pending:
        state.bad_line(number, actual, len(names), text)
    if n_rows == 0 and not pending:
        raise InputFileError(f"{path.name} has a header but no data rows")


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


# --------------------------------------------------------------------------- state


def _empty_report():
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else "str")
                         for c in REPORT_COLUMNS})


class _State:
    """Collects valid events, problems and warnings across chunks and files."""

    def __init__(self, keep_all, government_from, today):
        self.keep_all = keep_all
        self.government_from = government_from
        self.today = today
        self.events, self.problems, self.warnings, self.rejected = [], [], [], []
        self.seen_chunks: list[tuple] = []
        self.n_read = self.n_input = 0
        self.sources: list[str] = []
        self.requested = "auto"

    def start(self, label, dataset):
        self.label, self.dataset, self.fmt = label, dataset, None
        self.sources.append(label)

    def note(self, text):
        self.warnings.append(pd.DataFrame({"file": [self.label], "row": [0], "event_id": [""],
                                           "column": [""], "value": [""], "reason": [text]}))

    def bad_line(self, number, actual, expected, text):
        row = (number - 1) if number else 0
        self.n_read += 1
        self.n_input += 1
        report = pd.DataFrame({
            "file": [self.label], "row": [row], "event_id": [""], "column": ["(whole row)"],
            "value": [text[:200]],
            "reason": [f"has {actual} fields where the header has {expected}"]})
        self.problems.append(report)
        self.rejected.append(report)

    def set_format(self, columns, fmt):
        """Detect (or take) the format from the column names and check the required ones."""
        columns = list(_normalise_columns(pd.DataFrame(columns=list(columns))).columns)
        self.fmt = detect_format(columns) if fmt == "auto" else fmt
        _check_columns(columns, self.fmt, self.label)

    def filter_columns(self, names):
        """Columns the ACLED/UCDP filter needs (empty when every row is kept)."""
        if self.keep_all or self.fmt not in ("acled", "ucdp"):
            return []
        wanted = ({"actor1", "assoc_actor_1", "actor2", "assoc_actor_2", "iso", "country"}
                  if self.fmt == "acled"
                  else {"dyad_name", "conflict_new_id", "conflict_dset_id", "date_start",
                        "country_id", "country"})
        return [n for n in names if str(n).strip().lower() in wanted]

    def keep_mask(self, small):
        """Apply the ACLED/UCDP filter to a frame of its columns; count the rows left out."""
        small = _normalise_columns(small)
        if self.fmt == "acled":
            mask = _acled_keep(small, self.keep_all, self.government_from is not None)
        else:
            mask = _ucdp_keep(small, self.keep_all, self.government_from)
        self.n_read += int(len(mask) - mask.sum())
        return mask

    def add(self, raw, fmt):
        raw = _normalise_columns(raw)
        if self.fmt is None:
            self.set_format(raw.columns, fmt)
        self.n_read += len(raw)
        ctx = _Context(self)
        if self.fmt == "acled":
            raw = raw[_acled_keep(raw, self.keep_all, self.government_from is not None)]
            frame = _from_acled(raw, ctx)
        elif self.fmt == "ucdp":
            raw = raw[_ucdp_keep(raw, self.keep_all, self.government_from)]
            frame = _from_ucdp(raw, ctx)
        else:
            frame = _from_khorasan(raw, self.dataset)
        self.n_input += len(raw)
        if not len(frame):
            return
        ctx.ids = frame["event_id"]
        valid = _validate(frame, ctx)
        self._check_duplicates(valid, ctx)
        problems = ctx.report(ctx.problems)
        warns = ctx.report(ctx.warns)
        bad = problems["row"].unique() if len(problems) else np.array([], dtype=int)
        is_bad = valid["_row"].isin(bad).to_numpy()
        self.events.append(_final_types(valid.loc[~is_bad, list(EVENT_COLUMNS)]))
        del valid, frame
        if len(problems):
            self.problems.append(problems)
            self.rejected.append(_per_row(problems, raw))
        if len(warns):
            warns = warns[~warns["row"].isin(bad)]
            self.warnings.append(warns)

    def _check_duplicates(self, frame, ctx):
        ids = frame["event_id"]
        has = ids.notna().to_numpy()
        several = len(self.sources) > 1
        within = has & ids.duplicated(keep="first").to_numpy()
        earlier = has & ~within
        if self.seen_chunks:
            import pyarrow as pa
            import pyarrow.compute as pc

            known = pa.chunked_array([c[1] for c in self.seen_chunks]).combine_chunks()
            found = pc.is_in(_arrow_text(ids), value_set=known)
            earlier &= np.asarray(found.fill_null(False).to_numpy(zero_copy_only=False),
                                  dtype=bool)
        else:
            earlier[:] = False
        if within.any():
            first_row = frame["_row"].where(has).groupby(ids).transform("first")
            where = (self.label + " " if several else "") + "row " + first_row[within].astype(
                "int64").astype(str)
            ctx.add(within, "event_id", lambda: "duplicate event id " + _quote(ids[within])
                    + " (first used in " + where + ")")
        if earlier.any():
            first = ids[earlier].map(self._seen_label)
            ctx.add(earlier, "event_id", lambda: "duplicate event id " + _quote(ids[earlier])
                    + " (first used in " + first + ")")
        new = has & ~within & ~earlier
        kept = ids[new]
        self.seen_chunks.append((self.label, _arrow_text(kept), frame["_row"][new].to_numpy()))

    def _seen_label(self, event_id):
        for label, ids, rows in self.seen_chunks:
            where = np.flatnonzero(ids.to_numpy(zero_copy_only=False) == event_id)
            if where.size:
                return (f"{label} " if len(self.sources) > 1 else "") + f"row {rows[where[0]]}"
        return "an earlier row"  # pragma: no cover - every seen id is in a chunk

    def result(self):
        events = (pd.concat(self.events, ignore_index=True) if len(self.events) > 1
                  else self.events[0].reset_index(drop=True) if self.events
                  else _final_types(_empty_events()))
        self.events = []
        problems = _concat(self.problems)
        rejected = _concat(self.rejected)
        warns = _concat(self.warnings)
        order = {k: i for i, k in enumerate(self.sources)}

        def sort(frame):
            return frame.sort_values(
                ["file", "row"], kind="stable",
                key=lambda s: s.map(order) if s.name == "file" else s).reset_index(drop=True)

        problems, rejected, warns = sort(problems), sort(rejected), sort(warns)
        n_input = len(events) + len(rejected)
        assert n_input == self.n_input, (n_input, self.n_input)
        return ValidationResult(events=events, rejected=rejected, warnings=warns,
                                n_input=n_input, n_read=self.n_read,
                                n_left_out=self.n_read - self.n_input,
                                sources=list(self.sources), problems=problems)


def _release_memory() -> None:
    """Hand Arrow's freed buffers back to the system (its allocator keeps them otherwise)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def _arrow_text(series: pd.Series):
    """Return the text of a Series as a pyarrow string array (zero-copy when Arrow-backed)."""
    import pyarrow as pa

    try:
        array = pa.Array.from_pandas(series)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        array = pa.array(series.to_numpy(dtype=object, na_value=None), type=pa.string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array.cast(pa.large_string())


def _concat(frames):
    frames = [f for f in frames if len(f)]
    if not frames:
        return _empty_report()
    return pd.concat(frames, ignore_index=True)


def _per_row(problems, raw):
    """One line per rejected row: its problems joined, then its original columns."""
    grouped = problems.groupby("row", sort=True)
    if grouped.ngroups == len(problems):
        out = problems.sort_values("row").reset_index(drop=True)
    else:
        out = grouped.agg(
            file=("file", "first"), event_id=("event_id", "first"),
            column=("column", lambda s: ", ".join(dict.fromkeys(s))),
            value=("value", lambda s: " | ".join(s.astype(str))),
            reason=("reason", lambda s: "; ".join(s)),
        ).reset_index()[list(REPORT_COLUMNS)]
    original = raw[raw["_row"].isin(out["row"])].drop_duplicates("_row")
    original = original.rename(columns={c: f"{c}_input" for c in original.columns
                                        if c in REPORT_COLUMNS})
    return out.merge(original, how="left", left_on="row", right_on="_row").drop(columns="_row")


def _format_lines(report, limit, several=False):
    """Format a report as 'row 7, column latitude: reason' lines."""
    if not len(report):
        return []
    shown = report if limit is None else report.head(limit)
    lines = []
    for file, row, column, reason in zip(shown["file"], shown["row"], shown["column"],
                                         shown["reason"], strict=False):
        where = f"{file} " if several else ""
        if row == 0:
            lines.append(f"{where}{reason}".strip())
        elif column:
            lines.append(f"{where}row {row}, column {column}: {reason}")
        else:
            lines.append(f"{where}row {row}: {reason}")
    if limit is not None and len(report) > limit:
        lines.append(f"... and {len(report) - limit:,} more")
    return lines


def _plural(n, word):
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _quote(values: pd.Series) -> pd.Series:
    return "'" + values.astype(str) + "'"


def _normalise_columns(raw: pd.DataFrame) -> pd.DataFrame:
    """Lower-case, trimmed column names (and a few aliases for the own schema)."""
    renamed = {}
    present = {str(c).strip().lower().replace(" ", "_") for c in raw.columns}
    for col in raw.columns:
        if col == "_row":
            continue
        name = str(col).strip().lower().replace(" ", "_").lstrip("\ufeff")
        if name in _ALIASES and _ALIASES[name] not in present:
            name = _ALIASES[name]
        if name != col:
            renamed[col] = name
    return raw.rename(columns=renamed) if renamed else raw


def _check_columns(columns, fmt, label):
    """Raise InputFileError naming the required columns that are missing."""
    found = [c for c in columns if c != "_row"]
    names = set(found)
    if fmt == "acled":
        missing = [c for c in _ACLED_REQUIRED if c not in names]
    elif fmt == "ucdp":
        missing = [c for c in _UCDP_REQUIRED if c not in names]
    else:
        missing = []
        for need, options in REQUIRED_COLUMNS.items():
            if not any(all(c in names for c in option) for option in options):
                missing.append(" or ".join("+".join(option) for option in options)
                               if len(options) > 1 else need)
    if missing:
        shown = ", ".join(found[:30]) + (" ..." if len(found) > 30 else "")
        hint = ""
        if len(found) == 1 and any(s in found[0] for s in (";", "\t", "|")):
            hint = "; the header is one column: is the separator right?"
        kind = {"acled": "an ACLED export", "ucdp": "a UCDP GED file"}.get(fmt, "an events file")
        raise InputFileError(f"{label} is missing required columns for {kind}: "
                             f"{', '.join(missing)} (found: {shown or 'no columns'}){hint}")


# --------------------------------------------------------------------------- format mappers


class _Context:
    """Problems and warnings for one chunk, with the column names used in messages."""

    def __init__(self, state):
        self.state = state
        self.names = {"acled": _ACLED_NAMES, "ucdp": _UCDP_NAMES}.get(state.fmt, {})
        self.problems, self.warns = [], []
        self.rows = None
        self.ids = None

    def add(self, mask, column, reason, value=None, warn=False):
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        index = np.flatnonzero(mask)
        if callable(reason):
            reason = reason()
        if isinstance(column, np.ndarray):
            names = [self.names.get(c, c) for c in column[index]]
        else:
            names = self.names.get(column, column)
        if value is None:
            value = self.raw_values.get(column if isinstance(column, str) else None)
        vals = (pd.Series(value).iloc[index].astype(object) if isinstance(value, pd.Series)
                else pd.Series([value] * len(index) if value is not None else [""] * len(index)))
        reasons = (reason.iloc[index] if isinstance(reason, pd.Series) and len(reason) == len(mask)
                   else reason)
        ids = self.ids.iloc[index] if self.ids is not None else ""
        frame = pd.DataFrame({
            "row": self.rows.iloc[index].to_numpy(),
            "event_id": pd.Series(ids).fillna("").astype(str).to_numpy(),
            "column": names,
            "value": vals.fillna("").astype(str).to_numpy(),
            "reason": (np.asarray(reasons.astype(str)) if isinstance(reasons, pd.Series)
                       else reasons),
        })
        (self.warns if warn else self.problems).append(frame)

    def report(self, frames):
        frames = [f for f in frames if len(f)]
        if not frames:
            return _empty_report()
        out = pd.concat(frames, ignore_index=True)
        out.insert(0, "file", self.state.label)
        return out.sort_values("row", kind="stable")


def _text(series) -> pd.Series:
    """Trimmed text with empty strings as missing."""
    if series.dtype.kind in "iu":
        out = series.astype("str")
    elif series.dtype.kind == "f":
        out = _by_unique(series, lambda u: u.astype("float64").map("{:g}".format))
    elif series.dtype.kind == "M":
        out = series.dt.strftime("%Y-%m-%d").astype("str")
    else:
        out = series.astype("str")
    out = out.str.strip()
    return out.where(out != "", None).astype("str")


def _column(raw, name, n):
    if name in raw.columns:
        return raw[name].reset_index(drop=True)
    return pd.Series([None] * n, dtype="str")


def _from_khorasan(raw: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Map the project's own schema: keep its columns, fill the missing ones."""
    n = len(raw)
    out = pd.DataFrame({c: _column(raw, c, n) for c in EVENT_COLUMNS})
    out["_row"] = raw["_row"].to_numpy()
    ds = _text(out["dataset"])
    out["dataset"] = ds.fillna(dataset)
    return out


def _has_actor(series, pattern):
    text = series.fillna("").astype(str)
    found = text.str.contains(pattern, regex=True) & ~text.str.contains(_UNATTRIBUTED, regex=True)
    if pattern.startswith(_TALIBAN):  # the Pakistani Taliban (TTP) are another movement
        found &= ~text.str.contains(_PAKISTANI_TALIBAN, regex=True)
    return found


def _acled_sides(raw, government=True):
    """Boolean masks: Taliban and ISK on side 1 and side 2 of each ACLED row."""
    n = len(raw)
    side = {}
    for i in ("1", "2"):
        cols = [f"actor{i}", f"assoc_actor_{i}"]
        tal = np.zeros(n, dtype=bool)
        isk = np.zeros(n, dtype=bool)
        for col in cols:
            if col in raw.columns:
                pattern = _TALIBAN + "|" + _TALIBAN_STATE[4:] if government else _TALIBAN
                tal |= _has_actor(raw[col], pattern).to_numpy()
                isk |= _has_actor(raw[col], _ISK).to_numpy()
        side[i] = (tal, isk)
    return side


def _acled_keep(raw, keep_all, government=True):
    if keep_all:
        keep = np.ones(len(raw), dtype=bool)
    else:
        side = _acled_sides(raw, government)
        keep = (side["1"][0] & side["2"][1]) | (side["1"][1] & side["2"][0])
    return keep & _in_afghanistan(raw, "iso", "4", "country")


def _in_afghanistan(raw, id_column, id_value, name_column):
    """Rows whose country column (when there is one) says Afghanistan; empty counts as yes."""
    if id_column in raw.columns:
        ident = _text(raw[id_column]).str.replace(r"\.0$", "", regex=True)
        return np.asarray((ident.isna() | (ident == id_value)).fillna(True), dtype=bool)
    if name_column in raw.columns:
        name = _text(raw[name_column]).str.lower()
        return np.asarray((name.isna() | (name == "afghanistan")).fillna(True), dtype=bool)
    return np.ones(len(raw), dtype=bool)


def _parse_dates(values: pd.Series):
    """Parse ISO dates (and "15 March 2019"); return datetimes and the bad-text mask.

    A time after the date ("2017-07-31 00:00:00.000", "2021-08-26T12:00:00+04:30") is
    ignored: events are dated by calendar day, as the source wrote it.
    """
    if values.dtype.kind == "M":
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_localize(None)  # keep the local calendar date
        out = values.astype("datetime64[ns]").dt.normalize()
        return out.reset_index(drop=True), np.zeros(len(values), dtype=bool)
    text = _text(values)
    timed = ((text.str.len() > 10) & text.str.slice(10, 11).isin(["T", " "])
             & text.str.match(r"^\d{4}-\d{2}-\d{2}")).fillna(False)
    day = text.where(~timed, text.str.slice(0, 10))
    out = pd.to_datetime(day, format="ISO8601", errors="coerce")
    failed = out.isna() & text.notna()
    if failed.any():
        for form in ("%d %B %Y", "%d %b %Y"):
            second = pd.to_datetime(text[failed], format=form, errors="coerce")
            out = out.where(~failed, second)
            failed = out.isna() & text.notna()
    out = out.astype("datetime64[ns]")
    return out, (out.isna() & text.notna()).to_numpy()


def _iso(dates: pd.Series, fallback: pd.Series) -> pd.Series:
    """ISO date text where parsed, the original text where not."""
    text = dates.dt.strftime("%Y-%m-%d").astype("str")
    return text.where(dates.notna(), fallback)


def _from_acled(raw: pd.DataFrame, ctx) -> pd.DataFrame:
    """Map ACLED columns to the schema."""
    n = len(raw)
    col = functools.partial(_column, raw, n=n)
    out = pd.DataFrame({c: pd.Series([None] * n, dtype="str") for c in EVENT_COLUMNS})
    out["_row"] = raw["_row"].to_numpy()
    out["event_id"] = col("event_id_cnty")
    dates, _ = _parse_dates(col("event_date"))
    raw_date = _text(col("event_date"))
    tp = _text(col("time_precision")).fillna("1").str.replace(r"\.0$", "", regex=True)
    week = (tp == "2").to_numpy()
    month = (tp == "3").to_numpy()
    start = dates.copy()
    end = dates.copy()
    start[week] = dates[week] - pd.Timedelta(days=3)
    end[week] = dates[week] + pd.Timedelta(days=3)
    month_start = dates.values.astype("datetime64[M]")
    start[month] = pd.to_datetime(month_start[month].astype("datetime64[ns]"))
    end[month] = pd.to_datetime(((month_start[month] + 1).astype("datetime64[D]")
                                 - np.timedelta64(1, "D")).astype("datetime64[ns]"))
    out["date"] = _iso(start, raw_date)
    out["date_start"] = out["date"]
    out["date_end"] = _iso(end, raw_date)
    precision = np.select([week, month], ["range", "month"], "day")
    precision[~tp.isin(["1", "2", "3"]).to_numpy()] = None
    out["date_precision"] = pd.Series(precision, dtype="str")
    bad_tp = ~tp.isin(["1", "2", "3"])
    ctx.rows = out["_row"]
    ctx.ids = out["event_id"]
    ctx.raw_values = {}
    ctx.add(bad_tp, "date_precision", "time_precision must be 1 (day), 2 (week) or 3 (month)",
            value=tp)
    side = _acled_sides(raw, ctx.state.government_from is not None)
    tal_isk = (side["1"][0] & side["2"][1]) | (side["1"][1] & side["2"][0])
    event_type = _text(col("event_type")).fillna("").str.lower()
    battles = event_type.str.startswith("battles").to_numpy()
    isk_first = side["1"][1] & side["2"][0]
    kind = np.where(battles, "clash",
                    np.where(isk_first, "isk_attack_on_taliban", "taliban_raid_on_isk"))
    if _KILLING in settings.EVENT_KINDS:
        civilians = event_type.str.startswith("violence against civilians").to_numpy()
        kind = np.where(civilians & ~isk_first, _KILLING, kind)
    kind = np.where(tal_isk, kind, OTHER_KIND)
    out["kind"] = pd.Series(kind, dtype="str")
    out["actor1"] = col("actor1")
    out["actor2"] = col("actor2")
    out["province"] = col("admin1")
    out["district"] = col("admin2")
    gp = _text(col("geo_precision")).fillna("").str.replace(r"\.0$", "", regex=True)
    precision = gp.map({"1": "exact", "2": "near", "3": "province"})
    ctx.add(~gp.isin(["1", "2", "3"]), "location_precision",
            "geo_precision must be 1 (exact), 2 (near) or 3 (province or wider)", value=gp)
    out["location_precision"] = precision.astype("str")
    province_level = (gp == "3").to_numpy()
    out["latitude"] = col("latitude").astype(object).where(~province_level, None)
    out["longitude"] = col("longitude").astype(object).where(~province_level, None)
    out["fatalities"] = col("fatalities")
    out["description"] = col("notes")
    out["source_name"] = col("source")
    out["dataset"] = "acled"
    return out


def _ucdp_keep(raw, keep_all, government_from):
    n = len(raw)
    if keep_all:
        keep = np.ones(n, dtype=bool)
    else:
        dyad = _text(raw["dyad_name"]).fillna("").str.lower().str.replace(r"\s+", " ",
                                                                             regex=True)
        keep = np.array(dyad.isin(["is - taleban", "taleban - is"]), dtype=bool)
        keep |= dyad.str.contains("high council of afghanistan islamic emirate",
                                  regex=False).to_numpy()
        for name in ("conflict_new_id", "conflict_dset_id"):
            if name in raw.columns:
                keep |= (_text(raw[name]).str.replace(r"\.0$", "", regex=True)
                         == "13651").fillna(False).to_numpy()
        if government_from is not None:
            start, _ = _parse_dates(raw["date_start"])
            gov = dyad.isin(["government of afghanistan - is"]).to_numpy()
            keep |= gov & (start >= government_from).fillna(False).to_numpy()
    return keep & _in_afghanistan(raw, "country_id", "700", "country")


def _strip_suffix(series, word):
    return _text(series).str.replace(rf"(?i)\s+{word}$", "", regex=True)


def _from_ucdp(raw: pd.DataFrame, ctx) -> pd.DataFrame:
    """Map UCDP GED columns to the schema."""
    n = len(raw)
    col = functools.partial(_column, raw, n=n)
    out = pd.DataFrame({c: pd.Series([None] * n, dtype="str") for c in EVENT_COLUMNS})
    out["_row"] = raw["_row"].to_numpy()
    ident = _text(col("id")).str.replace(r"\.0$", "", regex=True)
    out["event_id"] = ("UCDP-" + ident).where(ident.notna(), None)
    ctx.rows, ctx.ids, ctx.raw_values = out["_row"], out["event_id"], {}
    start, _ = _parse_dates(col("date_start"))
    end, _ = _parse_dates(col("date_end"))
    out["date"] = _iso(start, _text(col("date_start")))
    out["date_start"] = out["date"]
    out["date_end"] = _iso(end, _text(col("date_end")))
    dp = _text(col("date_prec")).str.replace(r"\.0$", "", regex=True)
    same_month = (start.dt.to_period("M") == end.dt.to_period("M")).to_numpy()
    same_year = (start.dt.year == end.dt.year).to_numpy()
    same_day = (start == end).to_numpy()
    dpv = dp.fillna("").to_numpy()
    precision = np.select(
        [(dpv == "1") & same_day, dpv == "1", (dpv == "4") & same_month,
         (dpv == "5") & same_year, np.isin(dpv, ["2", "3", "4", "5"])],
        ["day", "range", "month", "year", "range"], "")
    ctx.add(~np.isin(dpv, ["1", "2", "3", "4", "5"]), "date_precision",
            "date_prec must be 1 to 5", value=dp)
    out["date_precision"] = pd.Series(precision, dtype="str").where(precision != "", None)
    # date_prec 4 and 5 cover a month or year: make the range match it.
    month = (precision == "month")
    year = (precision == "year")
    if month.any() or year.any():
        s = start.values
        m0 = s.astype("datetime64[M]")
        y0 = s.astype("datetime64[Y]")
        m_end = (m0 + 1).astype("datetime64[D]") - np.timedelta64(1, "D")
        y_end = (y0 + 1).astype("datetime64[D]") - np.timedelta64(1, "D")
        fixed_end = np.where(month, m_end, np.where(year, y_end, s.astype("datetime64[D]")))
        fixed = pd.Series(fixed_end.astype("datetime64[ns]"))
        out["date_end"] = out["date_end"].where(~(month | year),
                                                fixed.dt.strftime("%Y-%m-%d").astype("str"))
    dyad = _text(col("dyad_name")).fillna("")
    low = dyad.str.lower()
    tal_isk = (low.isin(["is - taleban", "taleban - is"])
               | low.str.contains("high council of afghanistan islamic emirate", regex=False))
    for name in ("conflict_new_id", "conflict_dset_id"):
        if name in raw.columns:
            tal_isk |= (_text(raw[name]).reset_index(drop=True)
                        .str.replace(r"\.0$", "", regex=True) == "13651").fillna(False)
    gov = low == "government of afghanistan - is"
    if ctx.state.government_from is not None:
        gov_tal = gov & (start >= ctx.state.government_from).fillna(False)
    else:
        gov_tal = gov & False
    out["kind"] = pd.Series(np.where((tal_isk | gov_tal).to_numpy(), "clash", OTHER_KIND),
                            dtype="str")
    side_a = _text(col("side_a"))
    out["actor1"] = side_a.where(~gov_tal, side_a + " (Taliban)")
    out["actor2"] = _text(col("side_b"))
    wp = _text(col("where_prec")).str.replace(r"\.0$", "", regex=True).fillna("")
    province = _strip_suffix(col("adm_1"), "province")
    out["province"] = province
    out["district"] = _strip_suffix(col("adm_2"), "district")
    precision = wp.map({"1": "exact", "2": "near", "3": "district", "4": "province",
                        "5": "province"})
    out["location_precision"] = precision.astype("str")
    vague = wp.isin(["6", "7"]) | ((wp == "5") & province.isna())
    ctx.add(vague.to_numpy(), "location_precision",
            lambda: "where_prec " + wp + " is too vague to place the event in a province"
            + np.where(wp == "5", " (no adm_1 given)", ""), value=wp)
    ctx.add(~wp.isin(["1", "2", "3", "4", "5", "6", "7"]).to_numpy(), "location_precision",
            "where_prec must be 1 to 7", value=wp)
    point = wp.isin(["1", "2", "3"]).to_numpy()
    out["latitude"] = col("latitude").astype(object).where(point, None)
    out["longitude"] = col("longitude").astype(object).where(point, None)
    out["fatalities"] = col("best")
    out["fatalities_low"] = col("low")
    out["fatalities_high"] = col("high")
    where = _text(col("where_description")).fillna("")
    out["description"] = ("UCDP GED event: " + dyad + np.where(where != "", ", " + where, ""))
    out["source_name"] = _text(col("source_office"))
    headline = _text(col("source_headline"))
    out["source_title"] = headline.fillna(_text(col("source_article")))
    out["source_date"] = _text(col("source_date"))
    clarity = _text(col("event_clarity")).str.replace(r"\.0$", "", regex=True)
    out["confidence"] = clarity.map({"1": "high", "2": "low"}).astype("str")
    out["dataset"] = "ucdp"
    return out


# --------------------------------------------------------------------------- validation


def _by_unique(series: pd.Series, func) -> pd.Series:
    """Apply a text function to the distinct values only (fast on repetitive columns)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    if len(uniques) == 0:
        return series
    mapped = np.asarray(func(pd.Series(uniques, dtype="str")).astype(object), dtype=object)
    out = np.where(codes >= 0, mapped[np.maximum(codes, 0)], None)
    return pd.Series(out, dtype="str")


def _norm_token(series):
    return _by_unique(_text(series),
                      lambda u: u.str.lower().str.replace(r"[\s\-]+", "_", regex=True))


def _numbers(series):
    """Numbers from text; return floats and the mask of non-empty text that is not a number."""
    if series.dtype.kind in "fiu":
        values = series.astype("float64").reset_index(drop=True)
        return values, np.zeros(len(values), dtype=bool)
    import pyarrow as pa
    import pyarrow.compute as pc

    text = _text(series)
    try:  # fast path: every value is a number or empty
        array = pa.Array.from_pandas(text)
        values = pd.Series(pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        values = pd.to_numeric(text, errors="coerce").astype("float64")
    values = values.where(np.isfinite(values))
    return values, (values.isna() & text.notna()).to_numpy()


def _validate(ev: pd.DataFrame, ctx: _Context) -> pd.DataFrame:
    """Check every schema column; record problems in ``ctx``; return typed columns."""
    state = ctx.state
    ev = ev.reset_index(drop=True)
    ctx.rows = ev["_row"]
    raw_values = {c: ev[c] for c in EVENT_COLUMNS}
    ctx.raw_values = raw_values
    out = pd.DataFrame({"_row": ev["_row"]})
    for c in _TEXT_COLUMNS:
        out[c] = _text(ev[c])
    ctx.ids = out["event_id"]
    n = len(ev)

    ctx.add(out["event_id"].isna(), "event_id", "event_id is empty")

    # kind
    kind = _norm_token(ev["kind"])
    out["kind"] = kind
    ctx.add(kind.isna(), "kind", "kind is empty (one of " + ", ".join(settings.EVENT_KINDS)
            + ")")
    if not state.keep_all:
        bad = kind.notna() & ~kind.isin(settings.EVENT_KINDS)
        ctx.add(bad, "kind", lambda: "kind " + _quote(kind) + " is not one of "
                + ", ".join(settings.EVENT_KINDS) + " (other kinds need keep_all=True)")

    # vocabularies
    for column, allowed in (("location_precision", settings.LOCATION_PRECISIONS),
                            ("date_precision", settings.DATE_PRECISIONS),
                            ("confidence", settings.CONFIDENCE_LEVELS)):
        token = _norm_token(ev[column])
        out[column] = token
        bad = token.notna() & ~token.isin(allowed)
        ctx.add(bad, column, lambda c=column, t=token, a=allowed: c + " " + _quote(t)
                + " is not one of " + ", ".join(a))

    _validate_dates(ev, out, ctx)
    _validate_fatalities(ev, out, ctx)
    codes_ok = _validate_provinces(ev, out, ctx)
    _validate_coordinates(ev, out, ctx, codes_ok)
    _validate_urls(out, ctx)
    if n:
        out["dataset"] = out["dataset"].fillna(state.dataset)
    return out


def _clean_dates(series):
    if series.dtype.kind == "M":
        if getattr(series.dt, "tz", None) is not None:
            series = series.dt.tz_localize(None)  # keep the local calendar date
        return series.reset_index(drop=True).astype("datetime64[ns]").dt.normalize()
    return _text(series)


def _first_of(primary: pd.Series, fallback: pd.Series) -> pd.Series:
    """Primary where present, else fallback; datetimes stay datetimes unless mixed with text."""
    use = primary.notna()
    if use.all():
        return primary
    if not use.any():
        return fallback
    if (primary.dtype.kind == "M") != (fallback.dtype.kind == "M"):
        primary, fallback = (s.dt.strftime("%Y-%m-%d").astype("str") if s.dtype.kind == "M"
                             else s for s in (primary, fallback))
    return primary.where(use, fallback)


def _validate_dates(ev, out, ctx):
    raw_date, raw_start, raw_end = (_clean_dates(ev[c]) for c in ("date", "date_start",
                                                                   "date_end"))
    given_start = raw_start.notna().to_numpy()
    start_src = _first_of(raw_start, raw_date)
    date_src = _first_of(raw_date, start_src)
    start, bad_start = _parse_dates(start_src)
    date, bad_date = _parse_dates(date_src)
    end, bad_end = _parse_dates(raw_end)
    if bad_start.any() or bad_date.any() or bad_end.any():
        text = _text(start_src)
        same_as_start = (_text(date_src) == text).fillna(True).to_numpy()
        end_same = (_text(raw_end) == text).fillna(False).to_numpy()
        for mask, values, column in ((bad_start & given_start, start_src, "date_start"),
                                     (bad_start & ~given_start, start_src, "date"),
                                     (bad_date & ~same_as_start, date_src, "date"),
                                     (bad_end & ~(end_same & bad_start), raw_end, "date_end")):
            if not mask.any():
                continue
            shown = _text(values)
            shaped = shown.str.match(r"^\d{4}-\d{1,2}-\d{1,2}").fillna(False).to_numpy()
            ctx.add(mask & shaped, column, _quote(shown) + " is not a real calendar date",
                    value=values)
            ctx.add(mask & ~shaped, column, _quote(shown)
                    + " is not a date (use YYYY-MM-DD, YYYY-MM or YYYY)", value=values)
    col_start = np.where(given_start, "date_start", "date")
    precision = out["date_precision"]
    need = precision.isna().to_numpy() & start_src.notna().to_numpy()
    if need.any():  # infer the precision from the date's form: YYYY, YYYY-MM, a range, a day
        if start_src.dtype.kind == "M":
            length = pd.Series(np.full(len(start_src), 10.0))
        else:
            length = start_src.str.len()
        inferred = np.select([(length == 4).fillna(False).to_numpy(),
                              (length == 7).fillna(False).to_numpy(),
                              (end.notna() & start.notna() & (end != start)).to_numpy()],
                             ["year", "month", "range"], "day")
        inferred = pd.Series(inferred, dtype="str").where(need, None)
    else:
        inferred = pd.Series([None] * len(precision), dtype="str")
    precision = precision.fillna(inferred)
    out["date_precision"] = precision
    unknown = (precision == "unknown").to_numpy()
    missing = start.isna().to_numpy() & ~bad_start & ~unknown
    ctx.add(missing, col_start, "date is empty (use date_precision 'unknown' when the source "
            "gives no date)", value="")
    # default end from the precision
    s = start.values
    m_end = ((s.astype("datetime64[M]") + 1).astype("datetime64[D]")
             - np.timedelta64(1, "D")).astype("datetime64[ns]")
    y_end = ((s.astype("datetime64[Y]") + 1).astype("datetime64[D]")
             - np.timedelta64(1, "D")).astype("datetime64[ns]")
    pv = precision.fillna("").to_numpy()
    default_end = np.where(pv == "month", m_end, np.where(pv == "year", y_end, s))
    end = end.where(end.notna(), pd.Series(default_end).astype("datetime64[ns]"))
    range_no_end = (pv == "range") & raw_end.isna().to_numpy() & start.notna().to_numpy()
    ctx.add(range_no_end, "date_end", "date_precision is 'range' but date_end is empty",
            value="")
    backwards = (end < start).fillna(False).to_numpy()
    ctx.add(backwards, "date_end", lambda: "date_end " + _quote(end.dt.strftime("%Y-%m-%d"))
            + " is before the start " + start.dt.strftime("%Y-%m-%d"))
    today = ctx.state.today
    future = (start > today).fillna(False).to_numpy()
    ctx.add(future, col_start, lambda: _quote(start.dt.strftime("%Y-%m-%d"))
            + f" is in the future (today is {today:%Y-%m-%d})", value=start_src)
    date = date.where(date.notna(), start)
    future_date = (date > today).fillna(False).to_numpy() & ~future
    ctx.add(future_date, "date", lambda: _quote(date.dt.strftime("%Y-%m-%d"))
            + f" is in the future (today is {today:%Y-%m-%d})")
    out["date"] = date
    out["date_start"] = start
    out["date_end"] = end


def _validate_fatalities(ev, out, ctx):
    values = {}
    for column in ("fatalities", "fatalities_low", "fatalities_high"):
        number, bad = _numbers(ev[column])
        ctx.add(bad, column, lambda c=column: _quote(_text(ev[c])) + " is not a number")
        negative = (number < 0).fillna(False).to_numpy()
        ctx.add(negative, column, lambda v=number: v.astype(str) + " is negative")
        values[column] = number.where(~negative)
        out[column] = values[column]
    low, best, high = (values[c] for c in ("fatalities_low", "fatalities", "fatalities_high"))
    crossed = (low > high).fillna(False).to_numpy()
    ctx.add(crossed, "fatalities_low", lambda: "low estimate " + low.astype(str)
            + " is above the high estimate " + high.astype(str))
    outside = ((best < low) | (best > high)).fillna(False).to_numpy() & ~crossed
    ctx.add(outside, "fatalities", lambda: "best estimate " + best.astype(str)
            + " is outside its low-high range", warn=True)


@functools.lru_cache(maxsize=1)
def _province_lookup():
    """Codes and English names of the 34 provinces, from the gazetteer."""
    from khorasan_map import gazetteer

    table = gazetteer.province_table()
    return dict(zip(table["province_code"], table["province"], strict=False))


def _resolve(values: pd.Series):
    """Resolve province text to codes; return codes (None unknown) and messages by text."""
    from khorasan_map import gazetteer
    from khorasan_map.errors import UnknownProvinceError

    uniques = pd.unique(values.dropna())
    if not len(uniques):
        return pd.Series([None] * len(values), dtype="str"), {}
    codes = gazetteer.resolve_provinces(list(uniques), errors="coerce")
    mapping = {u: (c if isinstance(c, str) and c else None)
               for u, c in zip(uniques, list(codes), strict=False)}
    messages = {}
    for text, code in mapping.items():
        if code is None:
            try:
                gazetteer.resolve_province(text)
                messages[text] = f"{text!r} is not a known Afghan province"
            except UnknownProvinceError as exc:
                messages[text] = str(exc)
    return values.map(mapping).astype("str"), messages


def _validate_provinces(ev, out, ctx):
    names = _province_lookup()
    name_text = out["province"]
    code_text = out["province_code"].str.upper()
    from_name, name_msgs = _resolve(name_text)
    unknown = name_text.notna() & from_name.isna()
    ctx.add(unknown, "province", lambda: name_text.map(name_msgs))
    known_code = code_text.isin(list(names))
    needs = code_text.notna() & ~known_code
    if needs.any():
        from_code, _ = _resolve(out["province_code"].where(needs))
        code_text = code_text.where(~needs, from_code)
        bad = needs & from_code.isna()
        ctx.add(bad, "province_code", lambda: _quote(out["province_code"])
                + " is not one of the 34 province codes (AF-KAB, AF-NAN, ...)")
    code_text = code_text.where(code_text.isin(list(names)), None)
    clash = code_text.notna() & from_name.notna() & (code_text != from_name)
    ctx.add(clash, "province_code", lambda: "province_code " + code_text.fillna("")
            + " disagrees with province " + _quote(name_text) + " (" + from_name.fillna("")
            + ")")
    code = code_text.fillna(from_name)
    out["province_code"] = code.astype("str")
    out["province"] = code.map(names).astype("str").where(code.notna(), name_text)
    return code


@functools.lru_cache(maxsize=1)
def _shapes():
    """Province polygons (prepared), names and the country outline with a border tolerance."""
    import shapely

    from khorasan_map.boundaries import load_provinces

    layer = load_provinces()
    geoms = dict(zip(layer["province_code"], layer.geometry.values, strict=True))
    for geom in geoms.values():
        shapely.prepare(geom)
    tolerance_deg = settings.BORDER_TOLERANCE_M / 111_000.0
    outline = shapely.union_all(list(geoms.values())).buffer(tolerance_deg)
    shapely.prepare(outline)
    names = dict(zip(layer["province_code"], layer["province"], strict=False))
    return geoms, names, outline


def _try_shapes():
    try:
        return _shapes()
    except Exception:  # boundaries unavailable: fall back to the bounding box
        return None


def _locate_points(lon, lat, geoms) -> np.ndarray:
    """Province code of each point (None outside every polygon), bbox-filtered contains_xy."""
    import shapely

    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    out = np.full(len(lon), None, dtype=object)
    todo = np.isfinite(lon) & np.isfinite(lat)
    for code, geom in geoms.items():
        minx, miny, maxx, maxy = geom.bounds
        idx = np.flatnonzero(todo & (lon >= minx) & (lon <= maxx) & (lat >= miny)
                             & (lat <= maxy))
        if idx.size:
            inside = shapely.contains_xy(geom, lon[idx], lat[idx])
            out[idx[inside]] = code
            todo[idx[inside]] = False
    return out


def _in_stated(lon, lat, codes, geoms) -> np.ndarray:
    """Whether each point lies in its own stated province (True where it cannot be checked)."""
    import shapely

    ok = np.ones(len(lon), dtype=bool)
    factor, uniques = pd.factorize(np.asarray(codes, dtype=object), use_na_sentinel=True)
    order = np.argsort(factor, kind="stable")
    bounds = np.searchsorted(factor[order], np.arange(len(uniques) + 1))
    for i, code in enumerate(uniques):
        if code not in geoms:
            continue
        idx = order[bounds[i]:bounds[i + 1]]
        ok[idx] = shapely.contains_xy(geoms[code], lon[idx], lat[idx])
    return ok


def _validate_coordinates(ev, out, ctx, codes):
    lat, bad_lat = _numbers(ev["latitude"])
    lon, bad_lon = _numbers(ev["longitude"])
    ctx.add(bad_lat, "latitude", lambda: _quote(_text(ev["latitude"])) + " is not a number")
    ctx.add(bad_lon, "longitude", lambda: _quote(_text(ev["longitude"])) + " is not a number")
    has_lat, has_lon = lat.notna().to_numpy(), lon.notna().to_numpy()
    ctx.add(has_lat & ~has_lon & ~bad_lon, "longitude",
            "latitude is given but longitude is empty", value="")
    ctx.add(has_lon & ~has_lat & ~bad_lat, "latitude",
            "longitude is given but latitude is empty", value="")
    both = has_lat & has_lon
    x, y = lon.to_numpy(), lat.to_numpy()
    minx, miny, maxx, maxy = settings.AFGHANISTAN_BOUNDS
    in_box = both & (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)
    shapes = _try_shapes()
    inside = in_box.copy()
    if shapes is not None and in_box.any():
        import shapely

        geoms, names, outline = shapes
        idx = np.flatnonzero(in_box)
        stated_ok = _in_stated(x[idx], y[idx], codes.to_numpy()[idx], geoms)
        check = idx[~stated_ok | pd.isna(codes.to_numpy()[idx])]
        if check.size:
            inside[check] = shapely.contains_xy(outline, x[check], y[check])
    outside = both & ~inside
    if outside.any():
        idx = np.flatnonzero(outside)
        sx, sy = y[idx], x[idx]  # swapped
        swap_box = (sx >= minx) & (sx <= maxx) & (sy >= miny) & (sy <= maxy)
        where = np.full(len(idx), "", dtype=object)
        if shapes is not None:
            geoms, names, outline = shapes
            found = _locate_points(sx, sy, geoms)
            swap_ok = swap_box & (found != None)  # noqa: E711 - elementwise on object array
            where = np.array([f" would be in {names[c]}" if c else "" for c in found],
                             dtype=object)
        else:
            swap_ok = swap_box
            where[:] = " would be inside Afghanistan"
        lat_out = (y[idx] < miny) | (y[idx] > maxy)
        lon_out = (x[idx] < minx) | (x[idx] > maxx)
        column = np.where(lat_out, "latitude", np.where(lon_out, "longitude",
                                                        "latitude, longitude"))
        reasons = []
        for i in range(len(idx)):
            if lat_out[i]:
                text = f"{y[idx][i]:g} is outside Afghanistan (latitude {miny}-{maxy})"
            elif lon_out[i]:
                text = f"{x[idx][i]:g} is outside Afghanistan (longitude {minx}-{maxx})"
            else:
                text = (f"the point ({y[idx][i]:g}, {x[idx][i]:g}) is outside Afghanistan, "
                        "beyond the border")
            if swap_ok[i]:
                text += (f"; latitude and longitude look swapped (latitude {sy[i]:g}, "
                         f"longitude {sx[i]:g}{where[i]})")
            reasons.append(text)
        reason = pd.Series(reasons, dtype=object)
        value = [f"{y[idx][i]:g}" if column[i] == "latitude" else
                 f"{x[idx][i]:g}" if column[i] == "longitude" else f"{y[idx][i]:g}, {x[idx][i]:g}"
                 for i in range(len(idx))]
        for col_name in ("latitude", "longitude", "latitude, longitude"):
            sel = column == col_name
            if sel.any():
                mask = np.zeros(len(x), dtype=bool)
                mask[idx[sel]] = True
                full_reason = pd.Series([""] * len(x), dtype=object)
                full_reason.iloc[idx[sel]] = reason[sel].to_numpy()
                full_value = pd.Series([""] * len(x), dtype=object)
                full_value.iloc[idx[sel]] = np.asarray(value, dtype=object)[sel]
                ctx.add(mask, col_name, full_reason, value=full_value)
    # location precision and presence
    precision = out["location_precision"]
    default = pd.Series(np.where(both, "exact", "province"), dtype="str")
    lost = precision.isin(settings.POINT_PRECISIONS).to_numpy() & ~both & ~bad_lat & ~bad_lon
    ctx.add(lost & ~(has_lat ^ has_lon), "location_precision",
            lambda: "location_precision " + _quote(precision)
            + " without coordinates; read as 'province'", warn=True)
    precision = precision.where(~lost, "province").fillna(default)
    out["location_precision"] = precision
    nowhere = ~both & codes.isna().to_numpy() & out["province"].isna().to_numpy()
    ctx.add(nowhere & ~bad_lat & ~bad_lon & ~(has_lat ^ has_lon), "province",
            "no location: give a province or latitude and longitude", value="")
    # disagreement warning
    if shapes is not None:
        geoms, names, _ = shapes
        point = both & inside & precision.isin(settings.POINT_PRECISIONS).to_numpy()
        point &= codes.notna().to_numpy()
        idx = np.flatnonzero(point)
        if idx.size:
            ok = _in_stated(x[idx], y[idx], codes.to_numpy()[idx], geoms)
            wrong = idx[~ok]
            if wrong.size:
                found = _locate_points(x[wrong], y[wrong], geoms)
                mask = np.zeros(len(x), dtype=bool)
                reason = pd.Series([""] * len(x), dtype=object)
                for i, code in zip(wrong, found, strict=False):
                    if code is None:
                        continue
                    stated = codes.iloc[i]
                    mask[i] = True
                    reason.iloc[i] = (f"stated province {names.get(stated, stated)} ({stated}) "
                                      f"but the point ({y[i]:g}, {x[i]:g}) is in "
                                      f"{names[code]} ({code})")
                ctx.add(mask, "province", reason, warn=True, value=out["province"])
    out["latitude"] = lat
    out["longitude"] = lon


def _matches(series: pd.Series, pattern: str) -> np.ndarray:
    """Whether each text matches ``pattern`` (RE2 through pyarrow; missing counts as a match)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.array(series.to_numpy(dtype=object, na_value=None), type=pa.string())
    found = pc.match_substring_regex(array, pattern)
    return np.asarray(found.fill_null(True).to_numpy(zero_copy_only=False), dtype=bool)


def _validate_urls(out, ctx):
    url = out["source_url"]
    ok = _matches(url, _URL_OK.pattern)
    bad = url.notna().to_numpy() & ~ok
    if not bad.any():
        return
    scheme = url.str.extract(r"^\s*([A-Za-z][A-Za-z0-9+.\-]*):", expand=False).str.lower()
    reason = np.where(
        scheme.isin(["http", "https"]).to_numpy(),
        "is not a well-formed http(s) URL (spaces, quotes or angle brackets?)",
        np.where(scheme.notna().to_numpy(),
                 "uses the '" + scheme.fillna("") + ":' scheme; only http:// and https:// "
                 "links are kept",
                 "is not an absolute http(s) URL (relative links cannot be followed)"))
    ctx.add(bad, "source_url",
            lambda: _quote(url.fillna("")) + " " + pd.Series(reason, dtype=object))
    out["source_url"] = url.where(~bad, None)


def _empty_events():
    return pd.DataFrame({c: pd.Series(dtype="str") for c in EVENT_COLUMNS})


def _final_types(events: pd.DataFrame) -> pd.DataFrame:
    """Give the events their schema dtypes and column order."""
    events = events.reindex(columns=list(EVENT_COLUMNS))
    for c in ("date", "date_start", "date_end"):
        events[c] = pd.to_datetime(events[c]).astype("datetime64[ns]")
    for c in _NUMBER_COLUMNS:
        events[c] = pd.to_numeric(events[c]).astype("float64")
    for c in _TEXT_COLUMNS:
        events[c] = events[c].astype("str")
    return events.reset_index(drop=True)


