"""Checks on the shipped, sourced Taliban-ISK event dataset (both copies)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from khorasan_map import settings

REPO = Path(__file__).resolve().parents[1]
TOP_COPY = REPO / "data" / "events" / settings.EVENTS_FILE
PACKAGE_COPY = REPO / "src" / "khorasan_map" / "data" / settings.EVENTS_FILE
README = REPO / "data" / "events" / "README.md"
RECORDS = REPO / "data" / "events" / "records.csv"

EVENT_COLUMNS = [
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
]

#: Kinds used by the shipped data beyond settings.EVENT_KINDS; each is documented in the README.
EXTRA_KINDS = {"taliban_killing_of_suspected_isk"}

ISO_CODES = {
    "AF-BAL",
    "AF-BAM",
    "AF-BDG",
    "AF-BDS",
    "AF-BGL",
    "AF-DAY",
    "AF-FRA",
    "AF-FYB",
    "AF-GHA",
    "AF-GHO",
    "AF-HEL",
    "AF-HER",
    "AF-JOW",
    "AF-KAB",
    "AF-KAN",
    "AF-KAP",
    "AF-KDZ",
    "AF-KHO",
    "AF-KNR",
    "AF-LAG",
    "AF-LOG",
    "AF-NAN",
    "AF-NIM",
    "AF-NUR",
    "AF-PAN",
    "AF-PAR",
    "AF-PIA",
    "AF-PKA",
    "AF-SAM",
    "AF-SAR",
    "AF-TAK",
    "AF-URU",
    "AF-WAR",
    "AF-ZAB",
}

#: Rows of the first research table (46 facts) naming each province; multi-province rows count
#: for each province they name. The records whose ref is in table 1 must be at least this many
#: per province.
RESEARCH_ROWS_PER_PROVINCE = {
    "AF-NAN": 8,
    "AF-JOW": 5,
    "AF-KAB": 4,
    "AF-KNR": 4,
    "AF-HEL": 3,
    "AF-BDS": 3,
    "AF-NUR": 2,
    "AF-LAG": 2,
    "AF-FRA": 2,
    "AF-GHO": 2,
    "AF-TAK": 2,
    "AF-KDZ": 2,
    "AF-BAL": 2,
    "AF-ZAB": 1,
    "AF-SAR": 1,
    "AF-FYB": 1,
    "AF-PAR": 1,
    "AF-HER": 1,
    "AF-BGL": 1,
    "AF-KAN": 1,
    "AF-NIM": 1,
}
#: Rows of the second research table (33 facts) per province: each must be carried (by ref, or
#: in also_refs when merged into a record of the same event or kept as context) by a record of
#: that province.
RESEARCH_2_ROWS_PER_PROVINCE = {
    "AF-KAB": 4,
    "AF-HER": 4,
    "AF-TAK": 3,
    "AF-KDZ": 3,
    "AF-LOG": 3,
    "AF-GHO": 3,
    "AF-SAR": 2,
    "AF-ZAB": 2,
    "AF-FRA": 2,
    "AF-PKA": 1,
    "AF-BGL": 1,
    "AF-HEL": 1,
    "AF-KAN": 1,
    "AF-DAY": 1,
    "AF-NIM": 1,
    "AF-FYB": 1,
}
#: 1.0.0: 46 facts, +3 records from splitting by province, +4 from splitting two-kind facts.
#: 2.0.0: +33 facts of the second table, -2 merged into existing records, -2 kept as context.
EXPECTED_RECORDS = 53 + 33 - 2 - 2


@pytest.fixture(scope="module")
def raw():
    """The shipped file read as strings, empty cells kept as empty strings."""
    return pd.read_csv(TOP_COPY, dtype=str, keep_default_na=False, encoding="utf-8")


@pytest.fixture(scope="module")
def events():
    """The shipped file parsed the ordinary pandas way."""
    return pd.read_csv(TOP_COPY, parse_dates=["date", "date_start", "date_end"])


def test_parses_with_pandas(events):
    assert len(events) == EXPECTED_RECORDS
    assert pd.api.types.is_datetime64_any_dtype(events["date"])
    for col in ("latitude", "longitude", "fatalities", "fatalities_low", "fatalities_high"):
        assert pd.api.types.is_float_dtype(events[col]), col


def test_columns_are_the_schema(raw):
    assert list(raw.columns) == EVENT_COLUMNS


def test_columns_match_events_module_when_present(raw):
    try:
        from khorasan_map.events import EVENT_COLUMNS as module_columns
    except ImportError:
        pytest.skip("khorasan_map.events is not written yet")
    assert list(raw.columns) == list(module_columns)


def test_encoding_and_line_ends():
    data = TOP_COPY.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" not in data
    data.decode("utf-8")


def test_both_copies_are_byte_identical():
    assert TOP_COPY.read_bytes() == PACKAGE_COPY.read_bytes()
    packaged = resources.files("khorasan_map") / "data" / settings.EVENTS_FILE
    assert packaged.read_bytes() == TOP_COPY.read_bytes()


def test_event_ids_unique_and_readable(raw):
    assert raw["event_id"].is_unique
    assert raw["event_id"].str.fullmatch(r"KM-\d{4}").all()
    assert (raw["dataset"] == "khorasan_map").all()


def test_every_record_is_sourced(raw):
    assert raw["source_url"].str.match(r"^https?://\S+$").all()
    for col in ("source_name", "source_title", "description", "actor1", "actor2"):
        assert raw[col].str.strip().ne("").all(), col
    dated = raw["source_date"].ne("")
    assert raw.loc[dated, "source_date"].str.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?").all()


def test_vocabularies(raw):
    assert raw["confidence"].isin(settings.CONFIDENCE_LEVELS).all()
    assert raw["date_precision"].isin(settings.DATE_PRECISIONS).all()
    assert raw["location_precision"].isin(settings.LOCATION_PRECISIONS).all()
    allowed = set(settings.EVENT_KINDS) | EXTRA_KINDS
    assert set(raw["kind"]) <= allowed


def test_extra_kinds_are_documented(raw):
    text = README.read_text(encoding="utf-8")
    for kind in set(raw["kind"]) - set(settings.EVENT_KINDS):
        assert f"`{kind}`" in text, kind


def test_province_codes_and_names(raw):
    assert set(raw["province_code"]) <= ISO_CODES
    gazetteer = resources.files("khorasan_map") / "data" / settings.GAZETTEER_FILE
    with gazetteer.open(encoding="utf-8") as fh:
        names = pd.read_csv(fh, dtype=str).set_index("province_code")["province"]
    assert (raw["province"] == raw["province_code"].map(names)).all()


def test_coordinates_both_empty_or_district_points_in_afghanistan(events):
    lon, lat = events["longitude"], events["latitude"]
    assert (lon.isna() == lat.isna()).all()
    has_point = lon.notna()
    min_lon, min_lat, max_lon, max_lat = settings.AFGHANISTAN_BOUNDS
    assert lon[has_point].between(min_lon, max_lon).all()
    assert lat[has_point].between(min_lat, max_lat).all()
    assert (events.loc[has_point, "location_precision"] == "district").all()
    assert (events.loc[~has_point, "location_precision"] == "province").all()


def test_coordinates_have_four_decimals(raw):
    for col in ("latitude", "longitude"):
        given = raw.loc[raw[col] != "", col]
        assert given.str.fullmatch(r"\d{2}\.\d{4}").all(), col


def test_several_districts_never_get_a_point(raw):
    several = raw["district"].str.contains(";") | raw["district"].str.contains(" and ")
    assert (raw.loc[several, "longitude"] == "").all()


def test_dates_agree_with_precision(raw, events):
    unknown = raw["date_precision"] == "unknown"
    for col in ("date", "date_start", "date_end"):
        assert (raw.loc[unknown, col] == "").all()
        assert raw.loc[~unknown, col].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert (raw["date"] == raw["date_start"]).all()
    known = events[~unknown.to_numpy()]
    assert (known["date_end"] >= known["date_start"]).all()
    day = known["date_precision"] == "day"
    assert (known.loc[day, "date_start"] == known.loc[day, "date_end"]).all()


def test_fatalities_ordered(events):
    low, best, high = events["fatalities_low"], events["fatalities"], events["fatalities_high"]
    assert ((low <= best) | low.isna() | best.isna()).all()
    assert ((best <= high) | best.isna() | high.isna()).all()
    assert ((low <= high) | low.isna() | high.isna()).all()
    for col in (low, best, high):
        given = col.dropna()
        assert (given >= 0).all() and (given == given.round()).all()


def carried_refs(records):
    """(province, ref) pairs carried by the curated records, ref or also_refs."""
    pairs = set()
    for rec in records.itertuples(index=False):
        refs = [rec.ref, *(r.strip() for r in rec.also_refs.split(";") if r.strip())]
        pairs.update((rec.province, ref) for ref in refs)
    return pairs


def test_records_per_province_at_least_research_rows(raw):
    records = pd.read_csv(RECORDS, dtype=str, keep_default_na=False, encoding="utf-8")
    codes = dict(zip(raw["event_id"], raw["province_code"], strict=True))
    first = records[records["ref"].str.startswith("1:")]
    counts = first["event_id"].map(codes).value_counts()
    for code, expected in RESEARCH_ROWS_PER_PROVINCE.items():
        assert counts.get(code, 0) >= expected, code
    assert sum(RESEARCH_ROWS_PER_PROVINCE.values()) == 46 + 3  # 3 extra province mentions
    assert set(counts.index) == set(RESEARCH_ROWS_PER_PROVINCE)
    names = dict(zip(raw["province"], raw["province_code"], strict=False))
    second = {(names[p], ref) for p, ref in carried_refs(records) if ref.startswith("2:")}
    per_province = pd.Series([code for code, _ in second]).value_counts().to_dict()
    assert per_province == RESEARCH_2_ROWS_PER_PROVINCE
    assert sum(RESEARCH_2_ROWS_PER_PROVINCE.values()) == 33


def test_kabul_airport_attack_once(raw):
    that_day = raw[(raw["date"] == "2021-08-26") & (raw["province_code"] == "AF-KAB")]
    # 2.0.0 adds the Taliban-ISK gun battle in west Kabul that night (KM-0065), a separate event.
    others = that_day[that_day["event_id"] != "KM-0031"]
    assert (
        others["event_id"].tolist() == ["KM-0065"] and "west Kabul" in others.iloc[0]["description"]
    )
    airport = that_day[that_day["event_id"] == "KM-0031"]
    assert len(airport) == 1
    row = airport.iloc[0]
    assert row["kind"] == "isk_attack_on_taliban"
    assert row["confidence"] == "low"
    assert "evacuees" in row["description"] and "US forces" in row["description"]


def test_records_table_builds_this_file(raw):
    """The curated source table and the shipped file agree row for row (no geodata needed)."""
    records = pd.read_csv(RECORDS, dtype=str, keep_default_na=False, encoding="utf-8")
    assert len(records) == len(raw)
    keys = ["province", "kind", "date_start", "source_url", "description"]
    left = records[keys].sort_values(keys).reset_index(drop=True)
    right = raw[keys].sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(left, right)
    assert (records["event_id"] == raw["event_id"]).all()
    refs = {ref for _, ref in carried_refs(records)}
    assert refs == {f"1:{i}" for i in range(1, 47)} | {f"2:{i}" for i in range(1, 34)}
