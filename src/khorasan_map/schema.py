"""The event schema: its columns, the report columns, and the dtypes every reader ends with.

:mod:`khorasan_map.events` re-exports these names; this module exists so that the readers, the
ACLED and UCDP mappers and the validation rules can share them without importing each other.
"""

from __future__ import annotations

import functools

import pandas as pd

from khorasan_map.parsing import column_or_empty

__all__ = [
    "EVENT_COLUMNS",
    "GEOMETRY_COLUMN",
    "POLYGON_RULES",
    "MAX_LISTED",
    "NUMBER_COLUMNS",
    "OTHER_KIND",
    "REPORT_COLUMNS",
    "REQUIRED_COLUMNS",
    "TEXT_COLUMNS",
    "blank_events",
    "empty_events",
    "empty_report",
    "final_types",
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


#: Column a reader adds naming each row's geometry type when it is not a point (else empty).
GEOMETRY_COLUMN: str = "_geometry"

#: What ``read_events(polygons=...)`` may do with a polygon (or a line) in an event file:
#: refuse the row, or place it at a point inside the shape at a lower precision.
POLYGON_RULES: tuple[str, ...] = ("refuse", "representative_point")

#: Schema columns held as text.
TEXT_COLUMNS: tuple[str, ...] = (
    "event_id", "date_precision", "kind", "actor1", "actor2", "province_code", "province",
    "district", "location_precision", "description", "source_name", "source_title",
    "source_date", "source_url", "confidence", "dataset",
)


#: Schema columns held as float64.
NUMBER_COLUMNS: tuple[str, ...] = (
    "latitude", "longitude", "fatalities", "fatalities_low", "fatalities_high",
)


def empty_report() -> pd.DataFrame:
    """Return an empty report with the :data:`REPORT_COLUMNS`."""
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else "str")
                         for c in REPORT_COLUMNS})


def empty_events() -> pd.DataFrame:
    """Return an empty events table with the :data:`EVENT_COLUMNS`, all text."""
    return pd.DataFrame({c: pd.Series(dtype="str") for c in EVENT_COLUMNS})


def final_types(events: pd.DataFrame) -> pd.DataFrame:
    """Give the events their schema dtypes and column order."""
    events = events.reindex(columns=list(EVENT_COLUMNS))
    for c in ("date", "date_start", "date_end"):
        events[c] = pd.to_datetime(events[c]).astype("datetime64[ns]")
    for c in NUMBER_COLUMNS:
        events[c] = pd.to_numeric(events[c]).astype("float64")
    for c in TEXT_COLUMNS:
        events[c] = events[c].astype("str")
    return events.reset_index(drop=True)


def blank_events(raw: pd.DataFrame):
    """Return an all-empty schema frame for the rows of ``raw``, and a getter of its columns.

    The start of every format's mapping (ACLED, UCDP): ``out`` has :data:`EVENT_COLUMNS` as
    empty text plus ``_row`` from ``raw``; ``col(name)`` returns ``raw[name]`` with a fresh
    index, or missing values when ``raw`` has no such column.

    Parameters
    ----------
    raw : pandas.DataFrame
        Rows as read, with ``_row``.

    Returns
    -------
    tuple
        ``(out, col)``.
    """
    n = len(raw)
    out = pd.DataFrame({c: pd.Series([None] * n, dtype="str") for c in EVENT_COLUMNS})
    out["_row"] = raw["_row"].to_numpy()
    return out, functools.partial(column_or_empty, raw, n=n)
