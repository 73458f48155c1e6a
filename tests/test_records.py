"""The shipped records, version by version: the one-third question recomputed independently,
figure ranges, stable ids, and the changes log.

The by-confidence counts are recomputed here with plain pandas from the CSV, without the
package's aggregate code, and compared with `khorasan_map.aggregate.coverage`.

Rule for "before 15 August 2021" (the same as `coverage`): a record counts before the split
when its `date_start` is earlier than 2021-08-15. A record whose date range spans the split
(starts before, ends on or after) counts on both sides: before, because it may have happened
before the takeover, and after, because it may have happened after. With `until="2021-08-14"`
the window keeps every record whose range overlaps it, i.e. whose `date_start` is on or before
14 August 2021: the same set. Undated records count on neither side.
"""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

import khorasan_map as km
from khorasan_map import aggregate, settings

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "data" / "events" / settings.EVENTS_FILE
DATASET_JSON = REPO / "data" / "events" / "dataset.json"
PACKAGE_DATASET_JSON = REPO / "src" / "khorasan_map" / "data" / "dataset.json"
CHANGES = REPO / "data" / "events" / "CHANGES.md"
RECORDS = REPO / "data" / "events" / "records.csv"

SPLIT = pd.Timestamp("2021-08-15")
VERSION = "2.0.0"

#: Clash provinces before 15 August 2021, by the lowest grade counted (2.0.0).
CLASHES_BEFORE = {
    "high": {"AF-FRA", "AF-HEL", "AF-JOW", "AF-KNR", "AF-NAN", "AF-PKA", "AF-SAR", "AF-ZAB"},
    "medium": {
        "AF-FRA",
        "AF-FYB",
        "AF-GHO",
        "AF-HEL",
        "AF-JOW",
        "AF-KNR",
        "AF-LAG",
        "AF-NAN",
        "AF-NUR",
        "AF-PKA",
        "AF-SAR",
        "AF-ZAB",
    },
    "low": {
        "AF-FRA",
        "AF-FYB",
        "AF-GHO",
        "AF-HEL",
        "AF-JOW",
        "AF-KDZ",
        "AF-KNR",
        "AF-LAG",
        "AF-LOG",
        "AF-NAN",
        "AF-NUR",
        "AF-PKA",
        "AF-SAR",
        "AF-ZAB",
    },
}
GRADES_AT_LEAST = {"high": ["high"], "medium": ["medium", "high"], "low": ["low", "medium", "high"]}

#: SHA-256 (first 16 hex digits) of each 1.0.0 record, its 24 fields joined by U+001F.
#: A record whose fingerprint differs now has changed since 1.0.0 and must be in CHANGES.md.
FINGERPRINTS_1_0_0 = {
    "KM-0001": "5d191722d8df7348",
    "KM-0002": "813fb169719cc485",
    "KM-0003": "e7751a448aa582b7",
    "KM-0004": "002362b932d963b1",
    "KM-0005": "3f8c37211fecfd16",
    "KM-0006": "506ce08b71d720e2",
    "KM-0007": "fc92a804e48f37b4",
    "KM-0008": "00b62ca0ef989727",
    "KM-0009": "dd91ed462ea53b94",
    "KM-0010": "ddf9796e7c1c0374",
    "KM-0011": "a541d8b8b12e1bfd",
    "KM-0012": "e85305bee06504ac",
    "KM-0013": "2860444f8f096cb9",
    "KM-0014": "28f6100d830620e1",
    "KM-0015": "f52d6c076fcd20ba",
    "KM-0016": "b948628470d34d23",
    "KM-0017": "fc7b95704bab1567",
    "KM-0018": "006a7b893a75c19c",
    "KM-0019": "ea20a9e0028fb1ed",
    "KM-0020": "8adc30f2b849ae35",
    "KM-0021": "11ff762b3b7e06bd",
    "KM-0022": "5a3d00f6d4f4c580",
    "KM-0023": "47881456f18b91a6",
    "KM-0024": "ab2dbc7e93776d91",
    "KM-0025": "a3f3a29b8287bc78",
    "KM-0026": "d62370052e0f321d",
    "KM-0027": "9d0c689a5c702167",
    "KM-0028": "bb8f886c92435ef5",
    "KM-0029": "6a007a37aa29c988",
    "KM-0030": "35a2c7653cc43ba6",
    "KM-0031": "50d8f934355f2a24",
    "KM-0032": "f0d7b1669f22127e",
    "KM-0033": "a81e48b5394fb7ae",
    "KM-0034": "8d9584d867696463",
    "KM-0035": "13f92c0234fcf1fe",
    "KM-0036": "865b6577d4ff11bb",
    "KM-0037": "44e9c4f32d4391de",
    "KM-0038": "6669a4e8b2e3612c",
    "KM-0039": "68b8da0a1da8d8d1",
    "KM-0040": "7bff71699ef19f5c",
    "KM-0041": "026878bf7f539cb6",
    "KM-0042": "8aa46e71251c3070",
    "KM-0043": "4ab5cc265c35ba0b",
    "KM-0044": "618cd524a74ace30",
    "KM-0045": "0425f1ef0f151856",
    "KM-0046": "1ab2433b656633cd",
    "KM-0047": "b96ce4a89fa4f089",
    "KM-0048": "9cd9c24407905173",
    "KM-0049": "3ed79b9810869cff",
    "KM-0050": "4184a3bc230e5f07",
    "KM-0051": "d15212ebd293ae20",
    "KM-0052": "d35226db559a37b0",
    "KM-0053": "07e6f43057d6edb2",
}


@pytest.fixture(scope="module")
def raw():
    return pd.read_csv(EVENTS, dtype=str, keep_default_na=False, encoding="utf-8")


@pytest.fixture(scope="module")
def shipped():
    return km.read_events()


def clash_provinces_before(raw, grades):
    """Provinces with a clash of the given grades whose range starts before the split."""
    clashes = raw[(raw["kind"] == "clash") & raw["confidence"].isin(grades)]
    start = pd.to_datetime(clashes["date_start"].replace("", None))
    return set(clashes.loc[(start < SPLIT).to_numpy(), "province_code"])


@pytest.mark.parametrize("grade", ["high", "medium", "low"])
def test_clash_provinces_before_the_takeover_recomputed(raw, shipped, grade):
    expected = clash_provinces_before(raw, GRADES_AT_LEAST[grade])
    assert expected == CLASHES_BEFORE[grade]
    window = aggregate.coverage(shipped, until="2021-08-14", min_confidence=grade)
    assert window.provinces_with_events == len(expected)
    assert set(window.province_codes) == expected
    split = aggregate.coverage(shipped, min_confidence=grade)
    assert split.split_date == "2021-08-15"
    assert split.before["provinces_with_events"] == len(expected)
    assert set(split.before["province_codes"]) == expected


def test_the_answer_by_confidence(raw):
    counts = {g: len(clash_provinces_before(raw, GRADES_AT_LEAST[g])) for g in GRADES_AT_LEAST}
    assert counts == {"high": 8, "medium": 12, "low": 14}
    one_third = 34 / 3
    assert counts["high"] < one_third < counts["medium"]


def test_no_shipped_clash_spans_the_split(raw):
    """So counting by date_start and by overlap agree for the shipped clashes."""
    clashes = raw[(raw["kind"] == "clash") & (raw["date_start"] != "")]
    spans = (pd.to_datetime(clashes["date_start"]) < SPLIT) & (
        pd.to_datetime(clashes["date_end"]) >= SPLIT
    )
    assert not spans.any()


def test_a_clash_spanning_the_split_counts_on_both_sides(shipped):
    """The documented rule, on one added record: it counts before and after, and in until=."""
    row = shipped.iloc[[0]].copy()
    row["event_id"] = "SPAN-1"
    row["kind"] = "clash"
    row["confidence"] = "high"
    row["province_code"] = "AF-BAM"
    row["province"] = "Bamyan"
    row["latitude"] = row["longitude"] = float("nan")
    row["location_precision"] = "province"
    for col in ("date", "date_start"):
        row[col] = pd.Timestamp("2021-08-01")
    row["date_end"] = pd.Timestamp("2021-09-30")
    row["date_precision"] = "range"
    events = pd.concat([shipped, row], ignore_index=True)
    split = aggregate.coverage(events, min_confidence="high")
    assert "AF-BAM" in split.before["province_codes"]
    assert "AF-BAM" in split.after["province_codes"]
    window = aggregate.coverage(events, until="2021-08-14", min_confidence="high")
    assert "AF-BAM" in window.province_codes


def test_every_best_figure_lies_within_its_range(raw):
    values = raw[["fatalities_low", "fatalities", "fatalities_high"]].replace("", None)
    values = values.apply(pd.to_numeric)
    low, best, high = values["fatalities_low"], values["fatalities"], values["fatalities_high"]
    assert not (best < low).any(), raw.loc[best < low, "event_id"].tolist()
    assert not (best > high).any(), raw.loc[best > high, "event_id"].tolist()
    assert not (low > high).any(), raw.loc[low > high, "event_id"].tolist()


def test_ids_unique_and_stable(raw):
    ids = raw["event_id"]
    assert ids.is_unique
    assert set(FINGERPRINTS_1_0_0) <= set(ids), "a 1.0.0 id disappeared"
    numbers = sorted(int(i[3:]) for i in ids)
    assert numbers == list(range(1, len(ids) + 1)), "ids are KM-0001 onwards without gaps"
    assert list(ids) == sorted(ids), "the shipped file is sorted by id"


def fingerprint(row):
    return hashlib.sha256("\x1f".join(row).encode("utf-8")).hexdigest()[:16]


def changes_section(version):
    text = CHANGES.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(version)} .*?(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, f"CHANGES.md has no section for {version}"
    return match.group(0)


def test_changes_mention_every_changed_and_added_record(raw):
    section = changes_section(VERSION)
    mentioned = set(re.findall(r"KM-\d{4}", section))
    changed = {
        row.event_id
        for row in raw.itertuples(index=False)
        if FINGERPRINTS_1_0_0.get(row.event_id) != fingerprint(row)
    }
    assert changed, "2.0.0 changed records"
    assert changed <= mentioned, sorted(changed - mentioned)


def test_declared_corrections_are_in_the_changes(raw):
    records = pd.read_csv(RECORDS, dtype=str, keep_default_na=False, encoding="utf-8")
    section = changes_section(VERSION)
    for rec in records[records["differs_from_research"] != ""].itertuples(index=False):
        assert rec.event_id in section
        for field in rec.differs_from_research.split("; "):
            assert f"`{field}`" in section, (rec.event_id, field)


def test_dataset_json_describes_the_shipped_file(raw):
    info = json.loads(DATASET_JSON.read_text(encoding="utf-8"))
    assert info["version"] == VERSION
    assert info["previous_version"] == "1.0.0"
    assert info["n_records"] == len(raw)
    assert info["events_file"] == settings.EVENTS_FILE
    assert info["sha256"] == hashlib.sha256(EVENTS.read_bytes()).hexdigest()
    assert info["first_id"] == raw["event_id"].min() and info["last_id"] == raw["event_id"].max()
    assert not set(info["retired_ids"]) & set(raw["event_id"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", info["date"])
    first_heading = re.search(r"^## (\S+) \((\d{4}-\d{2}-\d{2})\)", CHANGES.read_text(), re.M)
    assert first_heading.groups() == (info["version"], info["date"])


def test_dataset_json_ships_in_the_package():
    assert PACKAGE_DATASET_JSON.read_bytes() == DATASET_JSON.read_bytes()
    packaged = resources.files("khorasan_map") / "data" / "dataset.json"
    assert packaged.read_bytes() == DATASET_JSON.read_bytes()
