"""Build the shipped Taliban-ISK event dataset from the curated source table.

Reads ``data/events/records.csv`` (one curated record per province and kind, each with its
stable ``event_id`` and tied by ``ref`` to a row of one of the project's research tables), adds
the ISO province code, the district centroid where the record names exactly one district and the
dataset name, checks every record, and writes the same bytes to both shipped copies:

- ``data/events/taliban_isk_events.csv`` and ``data/events/dataset.json``
- ``src/khorasan_map/data/taliban_isk_events.csv`` and ``src/khorasan_map/data/dataset.json``

``dataset.json`` names the dataset's version (:data:`DATASET_VERSION`, documented in
``data/events/CHANGES.md``), its date, the number of records and the SHA-256 of the events file.

District centroids come from the geoBoundaries ADM2 layer (public domain, 2014 AIMS lineage),
read from ``--districts``. The centroid is taken in the project's equal-area CRS
(``settings.EQUAL_AREA_CRS``) and projected back to longitude/latitude; if it ever fell outside
its own polygon, the polygon's representative point would be used instead. The district is
checked against the stated province with ``--provinces`` (the project's province layer).

``--research`` takes the research tables in order: the first is table 1, the second table 2.
A ``ref`` (and every entry of ``also_refs``) is written ``T:N``, row N (1-based, header
excluded) of table T. When the tables exist, every row of each must be carried by a record
(as its ``ref``, or in ``also_refs`` when it was merged into a record of the same event or
kept as context in its description), and a record's source fields must match its ``ref`` row
unless the record names them in ``differs_from_research`` (a documented correction).

Usage (from the repository root)::

    python scripts/build_events.py            # write both copies
    python scripts/build_events.py --check    # exit 1 if the committed copies are out of date
"""

from __future__ import annotations

import argparse
import calendar
import csv
import hashlib
import io
import json
import re
import sys
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd

from khorasan_map import settings

REPO = Path(__file__).resolve().parents[1]
RECORDS = REPO / "data" / "events" / "records.csv"
DATA_DIRS = (REPO / "data" / "events", REPO / "src" / "khorasan_map" / "data")
#: The machine-readable version file written beside each copy of the events file.
DATASET_FILE = "dataset.json"
OUTPUTS = tuple(folder / settings.EVENTS_FILE for folder in DATA_DIRS)
VERSION_OUTPUTS = tuple(folder / DATASET_FILE for folder in DATA_DIRS)
GAZETTEER = REPO / "src" / "khorasan_map" / "data" / settings.GAZETTEER_FILE
DEFAULT_DISTRICTS = (
    REPO.parent / "shared" / "reference" / "geoBoundaries-AFG-ADM2_simplified.geojson"
)
DEFAULT_PROVINCES = REPO / "data" / "boundaries" / settings.PROVINCES_FILE
RESEARCH_DIR = REPO.parent / "shared" / "research"
#: Research tables in order: a ref ``T:N`` is row N of table T (1-based).
DEFAULT_RESEARCH = (
    RESEARCH_DIR / "taliban_isk_facts.csv",
    RESEARCH_DIR / "taliban_isk_facts_2.csv",
)

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
#: Version of the records (semantic: major for added/merged/retired records or changed counts,
#: minor for corrections of fields, patch for wording); every change is in CHANGES.md.
DATASET_VERSION = "2.0.0"
DATASET_DATE = "2026-12-02"
PREVIOUS_VERSION = "1.0.0"
DATASET_NAME = "khorasan_map Taliban-ISK events"
LICENCE_NOTE = (
    "Our own compilation: bibliographic references, our own summaries and figures taken from "
    "the sources; the articles remain their publishers'. District points derived from "
    "geoBoundaries (public domain; attribution requested). See data/events/README.md."
)
ID_PATTERN = re.compile(r"^KM-\d{4}$")
#: Ids that were used once and must never be given to another record (merged records).
RETIRED_IDS: tuple[str, ...] = ()
#: Source fields a record may declare, in ``differs_from_research``, as corrected.
CORRECTABLE = ("source_name", "source_title", "source_date", "source_url", "confidence")
REF_PATTERN = re.compile(r"^(\d+):(\d+)$")
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


def parse_ref(row, column, ref, tables):
    """Return ``(table, row)`` for a ref ``T:N``, checking that the row exists when known."""
    match = REF_PATTERN.match(ref.strip())
    if not match:
        fail(row, column, f"{ref!r} is not a research reference T:N (table:row)")
    table, number = int(match.group(1)), int(match.group(2))
    if tables is not None:
        if table not in tables:
            fail(row, column, f"{ref!r}: there is no research table {table}")
        if not 1 <= number <= len(tables[table]):
            fail(row, column, f"{ref!r}: table {table} has {len(tables[table])} rows")
    return table, number


def split_refs(value):
    """Split an ``also_refs`` cell (``T:N; T:N``) into its references."""
    return [ref.strip() for ref in value.split(";") if ref.strip()]


def check_ids(records):
    """Check that event ids are well formed, unique and never a retired id."""
    for i, event_id in enumerate(records["event_id"], start=1):
        if not ID_PATTERN.match(event_id):
            fail(i, "event_id", f"{event_id!r} is not an id KM-NNNN")
        if event_id in RETIRED_IDS:
            fail(i, "event_id", f"{event_id} is retired and must not be reused")
    repeated = records["event_id"][records["event_id"].duplicated()].tolist()
    if repeated:
        raise BuildError(f"records.csv: event ids used twice: {sorted(set(repeated))}")


def read_research(paths):
    """Read the research tables that exist, numbered 1, 2, ... in the order given."""
    tables = {}
    for number, path in enumerate(paths, start=1):
        if Path(path).exists():
            tables[number] = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    return tables


def named_provinces(fact, spellings):
    """English names of the provinces a research row names (``A; B`` for several)."""
    return [spellings.get(p.strip().lower(), p.strip()) for p in fact["province"].split(";")]


def source_date_matches(ours, given):
    """Whether a record's ISO source date is the research table's date (or its ISO part)."""
    if ISO_PARTIAL.match(given):
        return ours == given
    return given.startswith(ours)


def check_sources(i, rec, fact):
    """Compare a record's source fields with its ``ref`` row, honouring declared corrections."""
    declared = split_refs(rec.differs_from_research)
    for field in declared:
        if field not in CORRECTABLE:
            fail(i, "differs_from_research", f"{field!r} is not one of {CORRECTABLE}")
    pairs = {
        "source_name": "publication", "source_title": "title", "source_url": "url",
        "confidence": "confidence", "source_date": "pub_date",
    }
    for ours, theirs in pairs.items():
        value, given = getattr(rec, ours), fact[theirs]
        same = source_date_matches(value, given) if ours == "source_date" else value == given
        if ours in declared and same:
            fail(i, "differs_from_research", f"{ours} is declared corrected but equals {rec.ref}")
        if ours not in declared and not same:
            fail(i, ours, f"{value!r} differs from research row {rec.ref} ({given!r})")


def check_research(records, tables):
    """Check that every research row is carried and that the source fields match it.

    Parameters
    ----------
    records : pandas.DataFrame
        The curated table.
    tables : dict of int to pandas.DataFrame
        Research tables by number (:func:`read_research`); tables not given are not checked.
    """
    spellings = province_spellings()
    carried = {number: set() for number in tables}
    primary = set()
    for i, rec in enumerate(records.itertuples(index=False), start=1):
        table, number = parse_ref(i, "ref", rec.ref, tables)
        primary.add((table, number, rec.province))
        carried[table].add(number)
        fact = tables[table].iloc[number - 1]
        check_sources(i, rec, fact)
        if rec.province not in named_provinces(fact, spellings):
            fail(i, "province", f"{rec.province!r} is not named by research row {rec.ref}")
        for ref in split_refs(rec.also_refs):
            other_table, other = parse_ref(i, "also_refs", ref, tables)
            carried[other_table].add(other)
            if rec.province not in named_provinces(tables[other_table].iloc[other - 1], spellings):
                fail(i, "also_refs", f"{rec.province!r} is not named by research row {ref}")
    for number, research in tables.items():
        missing = sorted(set(range(1, len(research) + 1)) - carried[number])
        if missing:
            raise BuildError(f"research table {number}: rows {missing} are not carried")
        for row, fact in enumerate(research.to_dict("records"), start=1):
            if not any((number, row, p) in primary for p in named_provinces(fact, spellings)):
                continue  # carried only in also_refs (merged, or context of another record)
            for province in named_provinces(fact, spellings):
                if (number, row, province) not in primary:
                    raise BuildError(f"research row {number}:{row} names {province!r} but has no "
                                     "record")


def build_table(records, codes, points):
    """Return the event table (strings, schema order, sorted by event id)."""
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
    out = out.sort_values("event_id", kind="stable")
    return out[EVENT_COLUMNS].reset_index(drop=True)


def to_csv_bytes(table):
    """Serialise the table as UTF-8 CSV (no BOM, LF line ends, minimal quoting)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EVENT_COLUMNS)
    writer.writerows(table.itertuples(index=False, name=None))
    return buffer.getvalue().encode("utf-8")


def dataset_json_bytes(table, payload):
    """Return the version file: name, version, date, record count and the events file's hash.

    Parameters
    ----------
    table : pandas.DataFrame
        The event table (:func:`build_table`).
    payload : bytes
        The events file as written (:func:`to_csv_bytes`).
    """
    info = {
        "name": DATASET_NAME,
        "version": DATASET_VERSION,
        "date": DATASET_DATE,
        "previous_version": PREVIOUS_VERSION,
        "events_file": settings.EVENTS_FILE,
        "n_records": int(len(table)),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "first_id": str(table["event_id"].min()),
        "last_id": str(table["event_id"].max()),
        "retired_ids": list(RETIRED_IDS),
        "changes": "data/events/CHANGES.md",
        "licence": LICENCE_NOTE,
    }
    return (json.dumps(info, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def main(argv=None):
    """Run the build from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=Path, default=RECORDS)
    parser.add_argument("--districts", type=Path, default=DEFAULT_DISTRICTS,
                        help="geoBoundaries AFG ADM2 GeoJSON (district centroids)")
    parser.add_argument("--provinces", type=Path, default=DEFAULT_PROVINCES,
                        help="province layer with a province_code column (district check)")
    parser.add_argument("--research", type=Path, nargs="+", default=list(DEFAULT_RESEARCH),
                        help="research tables in order, table 1 first (absent files are "
                             "skipped)")
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
    check_ids(records)
    for i, rec in enumerate(records.to_dict("records"), start=1):
        check_record(i, rec, codes)
        for ref in [rec["ref"], *split_refs(rec["also_refs"])]:
            parse_ref(i, "ref", ref, None)
    tables = read_research(args.research)
    if len(tables) == len(args.research):
        check_research(records, tables)
        print(f"research tables {', '.join(map(str, args.research))}: every row carried, "
              "sources match")
    else:
        print("research tables not all found: cross-check skipped")
    points, report = locate_districts(records, codes, args.districts, args.provinces)
    print("\n".join(report))
    table = build_table(records, codes, points)
    payload = to_csv_bytes(table)
    version = dataset_json_bytes(table, payload)
    files = {**dict.fromkeys(OUTPUTS, payload), **dict.fromkeys(VERSION_OUTPUTS, version)}
    if args.check:
        stale = [str(p) for p, data in files.items() if not p.exists() or p.read_bytes() != data]
        if stale:
            print("out of date: " + ", ".join(stale), file=sys.stderr)
            return 1
        print(f"{len(table)} events (version {DATASET_VERSION}): shipped copies are up to date")
        return 0
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    written = ", ".join(str(p.relative_to(REPO)) for p in files)
    print(f"wrote {len(table)} events (version {DATASET_VERSION}) to {written}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BuildError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(2)
