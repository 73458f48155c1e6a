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

__all__ = [
    "Coverage",
    "FilterResult",
    "coverage",
    "coverage_sentence",
    "filter_events",
    "kinds_noun",
    "parse_date",
    "parse_kinds",
    "percent",
    "summarize",
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


def _parse_confidence(min_confidence):
    if min_confidence is None:
        return None
    level = str(min_confidence).strip().lower()
    if level not in settings.CONFIDENCE_LEVELS:
        raise ValueError(
            f"min_confidence {min_confidence!r} is not a confidence level; "
            f"valid levels: {', '.join(settings.CONFIDENCE_LEVELS)}"
        )
    return level


def _parse_by(by):
    parts = by.split(",") if isinstance(by, str) else list(by)
    parts = tuple(str(p).strip().lower() for p in parts)
    if parts == ("province",):
        return False
    if parts == ("province", "year"):
        return True
    raise ValueError(f"by must be 'province' or ('province', 'year'), not {by!r}")


def _iso(ts):
    return None if ts is None or pd.isna(ts) else pd.Timestamp(ts).strftime("%Y-%m-%d")


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


def _date_bounds(events):
    """Start and end of each event's date range, falling back to ``date``."""
    date = pd.to_datetime(events["date"]) if "date" in events else None
    start = pd.to_datetime(events["date_start"]) if "date_start" in events else date
    if start is None:
        raise ValueError("events have no 'date' column")
    if date is not None:
        start = start.fillna(date)
    end = pd.to_datetime(events["date_end"]) if "date_end" in events else start
    end = end.fillna(start)
    return start, end


def _best_date(events):
    if "date" in events:
        return pd.to_datetime(events["date"])
    return _date_bounds(events)[0]


def _event_year(events, since=None, until=None):
    """Calendar year of each event's ``date``, clipped to the window ``[since, until]``.

    An event whose range began before ``since`` but overlaps the window counts in ``since``'s
    year (the part of it inside the window), so no counted event falls outside the window's years.
    """
    date = _best_date(events)
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
    events = _unwrap(events)
    since_ts = parse_date(since, name="since")
    until_ts = parse_date(until, end=True, name="until")
    if since_ts is not None and until_ts is not None and since_ts > until_ts:
        raise ValueError(f"since {_iso(since_ts)} is after until {_iso(until_ts)}")
    present = events["kind"].dropna().unique() if "kind" in events else ()
    selected = parse_kinds(kinds, present)
    level = _parse_confidence(min_confidence)

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
    if since_ts is not None or until_ts is not None:
        start, end = _date_bounds(events)
        mark(start.isna().to_numpy(), REASON_DATE_UNKNOWN)
        if since_ts is not None:
            mark((end < since_ts).fillna(False).to_numpy(bool), REASON_BEFORE)
        if until_ts is not None:
            # Dates are days; a time of day on the last day is still inside.
            mark(
                (start >= until_ts + pd.Timedelta(days=1)).fillna(False).to_numpy(bool),
                REASON_AFTER,
            )

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
# Preparing events for counting: filter, join, drop the unplaceable
# --------------------------------------------------------------------------------------------


def _join_events(events, layer):
    """Assign provinces with :func:`khorasan_map.join.assign_provinces` (imported lazily)."""
    from khorasan_map.join import assign_provinces

    return assign_provinces(events, layer).events


def _load_layer(boundaries):
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


def _unwrap(events):
    """Accept a DataFrame or a JoinResult-like object with an ``events`` DataFrame."""
    if isinstance(events, pd.DataFrame):
        return events
    inner = getattr(events, "events", None)
    if isinstance(inner, pd.DataFrame):
        return inner
    raise TypeError(
        f"events must be a DataFrame or the JoinResult of assign_provinces, not {type(events)!r}"
    )


@dataclasses.dataclass
class _Prepared:
    layer: gpd.GeoDataFrame
    counted: pd.DataFrame
    left_out: pd.DataFrame
    since: pd.Timestamp | None
    until: pd.Timestamp | None
    kinds: tuple[str, ...] | None
    min_confidence: str | None


def _prepare(events, boundaries, since, until, kinds, min_confidence, need_year=False):
    events = _unwrap(events)
    layer = _load_layer(boundaries)
    present = events["kind"].dropna().unique() if "kind" in events else ()
    selected = parse_kinds(kinds, present)
    since_ts = parse_date(since, name="since")
    until_ts = parse_date(until, end=True, name="until")
    filtered = filter_events(events, since_ts, until_ts, selected, min_confidence)
    kept = filtered.events
    if "assigned_code" not in kept:
        kept = _join_events(kept, layer)
    parts = [filtered.left_out]

    code = kept["assigned_code"].astype("object").where(kept["assigned_code"].notna(), None)
    codes = set(layer["province_code"].astype(str))
    unassigned = code.isna().to_numpy(bool)
    outside = ~unassigned & ~code.isin(codes).to_numpy(bool)
    for mask, text in ((unassigned, REASON_UNASSIGNED), (outside, REASON_NOT_IN_LAYER)):
        if mask.any():
            parts.append(_left(kept[mask], text))
    kept = kept[~(unassigned | outside)]
    if need_year:
        no_date = _best_date(kept).isna().to_numpy(bool)
        if no_date.any():
            parts.append(_left(kept[no_date], REASON_YEAR_UNKNOWN))
            kept = kept[~no_date]
    parts = [p for p in parts if len(p)]
    left_out = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({"event_id": pd.Series(dtype=object), "reason": pd.Series(dtype=str)})
    )
    return _Prepared(
        layer, kept, left_out, since_ts, until_ts, selected, _parse_confidence(min_confidence)
    )


def _left(frame, reason):
    ids = frame["event_id"] if "event_id" in frame else pd.Series(frame.index)
    return pd.DataFrame({"event_id": ids.to_numpy(), "reason": reason})


# --------------------------------------------------------------------------------------------
# summarize
# --------------------------------------------------------------------------------------------

_COUNT_COLUMNS = ["n_" + k for k in settings.EVENT_KINDS] + ["n_other"]
_FATALITY_COLUMNS = ["fatalities", "fatalities_low", "fatalities_high"]


def _source_key(events):
    """One string per event naming its source: URL, else title, else source name."""
    key = pd.Series(None, index=events.index, dtype="object")
    for col in ("source_name", "source_title", "source_url"):
        if col in events:
            val = events[col].astype("string").str.strip()
            val = val.where(val.str.len() > 0)
            key = val.astype("object").where(val.notna(), key)
    return key


def _numeric(events, col):
    if col not in events:
        return pd.Series(np.nan, index=events.index, dtype=float)
    return pd.to_numeric(events[col], errors="coerce").astype(float)


def fatality_figures(events):
    """Return each event's best, low and high fatality figures, with the documented fallbacks.

    Sources give a best figure, a range, "at least N", or nothing. So that a province's low sum
    never exceeds its high sum, each event's low falls back to its best figure, and its high to
    its best, then to its low (an "at least N" report adds N to both). The best figure never
    falls back: ``fatalities`` sums only the figures sources gave as such.

    Parameters
    ----------
    events : pandas.DataFrame
        Events with any of ``fatalities``, ``fatalities_low`` and ``fatalities_high``.

    Returns
    -------
    dict of str to pandas.Series
        ``{"fatalities": best, "fatalities_low": low, "fatalities_high": high}``, NaN where an
        event gives no figure at all.

    Examples
    --------
    >>> import pandas as pd
    >>> at_least_11 = pd.DataFrame({"fatalities": [None], "fatalities_low": [11]})
    >>> {k: v.tolist() for k, v in fatality_figures(at_least_11).items()}
    {'fatalities': [nan], 'fatalities_low': [11.0], 'fatalities_high': [11.0]}
    """
    best = _numeric(events, "fatalities")
    low = _numeric(events, "fatalities_low").fillna(best)
    high = _numeric(events, "fatalities_high").fillna(best).fillna(low)
    return {"fatalities": best, "fatalities_low": low, "fatalities_high": high}


def _per_group(counted, keys):
    """Aggregate counted events by ``keys`` (column names already in ``counted``)."""
    g = counted.groupby(keys, sort=False, dropna=False)
    out = pd.DataFrame({"events": g.size()})
    kind = counted["kind"].astype("string").str.lower() if "kind" in counted else None
    for k in settings.EVENT_KINDS:
        flag = (kind == k).fillna(False) if kind is not None else False
        out["n_" + k] = counted.assign(_f=flag).groupby(keys, sort=False)["_f"].sum()
    other = (~kind.isin(list(settings.EVENT_KINDS))).fillna(True) if kind is not None else True
    out["n_other"] = counted.assign(_f=other).groupby(keys, sort=False)["_f"].sum()
    figures = fatality_figures(counted)
    for col in _FATALITY_COLUMNS:
        vals = counted.assign(_v=figures[col]).groupby(keys, sort=False)["_v"]
        out[col] = vals.sum(min_count=1)
        if col == "fatalities":
            out["fatalities_known"] = vals.count()
    date = _best_date(counted)
    dg = counted.assign(_d=date).groupby(keys, sort=False)["_d"]
    out["first_date"] = dg.min()
    out["last_date"] = dg.max()
    out["n_sources"] = (
        counted.assign(_s=_source_key(counted)).groupby(keys, sort=False)["_s"].nunique()
    )
    actor_cols = [c for c in ("actor1", "actor2") if c in counted]
    if actor_cols:
        long = pd.concat(
            [counted[keys].assign(_a=counted[c].astype("string").str.strip()) for c in actor_cols],
            ignore_index=True,
        )
        long = long[long["_a"].str.len().fillna(0) > 0]
        out["n_actors"] = long.groupby(keys, sort=False)["_a"].nunique()
    else:
        out["n_actors"] = 0
    if "location_precision" in counted:
        flag = counted["location_precision"].astype("string").str.lower() == "province"
        flag = flag.fillna(False).astype(float)
    else:
        flag = pd.Series(np.nan, index=counted.index)
    out["share_province_precise"] = counted.assign(_p=flag).groupby(keys, sort=False)["_p"].mean()
    return out


def summarize(
    events,
    boundaries=None,
    *,
    since=None,
    until=None,
    kinds=None,
    min_confidence=None,
    by="province",
):
    """Count events per province (or per province and year), every province included.

    Parameters
    ----------
    events : pandas.DataFrame or JoinResult
        Events in the toolkit's schema, e.g. from :func:`khorasan_map.events.read_events`. When
        they have no ``assigned_code`` column they are first placed with
        :func:`khorasan_map.join.assign_provinces`; a JoinResult (or events that already carry
        ``assigned_code``) is used as it is.
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

    Returns
    -------
    geopandas.GeoDataFrame
        Sorted by ``province_code`` (then ``year``), in the layer's CRS, columns:
        ``province_code, province, province_dari, [year], events``, one ``n_<kind>`` per kind
        of :data:`khorasan_map.settings.EVENT_KINDS` in that order (``n_clash, n_defection,
        n_isk_attack_on_taliban, n_taliban_raid_on_isk, n_taliban_killing_of_suspected_isk``),
        ``n_other`` (every other kind), ``fatalities`` (sum of best figures where sources give
        one), ``fatalities_low``, ``fatalities_high`` (sums of each event's low and high figures,
        falling back as :func:`fatality_figures` says, so low never exceeds high; NaN when a
        province has events but none with a figure, 0 when it has no events),
        ``fatalities_known`` (events with a known best figure), ``first_date, last_date`` (ISO
        strings, None when no events), ``n_sources``
        (distinct source URLs, else titles), ``n_actors`` (distinct names across ``actor1`` and
        ``actor2``), ``share_province_precise`` (share of the rows located only to the province;
        NaN when no events), ``geometry``. ``attrs``: ``n_events``, ``n_left_out``,
        ``left_out_reasons`` (``{reason: count}``, unassigned events included), ``since``,
        ``until``, ``kinds``, ``min_confidence``, ``span`` (first day and last day the counted
        events may have happened, ISO strings or None: the window :func:`coverage` states).

    Raises
    ------
    ValueError
        For bad filters or ``by``.

    Examples
    --------
    >>> from khorasan_map.aggregate import summarize
    >>> table = summarize(read_events(), kinds="clash")  # doctest: +SKIP
    >>> table[["province", "events", "fatalities"]].head()  # doctest: +SKIP
    """
    with_year = _parse_by(by)
    prep = _prepare(events, boundaries, since, until, kinds, min_confidence, need_year=with_year)
    layer, counted = prep.layer, prep.counted
    counted = counted.assign(_code=counted["assigned_code"].astype(str))
    keys = ["_code"]
    base = pd.DataFrame(
        {
            "province_code": layer["province_code"].astype(str).to_numpy(),
            "province": layer["province"].to_numpy(),
            "province_dari": layer["province_dari"].to_numpy(),
        }
    )
    if with_year:
        years = _event_year(counted, prep.since, prep.until)
        counted = counted.assign(_year=years.astype("int64"))
        keys = ["_code", "_year"]
        lo = prep.since.year if prep.since is not None else (years.min() if len(years) else None)
        hi = prep.until.year if prep.until is not None else (years.max() if len(years) else None)
        span = list(range(int(lo), int(hi) + 1)) if lo is not None and hi is not None else []
        base = base.merge(pd.DataFrame({"year": np.array(span, dtype="int64")}), how="cross")

    stats = _per_group(counted, keys) if len(counted) else pd.DataFrame()
    stats = stats.reset_index() if len(stats) else stats
    if len(stats):
        stats = stats.rename(columns={"_code": "province_code", "_year": "year"})
    join_keys = ["province_code", "year"] if with_year else ["province_code"]
    table = base.merge(stats, how="left", on=join_keys) if len(stats) else base
    table = _fill(table)
    table = table.sort_values(join_keys, kind="stable").reset_index(drop=True)

    geometry = layer.set_index(layer["province_code"].astype(str)).geometry
    geo = gpd.GeoDataFrame(
        table, geometry=geometry.reindex(table["province_code"]).to_numpy(), crs=layer.crs
    )
    geo.attrs.update(_attrs(prep))
    return geo


def _fill(table):
    ints = ["events", *_COUNT_COLUMNS, "fatalities_known", "n_sources", "n_actors"]
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
        table[col] = pd.Series([_iso(v) for v in table[col]], index=table.index, dtype=object)
    if "share_province_precise" not in table:
        table["share_province_precise"] = np.nan
    table["share_province_precise"] = table["share_province_precise"].astype(float)
    front = ["province_code", "province", "province_dari"] + (["year"] if "year" in table else [])
    order = front + [
        "events",
        *_COUNT_COLUMNS,
        *_FATALITY_COLUMNS,
        "fatalities_known",
        "first_date",
        "last_date",
        "n_sources",
        "n_actors",
        "share_province_precise",
    ]
    return table[order]


def _attrs(prep):
    return {
        "n_events": int(len(prep.counted)),
        "n_left_out": int(len(prep.left_out)),
        "left_out_reasons": _reason_counts(prep.left_out),
        "since": _iso(prep.since),
        "until": _iso(prep.until),
        "kinds": list(prep.kinds) if prep.kinds is not None else ["all"],
        "min_confidence": prep.min_confidence,
        "span": [_iso(x) for x in event_span(prep.counted)],
    }


def event_span(events):
    """Return the first day and the last day the events may have happened (NaT when none).

    Each event's range runs from ``date_start`` to ``date_end`` (falling back to ``date``), so
    an event known only to "March 2019" ends on 2019-03-31.
    """
    if not len(events):
        return pd.NaT, pd.NaT
    starts, ends = _date_bounds(events)
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


def _codes(counted):
    return sorted(set(counted["assigned_code"].astype(str)))


def _side(counted, mask, since, until, noun, total):
    codes = _codes(counted[mask])
    if since is not None and until is not None and since > until:
        since = until = None
    since_iso, until_iso = _iso(since), _iso(until)
    return {
        "provinces_with_events": len(codes),
        "share": len(codes) / total if total else 0.0,
        "province_codes": codes,
        "since": since_iso,
        "until": until_iso,
        "n_events": int(mask.sum()),
        "sentence": coverage_sentence(noun, len(codes), total, since_iso, until_iso),
    }


def coverage(
    events,
    boundaries=None,
    *,
    since=None,
    until=None,
    kinds=("clash",),
    min_confidence=None,
    split_date=settings.SHIFT_DATE,
):
    """Count the provinces where events of the chosen kinds were recorded.

    Answers "in how many of the 34 provinces have the Taliban and ISK clashed?" for any window,
    kinds and confidence grade.

    Parameters
    ----------
    events : pandas.DataFrame or JoinResult
        As for :func:`summarize`.
    boundaries : geopandas.GeoDataFrame, optional
        Province layer; the shipped 34 provinces when None.
    since, until : str, datetime.date, pandas.Timestamp, optional
        Inclusive window, as in :func:`filter_events`.
    kinds : None, str or sequence of str, default ("clash",)
        Kinds to count; None or ``"all"`` for every kind.
    min_confidence : {"low", "medium", "high"}, optional
        Lowest confidence grade counted.
    split_date : str or date, default :data:`khorasan_map.settings.SHIFT_DATE`
        First day of the "after" side of the before/after split.

    Returns
    -------
    Coverage
        Counts, codes, names, the sentence, counts by year and the split.

    Raises
    ------
    ValueError
        For bad filters or split date.

    Examples
    --------
    >>> cov = coverage(read_events())  # doctest: +SKIP
    >>> cov.sentence  # doctest: +SKIP
    'Clashes recorded in 13 of 34 provinces (38%), 2015-01-01 to 2021-08-25'
    """
    split = parse_date(split_date, name="split_date")
    if split is None:
        raise ValueError("split_date is required")
    prep = _prepare(events, boundaries, since, until, kinds, min_confidence)
    counted, layer = prep.counted, prep.layer
    total = int(len(layer))
    noun = kinds_noun(prep.kinds)
    codes = _codes(counted)
    names = dict(zip(layer["province_code"].astype(str), layer["province"], strict=False))

    start, end = (None if pd.isna(x) else x for x in event_span(counted))
    first = prep.since if prep.since is not None else start
    last = prep.until if prep.until is not None else end
    since_iso, until_iso = _iso(first), _iso(last)

    by_year: dict[int, int] = {}
    if first is not None and last is not None:
        dated = counted.assign(_y=_event_year(counted, prep.since, prep.until))
        dated = dated.dropna(subset=["_y"])
        per_year = dated.groupby(dated["_y"].astype("int64"))["assigned_code"].nunique()
        for year in range(first.year, last.year + 1):
            by_year[year] = int(per_year.get(year, 0))

    start, end = _date_bounds(counted)
    before_mask = (start < split).fillna(False).to_numpy(bool)
    after_mask = (end >= split).fillna(False).to_numpy(bool)
    day = pd.Timedelta(days=1)
    before_until = None if last is None else min(last, split - day)
    after_since = None if first is None else max(first, split)
    before = _side(counted, before_mask, first, before_until, noun, total)
    after = _side(counted, after_mask, after_since, last, noun, total)

    return Coverage(
        provinces_with_events=len(codes),
        total_provinces=total,
        share=len(codes) / total if total else 0.0,
        province_codes=codes,
        provinces=[str(names.get(c, c)) for c in codes],
        since=since_iso,
        until=until_iso,
        kinds=list(prep.kinds) if prep.kinds is not None else ["all"],
        sentence=coverage_sentence(noun, len(codes), total, since_iso, until_iso),
        by_year=by_year,
        split_date=_iso(split),
        before=before,
        after=after,
        n_events=int(len(counted)),
        n_left_out=int(len(prep.left_out)),
        left_out_reasons=_reason_counts(prep.left_out),
        min_confidence=prep.min_confidence,
    )
