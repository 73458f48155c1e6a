"""Validation: one set of rules for every row, whichever engine or reader it came through.

:func:`validate_rows` checks every schema column of a chunk and records each problem (which
rejects the row) and warning in a :class:`ProblemLog`; :func:`rejected_rows` and
:func:`format_lines` turn them into the reports and messages, and :func:`rejection_message` is the
one wording of "N of M rows failed validation" for both engines. Points are checked by the same
locator and the same tolerance, in metres, as the join (:func:`place_points`).
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd

from khorasan_map import acled, settings, ucdp
from khorasan_map.parsing import (
    EARLIEST_DATE,
    LATEST_DATE,
    arrow_text,
    as_text,
    norm_token,
    out_of_range,
    parse_dates,
    parse_numbers,
    quoted,
)
from khorasan_map.schema import (
    EVENT_COLUMNS,
    GEOMETRY_COLUMN,
    MAX_LISTED,
    REPORT_COLUMNS,
    TEXT_COLUMNS,
    empty_report,
)

__all__ = [
    "ProblemLog",
    "concat_reports",
    "format_lines",
    "place_points",
    "rejected_rows",
    "rejection_message",
    "validate_rows",
]

_URL_OK = re.compile(r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#\"'<>\\]+[^\s\"'<>\\]*$")


class ProblemLog:
    """Problems and warnings for one chunk, with the column names used in messages.

    Parameters
    ----------
    state : object
        The reading state (its ``fmt``, ``label``, ``today``, ``keep_all``, ``dataset`` and
        ``government_from``).
    """

    def __init__(self, state):
        self.state = state
        self.names = {"acled": acled.MESSAGE_NAMES, "ucdp": ucdp.MESSAGE_NAMES}.get(state.fmt, {})
        self.problems, self.warns = [], []
        self.rows = None
        self.ids = None

    def add(self, mask, column, reason, value=None, warn=False):
        """Record ``reason`` for the rows in ``mask`` (a warning with ``warn``)."""
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
        """Return recorded problems (or warnings) as one report, with the file named."""
        frames = [f for f in frames if len(f)]
        if not frames:
            return empty_report()
        out = pd.concat(frames, ignore_index=True)
        out.insert(0, "file", self.state.label)
        return out.sort_values("row", kind="stable")


def validate_rows(ev: pd.DataFrame, ctx: ProblemLog) -> pd.DataFrame:
    """Check every schema column; record problems in ``ctx``; return typed columns."""
    state = ctx.state
    ev = ev.reset_index(drop=True)
    ctx.rows = ev["_row"]
    raw_values = {c: ev[c] for c in EVENT_COLUMNS}
    ctx.raw_values = raw_values
    out = pd.DataFrame({"_row": ev["_row"]})
    for c in TEXT_COLUMNS:
        out[c] = as_text(ev[c])
    ctx.ids = out["event_id"]
    n = len(ev)

    ctx.add(out["event_id"].isna(), "event_id", "event_id is empty")

    # kind
    kind = norm_token(out["kind"], trimmed=True)
    out["kind"] = kind
    ctx.add(kind.isna(), "kind", "kind is empty (one of " + ", ".join(settings.EVENT_KINDS)
            + ")")
    if not state.keep_all:
        bad = kind.notna() & ~kind.isin(settings.EVENT_KINDS)
        ctx.add(bad, "kind", lambda: "kind " + quoted(kind) + " is not one of "
                + ", ".join(settings.EVENT_KINDS) + " (other kinds need keep_all=True)")

    # vocabularies
    for column, allowed in (("location_precision", settings.LOCATION_PRECISIONS),
                            ("date_precision", settings.DATE_PRECISIONS),
                            ("confidence", settings.CONFIDENCE_LEVELS)):
        token = norm_token(out[column], trimmed=True)
        out[column] = token
        bad = token.notna() & ~token.isin(allowed)
        ctx.add(bad, column, lambda c=column, t=token, a=allowed: c + " " + quoted(t)
                + " is not one of " + ", ".join(a))

    _validate_dates(ev, out, ctx)
    _validate_fatalities(ev, out, ctx)
    codes_ok = _validate_provinces(ev, out, ctx)
    _validate_shapes(ev, out, ctx)
    _validate_coordinates(ev, out, ctx, codes_ok)
    _validate_urls(out, ctx)
    if n:
        out["dataset"] = out["dataset"].fillna(state.dataset)
    return out


def _clean_dates(series):
    """Return datetimes as datetime64[ns] days, or as ISO text when some do not fit it."""
    if series.dtype.kind == "M":
        if getattr(series.dt, "tz", None) is not None:
            series = series.dt.tz_localize(None)  # keep the local calendar date
        series = series.reset_index(drop=True)
        dates, bad = parse_dates(series)
        if not bad.any():
            return dates
        series = series.dt.strftime("%Y-%m-%d")
    return as_text(series)


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


def _report_bad_dates(ctx, sources, bad, given_start):
    """Reject dates that are not dates, not real days, or outside the supported span."""
    raw_end, start_src, date_src = sources
    bad_start, bad_date, bad_end = bad
    text = as_text(start_src)
    same_as_start = (as_text(date_src) == text).fillna(True).to_numpy()
    end_same = (as_text(raw_end) == text).fillna(False).to_numpy()
    span = f"{EARLIEST_DATE:%Y-%m-%d} to {LATEST_DATE:%Y-%m-%d}"
    for mask, values, column in ((bad_start & given_start, start_src, "date_start"),
                                 (bad_start & ~given_start, start_src, "date"),
                                 (bad_date & ~same_as_start, date_src, "date"),
                                 (bad_end & ~(end_same & bad_start), raw_end, "date_end")):
        if not mask.any():
            continue
        shown = as_text(values)
        shaped = shown.str.match(r"^\d{4}-\d{1,2}-\d{1,2}").fillna(False).to_numpy()
        beyond = np.zeros(len(mask), dtype=bool)
        beyond[mask] = out_of_range(values[mask])
        ctx.add(mask & beyond, column, quoted(shown) + f" is outside the dates this toolkit "
                f"can hold ({span}): a placeholder or a typo?", value=values)
        ctx.add(mask & shaped & ~beyond, column, quoted(shown) + " is not a real calendar date",
                value=values)
        ctx.add(mask & ~shaped & ~beyond, column, quoted(shown)
                + " is not a date (use YYYY-MM-DD, YYYY-MM or YYYY)", value=values)


def _parse_again(values, parsed_values, parsed):
    """Parse dates, reusing ``parsed`` when the column repeats ``parsed_values`` exactly."""
    if values is parsed_values or (values.dtype == parsed_values.dtype
                                   and values.reset_index(drop=True).equals(
                                       parsed_values.reset_index(drop=True))):
        return parsed[0].copy(), parsed[1].copy()
    return parse_dates(values, trimmed=True)


def _validate_dates(ev, out, ctx):
    raw_date, raw_start, raw_end = (_clean_dates(ev[c]) for c in ("date", "date_start",
                                                                   "date_end"))
    given_start = raw_start.notna().to_numpy()
    start_src = _first_of(raw_start, raw_date)
    date_src = _first_of(raw_date, start_src)
    start, bad_start = parse_dates(start_src, trimmed=True)
    date, bad_date = _parse_again(date_src, start_src, (start, bad_start))
    end, bad_end = _parse_again(raw_end, start_src, (start, bad_start))
    if bad_start.any() or bad_date.any() or bad_end.any():
        _report_bad_dates(ctx, (raw_end, start_src, date_src), (bad_start, bad_date, bad_end),
                          given_start)
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
    ctx.add(backwards, "date_end", lambda: "date_end " + quoted(end.dt.strftime("%Y-%m-%d"))
            + " is before the start " + start.dt.strftime("%Y-%m-%d"))
    today = ctx.state.today
    future = (start > today).fillna(False).to_numpy()
    ctx.add(future, col_start, lambda: quoted(start.dt.strftime("%Y-%m-%d"))
            + f" is in the future (today is {today:%Y-%m-%d})", value=start_src)
    date = date.where(date.notna(), start)
    future_date = (date > today).fillna(False).to_numpy() & ~future
    ctx.add(future_date, "date", lambda: quoted(date.dt.strftime("%Y-%m-%d"))
            + f" is in the future (today is {today:%Y-%m-%d})")
    out["date"] = date
    out["date_start"] = start
    out["date_end"] = end


def _validate_fatalities(ev, out, ctx):
    values = {}
    for column in ("fatalities", "fatalities_low", "fatalities_high"):
        number, bad = parse_numbers(ev[column])
        ctx.add(bad, column, lambda c=column: quoted(as_text(ev[c])) + " is not a number")
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
            + " is outside its low-high range " + low.astype(str) + "-" + high.astype(str))


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


def _report_corrections(name_text: pd.Series, ctx) -> list:
    """Warn, row by row, where a province name needed a corrected spelling to resolve.

    The warning keeps the text as given beside the code it was read as, so a correction is
    said, never silent (case, spacing, diacritics and affixes alone are not reported). Returns
    the corrected texts: their rows keep the province as given beside the resolved code.
    """
    from khorasan_map import gazetteer

    given = name_text.dropna()
    if given.empty:
        return []
    report = gazetteer.resolution_report(given.unique())
    corrected = report[report["method"] == "corrected"]
    if corrected.empty:
        return []
    said = (quoted(corrected["given"]) + " read as " + corrected["name"] + " ("
            + corrected["code"] + "), a corrected spelling")
    reasons = dict(zip(corrected["given"], said, strict=True))
    ctx.add(name_text.isin(list(reasons)), "province", lambda: name_text.map(reasons),
            warn=True)
    return list(reasons)


def _validate_provinces(ev, out, ctx):
    names = _province_lookup()
    name_text = out["province"]
    code_text = out["province_code"].str.upper()
    from_name, name_msgs = _resolve(name_text)
    unknown = name_text.notna() & from_name.isna()
    ctx.add(unknown, "province", lambda: name_text.map(name_msgs))
    corrected = _report_corrections(name_text, ctx)
    known_code = code_text.isin(list(names))
    needs = code_text.notna() & ~known_code
    if needs.any():
        from_code, _ = _resolve(out["province_code"].where(needs))
        code_text = code_text.where(~needs, from_code)
        bad = needs & from_code.isna()
        ctx.add(bad, "province_code", lambda: quoted(out["province_code"])
                + " is not one of the 34 province codes (AF-KAB, AF-NAN, ...)")
    code_text = code_text.where(code_text.isin(list(names)), None)
    clash = code_text.notna() & from_name.notna() & (code_text != from_name)
    ctx.add(clash, "province_code", lambda: "province_code " + code_text.fillna("")
            + " disagrees with province " + quoted(name_text) + " (" + from_name.fillna("")
            + ")")
    code = code_text.fillna(from_name)
    out["province_code"] = code.astype("str")
    canonical = code.notna() & ~name_text.isin(corrected)  # a corrected spelling stays as given
    out["province"] = code.map(names).astype("str").where(canonical, name_text)
    return code


def _validate_shapes(ev, out, ctx):
    """Refuse polygons and lines where a point should be, or accept them at a lower precision."""
    if GEOMETRY_COLUMN not in ev.columns:
        return
    kind = ev[GEOMETRY_COLUMN].reset_index(drop=True)
    shaped = kind.notna().to_numpy()
    if not shaped.any():
        return
    if ctx.state.polygons == "refuse":
        ctx.add(shaped, "geometry", lambda: "the geometry is a " + kind.fillna("")
                + ", not a point: give each event a point, or read with "
                "polygons='representative_point' to place it inside the shape at district "
                "precision", value=kind)
        return
    precision = out["location_precision"]
    lowered = shaped & ~precision.isin(["district", "province"]).to_numpy()
    out["location_precision"] = precision.where(~lowered, "district")
    ctx.add(shaped, "geometry", lambda: "the geometry is a " + kind.fillna("")
            + "; placed at a point inside it, location_precision "
            + out["location_precision"].fillna(""), value=kind, warn=True)


@functools.lru_cache(maxsize=1)
def _locator():
    """Return the join's locator for the shipped provinces (None when they cannot load)."""
    from khorasan_map.join import get_locator

    try:
        return get_locator()
    except Exception:  # boundaries unavailable: fall back to the bounding box
        return None


def _read_coordinates(ev, ctx):
    """Parse latitude and longitude; report non-numbers and one of the two missing."""
    lat, bad_lat = parse_numbers(ev["latitude"])
    lon, bad_lon = parse_numbers(ev["longitude"])
    ctx.add(bad_lat, "latitude", lambda: quoted(as_text(ev["latitude"])) + " is not a number")
    ctx.add(bad_lon, "longitude", lambda: quoted(as_text(ev["longitude"])) + " is not a number")
    has_lat, has_lon = lat.notna().to_numpy(), lon.notna().to_numpy()
    ctx.add(has_lat & ~has_lon & ~bad_lon, "longitude",
            "latitude is given but longitude is empty", value="")
    ctx.add(has_lon & ~has_lat & ~bad_lat, "latitude",
            "longitude is given but latitude is empty", value="")
    # rows whose coordinates are unusable for another reason already have a problem
    flawed = bad_lat | bad_lon | (has_lat ^ has_lon)
    return lat, lon, has_lat & has_lon, flawed


def place_points(x, y, locator=None, tolerance_m=None):
    """Return the province code holding each point, and whether it counts as in Afghanistan.

    The one border rule of validation and the join: a point counts when it is in a province,
    or outside every province but within ``tolerance_m`` metres of one, measured by the join's
    locator (:meth:`khorasan_map.join.PointLocator.nearest`).

    Parameters
    ----------
    x, y : numpy.ndarray
        Longitudes and latitudes (EPSG:4326); NaN is neither.
    locator : khorasan_map.join.PointLocator, optional
        Default: the shipped provinces' (the bounding box alone when they cannot be loaded).
    tolerance_m : float, optional
        Default :data:`settings.BORDER_TOLERANCE_M`, read when called.

    Returns
    -------
    found : numpy.ndarray
        Object array: the code of the province holding the point, None outside every one.
    inside : numpy.ndarray
        Boolean: in a province or within the tolerance of one.
    """
    tolerance_m = settings.BORDER_TOLERANCE_M if tolerance_m is None else tolerance_m
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    minx, miny, maxx, maxy = settings.AFGHANISTAN_BOUNDS
    margin = tolerance_m / 80_000.0  # degrees: a longitude degree is over 80 km here
    in_box = ((x >= minx - margin) & (x <= maxx + margin) & (y >= miny - margin)
              & (y <= maxy + margin))
    found = np.full(len(x), None, dtype=object)
    locator = _locator() if locator is None else locator
    if locator is None:
        return found, in_box & (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)
    idx = np.flatnonzero(in_box)
    found[idx] = locator.locate(x[idx], y[idx])
    inside = in_box & pd.notna(found)
    near_idx = np.flatnonzero(in_box & ~inside)
    if near_idx.size:
        near, _, _ = locator.nearest(x[near_idx], y[near_idx], tolerance_m, measure_beyond=False)
        inside[near_idx[near >= 0]] = True
    return found, inside


def _outside_reason(lat, lon, swapped_in):
    """Say why a point is outside Afghanistan, naming the swap when that puts it inside."""
    minx, miny, maxx, maxy = settings.AFGHANISTAN_BOUNDS
    if lat < miny or lat > maxy:
        column, value = "latitude", f"{lat:g}"
        text = f"{lat:g} is outside Afghanistan (latitude {miny}-{maxy})"
    elif lon < minx or lon > maxx:
        column, value = "longitude", f"{lon:g}"
        text = f"{lon:g} is outside Afghanistan (longitude {minx}-{maxx})"
    else:
        column, value = "latitude, longitude", f"{lat:g}, {lon:g}"
        tolerance_km = settings.BORDER_TOLERANCE_M / 1000
        text = (f"the point ({lat:g}, {lon:g}) is outside Afghanistan, more than "
                f"{tolerance_km:g} km beyond the border")
    if swapped_in is not None:
        text += (f"; latitude and longitude look swapped (latitude {lon:g}, "
                 f"longitude {lat:g}{swapped_in})")
    return column, value, text


def _report_outside(x, y, outside, ctx, locator):
    """Reject the points outside Afghanistan, one message each (they are few)."""
    idx = np.flatnonzero(outside)
    if not idx.size:
        return
    sx, sy = y[idx], x[idx]  # swapped
    found, swap_inside = place_points(sx, sy, locator)
    names = _province_lookup()
    n = len(x)
    columns = np.full(n, "", dtype=object)
    values = pd.Series([""] * n, dtype=object)
    reasons = pd.Series([""] * n, dtype=object)
    for i, row in enumerate(idx):
        swapped_in = None
        if swap_inside[i]:
            swapped_in = (f" would be in {names.get(found[i], found[i])}" if found[i]
                          else " would be inside Afghanistan" if locator is None else "")
        columns[row], values.iloc[row], reasons.iloc[row] = _outside_reason(
            y[row], x[row], swapped_in)
    for name in ("latitude", "longitude", "latitude, longitude"):
        ctx.add(outside & (columns == name), name, reasons, value=values)


def _settle_location_precision(out, ctx, both, flawed, codes):
    """Default the location precision, and reject rows with no location at all."""
    precision = out["location_precision"]
    default = pd.Series(np.where(both, "exact", "province"), dtype="str")
    lost = precision.isin(settings.POINT_PRECISIONS).to_numpy() & ~both & ~flawed
    ctx.add(lost, "location_precision",
            lambda: "location_precision " + quoted(precision)
            + " without coordinates; read as 'province'", warn=True)
    precision = precision.where(~lost, "province").fillna(default)
    out["location_precision"] = precision
    nowhere = ~both & codes.isna().to_numpy() & out["province"].isna().to_numpy()
    ctx.add(nowhere & ~flawed, "province",
            "no location: give a province or latitude and longitude", value="")
    return precision


def _warn_disagreement(x, y, found, point, codes, out, ctx):
    """Warn where a point lies in another province than the stated one."""
    stated = codes.to_numpy(dtype=object)
    wrong = point & pd.notna(stated) & pd.notna(found) & (found != stated)
    if not wrong.any():
        return
    names = _province_lookup()
    reason = pd.Series([""] * len(x), dtype=object)
    for i in np.flatnonzero(wrong):
        reason.iloc[i] = (f"stated province {names.get(stated[i], stated[i])} ({stated[i]}) "
                          f"but the point ({y[i]:g}, {x[i]:g}) is in "
                          f"{names.get(found[i], found[i])} ({found[i]})")
    ctx.add(wrong, "province", reason, warn=True, value=out["province"])


def _validate_coordinates(ev, out, ctx, codes):
    lat, lon, both, flawed = _read_coordinates(ev, ctx)
    x, y = lon.to_numpy(), lat.to_numpy()
    locator = _locator()
    found, inside = place_points(np.where(both, x, np.nan), np.where(both, y, np.nan), locator)
    _report_outside(x, y, both & ~inside, ctx, locator)
    precision = _settle_location_precision(out, ctx, both, flawed, codes)
    point = both & inside & precision.isin(settings.POINT_PRECISIONS).to_numpy()
    _warn_disagreement(x, y, found, point, codes, out, ctx)
    out["latitude"] = lat
    out["longitude"] = lon


def _matches(series: pd.Series, pattern: str) -> np.ndarray:
    """Whether each text matches ``pattern`` (RE2 through pyarrow; missing counts as a match)."""
    import pyarrow.compute as pc

    found = pc.match_substring_regex(arrow_text(series), pattern)
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
            lambda: quoted(url.fillna("")) + " " + pd.Series(reason, dtype=object))
    out["source_url"] = url.where(~bad, None)


def concat_reports(frames):
    """Concatenate reports, or return an empty one."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_report()
    return pd.concat(frames, ignore_index=True)


def rejected_rows(problems, raw):
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


def format_lines(report, limit, several=False):
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


def rejection_message(n_rejected: int, n_input: int, lines, n_problems: int | None = None) -> str:
    """Return the one message both engines raise when rows are rejected.

    Parameters
    ----------
    n_rejected, n_input : int
        Rejected rows, and rows that entered validation.
    lines : list of str
        Problem lines from :func:`format_lines` (at most :data:`MAX_LISTED` are shown).
    n_problems : int, optional
        Problems in all (a row may have several), when known.

    Returns
    -------
    str

    Examples
    --------
    >>> print(rejection_message(1, 3, ["row 2, column date: 'x' is not a date"], 1))
    1 of 3 rows failed validation (1 problem):
      row 2, column date: 'x' is not a date
    """
    shown = [x for x in lines if not x.startswith("... and")][:MAX_LISTED]
    count = "" if n_problems is None else (
        f" ({n_problems:,} problem{'' if n_problems == 1 else 's'})")
    text = [f"{n_rejected:,} of {n_input:,} rows failed validation{count}:",
            *("  " + x for x in shown)]
    more = (n_rejected if n_problems is None else n_problems) - len(shown)
    if more > 0:
        text.append(f"  ... and {more:,} more")
    return "\n".join(text)
