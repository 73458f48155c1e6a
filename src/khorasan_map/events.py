"""Event records: one schema, readers for our own files, ACLED and UCDP GED, and validation.

Every event the toolkit handles, whatever file it came from, ends up in the columns of
:data:`EVENT_COLUMNS`. :func:`read_events` reads a file (CSV, GeoJSON, GeoPackage, Parquet or
GeoParquet), several files, or a DataFrame already in memory; recognises ACLED and UCDP GED
exports by their columns; maps them to the schema; and validates every row. Each input row ends
up either valid or rejected with its row number, column and reason: nothing is dropped silently.

Row numbers are 1-based data rows: the first row under the header is row 1.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd

from khorasan_map import acled, readers, settings, ucdp
from khorasan_map.errors import EventValidationError, InputFileError
from khorasan_map.parsing import arrow_text, as_text, column_or_empty, quoted
from khorasan_map.schema import (
    EVENT_COLUMNS,
    GEOMETRY_COLUMN,
    MAX_LISTED,
    OTHER_KIND,
    POLYGON_RULES,
    REPORT_COLUMNS,
    REQUIRED_COLUMNS,
    empty_events,
    empty_report,
    final_types,
)
from khorasan_map.sources import input_sources
from khorasan_map.validate import (
    ProblemLog,
    concat_reports,
    format_lines,
    rejected_rows,
    rejection_message,
    validate_rows,
)

__all__ = [
    "EVENT_COLUMNS",
    "MAX_LISTED",
    "OTHER_KIND",
    "REQUIRED_COLUMNS",
    "REPORT_COLUMNS",
    "ValidationResult",
    "read_events",
    "detect_format",
    "rejected_reasons",
]

#: Old names kept for code that imported them from here before the reading stages got modules
#: of their own (see the README): the schema helpers now live in :mod:`khorasan_map.schema`.
_empty_events = empty_events
_final_types = final_types
_empty_report = empty_report

_FORMATS = ("auto", "khorasan", "acled", "ucdp")


_ALIASES = {"lat": "latitude", "lon": "longitude", "lng": "longitude", "long": "longitude",
            "url": "source_url"}


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
    problems: pd.DataFrame = dataclasses.field(default_factory=lambda: empty_report())

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
        return format_lines(report, limit, several=len(self.sources) > 1)


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
    if acled.SIGNATURE <= names:
        return "acled"
    if ucdp.SIGNATURE <= names:
        return "ucdp"
    return "khorasan"


def read_events(
    source=None,
    *,
    format: str = "auto",
    on_invalid: str = "raise",
    keep_all: bool = False,
    ucdp_government_from: str | None = "shift_date",
    today=None,
    progress: bool | None = None,
    chunksize: int = 250_000,
    layer: str | None = None,
    polygons: str = "refuse",
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
        Taliban-vs-ISK clashes; earlier rows of that dyad involve the former republic and are
        left out. The default "shift_date" reads :data:`settings.SHIFT_DATE` (2021-08-15) when
        called; None switches the rule off.
    today : str, datetime.date or pandas.Timestamp, optional
        Dates after this day are rejected as in the future (default: today).
    progress : bool or None
        Show a progress bar on stderr. None: only when stderr is a terminal.
    chunksize : int
        Rows read and validated at a time; a large CSV or Parquet file is streamed in chunks,
        and ACLED/UCDP rows are filtered per chunk, so the whole file never sits in memory.
    layer : str, optional
        The layer of a GeoPackage that holds several (the message lists them when it is
        missing); the only layer is read without it.
    polygons : {"refuse", "representative_point"}
        A polygon, line or other shape where an event's point should be: "refuse" rejects the
        row, naming it; "representative_point" places the event at a point inside the shape
        (:func:`shapely.point_on_surface`) with ``location_precision`` lowered to "district"
        (or kept at "district"/"province"), and warns.

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
    if polygons not in POLYGON_RULES:
        raise ValueError(f"polygons must be one of {', '.join(POLYGON_RULES)}, not {polygons!r}")
    if int(chunksize) < 1:
        raise ValueError(f"chunksize must be a positive number of rows, not {chunksize!r}")
    state = _State(
        polygons=polygons,
        keep_all=keep_all,
        government_from=None if ucdp_government_from is None
        else pd.Timestamp(settings.SHIFT_DATE if ucdp_government_from == "shift_date"
                          else ucdp_government_from),
        today=pd.Timestamp.today().normalize() if today is None
        else pd.Timestamp(today).normalize(),
    )
    for label, item, dataset in input_sources(source):
        state.start(label, dataset)
        state.requested = format
        for chunk in readers.read_chunks(item, label, int(chunksize), progress, state,
                                         layer=layer):
            state.add(chunk, format)
            del chunk
            _release_memory()
    result = state.result()
    if on_invalid == "report":
        return result
    for line in result.messages("warnings", limit=5):
        warnings.warn(line, UserWarning, stacklevel=2)
    if len(result.rejected):
        message = rejection_message(len(result.rejected), result.n_input,
                                    result.messages("problems", limit=MAX_LISTED),
                                    len(result.problems))
        raise EventValidationError(message, rejected=result.rejected)
    return result.events


class _State:
    """Collects valid events, problems and warnings across chunks and files."""

    def __init__(self, keep_all, government_from, today, polygons="refuse"):
        self.polygons = polygons
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
        _check_distinct(list(columns), self.label)
        columns = list(_normalise_columns(pd.DataFrame(columns=list(columns))).columns)
        self.fmt = detect_format(columns) if fmt == "auto" else fmt
        _check_columns(columns, self.fmt, self.label)

    def filter_columns(self, names):
        """Columns the ACLED/UCDP filter needs (empty when every row is kept)."""
        if self.keep_all or self.fmt not in ("acled", "ucdp"):
            return []
        wanted = acled.FILTER_COLUMNS if self.fmt == "acled" else ucdp.FILTER_COLUMNS
        return [n for n in names if str(n).strip().lower() in wanted]

    def keep_mask(self, small):
        """Apply the ACLED/UCDP filter to a frame of its columns; count the rows left out."""
        small = _normalise_columns(small)
        if self.fmt == "acled":
            mask = acled.keep_mask(small, self.keep_all, self.government_from is not None)
        else:
            mask = ucdp.keep_mask(small, self.keep_all, self.government_from)
        self.n_read += int(len(mask) - mask.sum())
        return mask

    def add(self, raw, fmt):
        if self.fmt is None:
            self.set_format([c for c in raw.columns if c != "_row"], fmt)
        raw = _normalise_columns(raw)
        self.n_read += len(raw)
        ctx = ProblemLog(self)
        if self.fmt == "acled":
            raw = raw[acled.keep_mask(raw, self.keep_all, self.government_from is not None)]
            frame = acled.to_schema(raw, ctx)
        elif self.fmt == "ucdp":
            raw = raw[ucdp.keep_mask(raw, self.keep_all, self.government_from)]
            frame = ucdp.to_schema(raw, ctx)
        else:
            frame = _from_khorasan(raw, self.dataset)
        if GEOMETRY_COLUMN in raw.columns:  # shapes that are not points, named by the reader
            frame[GEOMETRY_COLUMN] = raw[GEOMETRY_COLUMN].to_numpy()
        self.n_input += len(raw)
        if not len(frame):
            return
        ctx.ids = frame["event_id"]
        valid = validate_rows(frame, ctx)
        self._check_duplicates(valid, ctx)
        problems = ctx.report(ctx.problems)
        warns = ctx.report(ctx.warns)
        bad = problems["row"].unique() if len(problems) else np.array([], dtype=int)
        is_bad = valid["_row"].isin(bad).to_numpy()
        self.events.append(final_types(valid.loc[~is_bad, list(EVENT_COLUMNS)]))
        del valid, frame
        if len(problems):
            self.problems.append(problems)
            self.rejected.append(rejected_rows(problems, raw))
        if len(warns):
            warns = warns[~warns["row"].isin(bad)]
            self.warnings.append(warns)

    def _check_duplicates(self, frame, ctx):
        ids = frame["event_id"]
        has = ids.notna().to_numpy()
        several = len(self.sources) > 1
        within = has & ids.duplicated(keep="first").to_numpy()
        earlier = has & ~within
        earlier &= self._seen_before(ids)
        if within.any():
            first_row = frame["_row"].where(has).groupby(ids).transform("first")
            where = (self.label + " " if several else "") + "row " + first_row[within].astype(
                "int64").astype(str)
            ctx.add(within, "event_id", lambda: "duplicate event id " + quoted(ids[within])
                    + " (first used in " + where + ")")
        if earlier.any():
            first = ids[earlier].map(self._seen_label)
            ctx.add(earlier, "event_id", lambda: "duplicate event id " + quoted(ids[earlier])
                    + " (first used in " + first + ")")
        new = has & ~within & ~earlier
        kept = ids[new]
        self.seen_chunks.append((self.label, arrow_text(kept), frame["_row"][new].to_numpy()))

    def _seen_before(self, ids) -> np.ndarray:
        """Return which ids an earlier chunk already used (one hash of this chunk's ids)."""
        if not self.seen_chunks:
            return np.zeros(len(ids), dtype=bool)
        import pyarrow as pa
        import pyarrow.compute as pc

        known = pa.chunked_array([c[1] for c in self.seen_chunks])
        new = arrow_text(ids)
        again = pc.is_in(known, value_set=new)  # probe the earlier ids in this chunk's table
        if not pc.any(again).as_py():
            return np.zeros(len(ids), dtype=bool)
        found = pc.is_in(new, value_set=known.filter(again).combine_chunks())
        return np.asarray(found.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)

    def _seen_label(self, event_id):
        for label, ids, rows in self.seen_chunks:
            where = np.flatnonzero(ids.to_numpy(zero_copy_only=False) == event_id)
            if where.size:
                return (f"{label} " if len(self.sources) > 1 else "") + f"row {rows[where[0]]}"
        return "an earlier row"  # pragma: no cover - every seen id is in a chunk

    def result(self):
        events = (pd.concat(self.events, ignore_index=True) if len(self.events) > 1
                  else self.events[0].reset_index(drop=True) if self.events
                  else final_types(empty_events()))
        self.events = []
        problems = concat_reports(self.problems)
        rejected = concat_reports(self.rejected)
        warns = concat_reports(self.warnings)
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


def _plural(n, word):
    return f"{n:,} {word}" + ("" if n == 1 else "s")


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


def _check_distinct(columns, label):
    """Refuse a header whose names differ only in case or spacing ("Province,province")."""
    seen: dict[str, list] = {}
    for col in columns:
        name = str(col).strip().lower().replace(" ", "_").lstrip("\ufeff")
        seen.setdefault(name, []).append(str(col))
    clashes = [names for names in seen.values() if len(names) > 1]
    if clashes:
        shown = "; ".join(" and ".join(repr(n) for n in names) for names in clashes)
        raise InputFileError(f"{label} has columns that differ only in case or spacing: {shown} "
                             "(names are read case-insensitively); rename or drop one of each")


def _check_columns(columns, fmt, label):
    """Raise InputFileError naming the required columns that are missing."""
    found = [c for c in columns if c != "_row"]
    names = set(found)
    if fmt == "acled":
        missing = [c for c in acled.REQUIRED if c not in names]
    elif fmt == "ucdp":
        missing = [c for c in ucdp.REQUIRED if c not in names]
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


def _from_khorasan(raw: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Map the project's own schema: keep its columns, fill the missing ones."""
    n = len(raw)
    out = pd.DataFrame({c: column_or_empty(raw, c, n) for c in EVENT_COLUMNS})
    out["_row"] = raw["_row"].to_numpy()
    ds = as_text(out["dataset"])
    out["dataset"] = ds.fillna(dataset)
    return out
