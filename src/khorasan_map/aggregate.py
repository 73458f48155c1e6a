"""Filter events, count them per province, and answer "in how many provinces?".

Three public functions, each built on the one before:

- :func:`filter_events` keeps the events inside a time window, of the chosen kinds and at or
  above a confidence grade, and says why every other event was left out.
- :func:`summarize` counts the kept events per province (or per province and year), with every
  province of the boundary layer present, zeros included.
- :func:`coverage` answers the question the toolkit exists for: in how many of the provinces were
  Taliban-ISK clashes (or any chosen kinds) recorded, with a sentence maps and reports can reuse,
  counts by year and a before/after split.

Rules, stated once:

- **Windows are inclusive and use overlap.** An event is inside ``[since, until]`` when its date
  range ``[date_start, date_end]`` overlaps the window, so an event known only to "March 2019" is
  kept by a window from 2019-03-20. ``until`` includes the whole day; ``since`` and ``until``
  given as ``"YYYY"`` or ``"YYYY-MM"`` strings mean the whole year or month (``until="2020"`` is
  2020-12-31). A missing ``date_start``/``date_end`` falls back to ``date``.
- **Unknown dates.** An event whose date is unknown is kept when no window is asked for and left
  out ("date unknown (cannot place in a window)") when one is. It never counts in a year or in
  either half of a before/after split.
- **One reason per left-out event**, the first that applies, in this order: kind, confidence,
  unknown date, before ``since``, after ``until``; then, after the join, no province.
- **Years and first/last dates** come from ``date`` (the best single date, the start of a range).
  With a window, an event that began before ``since`` but overlaps the window counts in the
  year of ``since`` (its first/last dates stay as recorded).
- **Nothing disappears:** ``n_events + n_left_out`` equals the number of input events.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import difflib
import re
from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from khorasan_map import settings
from khorasan_map.dataset import SHIPPED_DATASET

__all__ = [
    "Coverage",
    "FilterResult",
    "Tally",
    "coverage",
    "coverage_sentence",
    "events_frame",
    "filter_events",
    "finish_coverage",
    "finish_summary",
    "kinds_noun",
    "parse_date",
    "parse_kinds",
    "percent",
    "summarize",
    "tally",
    "tally_events",
]

#: The kind name that selects every kind outside :data:`settings.EVENT_KINDS`.
OTHER_KIND = "other"

#: Plural nouns for the coverage sentence, one per known kind.
KIND_NOUNS: dict[str, str] = {
    "clash": "clashes",
    "defection": "defections",
    "isk_attack_on_taliban": "ISK attacks on the Taliban",
    "taliban_raid_on_isk": "Taliban raids on ISK",
    "taliban_killing_of_suspected_isk": "Taliban killings of suspected ISK members",
}

#: Reasons an event is left out (``date unknown`` and confidence reasons are built from these).
REASON_BEFORE = "before since"
REASON_AFTER = "after until"
REASON_KIND = "kind not selected"
REASON_DATE_UNKNOWN = "date unknown (cannot place in a window)"
REASON_YEAR_UNKNOWN = "date unknown (cannot place in a year)"
REASON_UNASSIGNED = "no province (unassigned by the join)"
REASON_NOT_IN_LAYER = "province not in the boundary layer"

_YEAR_RE = re.compile(r"^\s*(\d{4})\s*$")
_MONTH_RE = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


# --------------------------------------------------------------------------------------------
# Small parsers
# --------------------------------------------------------------------------------------------


def parse_date(value, *, end=False, name="date"):
    """Turn a user's date into a day-precision :class:`pandas.Timestamp`.

    Parameters
    ----------
    value : str, datetime.date, datetime.datetime, numpy.datetime64, pandas.Timestamp or None
        The date. Strings may be ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``.
    end : bool, default False
        For ``YYYY`` and ``YYYY-MM`` strings, give the last day of the year or month instead of
        the first (used for ``until``).
    name : str, default "date"
        What the value is called in the error message (for example ``"since"``).

    Returns
    -------
    pandas.Timestamp or None
        Midnight of the day, time-zone naive; None when ``value`` is None or empty.

    Raises
    ------
    ValueError
        When the value is not a date.

    Examples
    --------
    >>> parse_date("2021-08-15")
    Timestamp('2021-08-15 00:00:00')
    >>> parse_date("2020", end=True)
    Timestamp('2020-12-31 00:00:00')
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        year = _YEAR_RE.match(text)
        month = _MONTH_RE.match(text)
        try:
            if year:
                ts = pd.Timestamp(int(year.group(1)), 12 if end else 1, 31 if end else 1)
            elif month:
                ts = pd.Timestamp(int(month.group(1)), int(month.group(2)), 1)
                if end:
                    ts = ts + pd.offsets.MonthEnd(0)
            else:
                ts = pd.Timestamp(text)
        except (ValueError, OverflowError):
            ts = None
        if ts is None or pd.isna(ts):
            raise ValueError(_not_a_date(value, name))
    else:
        if not isinstance(value, (_dt.date, np.datetime64, pd.Timestamp)):
            raise ValueError(_not_a_date(value, name))
        ts = pd.Timestamp(value)
        if pd.isna(ts):
            return None
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def _not_a_date(value, name):
    prefix = f"{name} " if name else ""
    return f"{prefix}{value!r} is not a date (use YYYY-MM-DD, YYYY-MM or YYYY)"


def parse_kinds(kinds, present=()):
    """Check and normalise a choice of event kinds.

    Parameters
    ----------
    kinds : None, str or iterable of str
        None or ``"all"`` for every kind; a comma-separated string (``"clash,defection"``) or a
        list of kind names. ``"other"`` selects every kind outside
        :data:`khorasan_map.settings.EVENT_KINDS`.
    present : iterable of str, optional
        Kinds found in the data; any of them is also accepted by name.

    Returns
    -------
    tuple of str or None
        The kinds, lower-cased, in the order given without repeats; None for every kind.

    Raises
    ------
    ValueError
        For an unknown kind (the message lists the valid ones) or an empty choice.

    Examples
    --------
    >>> parse_kinds("clash, defection")
    ('clash', 'defection')
    >>> parse_kinds("all") is None
    True
    """
    if kinds is None:
        return None
    if isinstance(kinds, str):
        names = kinds.split(",")
    elif isinstance(kinds, Iterable):
        names = []
        for item in kinds:
            names.extend(str(item).split(","))
    else:
        raise ValueError(f"kinds must be a list or a comma-separated string, not {kinds!r}")
    names = [n.strip().lower() for n in names if n.strip()]
    if not names:
        raise ValueError(f"no kind given; valid kinds: {', '.join(_valid_kinds(present))}")
    if "all" in names:
        return None
    valid = _valid_kinds(present)
    unknown = [n for n in names if n not in valid]
    if unknown:
        bad = unknown[0]
        close = difflib.get_close_matches(bad, valid, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown kind {bad!r}{hint}; valid kinds: {', '.join(valid)}")
    return tuple(dict.fromkeys(names))


def _valid_kinds(present=()):
    known = list(settings.EVENT_KINDS) + [OTHER_KIND]
    extra = sorted({str(k).lower() for k in present if isinstance(k, str)} - set(known))
    return known + extra + ["all"]


def parse_confidence(min_confidence):
    """Check a confidence grade; return it lower-cased, or None for None.

    Raises
    ------
    ValueError
        For a grade outside :data:`khorasan_map.settings.CONFIDENCE_LEVELS` (they are listed).
    """
    if min_confidence is None:
        return None
    level = str(min_confidence).strip().lower()
    if level not in settings.CONFIDENCE_LEVELS:
        raise ValueError(
            f"min_confidence {min_confidence!r} is not a confidence level; "
            f"valid levels: {', '.join(settings.CONFIDENCE_LEVELS)}"
        )
    return level


def parse_by(by):
    """Return True for ``("province", "year")``, False for ``"province"``; else raise ValueError."""
    parts = by.split(",") if isinstance(by, str) else list(by)
    parts = tuple(str(p).strip().lower() for p in parts)
    if parts == ("province",):
        return False
    if parts == ("province", "year"):
        return True
    raise ValueError(f"by must be 'province' or ('province', 'year'), not {by!r}")


def iso_date(ts):
    """Return a timestamp as an ISO date string, None for None or NaT.

    Examples
    --------
    >>> iso_date(pd.Timestamp("2021-08-15 10:00"))
    '2021-08-15'
    """
    return None if ts is None or pd.isna(ts) else pd.Timestamp(ts).strftime("%Y-%m-%d")


#: The old private name of :func:`iso_date` (render.py still imports it).
_iso = iso_date


# --------------------------------------------------------------------------------------------
# Filtering
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class FilterResult:
    """Events kept by :func:`filter_events`, and those left out with the reason.

    Attributes
    ----------
    events : pandas.DataFrame
        The kept events, columns and index unchanged.
    left_out : pandas.DataFrame
        One row per left-out event: ``event_id``, ``reason``.
    """

    events: pd.DataFrame
    left_out: pd.DataFrame

    @property
    def reasons(self):
        """Return how many events were left out for each reason.

        Returns
        -------
        dict
            ``{reason: count}``, most frequent first.
        """
        return _reason_counts(self.left_out)


def _reason_counts(left_out):
    counts = left_out["reason"].value_counts(sort=True)
    return {str(k): int(v) for k, v in counts.items()}


def date_bounds(events):
    """Return the start and end of each event's date range, falling back to ``date``."""
    date = pd.to_datetime(events["date"]) if "date" in events else None
    start = pd.to_datetime(events["date_start"]) if "date_start" in events else date
    if start is None:
        raise ValueError("events have no 'date' column")
    if date is not None:
        start = start.fillna(date)
    end = pd.to_datetime(events["date_end"]) if "date_end" in events else start
    end = end.fillna(start)
    return start, end


def best_date(events):
    """Return each event's best single date (``date``, else the start of its range)."""
    if "date" in events:
        return pd.to_datetime(events["date"])
    return date_bounds(events)[0]


def event_year(events, since=None, until=None):
    """Calendar year of each event's ``date``, clipped to the window ``[since, until]``.

    An event whose range began before ``since`` but overlaps the window counts in ``since``'s
    year (the part of it inside the window), so no counted event falls outside the window's years.
    """
    date = best_date(events)
    if since is not None:
        date = date.where(date.isna() | (date >= since), since)
    if until is not None:
        date = date.where(date.isna() | (date <= until), until)
    return date.dt.year


def _kind_mask(kind, selected):
    kind = kind.astype("string").str.lower()
    mask = kind.isin(list(selected)).fillna(False).to_numpy(bool)
    if OTHER_KIND in selected:
        mask = mask | (~kind.isin(list(settings.EVENT_KINDS))).fillna(True).to_numpy(bool)
    return mask


def window_reasons(events, since=None, until=None):
    """Return why each event falls outside the window ``[since, until]``, or None when inside.

    Parameters
    ----------
    events : pandas.DataFrame
        Events with ``date`` (or ``date_start``/``date_end``).
    since, until : pandas.Timestamp or None
        The window, already parsed (:func:`parse_date`; ``until`` as its last day).

    Returns
    -------
    numpy.ndarray of object
        Per event: None, "date unknown (cannot place in a window)", "before since" or
        "after until", the first that applies.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"date": pd.to_datetime(["2019-05-01", None])})
    >>> window_reasons(ev, since=pd.Timestamp("2020-01-01")).tolist()
    ['before since', 'date unknown (cannot place in a window)']
    """
    reason = np.full(len(events), None, dtype=object)
    if since is None and until is None:
        return reason
    start, end = date_bounds(events)
    marks = [(start.isna().to_numpy(bool), REASON_DATE_UNKNOWN)]
    if since is not None:
        marks.append(((end < since).fillna(False).to_numpy(bool), REASON_BEFORE))
    if until is not None:
        # Dates are days; a time of day on the last day is still inside.
        after = (start >= until + pd.Timedelta(days=1)).fillna(False).to_numpy(bool)
        marks.append((after, REASON_AFTER))
    for mask, text in marks:
        reason[mask & pd.isna(reason)] = text
    return reason


def filter_events(events, since=None, until=None, kinds=None, min_confidence=None):
    """Keep the events in a time window, of some kinds, at or above a confidence grade.

    Parameters
    ----------
    events : pandas.DataFrame or JoinResult
        Events in the toolkit's schema (see :data:`khorasan_map.events.EVENT_COLUMNS`); only
        ``event_id``, ``date`` (or ``date_start``/``date_end``), ``kind`` and ``confidence`` are
        read, and only those a filter needs.
    since, until : str, datetime.date, pandas.Timestamp, optional
        Inclusive window. An event counts when its date range overlaps the window (see the module
        notes); ``until`` covers its whole day, and a ``YYYY`` or ``YYYY-MM`` string the whole
        year or month.
    kinds : None, str or list of str, optional
        None or ``"all"`` for every kind, else a list or comma-separated string of kinds from
        :data:`khorasan_map.settings.EVENT_KINDS`, ``"other"`` or kinds present in the data.
    min_confidence : {"low", "medium", "high"}, optional
        Keep events at this grade or above, in the order of
        :data:`khorasan_map.settings.CONFIDENCE_LEVELS`. Events with no grade are left out.

    Returns
    -------
    FilterResult
        ``events`` (kept rows) and ``left_out`` (``event_id``, ``reason``); each input event is in
        exactly one of them. Reasons: "kind not selected", "confidence below <grade>",
        "date unknown (cannot place in a window)", "before since", "after until".

    Raises
    ------
    ValueError
        For a date that is not a date, an unknown kind or confidence grade.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"event_id": ["a", "b"], "kind": ["clash", "defection"],
    ...                    "date": pd.to_datetime(["2019-05-01", "2022-01-03"]),
    ...                    "confidence": ["high", "low"]})
    >>> res = filter_events(ev, since="2020", kinds="clash,defection")
    >>> list(res.events["event_id"]), list(res.left_out["reason"])
    (['b'], ['before since'])
    """
    events = events_frame(events)
    since_ts = parse_date(since, name="since")
    until_ts = parse_date(until, end=True, name="until")
    if since_ts is not None and until_ts is not None and since_ts > until_ts:
        raise ValueError(f"since {iso_date(since_ts)} is after until {iso_date(until_ts)}")
    present = events["kind"].dropna().unique() if "kind" in events else ()
    selected = parse_kinds(kinds, present)
    level = parse_confidence(min_confidence)

    n = len(events)
    reason = np.full(n, None, dtype=object)

    def mark(mask, text):
        free = pd.isna(reason)
        reason[np.asarray(mask, dtype=bool) & free] = text

    if selected is not None:
        mark(~_kind_mask(events["kind"], selected), REASON_KIND)
    if level is not None:
        rank = {name: i for i, name in enumerate(settings.CONFIDENCE_LEVELS)}
        conf = events["confidence"].astype("string").str.strip().str.lower()
        got = conf.map(rank).astype("Float64").fillna(-1).to_numpy(float)
        mark(got < rank[level], f"confidence below {level}")
    window = window_reasons(events, since_ts, until_ts)
    reason = np.where(pd.isna(reason), window, reason)

    out = pd.isna(reason)
    ids = (
        events["event_id"] if "event_id" in events else pd.Series(events.index, index=events.index)
    )
    left_out = pd.DataFrame(
        {"event_id": ids[~out].to_numpy(), "reason": reason[~out].astype(str)},
        columns=["event_id", "reason"],
    )
    return FilterResult(events=events[out], left_out=left_out)


# --------------------------------------------------------------------------------------------
# The layer and the input
# --------------------------------------------------------------------------------------------


def load_layer(boundaries=None):
    """Return the province layer with ``province_code``, ``province`` and ``province_dari``.

    Parameters
    ----------
    boundaries : geopandas.GeoDataFrame, optional
        A province layer; the shipped 34 provinces when None.

    Returns
    -------
    geopandas.GeoDataFrame
        The layer, with ``province`` (the code) and ``province_dari`` (None) added when absent.

    Raises
    ------
    BoundaryError
        When the layer has no ``province_code`` column.
    """
    if boundaries is None:
        from khorasan_map.boundaries import load_provinces

        boundaries = load_provinces()
    if "province_code" not in boundaries:
        from khorasan_map.errors import BoundaryError

        raise BoundaryError("the boundary layer has no 'province_code' column")
    layer = boundaries
    if "province" not in layer:
        layer = layer.assign(province=layer["province_code"])
    if "province_dari" not in layer:
        layer = layer.assign(province_dari=None)
    return layer


def events_frame(events) -> pd.DataFrame:
    """Return the events table of ``events``: a DataFrame, or the result that holds one.

    Parameters
    ----------
    events : pandas.DataFrame, JoinResult or ValidationResult
        Events, or the result of :func:`khorasan_map.join.assign_provinces` or
        :func:`khorasan_map.events.read_events`, whose ``events`` attribute is returned.

    Returns
    -------
    pandas.DataFrame
        The events table itself (not a copy).

    Raises
    ------
    TypeError
        When ``events`` is neither.
    """
    if isinstance(events, pd.DataFrame):
        return events
    inner = getattr(events, "events", None)
    if isinstance(inner, pd.DataFrame):
        return inner
    raise TypeError(
        f"events must be a DataFrame or the JoinResult of assign_provinces, not {type(events)!r}"
    )


# --------------------------------------------------------------------------------------------
# Per-event figures
# --------------------------------------------------------------------------------------------

_COUNT_COLUMNS = ["n_" + k for k in settings.EVENT_KINDS] + ["n_other"]
_FATALITY_COLUMNS = ["fatalities", "fatalities_low", "fatalities_high"]


def source_key(events):
    """Return one string per event naming its source: URL, else title, else source name.

    Parameters
    ----------
    events : pandas.DataFrame
        Events with any of ``source_url``, ``source_title`` and ``source_name``.

    Returns
    -------
    pandas.Series of string
        The key, missing when an event names no source.
    """
    key = pd.Series(pd.NA, index=events.index, dtype="string")
    for col in ("source_name", "source_title", "source_url"):
        if col in events:
            val = events[col].astype("string").str.strip()
            key = val.where(val.str.len() > 0, key)
    return key


def _numeric(events, col):
    if col not in events:
        return pd.Series(np.nan, index=events.index, dtype=float)
    return pd.to_numeric(events[col], errors="coerce").astype(float)


def fatality_figures(events):
    """Return each event's best, low and high fatality figures under the one fill rule.

    Sources give a best figure, a range, "at least N" or nothing. The rule, per event that gives
    any figure:

    - **low** is the low figure if given, else the best, else 0;
    - **best** is the best figure if given, else the low (so "at least 28" counts 28);
    - **high** is the high figure if given, else the best (for "at least N" that is N, and the
      event is *open-ended*: its true upper end is unknown);
    - then low is lowered to best and high raised to best where a source's best lies outside
      its own range, so ``low <= best <= high`` holds for every event and therefore for every
      sum of events.

    An event that gives no figure adds nothing and is not *reported*. A province's sums are the
    sums over its reported events; they are missing ("not reported") only when none of its
    events gives any figure.

    Parameters
    ----------
    events : pandas.DataFrame
        Events with any of ``fatalities``, ``fatalities_low`` and ``fatalities_high``.

    Returns
    -------
    dict of str to pandas.Series
        ``fatalities`` (best), ``fatalities_low``, ``fatalities_high`` (NaN where the event
        gives no figure), ``reported`` (bool: any figure given) and ``open_ended`` (bool: only a
        lower bound given).

    Examples
    --------
    >>> import pandas as pd
    >>> at_least_28 = pd.DataFrame({"fatalities": [None], "fatalities_low": [28]})
    >>> {k: v.tolist() for k, v in fatality_figures(at_least_28).items()}
    ... # doctest: +NORMALIZE_WHITESPACE
    {'fatalities': [28.0], 'fatalities_low': [28.0], 'fatalities_high': [28.0],
     'reported': [True], 'open_ended': [True]}
    """
    best_in = _numeric(events, "fatalities")
    low_in = _numeric(events, "fatalities_low")
    high_in = _numeric(events, "fatalities_high")
    reported = best_in.notna() | low_in.notna() | high_in.notna()
    low = low_in.fillna(best_in).fillna(0.0)
    best = best_in.fillna(low)
    high = high_in.fillna(best)
    low, high = np.minimum(low, best), np.maximum(high, best)
    keep = reported.to_numpy(bool)
    return {
        "fatalities": best.where(keep),
        "fatalities_low": low.where(keep),
        "fatalities_high": high.where(keep),
        "reported": reported,
        "open_ended": (low_in.notna() & best_in.isna() & high_in.isna()),
    }


def _text_key(events, column):
    """Lower-cased, stripped text of a column as a tally key, "" when missing."""
    if column not in events:
        return np.full(len(events), "", dtype=object)
    values = events[column]
    if not isinstance(values.dtype, pd.StringDtype):
        values = values.astype("string")
    codes, uniques = pd.factorize(values)
    keys = np.array([str(u).strip().lower() for u in uniques] + [""], dtype=object)
    return keys[codes]  # code -1 (missing) picks the final ""


def kind_key(events):
    """Return each event's kind, lower-cased, "" when missing (the tally's ``kind`` key)."""
    return pd.Series(_text_key(events, "kind"), index=events.index, dtype=object)


def confidence_key(events):
    """Return each event's confidence grade, lower-cased, "" when missing (a tally key)."""
    return pd.Series(_text_key(events, "confidence"), index=events.index, dtype=object)


def index_in(values, categories) -> np.ndarray:
    """Return each value's index in ``categories``; -1 for a missing value or one not there.

    Parameters
    ----------
    values : pandas.Series
        Text values (compared exactly, as text).
    categories : list of str
        The values to find.

    Returns
    -------
    numpy.ndarray of int64

    Examples
    --------
    >>> index_in(pd.Series(["high", None, "low", "HIGH"]), ["low", "medium", "high"]).tolist()
    [2, -1, 0, -1]
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = pa.array(values.astype("string"), from_pandas=True)
    found = pc.index_in(texts, value_set=pa.array(list(categories), type=texts.type))
    return found.fill_null(-1).to_numpy().astype(np.int64)


def group_hash(frame):
    """Return one 64-bit hash per row of the :data:`TALLY_KEYS` columns (a tally group's id)."""
    keys = pd.DataFrame({k: frame[k].to_numpy(dtype=np.int64 if k == "year" else object)
                         for k in TALLY_KEYS})
    return pd.util.hash_pandas_object(keys, index=False).to_numpy(np.uint64)


def distinct_pairs(group, values):
    """Return the distinct (group, value) pairs as 64-bit hashes, for distinct counts.

    Distinct sources and actors are counted from these pairs, so partial results can be
    merged (:func:`merge_pairs`) without keeping the strings. Two different values would have
    to share a 64-bit hash within a province for a count to be off by one.

    Parameters
    ----------
    group : numpy.ndarray of uint64
        Each row's group, from :func:`group_hash`.
    values : array-like
        One value per row; missing values are skipped.

    Returns
    -------
    pandas.DataFrame
        Columns ``group`` and ``hash`` (uint64), one row per distinct pair.
    """
    codes, uniques = pd.factorize(pd.Series(values) if not isinstance(values, pd.Series)
                                  else values.reset_index(drop=True))
    ok = codes >= 0
    value_hash = pd.util.hash_array(np.asarray(uniques, dtype=object), categorize=False)
    pairs = pd.DataFrame({"group": np.asarray(group, dtype=np.uint64)[ok],
                          "hash": value_hash[codes[ok]]})
    return pairs.drop_duplicates(ignore_index=True)


def merge_pairs(frames):
    """Return the union of several :func:`distinct_pairs` tables.

    Parameters
    ----------
    frames : iterable of pandas.DataFrame
        Tables with ``group`` and ``hash``.

    Returns
    -------
    pandas.DataFrame
        Every distinct pair once.
    """
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({"group": np.zeros(0, np.uint64), "hash": np.zeros(0, np.uint64)})
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True).drop_duplicates(ignore_index=True)


# --------------------------------------------------------------------------------------------
# The tally: partial -> combine -> finalize
# --------------------------------------------------------------------------------------------

#: The keys a tally groups events by. Kinds and grades are keys (not filters) so one tally
#: answers :meth:`Tally.summary` (every kind) and :meth:`Tally.coverage` (clashes, by grade).
TALLY_KEYS: tuple[str, ...] = ("province_code", "year", "kind", "confidence")

#: The ``year`` key of events whose date is unknown (counted per province, never per year).
NO_YEAR: int = -1

#: Record ids kept per province, kind, grade and side of the split (the smallest, so the same
#: ids are kept however the events are partitioned); coverage.json lists at most this many.
MAX_RECORD_IDS: int = 25

#: Additive columns of :attr:`Tally.groups`.
SUM_COLUMNS: tuple[str, ...] = (
    "events",
    "fatalities",
    "fatalities_low",
    "fatalities_high",
    "fatalities_known",
    "fatalities_open",
    "precise_sum",
    "precise_count",
    "n_before",
    "n_after",
)
_MIN_COLUMNS = ("first_date", "start")
_MAX_COLUMNS = ("last_date", "end")
_SIDES = ("before", "after")


def _empty_groups():
    index = pd.MultiIndex.from_arrays([[] for _ in TALLY_KEYS], names=list(TALLY_KEYS))
    frame = pd.DataFrame({c: pd.Series(dtype=float) for c in SUM_COLUMNS}, index=index)
    for col in (*_MIN_COLUMNS, *_MAX_COLUMNS):
        frame[col] = pd.Series(dtype="datetime64[ns]")
    return frame


def _empty_rejected():
    from khorasan_map.events import REPORT_COLUMNS

    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else object)
                         for c in REPORT_COLUMNS})


@dataclasses.dataclass
class Tally:
    """Everything :func:`summarize` and :func:`coverage` report, for some partitions of events.

    A tally is made from one partition by :func:`tally_events`, merged with others by
    :meth:`combine` and finished by :meth:`summary` and :meth:`coverage`. The in-memory engine
    makes one tally of all its events; the Dask engine one per partition, then combines them.
    Every figure is defined here once.

    Attributes
    ----------
    groups : pandas.DataFrame
        Indexed by :data:`TALLY_KEYS` (the year clipped to the window, :data:`NO_YEAR` when the
        date is unknown): the :data:`SUM_COLUMNS`, ``first_date``/``last_date`` (of ``date``)
        and ``start``/``end`` (of the date range) of the counted events.
    sources, actors : pandas.DataFrame
        Distinct (group, value) pairs of the source keys and actor names, as 64-bit hashes
        (:func:`distinct_pairs`; the group from :func:`group_hash`).
    record_ids : dict
        ``{(province_code, kind, confidence, side): sorted ids}`` of the events before and
        after the split, at most :data:`MAX_RECORD_IDS` each.
    left : dict
        ``{(kind, confidence, reason): events}`` not counted: outside the window, unassigned by
        the join or outside the layer.
    since, until, split : pandas.Timestamp or None
        The window and the split date the tally was made with.
    n_input : int
        Rows read (valid and rejected).
    rejected : pandas.DataFrame
        Rows rejected by validation (:data:`khorasan_map.events.REPORT_COLUMNS`), in (file,
        row) order.
    problems : list of str
        The first rejection messages, for error texts.
    join : dict
        ``n_input``, ``n_assigned``, ``n_unassigned``, ``cases`` and ``by`` of the join run
        while tallying (zeros when the events were already placed).
    n_partitions : int
        Partitions tallied.
    engine : str
        "memory" or "dask".
    dataset : dict or None
        The shipped dataset's identity when the shipped records were tallied.
    """

    groups: pd.DataFrame
    sources: pd.DataFrame
    actors: pd.DataFrame
    record_ids: dict
    left: dict
    since: pd.Timestamp | None = None
    until: pd.Timestamp | None = None
    split: pd.Timestamp | None = None
    n_input: int = 0
    rejected: pd.DataFrame = dataclasses.field(default_factory=_empty_rejected)
    problems: list = dataclasses.field(default_factory=list)
    join: dict = dataclasses.field(default_factory=lambda: empty_join_counts())
    n_partitions: int = 1
    engine: str = "memory"
    dataset: dict | None = None

    @property
    def n_rejected(self):
        """Rows rejected by validation."""
        return int(len(self.rejected))

    @classmethod
    def combine(cls, *tallies):
        """Merge tallies of different partitions into one (in the partitions' order).

        Parameters
        ----------
        *tallies : Tally
            Made with the same window and split date.

        Returns
        -------
        Tally
            Sums added, first dates the earliest, last dates the latest, distinct sets united,
            rejected rows concatenated in the order given.
        """
        if not tallies:
            raise ValueError("combine needs at least one tally")
        first = tallies[0]
        if len(tallies) == 1:
            return first
        return cls(
            groups=_combine_groups([t.groups for t in tallies]),
            sources=merge_pairs(t.sources for t in tallies),
            actors=merge_pairs(t.actors for t in tallies),
            record_ids=_merge_ids(t.record_ids for t in tallies),
            left=_add_dicts(t.left for t in tallies),
            since=first.since,
            until=first.until,
            split=first.split,
            n_input=sum(t.n_input for t in tallies),
            rejected=_concat_rejected([t.rejected for t in tallies]),
            problems=[p for t in tallies for p in t.problems][: _max_listed()],
            join=_add_join([t.join for t in tallies]),
            n_partitions=sum(t.n_partitions for t in tallies),
        )

    def present_kinds(self):
        """Return the kinds found among the tallied events (counted or left out)."""
        kinds = set(self.groups.index.get_level_values("kind")) | {k for k, _, _ in self.left}
        return sorted(k for k in kinds if k)

    def summary(self, boundaries=None, *, kinds=None, min_confidence=None, by="province"):
        """Finish the per-province table of :func:`summarize` from this tally.

        Parameters
        ----------
        boundaries : geopandas.GeoDataFrame, optional
            Province layer; the shipped 34 provinces when None.
        kinds, min_confidence, by
            As for :func:`summarize`.

        Returns
        -------
        geopandas.GeoDataFrame
            As :func:`summarize` describes.
        """
        layer = load_layer(boundaries)
        with_year = parse_by(by)
        pick = self._pick(kinds, min_confidence)
        sel = pick.rows
        if with_year:
            undated = sel["year"] == NO_YEAR
            pick.add_reason(REASON_YEAR_UNKNOWN, int(sel.loc[undated, "events"].sum()))
            sel = sel[~undated]
        keys = ["province_code", "year"] if with_year else ["province_code"]
        base = _base_rows(layer, self._years(sel) if with_year else None)
        stats = _group_stats(sel, keys, self.sources, self.actors)
        table, shapes = _finished_rows(layer, base, stats, keys)
        geo = gpd.GeoDataFrame(table, geometry=shapes, crs=layer.crs)
        geo.attrs.update(pick.attrs(self, int(sel["events"].sum())))
        geo.attrs["span"] = [iso_date(x) for x in _span(sel)]
        return geo

    def summaries_through(self, years, boundaries=None, *, kinds=None, min_confidence=None):
        """Finish, in one pass, the per-province table of the dated events up to each year.

        Each table is the one :meth:`summary` gives of this tally's groups of that year and
        before (events of no known year are in none), so distinct counts stay exact: a source
        is counted from the first year it reports on a province.

        Parameters
        ----------
        years : iterable of int
            The last year of each table.
        boundaries : geopandas.GeoDataFrame, optional
            Province layer; the shipped 34 provinces when None.
        kinds, min_confidence
            As for :func:`summarize`.

        Returns
        -------
        dict of int to geopandas.GeoDataFrame
            For each year, the columns and rows of :meth:`summary` (its ``attrs`` are left
            empty: they describe a whole selection, not a running total).
        """
        layer = load_layer(boundaries)
        steps = np.array(sorted({int(y) for y in years}), dtype="int64")
        sel = self._pick(kinds, min_confidence).rows
        sel = sel[sel["year"] != NO_YEAR]
        first = np.searchsorted(steps, sel["year"].to_numpy(dtype="int64"))  # its first step
        counted = first < len(steps)
        sel, first = sel[counted], first[counted]
        repeats = len(steps) - first  # a group counts in its year's step and every later one
        stacked = sel.iloc[np.repeat(np.arange(len(sel)), repeats)]
        stacked = stacked.assign(year=steps[_runs_from(first, repeats)])
        keys = ["province_code", "year"]
        stats = _group_stats(stacked, keys, self.sources, self.actors,
                             distinct=lambda pairs: _distinct_through(sel, steps, pairs))
        table, shapes = _finished_rows(layer, _base_rows(layer, steps.tolist()), stats, keys)
        step_of_row = table.pop("year").to_numpy()
        tables = {}
        for step in steps:
            rows = step_of_row == step
            tables[int(step)] = gpd.GeoDataFrame(table[rows].reset_index(drop=True),
                                                 geometry=shapes[rows], crs=layer.crs)
        return tables

    def coverage(self, boundaries=None, *, kinds=("clash",), min_confidence=None):
        """Finish the :class:`Coverage` of :func:`coverage` from this tally.

        Parameters
        ----------
        boundaries : geopandas.GeoDataFrame, optional
            Province layer; the shipped 34 provinces when None.
        kinds, min_confidence
            As for :func:`coverage`.

        Returns
        -------
        Coverage
            As :func:`coverage` describes.
        """
        if self.split is None:
            raise ValueError("split_date is required")
        layer = load_layer(boundaries)
        pick = self._pick(kinds, min_confidence)
        sel = pick.rows
        total = int(len(layer))
        noun = kinds_noun(pick.kinds)
        codes = sorted(set(sel["province_code"]))
        names = dict(zip(layer["province_code"].astype(str), layer["province"], strict=False))
        start, end = _span(sel)
        first = self.since if self.since is not None else (None if pd.isna(start) else start)
        last = self.until if self.until is not None else (None if pd.isna(end) else end)
        since_iso, until_iso = iso_date(first), iso_date(last)
        window = _side_windows(first, last, self.split)
        grades = _grades_from(pick.min_confidence)
        by_confidence = {
            grade: {
                "label": _grade_label(grade),
                **{side: self._side_ids(sel, side, grade, total, noun, window[side])
                   for side in _SIDES},
            }
            for grade in grades
        }
        return Coverage(
            provinces_with_events=len(codes),
            total_provinces=total,
            share=len(codes) / total if total else 0.0,
            province_codes=codes,
            provinces=[str(names.get(c, c)) for c in codes],
            since=since_iso,
            until=until_iso,
            kinds=list(pick.kinds) if pick.kinds is not None else ["all"],
            sentence=coverage_sentence(noun, len(codes), total, since_iso, until_iso),
            by_year=_by_year(sel, first, last),
            split_date=iso_date(self.split),
            before=_side(sel, "before", total, noun, window["before"]),
            after=_side(sel, "after", total, noun, window["after"]),
            n_events=int(sel["events"].sum()),
            n_left_out=int(sum(pick.reasons.values())),
            left_out_reasons=counts_dict(pick.reasons),
            min_confidence=pick.min_confidence,
            by_confidence=by_confidence,
        )

    def _pick(self, kinds, min_confidence):
        return _Pick(self, kinds, min_confidence)

    def _years(self, sel):
        lo = self.since.year if self.since is not None else (
            int(sel["year"].min()) if len(sel) else None)
        hi = self.until.year if self.until is not None else (
            int(sel["year"].max()) if len(sel) else None)
        return list(range(lo, hi + 1)) if lo is not None and hi is not None else []

    def _side_ids(self, sel, side, grade, total, noun, window):
        rank = _RANK[grade]
        sub = sel[sel["confidence"].map(_RANK).fillna(-1) >= rank]
        out = _side(sub, side, total, noun, window)
        wanted = set(zip(sub["province_code"], sub["kind"], sub["confidence"], strict=True))
        ids: dict[str, list] = {}
        for (code, kind, conf, s), values in self.record_ids.items():
            if s == side and (code, kind, conf) in wanted:
                ids.setdefault(code, []).extend(values)
        out["record_ids"] = {c: sorted(set(v))[:MAX_RECORD_IDS] for c, v in sorted(ids.items())
                             if c in out["province_codes"]}
        return out


_RANK = {name: i for i, name in enumerate(settings.CONFIDENCE_LEVELS)}


class _Pick:
    """The groups of a tally that a choice of kinds and grade selects, and the reasons left."""

    def __init__(self, tally, kinds, min_confidence):
        self.kinds = parse_kinds(kinds, tally.present_kinds())
        self.min_confidence = parse_confidence(min_confidence)
        rows = tally.groups.reset_index()
        reason = _pick_reasons(rows["kind"], rows["confidence"], self.kinds, self.min_confidence)
        self.rows = rows[pd.isna(reason)]
        self.reasons: dict[str, int] = {}
        for text, n in zip(reason, rows["events"], strict=True):
            if text is not None:
                self.add_reason(text, int(n))
        for (kind, conf, text), n in tally.left.items():
            chosen = _pick_reasons(pd.Series([kind]), pd.Series([conf]), self.kinds,
                                   self.min_confidence)[0]
            self.add_reason(chosen or text, int(n))

    def add_reason(self, text, n):
        if n:
            self.reasons[text] = self.reasons.get(text, 0) + n

    def attrs(self, tally, n_events):
        return {
            "n_events": n_events,
            "n_left_out": int(sum(self.reasons.values())),
            "left_out_reasons": counts_dict(self.reasons),
            "since": iso_date(tally.since),
            "until": iso_date(tally.until),
            "kinds": list(self.kinds) if self.kinds is not None else ["all"],
            "min_confidence": self.min_confidence,
        }


def _pick_reasons(kind, conf, selected, level):
    """Reason each group is not selected (kind first, then grade), None when it is."""
    reason = np.full(len(kind), None, dtype=object)
    if selected is not None:
        known = kind.isin(list(settings.EVENT_KINDS)).to_numpy(bool)
        ok = kind.isin(list(selected)).to_numpy(bool).copy()
        if OTHER_KIND in selected:
            ok |= ~known
        reason[~ok] = REASON_KIND
    if level is not None:
        low = (conf.map(_RANK).fillna(-1).to_numpy(float) < _RANK[level]) & pd.isna(reason)
        reason[low] = f"confidence below {level}"
    return reason


def counts_dict(counts):
    """Return ``{reason: count}`` as plain types, most frequent first, then by name.

    Parameters
    ----------
    counts : dict or pandas.Series
        Counts by name.

    Returns
    -------
    dict of str to int
    """
    items = counts.items() if hasattr(counts, "items") else counts
    pairs = [(str(k), int(v)) for k, v in items]
    return dict(sorted(pairs, key=lambda kv: (-kv[1], kv[0])))


def empty_join_counts():
    """Return the join counts of no events: zeros, empty ``cases`` and ``by``."""
    return {"n_input": 0, "n_assigned": 0, "n_unassigned": 0, "cases": {}, "by": {}}


def join_counts_of(result):
    """Return the counts of one :func:`khorasan_map.join.assign_provinces` result.

    Parameters
    ----------
    result : khorasan_map.join.JoinResult
        A join's result.

    Returns
    -------
    dict
        ``n_input``, ``n_assigned``, ``n_unassigned``, ``cases`` ({case: report rows}) and
        ``by`` ({assigned_by: events}).
    """
    return {
        "n_input": int(result.n_input),
        "n_assigned": int(result.n_assigned),
        "n_unassigned": int(result.n_unassigned),
        "cases": counts_dict(result.report["case"].value_counts()),
        "by": counts_dict(result.events["assigned_by"].value_counts()),
    }


def _add_join(joins):
    out = empty_join_counts()
    for j in joins:
        for key in ("n_input", "n_assigned", "n_unassigned"):
            out[key] += int(j[key])
        for key in ("cases", "by"):
            out[key] = _add_dicts([out[key], j[key]])
    out["cases"], out["by"] = counts_dict(out["cases"]), counts_dict(out["by"])
    return out


def _add_dicts(dicts):
    out: dict = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = out.get(k, 0) + int(v)
    return out


def _merge_ids(parts):
    out: dict = {}
    for part in parts:
        for key, ids in part.items():
            out.setdefault(key, []).extend(ids)
    return {k: tuple(sorted(set(v))[:MAX_RECORD_IDS]) for k, v in out.items()}


def _concat_rejected(frames):
    frames = [f for f in frames if len(f)]
    if not frames:
        return _empty_rejected()
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _max_listed():
    from khorasan_map.events import MAX_LISTED

    return MAX_LISTED


def _combine_groups(frames):
    frames = [f for f in frames if len(f)]
    if not frames:
        return _empty_groups()
    both = pd.concat(frames)
    g = both.groupby(level=list(range(both.index.nlevels)), sort=True)
    out = g[list(SUM_COLUMNS)].sum()
    for col in _MIN_COLUMNS:
        out[col] = g[col].min()
    for col in _MAX_COLUMNS:
        out[col] = g[col].max()
    return out


def tally_events(
    events,
    boundaries=None,
    *,
    since=None,
    until=None,
    split_date=None,
    tolerance_m=None,
    n_input=None,
    rejected=None,
    problems=(),
):
    """Tally one partition of valid events: the partial step every summary figure starts from.

    Parameters
    ----------
    events : pandas.DataFrame or JoinResult
        Valid events in the schema. Without ``assigned_code`` they are first placed with
        :func:`khorasan_map.join.assign_provinces` (the events inside the window only).
    boundaries : geopandas.GeoDataFrame, optional
        Province layer; the shipped 34 provinces when None.
    since, until : str, date or pandas.Timestamp, optional
        The window (see the module notes); kinds and grades are chosen later, when finishing.
    split_date : str or date, optional
        First day of the "after" side (default :data:`khorasan_map.settings.SHIFT_DATE`).
    tolerance_m : float, optional
        Snapping tolerance of the join (default :data:`khorasan_map.settings.BORDER_TOLERANCE_M`).
    n_input : int, optional
        Rows read for this partition (default: the events plus the rejected rows).
    rejected : pandas.DataFrame, optional
        Rows of this partition rejected by validation.
    problems : sequence of str
        Their first messages.

    Returns
    -------
    Tally
        Combine with :meth:`Tally.combine`; finish with :meth:`Tally.summary` and
        :meth:`Tally.coverage`.

    Examples
    --------
    >>> from khorasan_map.events import read_events
    >>> tally = tally_events(read_events())  # doctest: +SKIP
    >>> tally.coverage(min_confidence="high").before["provinces_with_events"]  # doctest: +SKIP
    8
    """
    events = events_frame(events)
    layer = load_layer(boundaries)
    since_ts = parse_date(since, name="since")
    until_ts = parse_date(until, end=True, name="until")
    if since_ts is not None and until_ts is not None and since_ts > until_ts:
        raise ValueError(f"since {iso_date(since_ts)} is after until {iso_date(until_ts)}")
    split = parse_date(settings.SHIFT_DATE if split_date is None else split_date,
                       name="split_date")
    reason = window_reasons(events, since_ts, until_ts)
    kept = events[pd.isna(reason)]
    join = empty_join_counts()
    if "assigned_code" not in kept:
        from khorasan_map.join import assign_provinces

        tol = settings.BORDER_TOLERANCE_M if tolerance_m is None else tolerance_m
        placed = assign_provinces(kept, layer, tolerance_m=tol)
        kept, join = placed.events, join_counts_of(placed)
    reason = reason.copy()
    place = _placement_reasons(kept, layer)
    reason[np.flatnonzero(pd.isna(reason))] = place
    left = _left_counts(events, reason)
    counted = kept[pd.isna(place)]
    rows = _event_rows(counted, since_ts, until_ts, split)
    rejected = _empty_rejected() if rejected is None else rejected
    groups = _group_rows(rows)
    return Tally(
        groups=groups,
        sources=distinct_pairs(rows["_group"].to_numpy(), source_key(counted)),
        actors=_actor_pairs(rows, counted),
        record_ids=_record_ids(rows),
        left=left,
        since=since_ts,
        until=until_ts,
        split=split,
        n_input=int(len(events) + len(rejected)) if n_input is None else int(n_input),
        rejected=rejected,
        problems=list(problems),
        join=join,
    )


def _placement_reasons(placed, layer):
    code = placed["assigned_code"].astype("object").where(placed["assigned_code"].notna(), None)
    unassigned = code.isna().to_numpy(bool)
    outside = ~unassigned & ~code.isin(set(layer["province_code"].astype(str))).to_numpy(bool)
    reason = np.full(len(placed), None, dtype=object)
    reason[unassigned] = REASON_UNASSIGNED
    reason[outside] = REASON_NOT_IN_LAYER
    return reason


def _left_counts(events, reason):
    out = ~pd.isna(reason)
    if not out.any():
        return {}
    frame = pd.DataFrame({"k": kind_key(events).to_numpy()[out],
                          "c": confidence_key(events).to_numpy()[out],
                          "r": reason[out].astype(str)})
    counts = frame.groupby(["k", "c", "r"], sort=True).size()
    return {key: int(n) for key, n in counts.items()}


def _event_rows(counted, since, until, split):
    """One row per counted event with its keys and figures (the input of the grouping)."""
    start, end = date_bounds(counted)
    year = event_year(counted, since, until)
    figures = fatality_figures(counted)
    if "location_precision" in counted:
        flag = counted["location_precision"].astype("string").str.lower() == "province"
        precise = flag.fillna(False).astype(float)
    else:
        precise = pd.Series(np.nan, index=counted.index)
    ids = counted["event_id"] if "event_id" in counted else pd.Series(counted.index)
    rows = pd.DataFrame({
        "province_code": counted["assigned_code"].astype(str).to_numpy(),
        "year": year.fillna(NO_YEAR).astype("int64").to_numpy(),
        "kind": kind_key(counted).to_numpy(),
        "confidence": confidence_key(counted).to_numpy(),
        "events": 1,
        "fatalities": figures["fatalities"].fillna(0.0).to_numpy(),
        "fatalities_low": figures["fatalities_low"].fillna(0.0).to_numpy(),
        "fatalities_high": figures["fatalities_high"].fillna(0.0).to_numpy(),
        "fatalities_known": figures["reported"].astype("int64").to_numpy(),
        "fatalities_open": figures["open_ended"].astype("int64").to_numpy(),
        "precise_sum": precise.fillna(0.0).to_numpy(),
        "precise_count": precise.notna().astype("int64").to_numpy(),
        "n_before": (start < split).fillna(False).astype("int64").to_numpy(),
        "n_after": (end >= split).fillna(False).astype("int64").to_numpy(),
        "first_date": best_date(counted).to_numpy(),
        "last_date": best_date(counted).to_numpy(),
        "start": start.to_numpy(),
        "end": end.to_numpy(),
        "_id": _text_ids(ids),
    })
    return rows


def _text_ids(ids):
    """Record ids as Arrow-backed text (sorted fast for :func:`_record_ids`)."""
    if isinstance(ids.dtype, pd.StringDtype):
        return ids.array
    return pd.array(ids.astype(str).to_numpy(dtype=object), dtype="string")


def _group_rows(rows):
    """Group the event rows by :data:`TALLY_KEYS`; add each row's group hash as ``_group``."""
    if not len(rows):
        rows["_group"] = np.zeros(0, np.uint64)
        return _empty_groups()
    g = rows.groupby(list(TALLY_KEYS), sort=True)
    out = g[list(SUM_COLUMNS)].sum()
    for col in _MIN_COLUMNS:
        out[col] = g[col].min()
    for col in _MAX_COLUMNS:
        out[col] = g[col].max()
    rows["_group"] = group_hash(out.reset_index())[g.ngroup().to_numpy()]
    return out


def _actor_pairs(rows, counted):
    parts = []
    for col in ("actor1", "actor2"):
        if col in counted:
            actor = counted[col].astype("string").str.strip()
            actor = actor.where(actor.str.len().fillna(0) > 0)
            parts.append(distinct_pairs(rows["_group"].to_numpy(), actor))
    return merge_pairs(parts)


def _record_ids(rows):
    out: dict = {}
    keys = ["province_code", "kind", "confidence"]
    ordered = rows[[*keys, "_id", "n_before", "n_after"]].sort_values("_id", kind="stable")
    for side in _SIDES:
        part = ordered[ordered["n_" + side] > 0]
        part = part.groupby(keys, sort=False).head(MAX_RECORD_IDS)
        for key, ids in part.groupby(keys, sort=False)["_id"]:
            out[(*key, side)] = tuple(ids)
    return out


# --------------------------------------------------------------------------------------------
# Finishing: the table and the coverage figures from the selected groups
# --------------------------------------------------------------------------------------------


def _base_rows(layer, years):
    base = pd.DataFrame({
        "province_code": layer["province_code"].astype(str).to_numpy(),
        "province": layer["province"].to_numpy(),
        "province_dari": layer["province_dari"].to_numpy(),
    })
    if years is None:
        return base
    return base.merge(pd.DataFrame({"year": np.array(years, dtype="int64")}), how="cross")


def _finished_rows(layer, base, stats, keys):
    """Put ``stats`` on every ``base`` row, filled and sorted; return it and each row's outline."""
    table = base.merge(stats, how="left", on=keys) if len(stats) else base
    table = _fill(table).sort_values(keys, kind="stable").reset_index(drop=True)
    geometry = layer.set_index(layer["province_code"].astype(str)).geometry
    return table, geometry.reindex(table["province_code"]).to_numpy()


def _group_stats(sel, keys, sources, actors, distinct=None):
    """Per output row (province, or province and year): the summary's columns.

    ``distinct(pairs)`` counts the distinct values of ``pairs`` per output row
    (:func:`_distinct_per_key` of ``sel`` by default).
    """
    if not len(sel):
        return pd.DataFrame()
    g = sel.groupby(keys, sort=True)
    out = g[list(SUM_COLUMNS)].sum()
    out["first_date"] = g["first_date"].min()
    out["last_date"] = g["last_date"].max()
    by_kind = sel.groupby([*keys, "kind"], dropna=False)["events"].sum().unstack("kind")
    for k in settings.EVENT_KINDS:
        out["n_" + k] = by_kind[k] if k in by_kind else np.nan
    others = [k for k in by_kind.columns if k not in settings.EVENT_KINDS]  # and no kind
    out["n_other"] = by_kind[others].sum(axis=1, min_count=1) if others else np.nan
    for col in _FATALITY_COLUMNS:
        out[col] = out[col].astype(float).where(out["fatalities_known"] > 0)
    share = out["precise_sum"] / out["precise_count"]
    out["share_province_precise"] = share.where(out["precise_count"] > 0)
    count = distinct or (lambda pairs: _distinct_per_key(sel, keys, pairs))
    for name, pairs in (("n_sources", sources), ("n_actors", actors)):
        out[name] = count(pairs)
    return out.reset_index()


def _runs_from(first, lengths):
    """Concatenated ranges ``first[i], first[i] + 1, ...`` of ``lengths[i]`` values each.

    >>> _runs_from(np.array([1, 0]), np.array([2, 3])).tolist()
    [1, 2, 0, 1, 2]
    """
    ends = np.cumsum(lengths)
    return np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - lengths - first, lengths)


def _distinct_through(sel, steps, pairs):
    """Distinct values of ``pairs`` per (province, step) over the selected groups up to each step.

    Each (province, value) is counted from the first step its earliest group falls in.
    """
    where = pd.Index(group_hash(sel)).get_indexer(pairs["group"].to_numpy())
    hit = where >= 0
    seen = pd.DataFrame({
        "province_code": sel["province_code"].to_numpy(dtype=object)[where[hit]],
        "hash": pairs["hash"].to_numpy()[hit],
        "step": np.searchsorted(steps, sel["year"].to_numpy(dtype="int64")[where[hit]]),
    })
    first = seen.groupby(["province_code", "hash"], sort=False)["step"].min()
    new = first.groupby(level="province_code").value_counts().unstack("step")
    new = new.reindex(columns=range(len(steps)), fill_value=0).fillna(0).astype("int64")
    running = new.cumsum(axis=1).set_axis(steps, axis=1).rename_axis(columns="year").stack()
    return running[running > 0]


def _distinct_per_key(sel, keys, pairs):
    """Count the distinct values of ``pairs`` per output row (``keys``) of the selected groups.

    Each pair's group is looked up among the selected groups' hashes, so the pairs (one per
    distinct value and group, millions with the Dask engine) are never joined to the keys'
    text. Output rows with no value are left out (NaN once aligned).
    """
    labels = sel[keys[0]] if len(keys) == 1 else pd.MultiIndex.from_frame(sel[keys])
    row_of_group, rows = pd.factorize(labels)
    where = pd.Index(group_hash(sel)).get_indexer(pairs["group"].to_numpy())
    hit = where >= 0
    distinct = pd.DataFrame({"row": row_of_group[where[hit]],
                             "hash": pairs["hash"].to_numpy()[hit]}).drop_duplicates()
    counts = pd.Series(np.bincount(distinct["row"].to_numpy(), minlength=len(rows)), index=rows)
    return counts[counts > 0]


def _span(sel):
    if not len(sel):
        return pd.NaT, pd.NaT
    return sel["start"].min(), sel["end"].max()


def _by_year(sel, first, last):
    if first is None or last is None:
        return {}
    dated = sel[sel["year"] != NO_YEAR]
    per_year = dated.groupby("year")["province_code"].nunique()
    return {year: int(per_year.get(year, 0)) for year in range(first.year, last.year + 1)}


def _side_windows(first, last, split):
    day = pd.Timedelta(days=1)
    return {
        "before": (first, None if last is None else min(last, split - day)),
        "after": (None if first is None else max(first, split), last),
    }


def _side(sel, side, total, noun, window):
    rows = sel[sel["n_" + side] > 0]
    codes = sorted(set(rows["province_code"]))
    since, until = window
    if since is not None and until is not None and since > until:
        since = until = None
    since_iso, until_iso = iso_date(since), iso_date(until)
    return {
        "provinces_with_events": len(codes),
        "share": len(codes) / total if total else 0.0,
        "province_codes": codes,
        "since": since_iso,
        "until": until_iso,
        "n_events": int(rows["n_" + side].sum()),
        "sentence": coverage_sentence(noun, len(codes), total, since_iso, until_iso),
    }


def _grades_from(min_confidence):
    """Return the grades of the by-confidence answer, strictest first, to ``min_confidence``."""
    levels = list(reversed(settings.CONFIDENCE_LEVELS))
    if min_confidence is None:
        return levels
    return levels[: levels.index(min_confidence) + 1]


def _grade_label(grade):
    levels = list(reversed(settings.CONFIDENCE_LEVELS))
    if grade == levels[0]:
        return grade
    if grade == levels[-1]:
        return "every grade"
    return " and ".join(levels[: levels.index(grade) + 1])


def _fill(table):
    ints = ["events", *_COUNT_COLUMNS, "fatalities_known", "fatalities_open", "n_sources",
            "n_actors"]
    for col in ints:
        if col not in table:
            table[col] = 0
        table[col] = table[col].fillna(0).astype("int64")
    zero = table["events"] == 0
    for col in _FATALITY_COLUMNS:
        if col not in table:
            table[col] = np.nan
        table[col] = table[col].astype(float).mask(zero, 0.0)
    for col in ("first_date", "last_date"):
        if col not in table:
            table[col] = pd.NaT
        table[col] = pd.Series([iso_date(v) for v in table[col]], index=table.index, dtype=object)
    if "share_province_precise" not in table:
        table["share_province_precise"] = np.nan
    table["share_province_precise"] = table["share_province_precise"].astype(float)
    front = ["province_code", "province", "province_dari"] + (["year"] if "year" in table else [])
    order = front + [
        "events",
        *_COUNT_COLUMNS,
        *_FATALITY_COLUMNS,
        "fatalities_known",
        "fatalities_open",
        "first_date",
        "last_date",
        "n_sources",
        "n_actors",
        "share_province_precise",
    ]
    return table[order]


def event_span(events):
    """Return the first day and the last day the events may have happened (NaT when none).

    Each event's range runs from ``date_start`` to ``date_end`` (falling back to ``date``), so
    an event known only to "March 2019" ends on 2019-03-31.
    """
    if not len(events):
        return pd.NaT, pd.NaT
    starts, ends = date_bounds(events)
    return starts.min(), ends.max()


# --------------------------------------------------------------------------------------------
# coverage
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Coverage:
    """In how many provinces events were recorded: the answer of :func:`coverage`.

    Attributes
    ----------
    provinces_with_events : int
        Provinces with at least one counted event.
    total_provinces : int
        Provinces in the boundary layer (34 for the shipped one).
    share : float
        ``provinces_with_events / total_provinces``.
    province_codes : list of str
        ISO codes of those provinces, sorted.
    provinces : list of str
        Their English names, in the same order.
    since, until : str or None
        The window, ISO dates: the bounds given, else the first and last counted event dates.
    kinds : list of str
        The kinds counted (``["all"]`` for every kind).
    sentence : str
        For example "Clashes recorded in 13 of 34 provinces (38%), 2015-01-01 to 2021-08-25".
    by_year : dict of int to int
        Provinces with events in each calendar year of the window, zeros included.
    split_date : str
        ISO date splitting ``before`` (earlier days) from ``after`` (this day onwards).
    before, after : dict
        ``provinces_with_events``, ``share``, ``province_codes``, ``since``, ``until``,
        ``n_events``, ``sentence`` for each side. An event whose date range spans the split
        counts on both sides; events with an unknown date on neither.
    n_events : int
        Events counted.
    n_left_out : int
        Events not counted; ``n_events + n_left_out`` is the number of input events.
    left_out_reasons : dict of str to int
        Why, with counts.
    min_confidence : str or None
        The confidence filter applied.
    by_confidence : dict
        The answer at each grade, strictest first, down to ``min_confidence``: ``{"high": ...,
        "medium": ..., "low": ...}``, each with ``label`` ("high", "high and medium", "every
        grade") and ``before`` and ``after`` (the split's sides, as in ``before``, plus
        ``record_ids``: ``{province code: ids}`` of the records behind each province, at most
        :data:`MAX_RECORD_IDS` each, the smallest).
    dataset : dict or None
        The shipped dataset's identity
        (:meth:`khorasan_map.dataset.DatasetInfo.to_dict`) when the shipped records were
        counted, else None.
    """

    provinces_with_events: int
    total_provinces: int
    share: float
    province_codes: list[str]
    provinces: list[str]
    since: str | None
    until: str | None
    kinds: list[str]
    sentence: str
    by_year: dict[int, int]
    split_date: str
    before: dict[str, Any]
    after: dict[str, Any]
    n_events: int
    n_left_out: int
    left_out_reasons: dict[str, int]
    min_confidence: str | None = None
    by_confidence: dict[str, Any] = dataclasses.field(default_factory=dict)
    dataset: dict[str, Any] | None = None

    def to_dict(self):
        """Return the coverage as plain JSON-ready types.

        Returns
        -------
        dict
            Every field; ``by_year`` keys become strings so the dict equals its own JSON
            round trip.

        Examples
        --------
        >>> import json
        >>> json.dumps(cov.to_dict())  # doctest: +SKIP
        """
        data = dataclasses.asdict(self)
        data["by_year"] = {str(k): int(v) for k, v in self.by_year.items()}
        return data


def percent(count, total):
    """Return ``count / total`` as a whole percentage, rounded half up.

    Parameters
    ----------
    count, total : int
        Provinces with events, provinces in all.

    Returns
    -------
    int
        The percentage (0 when ``total`` is 0).

    Examples
    --------
    >>> percent(13, 34), percent(1, 8)
    (38, 13)
    """
    if total <= 0:
        return 0
    return (200 * count + total) // (2 * total)


def kinds_noun(kinds):
    """Return the capitalised plural noun for a choice of kinds, as used in the sentence.

    Parameters
    ----------
    kinds : None or sequence of str
        Kinds as returned by :func:`parse_kinds` (None or ``["all"]`` for every kind).

    Returns
    -------
    str
        "Clashes", "Defections", "ISK attacks on the Taliban", "Taliban raids on ISK", two or
        three of them joined ("Clashes or defections"), or "Events" for every kind or any kind
        outside :data:`khorasan_map.settings.EVENT_KINDS`.

    Examples
    --------
    >>> kinds_noun(["clash", "defection"])
    'Clashes or defections'
    """
    if kinds is None:
        return "Events"
    kinds = [k for k in kinds]
    if not kinds or "all" in kinds or any(k not in KIND_NOUNS for k in kinds):
        return "Events"
    if set(settings.EVENT_KINDS) <= set(kinds):
        return "Events"
    nouns = [KIND_NOUNS[k] for k in kinds]
    text = nouns[0] if len(nouns) == 1 else ", ".join(nouns[:-1]) + " or " + nouns[-1]
    return text[0].upper() + text[1:]


def coverage_sentence(noun, count, total, since=None, until=None):
    """Write the coverage sentence.

    Parameters
    ----------
    noun : str
        From :func:`kinds_noun`.
    count, total : int
        Provinces with events and provinces in all.
    since, until : str, optional
        ISO dates of the window; left out of the sentence when either is None.

    Returns
    -------
    str
        For example "Clashes recorded in 13 of 34 provinces (38%), 2015-01-01 to 2021-08-25".

    Examples
    --------
    >>> coverage_sentence("Clashes", 13, 34, "2015-01-01", "2021-08-25")
    'Clashes recorded in 13 of 34 provinces (38%), 2015-01-01 to 2021-08-25'
    """
    unit = "province" if total == 1 else "provinces"
    text = f"{noun} recorded in {count} of {total} {unit} ({percent(count, total)}%)"
    if since and until:
        text += f", {since} to {until}"
    return text


# --------------------------------------------------------------------------------------------
# The front doors: one summarize, one coverage, either engine
# --------------------------------------------------------------------------------------------


def tally(
    events=None,
    boundaries=None,
    *,
    since=None,
    until=None,
    split_date=None,
    engine="auto",
    scheduler=None,
    format="auto",
    on_invalid="raise",
    keep_all=False,
    today=None,
    tolerance_m=None,
    rows_per_partition=None,
):
    """Read (when given files), validate, place and tally events with the engine that suits.

    Parameters
    ----------
    events : DataFrame, JoinResult, dask DataFrame, path, glob, list of them or None
        The events, or files to read (None: the shipped records).
    boundaries : geopandas.GeoDataFrame, optional
        Province layer; the shipped 34 provinces when None.
    since, until, split_date
        The window and the split, as for :func:`coverage`.
    engine : {"auto", "memory", "dask"}, default "auto"
        "memory" holds every event in one partition; "dask" works partition by partition;
        "auto" picks by the estimated peak memory (:func:`khorasan_map.scale.choose_engine`).
        "pandas" is the old name of "memory".
    scheduler : str, dask.distributed.Client or None
        Dask only (:func:`khorasan_map.scale.summarize_dask`).
    format, on_invalid, keep_all, today
        How files are read (:func:`khorasan_map.events.read_events`); with
        ``on_invalid="raise"`` rejected rows raise
        :class:`~khorasan_map.errors.EventValidationError` after the one pass.
    tolerance_m : float, optional
        Snapping tolerance of the join (default :data:`khorasan_map.settings.BORDER_TOLERANCE_M`).
    rows_per_partition : int, optional
        Dask only: rows per partition (default :data:`khorasan_map.scale.ROWS_PER_PARTITION`).

    Returns
    -------
    Tally
        With ``engine`` and ``dataset`` attributes (the engine that ran; the shipped dataset's
        identity or None).
    """
    from khorasan_map.scale import choose_engine

    chosen = choose_engine(events, engine)
    window = {"since": since, "until": until, "split_date": split_date,
              "tolerance_m": tolerance_m}
    if chosen == "dask":
        from khorasan_map.scale import tally_dask

        result = tally_dask(events, boundaries, format=format, keep_all=keep_all, today=today,
                            scheduler=scheduler, rows_per_partition=rows_per_partition,
                            **window)
    else:
        result = _tally_in_memory(events, boundaries, window, format, keep_all, today)
    check_rejected(result, on_invalid)
    result.engine = chosen
    if events is None or isinstance(_inner_frame(events), pd.DataFrame):
        result.dataset = dataset_of(None if events is None else _inner_frame(events))
    return result


def _inner_frame(events):
    return events if isinstance(events, pd.DataFrame) else getattr(events, "events", None)


def dataset_of(events=None):
    """Return the shipped records' identity when the events include them, else None.

    Parameters
    ----------
    events : pandas.DataFrame or None
        Events with a ``dataset`` column; None stands for the shipped records.

    Returns
    -------
    dict or None
        :meth:`khorasan_map.dataset.DatasetInfo.to_dict` of
        :func:`khorasan_map.dataset.shipped_dataset` when any event's ``dataset`` is
        "khorasan_map" (or ``events`` is None), else None. coverage.json carries it.
    """
    if events is not None:
        if "dataset" not in events:
            return None
        if not (events["dataset"].astype("string") == SHIPPED_DATASET).fillna(False).any():
            return None
    from khorasan_map.dataset import shipped_dataset

    return shipped_dataset().to_dict()


def _tally_in_memory(events, boundaries, window, fmt, keep_all, today):
    from khorasan_map.events import read_events

    if events is None:
        return tally_events(read_events(), boundaries, **window)
    if isinstance(events, pd.DataFrame) or hasattr(events, "events"):
        return tally_events(events, boundaries, **window)
    from khorasan_map.scale import expand_paths

    paths = [str(p) for p in expand_paths(events)]
    read = read_events(paths, format=fmt, on_invalid="report", keep_all=keep_all, today=today,
                       progress=False)
    return tally_events(read.events, boundaries, n_input=read.n_input, rejected=read.rejected,
                        problems=read.messages("problems"), **window)


def check_rejected(result, on_invalid="raise"):
    """Raise one :class:`~khorasan_map.errors.EventValidationError` when rows were rejected.

    Parameters
    ----------
    result : Tally
        A tally (its ``rejected``, ``n_input`` and ``problems``).
    on_invalid : {"raise", "report"}
        "report" never raises.

    Raises
    ------
    ValueError
        For another ``on_invalid``.
    EventValidationError
        With "raise" when any row was rejected; ``.rejected`` holds them.
    """
    if on_invalid not in ("raise", "report"):
        raise ValueError(f"on_invalid must be 'raise' or 'report', not {on_invalid!r}")
    if not result.n_rejected or on_invalid == "report":
        return
    from khorasan_map.errors import EventValidationError
    from khorasan_map.validate import rejection_message

    message = rejection_message(result.n_rejected, result.n_input, result.problems)
    raise EventValidationError(message, rejected=result.rejected)


def scale_info(result):
    """Return what a tally read and joined, as ``attrs["scale"]`` names it.

    Parameters
    ----------
    result : Tally
        A tally made by :func:`tally`.

    Returns
    -------
    dict
        ``engine``, ``n_input``, ``n_rejected``, ``problems``, ``n_partitions``, ``join``.
    """
    return {
        "engine": getattr(result, "engine", "memory"),
        "n_input": int(result.n_input),
        "n_rejected": result.n_rejected,
        "problems": list(result.problems),
        "n_partitions": int(result.n_partitions),
        "join": dict(result.join),
    }


def summarize(
    events=None,
    boundaries=None,
    *,
    since=None,
    until=None,
    kinds=None,
    min_confidence=None,
    by="province",
    engine="auto",
    **read,
):
    """Count events per province (or per province and year), every province included.

    Parameters
    ----------
    events : DataFrame, JoinResult, dask DataFrame, path, glob, list of them or None
        Events in the toolkit's schema (e.g. from :func:`khorasan_map.events.read_events`),
        or files to read; the shipped records when None. Events without ``assigned_code``
        are placed with :func:`khorasan_map.join.assign_provinces`; a JoinResult (or events
        that carry ``assigned_code``) is used as it is.
    boundaries : geopandas.GeoDataFrame, optional
        Province layer with ``province_code``, ``province`` (and ``province_dari``); the shipped
        34 provinces when None.
    since, until, kinds, min_confidence
        Filters, as in :func:`filter_events`.
    by : "province" or ("province", "year"), default "province"
        One row per province, or one per province and calendar year for every year from the
        first to the last (of the window when given, else of the counted events). The year is
        that of ``date``, clipped to the window (an event begun before ``since`` counts in
        ``since``'s year); events with an unknown date are then left out.
    engine : {"auto", "memory", "dask"}, default "auto"
        Which engine runs, as for :func:`tally`.
    **read
        How files are read and placed: ``scheduler``, ``format``, ``on_invalid``,
        ``keep_all``, ``today``, ``tolerance_m``, ``rows_per_partition``, as for :func:`tally`.

    Returns
    -------
    geopandas.GeoDataFrame
        Sorted by ``province_code`` (then ``year``), in the layer's CRS, columns:
        ``province_code, province, province_dari, [year], events``, one ``n_<kind>`` per kind
        of :data:`khorasan_map.settings.EVENT_KINDS` in that order (``n_clash, n_defection,
        n_isk_attack_on_taliban, n_taliban_raid_on_isk, n_taliban_killing_of_suspected_isk``),
        ``n_other`` (every other kind), ``fatalities``, ``fatalities_low``, ``fatalities_high``
        (sums of each event's figures under the rule of :func:`fatality_figures`, so
        ``fatalities_low <= fatalities <= fatalities_high`` always; NaN, "not reported", when a
        province has events but none gives any figure; 0 when it has no events),
        ``fatalities_known`` (events giving any figure), ``fatalities_open`` (events giving only
        a lower bound: when above 0, ``fatalities_high`` is a floor), ``first_date,
        last_date`` (ISO strings, None when no events), ``n_sources`` (distinct source URLs,
        else titles), ``n_actors`` (distinct names across ``actor1`` and ``actor2``),
        ``share_province_precise`` (share of the rows located only to the province; NaN when
        no events), ``geometry``. ``attrs``: ``n_events``, ``n_left_out``,
        ``left_out_reasons`` (``{reason: count}``, unassigned events included), ``since``,
        ``until``, ``kinds``, ``min_confidence``, ``span`` (first day and last day the counted
        events may have happened, ISO strings or None: the window :func:`coverage` states),
        ``engine`` and ``scale`` (:func:`scale_info`).

    Raises
    ------
    ValueError
        For bad filters or ``by``.

    Examples
    --------
    >>> from khorasan_map.aggregate import summarize
    >>> table = summarize(kinds="clash")  # doctest: +SKIP
    >>> table[["province", "events", "fatalities"]].head()  # doctest: +SKIP
    """
    parse_by(by)
    _check_filters(kinds, min_confidence)
    result = tally(events, boundaries, since=since, until=until, engine=engine, **read)
    return finish_summary(result, boundaries, kinds=kinds, min_confidence=min_confidence, by=by)


def finish_summary(result, boundaries=None, **filters):
    """Finish a tally as :func:`summarize` does: the table, with what the tally read.

    Parameters
    ----------
    result : Tally
        A tally made by :func:`tally`.
    boundaries : geopandas.GeoDataFrame, optional
        Province layer; the shipped 34 provinces when None.
    **filters
        ``kinds``, ``min_confidence`` and ``by``, as for :func:`summarize`.

    Returns
    -------
    geopandas.GeoDataFrame
        :meth:`Tally.summary`, with ``attrs["engine"]`` and ``attrs["scale"]``
        (:func:`scale_info`).
    """
    table = result.summary(boundaries, **filters)
    table.attrs["engine"] = result.engine
    table.attrs["scale"] = scale_info(result)
    return table


def _check_filters(kinds, min_confidence):
    """Fail before reading on a bad grade, or on a kind no data could hold."""
    parse_confidence(min_confidence)
    try:
        parse_kinds(kinds)
    except ValueError as exc:
        if "no kind given" in str(exc):
            raise


def coverage(
    events=None,
    boundaries=None,
    *,
    since=None,
    until=None,
    kinds=("clash",),
    min_confidence=None,
    split_date=None,
    engine="auto",
    **read,
):
    """Count the provinces where events of the chosen kinds were recorded.

    Answers "in how many of the 34 provinces have the Taliban and ISK clashed?" for any window,
    kinds and confidence grade, and at each grade (``by_confidence``).

    Parameters
    ----------
    events : DataFrame, JoinResult, dask DataFrame, path, glob, list of them or None
        As for :func:`summarize`.
    boundaries : geopandas.GeoDataFrame, optional
        Province layer; the shipped 34 provinces when None.
    since, until : str, datetime.date, pandas.Timestamp, optional
        Inclusive window, as in :func:`filter_events`.
    kinds : None, str or sequence of str, default ("clash",)
        Kinds to count; None or ``"all"`` for every kind.
    min_confidence : {"low", "medium", "high"}, optional
        Lowest confidence grade counted.
    split_date : str or date, optional
        First day of the "after" side of the before/after split (default
        :data:`khorasan_map.settings.SHIFT_DATE`, read at call time).
    engine, **read
        Which engine runs and how files are read and placed, as for :func:`summarize`.

    Returns
    -------
    Coverage
        Counts, codes, names, the sentence, counts by year, the split and the answer by
        grade; its ``engine`` and ``scale`` attributes (not in ``to_dict()``) say which engine
        ran and what was read.

    Raises
    ------
    ValueError
        For bad filters or split date.

    Examples
    --------
    >>> cov = coverage()
    >>> [cov.by_confidence[g]["before"]["provinces_with_events"] for g in cov.by_confidence]
    [8, 12, 14]
    """
    _check_filters(kinds, min_confidence)
    split = parse_date(settings.SHIFT_DATE if split_date is None else split_date,
                       name="split_date")
    if split is None:
        raise ValueError("split_date is required")
    result = tally(events, boundaries, since=since, until=until, split_date=split,
                   engine=engine, **read)
    return finish_coverage(result, boundaries, kinds=kinds, min_confidence=min_confidence)


def finish_coverage(result, boundaries=None, **filters):
    """Finish a tally as :func:`coverage` does: the answer, with what the tally read.

    Parameters
    ----------
    result, boundaries
        As for :func:`finish_summary`.
    **filters
        ``kinds`` (default clashes) and ``min_confidence``, as for :func:`coverage`.

    Returns
    -------
    Coverage
        :meth:`Tally.coverage`, with its ``dataset``, ``engine`` and ``scale`` attributes.
    """
    cov = result.coverage(boundaries, **filters)
    cov.dataset = result.dataset
    cov.engine = result.engine
    cov.scale = scale_info(result)
    return cov
