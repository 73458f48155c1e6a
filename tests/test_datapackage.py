"""A build's events table and datapackage.json: rows, provinces, headers, BOMs, hostile text.

Builds run on the shipped records, on a few of them written here (one made hostile, one made
invalid, one moved to another province) and on a synthetic ACLED row outside the rivalry.
"""

from __future__ import annotations

import csv
import json
import re
from importlib.resources import files

import pandas as pd
import pytest

from khorasan_map import pipeline
from khorasan_map.datapackage import (
    DATAPACKAGE_FILE,
    FIELDS,
    TABLES,
    data_package,
    events_table,
    field_entry,
    package_sources,
)
from khorasan_map.dataset import shipped_dataset
from khorasan_map.join import REPORT_COLUMNS as JOIN_COLUMNS
from khorasan_map.schema import EVENT_COLUMNS
from khorasan_map.schema import REPORT_COLUMNS as REJECTED_COLUMNS

BOM = b"\xef\xbb\xbf"
HOSTILE = "=cmd|' /C calc'!A0\r=HYPERLINK(\"http://example.invalid\")<script>alert(1)</script>"
TABLE_TYPES = {"string", "number", "integer", "boolean", "date", "datetime"}


def read_csv_rows(path):
    """Rows as a spreadsheet reads them: BOM stripped, quoted cells whole."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def package_of(folder):
    return json.loads((folder / DATAPACKAGE_FILE).read_text("utf-8"))


def data_files(folder):
    return {p.name for p in folder.iterdir() if p.name in TABLES}


def check_package(folder):
    """The Data Package spec's required keys, and every CSV's fields equal to its header."""
    package = package_of(folder)
    assert package["profile"] == "data-package"
    assert re.fullmatch(r"[a-z0-9._-]+", package["name"])
    assert package["sources"] and all(s["title"] for s in package["sources"])
    resources = package["resources"]
    assert resources, "a data package needs at least one resource"
    assert {r["path"] for r in resources} == data_files(folder)
    assert len({r["name"] for r in resources}) == len(resources)
    for r in resources:
        assert re.fullmatch(r"[-a-z0-9._/]+", r["name"]), r["name"]
        path = folder / r["path"]
        assert r["bytes"] == path.stat().st_size
        if r["format"] != "csv":
            assert r["encoding"] == "utf-8" and "schema" not in r
            continue
        assert r["encoding"] == "utf-8-sig" and r["profile"] == "tabular-data-resource"
        assert path.read_bytes().startswith(BOM), r["path"]
        fields = r["schema"]["fields"]
        assert [f["name"] for f in fields] == read_csv_rows(path)[0], r["path"]
        for f in fields:
            assert f["type"] in TABLE_TYPES and f["description"], (r["path"], f)
        if r["path"] != "rejected.csv":  # every column but a rejected row's own is in FIELDS
            assert [f["name"] for f in fields if f["name"] not in FIELDS] == [], r["path"]
    return package


# --------------------------------------------------------------------------------------------
# Without a build
# --------------------------------------------------------------------------------------------


def test_every_column_a_build_writes_is_described_once():
    for column in (*EVENT_COLUMNS, "assigned_code", "assigned_province", "assigned_by",
                   *JOIN_COLUMNS, *REJECTED_COLUMNS):
        assert column in FIELDS, column
    assert FIELDS["fatalities"].unit == "people killed, as reported"
    assert FIELDS["fatalities_low"].unit == FIELDS["fatalities_high"].unit == FIELDS[
        "fatalities"].unit


def test_a_column_not_in_the_table_is_text_as_given():
    assert field_entry("ALLY_ACTOR_1") == {
        "name": "ALLY_ACTOR_1", "type": "string", "description": "As given in the input file."}
    assert field_entry("distance_km")["unit"] == "kilometres"


def test_events_table_keeps_every_row_and_leaves_unplaced_points_empty():
    events = pd.DataFrame({  # synthetic
        "event_id": ["synthetic-1", "synthetic-2", "synthetic-3"],
        "longitude": [69.17, None, 70.45], "latitude": [34.52, 34.0, None],
        "assigned_code": ["AF-KAB", "AF-KAB", "AF-NAN"],
    }, index=[5, 7, 9])
    table = events_table(events)
    assert table.crs.to_epsg() == 4326 and len(table) == 3
    assert table.geometry.isna().tolist() == [False, True, True]
    assert (table.geometry.x[0], table.geometry.y[0]) == (69.17, 34.52)
    assert table["assigned_code"].tolist() == ["AF-KAB", "AF-KAB", "AF-NAN"]


def test_sources_name_the_shipped_dataset_or_the_input_files():
    info = shipped_dataset()
    (shipped,) = package_sources(None)
    assert shipped["title"] == info.label and shipped["version"] == info.version
    assert package_sources(["a.csv", "b.parquet"]) == [{"title": "a.csv"}, {"title": "b.parquet"}]


def test_a_folder_with_no_table_describes_none(tmp_path):
    package = data_package(tmp_path, ["synthetic.csv"])
    assert package["resources"] == [] and package["sources"] == [{"title": "synthetic.csv"}]


# --------------------------------------------------------------------------------------------
# Builds
# --------------------------------------------------------------------------------------------


def shipped_frame():
    shipped = files("khorasan_map") / "data" / "taliban_isk_events.csv"
    with shipped.open(encoding="utf-8") as handle:
        return pd.read_csv(handle, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def shipped_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("shipped") / "maps"
    return pipeline.build(out_dir=out)


@pytest.fixture(scope="module")
def mixed_build(tmp_path_factory):
    """Four shipped rows: one with hostile text, one invalid, one moved to another province."""
    folder = tmp_path_factory.mktemp("mixed")
    frame = shipped_frame()
    located = frame[frame["latitude"] != ""].head(4).reset_index(drop=True)
    located.loc[0, "description"] = HOSTILE
    located.loc[1, "date"] = "2021-02-30"
    moved_to = "Badakhshan" if located.loc[2, "province"] != "Badakhshan" else "Kabul"
    located.loc[2, ["province", "province_code"]] = [moved_to, ""]
    path = folder / "events.csv"
    located.to_csv(path, index=False)
    result = pipeline.build([path], out_dir=folder / "maps", keep_going=True)
    return result, located


def test_shipped_build_writes_every_event_with_its_province(shipped_build):
    out = shipped_build.out_dir
    rows = read_csv_rows(out / "events.csv")
    header, body = rows[0], rows[1:]
    assert len(body) == 82 == shipped_dataset().n_records
    code = header.index("assigned_code")
    assert all(re.fullmatch(r"AF-[A-Z]{3}", row[code]) for row in body)
    geo = json.loads((out / "events.geojson").read_text("utf-8"))
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == 82
    assert "crs" not in geo  # RFC 7946: WGS 84 longitude, latitude, stated by no member
    for feature in geo["features"]:
        assert re.fullmatch(r"AF-[A-Z]{3}", feature["properties"]["assigned_code"])
        if feature["geometry"] is not None:
            lon, lat = feature["geometry"]["coordinates"]
            assert 60 < lon < 75 and 29 < lat < 39.5


def test_shipped_build_package_matches_its_files(shipped_build):
    out = shipped_build.out_dir
    package = check_package(out)
    assert [r["path"] for r in package["resources"]] == [
        "events.csv", "events.geojson", "provinces.csv", "provinces.geojson", "coverage.json"]
    assert package["sources"][0]["version"] == shipped_dataset().version
    written = {p.name for p in shipped_build.written}
    assert {"events.csv", "events.geojson", DATAPACKAGE_FILE} <= written
    manifest = json.loads((out / "build.json").read_text())
    assert {"events.csv", "events.geojson", DATAPACKAGE_FILE} <= set(manifest["files"])


def test_mixed_build_describes_rejected_rows_and_the_join_report(mixed_build):
    result, given = mixed_build
    out = result.out_dir
    assert result.n_rejected == 1 and result.n_valid == 3
    package = check_package(out)
    paths = [r["path"] for r in package["resources"]]
    assert {"rejected.csv", "join_report.csv"} <= set(paths)
    assert package["sources"] == [{"title": "events.csv"}]
    rejected = next(r for r in package["resources"] if r["path"] == "rejected.csv")
    names = [f["name"] for f in rejected["schema"]["fields"]]
    assert names[: len(REJECTED_COLUMNS)] == list(REJECTED_COLUMNS)
    given = rejected["schema"]["fields"][len(REJECTED_COLUMNS):]
    assert "date" in [f["name"] for f in given]  # the row's own date, as given: text
    assert {(f["type"], f["description"]) for f in given} == {
        ("string", "As given in the input file.")}


def test_every_csv_of_a_build_has_a_bom_and_hostile_text_stays_inert(mixed_build):
    result, given = mixed_build
    out = result.out_dir
    for path in out.glob("*.csv"):
        assert path.read_bytes().startswith(BOM), path.name
        for row in read_csv_rows(path):
            for cell in row:
                assert not cell.startswith(("=", "+", "@", "\t", "\r")), (path.name, cell)
    events = read_csv_rows(out / "events.csv")
    described = events[1][events[0].index("description")]
    assert described == "'" + HOSTILE  # one cell, CR kept inside it, formula neutralised
    geo = json.loads((out / "events.geojson").read_text("utf-8"))
    assert geo["features"][0]["properties"]["description"] == HOSTILE  # data, as given


@pytest.fixture(scope="module")
def zero_build(tmp_path_factory):
    folder = tmp_path_factory.mktemp("zero")
    path = folder / "acled.csv"  # synthetic ACLED export, one row outside the rivalry
    path.write_text(
        "event_id_cnty,event_date,event_type,actor1,actor2,admin1,latitude,longitude,"
        "geo_precision,country\n"
        "AFG1,2020-05-09,Protests,Protesters (Afghanistan),,Kabul,34.52,69.17,1,Afghanistan\n",
        encoding="utf-8",
    )
    return pipeline.build([path], out_dir=folder / "maps")


def test_zero_event_build_still_writes_a_valid_package(zero_build):
    out = zero_build.out_dir
    package = check_package(out)
    assert "These files hold no Taliban-ISK events." in package["description"]
    assert package["sources"] == [{"title": "acled.csv"}]
    assert len(read_csv_rows(out / "events.csv")) == 1  # the header only
    assert json.loads((out / "events.geojson").read_text("utf-8"))["features"] == []


def test_frictionless_validates_every_row_against_the_schema(shipped_build, mixed_build,
                                                             zero_build):
    frictionless = pytest.importorskip("frictionless")
    for folder in (shipped_build.out_dir, mixed_build[0].out_dir, zero_build.out_dir):
        report = frictionless.validate(str(folder / DATAPACKAGE_FILE))
        assert report.valid, report.flatten(["rowNumber", "fieldName", "message"])
