"""Build the shipped Taliban-ISK event dataset from the curated source table.

Reads ``data/events/records.csv`` (one curated record per province and kind, each tied by ``ref``
to a row of the project's research table), adds the ISO province code, the district centroid
where the record names exactly one district, the event id and the dataset name, checks every
record, and writes the same bytes to both shipped copies:

- ``data/events/taliban_isk_events.csv``
- ``src/khorasan_map/data/taliban_isk_events.csv``

District centroids come from the geoBoundaries ADM2 layer (public domain, 2014 AIMS lineage),
read from ``--districts``. The centroid is taken in the project's equal-area CRS
(``settings.EQUAL_AREA_CRS``) and projected back to longitude/latitude; if it ever fell outside
its own polygon, the polygon's representative point would be used instead. The district is
checked against the stated province with ``--provinces`` (the project's province layer).

When ``--research`` exists, every research row must be carried into at least one record and the
source fields must match the research table.

Usage (from the repository root)::

    python scripts/build_events.py            # write both copies
    python scripts/build_events.py --check    # exit 1 if the committed copies are out of date
"""

from __future__ import annotations

import argparse
import calendar
import csv
import io
import re
import sys
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd

from khorasan_map import settings

REPO = Path(__file__).resolve().parents[1]
RECORDS = REPO / "data" / "events" / "records.csv"
OUTPUTS = (
    REPO / "data" / "events" / settings.EVENTS_FILE,
    REPO / "src" / "khorasan_map" / "data" / settings.EVENTS_FILE,
)
GAZETTEER = REPO / "src" / "khorasan_map" / "data" / settings.GAZETTEER_FILE
DEFAULT_DISTRICTS = (
    REPO.parent / "shared" / "reference" / "geoBoundaries-AFG-ADM2_simplified.geojson"
)
DEFAULT_PROVINCES = REPO / "data" / "boundaries" / settings.PROVINCES_FILE
DEFAULT_RESEARCH = REPO.parent / "shared" / "research" / "taliban_isk_facts.csv"

#: Column order of the event schema (team contract).
EVENT_COLUMNS = [
    "event_id", "date", "date_start", "date_end", "date_precision", "kind", "actor1", "actor2",
    "province_code", "province", "district", "latitude", "longitude", "location_precision",
    "fatalities", "fatalities_low", "fatalities_high", "description", "source_name",
    "source_title", "source_date", "source_url", "confidence", "dataset",
]

#: Kinds used here beyond settings.EVENT_KINDS (documented in data/events/README.md).
EXTRA_KINDS = ("taliban_killing_of_suspected_isk",)

DATASET = "khorasan_map"
ID_PREFIX = "KM-"
#: A district polygon must have at least this share of its area in the stated province.
MIN_DISTRICT_SHARE = 0.5
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_PARTIAL = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


class BuildError(Exception):
    """A record of the source table cannot be built."""


def fail(row, column, message):
    """Raise a BuildError naming the source-table row (1-based, header excluded) and column."""
    raise BuildError(f"records.csv row {row}, column {column!r}: {message}")


def read_records(path):
    """Read the curated source table as strings (empty cells stay empty strings)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def province_codes(path=GAZETTEER):
    """Map the English province names of the package gazetteer to ISO 3166-2 codes."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    return dict(zip(table["province"], table["province_code"], strict=True))


def province_spellings(path=GAZETTEER):
    """Map every gazetteer spelling (name, ISO name, variants; lower case) to the English name."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    spellings = {}
    for rec in table.itertuples(index=False):
        names = [rec.province, rec.iso_name, *rec.variants.split(";")]
        for name in names:
            if name.strip():
                spellings[name.strip().lower()] = rec.province
    return spellings


def check_dates(row, rec):
    """Check that the date fields agree with their precision."""
    prec, start, end = rec["date_precision"], rec["date_start"], rec["date_end"]
    if prec not in settings.DATE_PRECISIONS:
        fail(row, "date_precision", f"{prec!r} is not one of {settings.DATE_PRECISIONS}")
    if prec == "unknown":
        if start or end:
            fail(row, "date_start", "an unknown date must leave date_start and date_end empty")
        return
    for col, value in (("date_start", start), ("date_end", end)):
        if not ISO_DAY.match(value):
            fail(row, col, f"{value!r} is not an ISO date YYYY-MM-DD")
    d0, d1 = date.fromisoformat(start), date.fromisoformat(end)
    if d1 < d0:
        fail(row, "date_end", f"{end} is before date_start {start}")
    if prec == "day" and d0 != d1:
        fail(row, "date_end", "a day-precision record must start and end on the same day")
    if prec == "month":
        last = calendar.monthrange(d0.year, d0.month)[1]
        if d0.day != 1 or d1 != date(d0.year, d0.month, last):
            fail(row, "date_end", "a month-precision record must span one whole month")
    if prec == "year" and (d0 != date(d0.year, 1, 1) or d1 != date(d0.year, 12, 31)):
        fail(row, "date_end", "a year-precision record must span one whole year")


def check_fatalities(row, rec):
    """Check that fatality figures are whole numbers with low <= best <= high."""
    values = {}
    for col in ("fatalities_low", "fatalities", "fatalities_high"):
        if rec[col]:
            if not rec[col].isdigit():
                fail(row, col, f"{rec[col]!r} is not a whole number")
            values[col] = int(rec[col])
    order = ("fatalities_low", "fatalities", "fatalities_high")
    ordered = [values[c] for c in order if c in values]
    if ordered != sorted(ordered):
        fail(row, "fatalities", "must satisfy fatalities_low <= fatalities <= fatalities_high")


def check_record(row, rec, codes):
    """Check one curated record against the schema's vocabularies."""
    kinds = tuple(settings.EVENT_KINDS) + EXTRA_KINDS
    if rec["kind"] not in kinds:
        fail(row, "kind", f"{rec['kind']!r} is not one of {kinds}")
    if rec["province"] not in codes:
        fail(row, "province", f"{rec['province']!r} is not a gazetteer province name")
    if rec["confidence"] not in settings.CONFIDENCE_LEVELS:
        fail(row, "confidence", f"{rec['confidence']!r} is not one of {settings.CONFIDENCE_LEVELS}")
    if not re.match(r"^https?://\S+$", rec["source_url"]):
        fail(row, "source_url", "must be an http or https address")
    for col in ("source_name", "source_title", "description", "actor1", "actor2"):
        if not rec[col].strip():
            fail(row, col, "must not be empty")
    if rec["source_date"] and not ISO_PARTIAL.match(rec["source_date"]):
        fail(row, "source_date", f"{rec['source_date']!r} is not ISO (YYYY, YYYY-MM or YYYY-MM-DD)")
    check_dates(row, rec)
    check_fatalities(row, rec)


def district_point(polygon):
    """Return the centroid of a district polygon given in the equal-area CRS.

    Parameters
    ----------
    polygon : shapely geometry
        The district, in ``settings.EQUAL_AREA_CRS``.

    Returns
    -------
    tuple of (shapely.Point, str)
        The point (equal-area CRS) and how it was found, ``"centroid"`` or
        ``"representative_point"`` (used only when the centroid falls outside the polygon).
    """
    point = polygon.centroid
    if polygon.contains(point):
        return point, "centroid"
    return polygon.representative_point(), "representative_point"


def locate_districts(records, codes, districts_path, provinces_path):
    """Find each named district's point, checked against the stated province.

    Returns
    -------
    tuple of (dict, list)
        ``{(adm2_name, province_code): (lon, lat)}`` and lines of a plain-text check report.
    """
    wanted = sorted({(r.adm2_name, codes[r.province]) for r in records.itertuples() if r.adm2_name})
    if not wanted:
        return {}, []
    adm2 = gpd.read_file(districts_path).to_crs(settings.EQUAL_AREA_CRS)
    adm2["shapeName"] = adm2["shapeName"].str.strip()
    provinces = None
    if provinces_path and Path(provinces_path).exists():
        provinces = gpd.read_file(provinces_path).to_crs(settings.EQUAL_AREA_CRS)
        provinces = provinces.set_index("province_code")
    points, report = {}, []
    for name, code in wanted:
        candidates = adm2[adm2["shapeName"] == name]
        if candidates.empty:
            raise BuildError(f"district {name!r} is not in {districts_path}")
        if provinces is None:
            if len(candidates) > 1:
                raise BuildError(f"district {name!r} is ambiguous and no --provinces layer given")
            geom, share, centroid_code = candidates.geometry.iloc[0], float("nan"), "not checked"
        else:
            target = provinces.geometry.loc[code]
            shares = candidates.geometry.intersection(target).area / candidates.geometry.area
            best = shares.idxmax()
            geom, share = candidates.geometry.loc[best], float(shares.loc[best])
            if share < MIN_DISTRICT_SHARE:
                raise BuildError(
                    f"district {name!r}: only {share:.0%} of its area lies in {code}, the stated "
                    "province"
                )
        point, how = district_point(geom)
        if provinces is not None:
            hits = provinces.index[provinces.contains(point)].tolist()
            centroid_code = hits[0] if hits else "none"
            if centroid_code != code:
                raise BuildError(f"district {name!r}: point falls in {centroid_code}, not {code}")
        lonlat = gpd.GeoSeries([point], crs=settings.EQUAL_AREA_CRS).to_crs(settings.CRS).iloc[0]
        points[(name, code)] = (round(lonlat.x, 4), round(lonlat.y, 4))
        report.append(
            f"{name:<14} {code}  area in stated province {share:6.1%}  point by {how:<9} "
            f"in {centroid_code}  lon {lonlat.x:.4f} lat {lonlat.y:.4f}"
        )
    return points, report


def check_research(records, research_path):
    """Check that every research row is carried and that the source fields match it."""
    research = pd.read_csv(research_path, dtype=str, keep_default_na=False, encoding="utf-8")
    spellings = province_spellings()

    def named_provinces(fact):
        return [spellings.get(p.strip().lower(), p.strip()) for p in fact["province"].split(";")]

    refs = records["ref"].astype(int)
    missing = sorted(set(range(1, len(research) + 1)) - set(refs))
    if missing:
        raise BuildError(f"research rows {missing} are not carried into any record")
    pairs = {
        "source_name": "publication", "source_title": "title", "source_url": "url",
        "confidence": "confidence",
    }
    for i, rec in enumerate(records.itertuples(index=False), start=1):
        fact = research.iloc[int(rec.ref) - 1]
        for ours, theirs in pairs.items():
            if getattr(rec, ours) != fact[theirs]:
                fail(i, ours, f"{getattr(rec, ours)!r} differs from research row {rec.ref}")
        if rec.province not in named_provinces(fact):
            fail(i, "province", f"{rec.province!r} is not named by research row {rec.ref}")
        given = fact["pub_date"]
        if ISO_PARTIAL.match(given) and rec.source_date != given:
            fail(i, "source_date", f"{rec.source_date!r} differs from {given!r}")
        if not ISO_PARTIAL.match(given) and not given.startswith(rec.source_date):
            fail(i, "source_date", f"{rec.source_date!r} is not the ISO part of {given!r}")
    for ref, fact in research.iterrows():
        for province in named_provinces(fact):
            carried = records[(refs == ref + 1) & (records["province"] == province)]
            if carried.empty:
                raise BuildError(f"research row {ref + 1} names {province!r} but has no record")


def build_table(records, codes, points):
    """Return the event table (strings, schema order, sorted, with event ids)."""
    out = records.copy()
    out["province_code"] = out["province"].map(codes)
    out["date"] = out["date_start"]
    keys = list(zip(out["adm2_name"], out["province_code"], strict=True))
    lon = [points.get(key, (None, None))[0] for key in keys]
    lat = [points.get(key, (None, None))[1] for key in keys]
    out["longitude"] = ["" if v is None else f"{v:.4f}" for v in lon]
    out["latitude"] = ["" if v is None else f"{v:.4f}" for v in lat]
    out["location_precision"] = ["district" if v else "province" for v in out["longitude"]]
    out["dataset"] = DATASET
    out["_sort_date"] = out["date_start"].replace("", "9999-12-31")
    out["_ref"] = out["ref"].astype(int)
    out = out.sort_values(["_sort_date", "province", "kind", "_ref"], kind="stable")
    out["event_id"] = [f"{ID_PREFIX}{i:04d}" for i in range(1, len(out) + 1)]
    return out[EVENT_COLUMNS].reset_index(drop=True)


def to_csv_bytes(table):
    """Serialise the table as UTF-8 CSV (no BOM, LF line ends, minimal quoting)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EVENT_COLUMNS)
    writer.writerows(table.itertuples(index=False, name=None))
    return buffer.getvalue().encode("utf-8")


def main(argv=None):
    """Run the build from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=Path, default=RECORDS)
    parser.add_argument("--districts", type=Path, default=DEFAULT_DISTRICTS,
                        help="geoBoundaries AFG ADM2 GeoJSON (district centroids)")
    parser.add_argument("--provinces", type=Path, default=DEFAULT_PROVINCES,
                        help="province layer with a province_code column (district check)")
    parser.add_argument("--research", type=Path, default=DEFAULT_RESEARCH,
                        help="research table to cross-check (skipped if the file is absent)")
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the shipped copies differ from a fresh build")
    args = parser.parse_args(argv)

    try:
        import khorasan_map.events as events_module
    except ImportError:
        events_module = None
    if events_module is not None and list(events_module.EVENT_COLUMNS) != EVENT_COLUMNS:
        raise BuildError("EVENT_COLUMNS here differ from khorasan_map.events.EVENT_COLUMNS")

    records = read_records(args.records)
    codes = province_codes()
    for i, rec in enumerate(records.to_dict("records"), start=1):
        check_record(i, rec, codes)
    if args.research.exists():
        check_research(records, args.research)
        print(f"research table {args.research}: every row carried, sources match")
    else:
        print(f"research table {args.research} not found: cross-check skipped")
    points, report = locate_districts(records, codes, args.districts, args.provinces)
    print("\n".join(report))
    table = build_table(records, codes, points)
    payload = to_csv_bytes(table)
    if args.check:
        stale = [str(p) for p in OUTPUTS if not p.exists() or p.read_bytes() != payload]
        if stale:
            print("out of date: " + ", ".join(stale), file=sys.stderr)
            return 1
        print(f"{len(table)} events: shipped copies are up to date")
        return 0
    for path in OUTPUTS:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
    written = " and ".join(str(p.relative_to(REPO)) for p in OUTPUTS)
    print(f"wrote {len(table)} events to {written}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BuildError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(2)
