"""Cell-level parsing shared by the readers, the ACLED/UCDP mappers and validation.

Text, numbers and dates arrive in many shapes (Arrow strings, floats, datetimes); these helpers
turn a column into trimmed text, float64 or datetime64 the same way wherever it is read.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "TEXT_DTYPE",
    "arrow_text",
    "as_text",
    "by_unique",
    "column_or_empty",
    "in_afghanistan",
    "iso_or_text",
    "norm_token",
    "EARLIEST_DATE",
    "LATEST_DATE",
    "WORDED_FORMS",
    "out_of_range",
    "parse_dates",
    "parse_numbers",
    "quoted",
]

#: The text dtype every schema text column ends with (Arrow-backed, NaN for missing).
TEXT_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)


def arrow_text(series: pd.Series):
    """Return the text of a Series as one pyarrow large_string array (zero-copy when it can).

    Parameters
    ----------
    series : pandas.Series
        Text (Arrow-backed or Python strings, missing values as None or NaN).

    Returns
    -------
    pyarrow.LargeStringArray

    Raises
    ------
    pyarrow.ArrowInvalid, pyarrow.ArrowTypeError
        When a value is not text.
    """
    import pyarrow as pa

    try:
        array = pa.Array.from_pandas(series)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        array = pa.array(series.to_numpy(dtype=object, na_value=None), type=pa.string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array.cast(pa.large_string())


def _from_arrow(array, index=None) -> pd.Series:
    """Wrap a pyarrow string array as a Series of :data:`TEXT_DTYPE`."""
    import pyarrow as pa

    values = pd.arrays.ArrowStringArray(pa.chunked_array([array.cast(pa.large_string())]))
    return pd.Series(values.astype(TEXT_DTYPE), index=index)


def as_text(series) -> pd.Series:
    """Return trimmed text with empty strings as missing (numbers and days as text)."""
    if series.dtype.kind in "iub":
        out = series.astype("str")
    elif series.dtype.kind == "f":
        out = by_unique(series, lambda u: u.astype("float64").map("{:g}".format))
    elif series.dtype.kind == "M":
        out = series.dt.strftime("%Y-%m-%d").astype("str")
    else:
        out = series
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        array = arrow_text(out)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed Python objects: text them first
        array = arrow_text(out.astype("str"))
    trimmed = pc.utf8_trim_whitespace(array)
    blank = pc.equal(trimmed, "")
    if pc.any(blank).as_py():
        trimmed = pc.if_else(blank, pa.scalar(None, pa.large_string()), trimmed)
    return _from_arrow(trimmed, index=series.index)


def column_or_empty(raw, name, n):
    """Return column ``name`` of ``raw`` with a fresh index, or ``n`` missing values."""
    if name in raw.columns:
        return raw[name].reset_index(drop=True)
    return pd.Series([None] * n, dtype="str")


def by_unique(series: pd.Series, func) -> pd.Series:
    """Apply a text function to the distinct values only (fast on repetitive columns)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    if len(uniques) == 0:
        return series
    mapped = np.asarray(func(pd.Series(uniques, dtype="str")).astype(object), dtype=object)
    table = pa.array([None if pd.isna(v) else str(v) for v in mapped], type=pa.large_string())
    return _from_arrow(pc.take(table, pa.array(codes, mask=codes < 0)))


def norm_token(series, trimmed=False):
    """Return lower-case text with spaces and hyphens as underscores ("Near " -> "near").

    ``trimmed=True`` says the text already went through :func:`as_text`.
    """
    return by_unique(series if trimmed else as_text(series),
                      lambda u: u.str.lower().str.replace(r"[\s\-]+", "_", regex=True))


def parse_numbers(series):
    """Numbers from text; return floats and the mask of non-empty text that is not a number."""
    if series.dtype.kind in "fiu":
        values = series.astype("float64").reset_index(drop=True)
        return values, np.zeros(len(values), dtype=bool)
    import pyarrow as pa
    import pyarrow.compute as pc

    text = as_text(series)
    try:  # fast path: every value is a number or empty
        array = pa.Array.from_pandas(text)
        values = pd.Series(pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        values = pd.to_numeric(text, errors="coerce").astype("float64")
    values = values.where(np.isfinite(values))
    return values, (values.isna() & text.notna()).to_numpy()


def quoted(values: pd.Series) -> pd.Series:
    """Return each value in single quotes, for messages."""
    return "'" + values.astype(str) + "'"


#: The first and last days a date may fall on (the span of pandas' nanosecond timestamps).
EARLIEST_DATE: pd.Timestamp = pd.Timestamp.min.ceil("D")
LATEST_DATE: pd.Timestamp = pd.Timestamp.max.floor("D")

#: Day-first forms tried after ISO dates, "15 March 2019" and "15 Mar 2019".
WORDED_FORMS: tuple[str, ...] = ("%d %B %Y", "%d %b %Y")


def _in_range(dates: pd.Series) -> pd.Series:
    """Return the dates with those outside :data:`EARLIEST_DATE`-:data:`LATEST_DATE` as NaT."""
    dates = dates.reset_index(drop=True)
    if dates.dtype.kind == "M":
        unit = np.datetime_data(dates.dtype)[0]
        low = np.datetime64(EARLIEST_DATE.date(), unit)
        high = np.datetime64(LATEST_DATE.date(), unit)
        values = dates.to_numpy()
        dates = dates.where((values >= low) & (values <= high))
    return dates.astype("datetime64[ns]")


def _iso_days(day: pd.Series) -> pd.Series:
    """Parse YYYY-MM-DD days in Arrow (fast); anything else, or no real day, is NaT."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = arrow_text(day)
    parsed = pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True)
    # strptime rolls 2019-02-30 over into March: keep only ten-character days whose day of the
    # month reads back as written
    day_text = pc.utf8_lpad(pc.cast(pc.day(parsed), pa.large_string()), width=2, padding="0")
    real = pc.and_(pc.equal(pc.utf8_length(text), 10),
                   pc.equal(day_text, pc.utf8_slice_codeunits(text, 8, 10)))
    real = pc.fill_null(real, False)
    parsed = pc.if_else(real, parsed, pa.scalar(None, parsed.type))
    return _in_range(pd.Series(parsed.to_numpy(zero_copy_only=False)))


def parse_dates(values: pd.Series, forms=(), trimmed=False):
    """Parse ISO dates (and "15 March 2019"); return datetimes and the bad-text mask.

    A time after the date ("2017-07-31 00:00:00.000", "2021-08-26T12:00:00+04:30") is
    ignored: events are dated by calendar day, as the source wrote it. A date outside
    :data:`EARLIEST_DATE`-:data:`LATEST_DATE` (9999-12-31, 0001-01-01) is bad, never an error.

    Parameters
    ----------
    values : pandas.Series
        Text, or datetimes already.
    forms : tuple of str
        More ``strptime`` forms to try, after ISO and :data:`WORDED_FORMS` (ACLED's
        "9-May-20" is ``"%d-%b-%y"``).
    trimmed : bool
        The text already went through :func:`as_text`.

    Returns
    -------
    dates : pandas.Series
        datetime64[ns], normalised to the day; NaT where not parsed.
    bad : numpy.ndarray
        Boolean: text (or a datetime) that gave no usable date.
    """
    if values.dtype.kind == "M":
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_localize(None)  # keep the local calendar date
        out = _in_range(values).dt.normalize()
        return out, (out.isna() & values.reset_index(drop=True).notna()).to_numpy()
    text = (values if trimmed else as_text(values)).reset_index(drop=True)
    day = text
    long = (text.str.len() > 10).fillna(False)
    if long.any():
        timed = (long & text.str.slice(10, 11).isin(["T", " "])
                 & text.str.match(r"^\d{4}-\d{2}-\d{2}")).fillna(False)
        day = text.where(~timed, text.str.slice(0, 10))
    out = _iso_days(day)
    rest = out.isna() & day.notna()
    if rest.any():  # months, years and other ISO forms
        iso = _in_range(pd.to_datetime(day[rest], format="ISO8601", errors="coerce"))
        out = out.where(~rest, iso.set_axis(day.index[rest]).reindex(day.index))
    for form in (*WORDED_FORMS, *forms):
        failed = out.isna() & text.notna()
        if not failed.any():
            break
        second = _in_range(pd.to_datetime(text[failed], format=form, errors="coerce"))
        out = out.where(~failed, second.set_axis(text.index[failed]).reindex(text.index))
    out = out.astype("datetime64[ns]")
    return out, (out.isna() & text.notna()).to_numpy()


def out_of_range(values: pd.Series) -> np.ndarray:
    """Return which texts are real calendar dates outside the supported span.

    Parameters
    ----------
    values : pandas.Series
        Date texts (or datetimes) that :func:`parse_dates` found bad.

    Returns
    -------
    numpy.ndarray
        Boolean, per value.
    """
    if values.dtype.kind == "M":
        return values.notna().to_numpy()
    text = as_text(values).str.slice(0, 10)
    shaped = text.str.fullmatch(r"-?\d{4}-\d{2}-\d{2}").fillna(False).to_numpy()
    result = np.zeros(len(text), dtype=bool)
    for i in np.flatnonzero(shaped):  # few: only rows already found bad
        year, month, day = (int(p) for p in text.iloc[i].lstrip("-").split("-"))
        try:
            pd.Timestamp(2000, month, min(day, 28))
            real = 1 <= day <= [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        except ValueError:
            real = False
        result[i] = real and not (EARLIEST_DATE.year < year < LATEST_DATE.year)
    return result


def iso_or_text(dates: pd.Series, fallback: pd.Series) -> pd.Series:
    """ISO date text where parsed, the original text where not."""
    text = dates.dt.strftime("%Y-%m-%d").astype("str")
    return text.where(dates.notna(), fallback)


def in_afghanistan(raw, id_column, id_value, name_column):
    """Rows whose country column (when there is one) says Afghanistan; empty counts as yes."""
    if id_column in raw.columns:
        ident = as_text(raw[id_column]).str.replace(r"\.0$", "", regex=True)
        return np.asarray((ident.isna() | (ident == id_value)).fillna(True), dtype=bool)
    if name_column in raw.columns:
        name = as_text(raw[name_column]).str.lower()
        return np.asarray((name.isna() | (name == "afghanistan")).fillna(True), dtype=bool)
    return np.ones(len(raw), dtype=bool)
