"""ACLED exports: which rows are Taliban-vs-ISK, and how their columns map to the schema.

A row is kept when a Taliban actor is on one side and an IS/ISKP actor on the other, in the
actor columns of current layouts (``actor1``, ``assoc_actor_1``, ...) or of old ones
(``ally_actor_1``, ...); dates are ISO, "15 March 2019", "9-May-20" or day-first "15/03/2019".
See :func:`khorasan_map.events.read_events` (Notes) for every rule in words.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from khorasan_map import settings
from khorasan_map.parsing import as_text, in_afghanistan, iso_or_text, parse_dates
from khorasan_map.schema import OTHER_KIND, blank_events

__all__ = [
    "DATE_FORMS",
    "FILTER_COLUMNS",
    "MESSAGE_NAMES",
    "REQUIRED",
    "SIDE_COLUMNS",
    "SIGNATURE",
    "actor_sides",
    "keep_mask",
    "to_schema",
]

#: Columns that tell an ACLED export from other files.
SIGNATURE = {"event_id_cnty", "event_date", "actor1", "geo_precision"}

#: Columns an ACLED export must have.
REQUIRED = ("event_id_cnty", "event_date", "event_type", "actor1", "actor2", "admin1",
                   "latitude", "longitude", "geo_precision")

#: ACLED columns named in messages instead of the schema columns they fill.
MESSAGE_NAMES = {"event_id": "event_id_cnty", "date": "event_date", "date_start": "event_date",
                "date_end": "event_date", "date_precision": "time_precision",
                "province": "admin1", "district": "admin2", "location_precision": "geo_precision",
                "description": "notes", "source_name": "source"}

_KILLING = "taliban_killing_of_suspected_isk"

_TALIBAN = r"(?i)\btaliban\b"

_TALIBAN_STATE = r"(?i)forces of afghanistan \(2021-"  # ACLED's name for the Taliban state

_ISK = r"(?i)islamic state|\biskp?\b|\bis-k\b|\bdaesh\b"

_PAKISTANI_TALIBAN = r"(?i)tehr[ei]+k|\bttp\b|pakistan"

_UNATTRIBUTED = r"(?i)\band/or\b"


def _has_actor(series, pattern):
    text = series.fillna("").astype(str)
    found = text.str.contains(pattern, regex=True) & ~text.str.contains(_UNATTRIBUTED, regex=True)
    if pattern.startswith(_TALIBAN):  # the Pakistani Taliban (TTP) are another movement
        found &= ~text.str.contains(_PAKISTANI_TALIBAN, regex=True)
    return found


#: Actor columns of each side: ``assoc_actor_N`` in current exports, ``ally_actor_N`` in old ones.
SIDE_COLUMNS: dict[str, tuple[str, ...]] = {
    "1": ("actor1", "assoc_actor_1", "ally_actor_1"),
    "2": ("actor2", "assoc_actor_2", "ally_actor_2"),
}

#: Columns the Taliban-ISK filter reads (before the other columns are converted).
FILTER_COLUMNS: frozenset = frozenset({*SIDE_COLUMNS["1"], *SIDE_COLUMNS["2"], "iso", "country"})

#: Date forms of ACLED exports besides ISO and "15 March 2019": "9-May-20" and the day-first
#: "15/03/2019" (ACLED writes day before month).
DATE_FORMS: tuple[str, ...] = ("%d-%b-%y", "%d-%B-%y", "%d-%b-%Y", "%d-%B-%Y", "%d/%m/%Y")


def actor_sides(raw, government=True):
    """Return Boolean masks: Taliban and ISK on side 1 and side 2 of each ACLED row."""
    n = len(raw)
    side = {}
    for i in ("1", "2"):
        cols = SIDE_COLUMNS[i]
        tal = np.zeros(n, dtype=bool)
        isk = np.zeros(n, dtype=bool)
        for col in cols:
            if col in raw.columns:
                pattern = _TALIBAN + "|" + _TALIBAN_STATE[4:] if government else _TALIBAN
                tal |= _has_actor(raw[col], pattern).to_numpy()
                isk |= _has_actor(raw[col], _ISK).to_numpy()
        side[i] = (tal, isk)
    return side


def keep_mask(raw, keep_all, government=True):
    """Return which rows to keep: Taliban against ISK (all with ``keep_all``), in Afghanistan."""
    if keep_all:
        keep = np.ones(len(raw), dtype=bool)
    else:
        side = actor_sides(raw, government)
        keep = (side["1"][0] & side["2"][1]) | (side["1"][1] & side["2"][0])
    return keep & in_afghanistan(raw, "iso", "4", "country")


def to_schema(raw: pd.DataFrame, ctx) -> pd.DataFrame:
    """Map ACLED columns to the schema; record row problems in ``ctx``."""
    out, col = blank_events(raw)
    out["event_id"] = col("event_id_cnty")
    dates, _ = parse_dates(col("event_date"), forms=DATE_FORMS)
    raw_date = as_text(col("event_date"))
    tp = as_text(col("time_precision")).fillna("1").str.replace(r"\.0$", "", regex=True)
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
    out["date"] = iso_or_text(start, raw_date)
    out["date_start"] = out["date"]
    out["date_end"] = iso_or_text(end, raw_date)
    precision = np.select([week, month], ["range", "month"], "day")
    precision[~tp.isin(["1", "2", "3"]).to_numpy()] = None
    out["date_precision"] = pd.Series(precision, dtype="str")
    bad_tp = ~tp.isin(["1", "2", "3"])
    ctx.rows = out["_row"]
    ctx.ids = out["event_id"]
    ctx.raw_values = {}
    ctx.add(bad_tp, "date_precision", "time_precision must be 1 (day), 2 (week) or 3 (month)",
            value=tp)
    side = actor_sides(raw, ctx.state.government_from is not None)
    tal_isk = (side["1"][0] & side["2"][1]) | (side["1"][1] & side["2"][0])
    event_type = as_text(col("event_type")).fillna("").str.lower()
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
    gp = as_text(col("geo_precision")).fillna("").str.replace(r"\.0$", "", regex=True)
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
