"""UCDP GED files: which rows are Taliban-vs-ISK, and how their columns map to the schema.

UCDP codes the Taliban state as the "Government of Afghanistan" from August 2021, so one dyad
changes meaning on a date (:func:`dyad_masks`); :func:`khorasan_map.events.read_events` (Notes)
gives every rule in words.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from khorasan_map.parsing import as_text, in_afghanistan, iso_or_text, parse_dates
from khorasan_map.schema import OTHER_KIND, blank_events

__all__ = ["FILTER_COLUMNS", "MESSAGE_NAMES", "REQUIRED", "SIGNATURE",
           "dyad_masks", "keep_mask", "to_schema"]

#: Columns that tell a UCDP GED file from other files.
SIGNATURE = {"dyad_name", "where_prec", "date_prec", "best"}

#: Columns a UCDP GED file must have.
REQUIRED = ("id", "dyad_name", "date_start", "date_end", "date_prec", "where_prec",
            "adm_1", "latitude", "longitude", "best")

#: UCDP columns named in messages instead of the schema columns they fill.
MESSAGE_NAMES = {"event_id": "id", "date": "date_start", "date_precision": "date_prec",
               "province": "adm_1", "district": "adm_2", "location_precision": "where_prec",
               "fatalities": "best", "fatalities_low": "low", "fatalities_high": "high",
               "actor1": "side_a", "actor2": "side_b", "source_name": "source_office",
               "source_title": "source_headline"}


#: Columns the Taliban-ISK filter reads (before the other columns are converted).
FILTER_COLUMNS: frozenset = frozenset({"dyad_name", "conflict_new_id", "conflict_dset_id",
                                       "date_start", "country_id", "country"})


def dyad_masks(raw, government_from):
    """Return which rows are Taliban-vs-ISK by dyad or conflict, and which by the later rule.

    Parameters
    ----------
    raw : pandas.DataFrame
        UCDP rows (``dyad_name``, ``date_start`` and any conflict id columns).
    government_from : pandas.Timestamp or None
        From this day, "Government of Afghanistan - IS" is the Taliban state against ISK.

    Returns
    -------
    tuple of numpy.ndarray
        ``taliban_isk`` (the dyad "IS - Taleban", the Islamic Emirate's High Council, conflict
        13651) and ``government_taliban`` (the government dyad from ``government_from``).
    """
    dyad = as_text(raw["dyad_name"]).fillna("").str.lower().str.replace(r"\s+", " ", regex=True)
    taliban_isk = np.array(dyad.isin(["is - taleban", "taleban - is"]), dtype=bool)
    taliban_isk |= dyad.str.contains("high council of afghanistan islamic emirate",
                                     regex=False).to_numpy()
    for name in ("conflict_new_id", "conflict_dset_id"):
        if name in raw.columns:
            taliban_isk |= (as_text(raw[name]).str.replace(r"\.0$", "", regex=True)
                            == "13651").fillna(False).to_numpy()
    government = np.zeros(len(raw), dtype=bool)
    if government_from is not None:
        start, _ = parse_dates(raw["date_start"])
        government = (dyad.isin(["government of afghanistan - is"]).to_numpy()
                      & (start >= government_from).fillna(False).to_numpy())
    return taliban_isk, government


def keep_mask(raw, keep_all, government_from):
    """Return which rows to keep: Taliban-ISK dyads (all with ``keep_all``), in Afghanistan."""
    if keep_all:
        keep = np.ones(len(raw), dtype=bool)
    else:
        taliban_isk, government = dyad_masks(raw, government_from)
        keep = taliban_isk | government
    return keep & in_afghanistan(raw, "country_id", "700", "country")


def _strip_suffix(series, word):
    return as_text(series).str.replace(rf"(?i)\s+{word}$", "", regex=True)


def _dates(out, col, ctx) -> None:
    """Fill the dates and their precision from date_start, date_end and date_prec."""
    start, _ = parse_dates(col("date_start"))
    end, _ = parse_dates(col("date_end"))
    out["date"] = iso_or_text(start, as_text(col("date_start")))
    out["date_start"] = out["date"]
    out["date_end"] = iso_or_text(end, as_text(col("date_end")))
    dp = as_text(col("date_prec")).str.replace(r"\.0$", "", regex=True)
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
        m_end = (s.astype("datetime64[M]") + 1).astype("datetime64[D]") - np.timedelta64(1, "D")
        y_end = (s.astype("datetime64[Y]") + 1).astype("datetime64[D]") - np.timedelta64(1, "D")
        fixed_end = np.where(month, m_end, np.where(year, y_end, s.astype("datetime64[D]")))
        fixed = pd.Series(fixed_end.astype("datetime64[ns]"))
        out["date_end"] = out["date_end"].where(~(month | year),
                                                fixed.dt.strftime("%Y-%m-%d").astype("str"))


def _location(out, col, ctx) -> None:
    """Fill province, district, precision and coordinates from adm_1, adm_2 and where_prec."""
    wp = as_text(col("where_prec")).str.replace(r"\.0$", "", regex=True).fillna("")
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


def to_schema(raw: pd.DataFrame, ctx) -> pd.DataFrame:
    """Map UCDP GED columns to the schema; record row problems in ``ctx``."""
    out, col = blank_events(raw)
    ident = as_text(col("id")).str.replace(r"\.0$", "", regex=True)
    out["event_id"] = ("UCDP-" + ident).where(ident.notna(), None)
    ctx.rows, ctx.ids, ctx.raw_values = out["_row"], out["event_id"], {}
    _dates(out, col, ctx)
    taliban_isk, government = dyad_masks(raw, ctx.state.government_from)
    out["kind"] = pd.Series(np.where(taliban_isk | government, "clash", OTHER_KIND), dtype="str")
    side_a = as_text(col("side_a"))
    out["actor1"] = side_a.where(~government, side_a + " (Taliban)")
    out["actor2"] = as_text(col("side_b"))
    _location(out, col, ctx)
    out["fatalities"] = col("best")
    out["fatalities_low"] = col("low")
    out["fatalities_high"] = col("high")
    dyad = as_text(col("dyad_name")).fillna("")
    where = as_text(col("where_description")).fillna("")
    out["description"] = ("UCDP GED event: " + dyad + np.where(where != "", ", " + where, ""))
    out["source_name"] = as_text(col("source_office"))
    headline = as_text(col("source_headline"))
    out["source_title"] = headline.fillna(as_text(col("source_article")))
    out["source_date"] = as_text(col("source_date"))
    clarity = as_text(col("event_clarity")).str.replace(r"\.0$", "", regex=True)
    out["confidence"] = clarity.map({"1": "high", "2": "low"}).astype("str")
    out["dataset"] = "ucdp"
    return out
