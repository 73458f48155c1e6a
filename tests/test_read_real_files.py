"""Real exports as they come, and odd files that must end in one clear message.

Every fixture here is synthetic, written in the test in the shape of a real export (issue 14);
no third-party file is copied into the repository.
"""

from __future__ import annotations

import datetime
import os

import pandas as pd
import pytest
from click.testing import CliRunner

from khorasan_map.cli import EXIT_OK, EXIT_REJECTED, EXIT_UNUSABLE, main
from khorasan_map.errors import InputFileError
from khorasan_map.events import read_events

TODAY = "2025-06-01"
ACLED_HEADER = ("event_id_cnty,event_date,time_precision,event_type,actor1,assoc_actor_1,actor2,"
                "assoc_actor_2,iso,country,admin1,admin2,latitude,longitude,geo_precision,"
                "source,notes,fatalities")


def acled_row(ident, date, actor1="Taliban", actor2="Islamic State Khorasan Province (ISKP)"):
    return (f"{ident},{date},1,Battles,{actor1},,{actor2},,4,Afghanistan,Nangarhar,Achin,"
            "34.13,70.7,1,Synthetic Wire,SYNTHETIC row for tests,3")


def report(source, **kwargs):
    kwargs.setdefault("today", TODAY)
    return read_events(source, on_invalid="report", **kwargs)


# ----------------------------------------------------------------------------- ACLED exports


def test_empty_trailing_header_fields_are_ignored(tmp_path):
    # ACLED's published file: the header (and every row) ends in empty fields
    path = tmp_path / "acled.csv"
    rows = [acled_row("SYN1", "2019-03-15") + ",,", acled_row("SYN2", "2019-03-16") + ",,"]
    path.write_text("\n".join([ACLED_HEADER + ",,", *rows]) + "\n", encoding="utf-8")
    result = report(path)
    assert list(result.events["event_id"]) == ["SYN1", "SYN2"]
    assert result.ok


def test_a_header_repeating_a_real_name_is_still_refused(tmp_path):
    path = tmp_path / "twice.csv"
    path.write_text("event_id,date,kind,province,kind\nE1,2019-01-01,clash,Kabul,clash\n",
                    encoding="utf-8")
    with pytest.raises(InputFileError, match="repeats columns in its header: 'kind'"):
        read_events(path)


@pytest.mark.parametrize("text, day", [
    ("2019-03-15", "2019-03-15"),
    ("15 March 2019", "2019-03-15"),
    ("9-May-20", "2020-05-09"),
    ("15/03/2019", "2019-03-15"),  # ACLED writes the day first
    ("03/04/2019", "2019-04-03"),
])
def test_acled_date_forms(tmp_path, text, day):
    path = tmp_path / "acled.csv"
    path.write_text(f"{ACLED_HEADER}\n{acled_row('SYN1', text)}\n", encoding="utf-8")
    events = read_events(path, today=TODAY)
    assert events["date"].iloc[0] == pd.Timestamp(day)


def test_acled_date_that_is_no_date_is_rejected_by_row(tmp_path):
    path = tmp_path / "acled.csv"
    path.write_text(f"{ACLED_HEADER}\n{acled_row('SYN1', '2019-03-15')}\n"
                    f"{acled_row('SYN2', '31/31/2019')}\n", encoding="utf-8")
    result = report(path)
    assert list(result.rejected["row"]) == [2]
    assert result.rejected.loc[0, "column"] == "event_date"


def test_old_acled_layouts_name_allies_ally_actor(tmp_path):
    header = ACLED_HEADER.replace("assoc_actor_1", "ally_actor_1").replace(
        "assoc_actor_2", "ally_actor_2")
    rows = [  # the Taliban and ISK only as allies of the named actors
        "SYN1,2019-03-15,1,Battles,Unidentified Armed Group,Taliban,Civilians,"
        "Islamic State (Khorasan),4,Afghanistan,Kunar,,34.85,71.1,1,Synthetic Wire,SYNTHETIC,2",
        "SYN2,2019-03-16,1,Battles,Unidentified Armed Group,,Civilians,,4,Afghanistan,Kunar,,"
        "34.85,71.1,1,Synthetic Wire,SYNTHETIC,0",
    ]
    path = tmp_path / "old_acled.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    result = report(path)
    assert list(result.events["event_id"]) == ["SYN1"]
    assert list(result.events["kind"]) == ["clash"]
    assert result.n_left_out == 1


# ----------------------------------------------------------------------------- odd encodings


def test_utf16_text_is_read(tmp_path):
    path = tmp_path / "unicode.txt"  # Excel's "Unicode text": UTF-16 with a BOM, tab-separated
    text = "event_id\tdate\tkind\tprovince\nU1\t2019-03-14\tclash\tننگرهار\n"
    path.write_bytes(text.encode("utf-16"))
    result = report(path)
    assert list(result.events["province_code"]) == ["AF-NAN"]
    assert any("UTF-16" in r for r in result.warnings["reason"])


def test_header_differing_only_in_case_is_one_clear_message(tmp_path):
    path = tmp_path / "case.csv"
    path.write_text("event_id,date,kind,Province,province\nE1,2019-01-01,clash,Kabul,Kabul\n",
                    encoding="utf-8")
    with pytest.raises(InputFileError, match="'Province' and 'province'"):
        read_events(path)
    frame = pd.DataFrame([["E1", "2019-01-01", "clash", "Kabul", "Kabul"]],
                         columns=["event_id", "date", "kind", "Province", "province"])
    with pytest.raises(InputFileError, match="differ only in case"):
        read_events(frame)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == EXIT_UNUSABLE and "Traceback" not in result.output


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_is_refused_without_opening_it(tmp_path):
    fifo = tmp_path / "events.csv"
    os.mkfifo(fifo)  # opening it to read would wait for a writer forever
    with pytest.raises(InputFileError, match="is a FIFO"):
        read_events(fifo)
    result = CliRunner().invoke(main, ["validate", str(fifo)])
    assert result.exit_code == EXIT_UNUSABLE and "FIFO" in result.output


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_a_device_is_refused():
    with pytest.raises(InputFileError, match="is a device"):
        read_events("/dev/zero")


# ----------------------------------------------------------------------------- dates out of range


@pytest.mark.parametrize("text", ["9999-12-31", "0001-01-01", "1500-01-01"])
def test_dates_outside_the_supported_span_are_rejected_by_row(tmp_path, text):
    path = tmp_path / "far.csv"
    path.write_text(f"event_id,date,kind,province\nE1,2019-01-01,clash,Kabul\n"
                    f"E2,{text},clash,Kabul\n", encoding="utf-8")
    result = report(path)
    assert list(result.events["event_id"]) == ["E1"]
    assert list(result.rejected["row"]) == [2]
    assert "outside the dates this toolkit can hold" in result.rejected.loc[0, "reason"]


def test_parquet_date32_of_9999_is_rejected_by_row(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    dates = pa.array([datetime.date(2019, 1, 1), datetime.date(9999, 12, 31)], pa.date32())
    stamps = pa.array([datetime.datetime(2019, 1, 2), datetime.datetime(9999, 12, 31)],
                      pa.timestamp("s"))
    for name, column in (("date32", dates), ("timestamp", stamps)):
        table = pa.table({"event_id": ["E1", "E2"], "date": column, "kind": ["clash"] * 2,
                          "province": ["Kabul"] * 2})
        pq.write_table(table, tmp_path / f"{name}.parquet")
        result = report(tmp_path / f"{name}.parquet")
        assert list(result.events["event_id"]) == ["E1"], name
        assert list(result.rejected["row"]) == [2], name
        assert "'9999-12-31' is outside" in result.rejected.loc[0, "reason"], name


def test_cli_validate_names_the_out_of_range_row(tmp_path):
    path = tmp_path / "far.csv"
    path.write_text("event_id,date,kind,province\nE1,9999-12-31,clash,Kabul\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(path), "--today", TODAY])
    assert result.exit_code == EXIT_REJECTED
    assert "row 1, column date: '9999-12-31' is outside" in result.output


# ----------------------------------------------------------------------------- geometries


def geo_events():
    import geopandas as gpd
    import shapely

    return gpd.GeoDataFrame(
        {"event_id": ["P1", "P2"], "date": ["2019-03-14"] * 2, "kind": ["clash"] * 2,
         "description": ["SYNTHETIC point", "SYNTHETIC polygon"]},
        geometry=[shapely.Point(69.17, 34.53), shapely.box(69.10, 34.50, 69.20, 34.60)],
        crs="EPSG:4326")


def test_polygons_in_event_files_are_refused_naming_the_row(tmp_path):
    path = tmp_path / "shapes.geojson"
    geo_events().to_file(path)
    result = report(path)
    assert list(result.events["event_id"]) == ["P1"]
    assert list(result.rejected["row"]) == [2]
    assert result.rejected.loc[0, "column"] == "geometry"
    assert "is a Polygon, not a point" in result.rejected.loc[0, "reason"]


def test_polygons_at_a_representative_point_by_an_explicit_option(tmp_path):
    import shapely

    path = tmp_path / "shapes.geojson"
    geo_events().to_file(path)
    result = report(path, polygons="representative_point")
    assert result.ok
    placed = result.events.set_index("event_id").loc["P2"]
    assert placed["location_precision"] == "district"  # lowered from exact
    box = shapely.box(69.10, 34.50, 69.20, 34.60)
    assert box.contains(shapely.Point(placed["longitude"], placed["latitude"]))
    assert any("placed at a point inside it" in r for r in result.warnings["reason"])
    cli = CliRunner().invoke(main, ["validate", str(path), "--today", TODAY,
                                    "--polygons", "representative-point"])
    assert cli.exit_code == EXIT_OK, cli.output
    with pytest.raises(ValueError, match="polygons must be one of"):
        read_events(path, polygons="centroid")


def test_polygons_in_a_dataframe_and_geoparquet_are_refused_too(tmp_path):
    frame = geo_events()
    assert list(report(frame).rejected["event_id"]) == ["P2"]
    frame.to_parquet(tmp_path / "shapes.parquet")
    assert list(report(tmp_path / "shapes.parquet").rejected["event_id"]) == ["P2"]


def two_layer_geopackage(tmp_path):
    frame = geo_events().iloc[[0]]
    path = tmp_path / "two.gpkg"
    frame.to_file(path, layer="clashes")
    frame.assign(event_id=["Q1"]).to_file(path, layer="raids", mode="a")
    return path


def test_a_geopackage_with_several_layers_names_them_and_takes_a_layer(tmp_path):
    path = two_layer_geopackage(tmp_path)
    with pytest.raises(InputFileError, match=r"holds 2 layers \(clashes, raids\).*--layer"):
        read_events(path)
    assert list(read_events(path, layer="raids", today=TODAY)["event_id"]) == ["Q1"]
    with pytest.raises(InputFileError, match="no layer 'nope'; its layers are: clashes, raids"):
        read_events(path, layer="nope")
    cli = CliRunner().invoke(main, ["validate", str(path), "--layer", "clashes", "--today",
                                    TODAY])
    assert cli.exit_code == EXIT_OK, cli.output
    assert "1 row read from two.gpkg: 1 valid" in cli.output
    refused = CliRunner().invoke(main, ["validate", str(path)])
    assert refused.exit_code == EXIT_UNUSABLE and "clashes, raids" in refused.output


def test_a_single_layer_geopackage_needs_no_layer(tmp_path):
    path = tmp_path / "one.gpkg"
    geo_events().iloc[[0]].to_file(path, layer="only")
    assert list(read_events(path, today=TODAY)["event_id"]) == ["P1"]


def test_build_takes_a_layer_of_a_geopackage(tmp_path):
    path = two_layer_geopackage(tmp_path)
    out = tmp_path / "maps"
    refused = CliRunner().invoke(main, ["build", str(path), "--out", str(out), "--offline"])
    assert refused.exit_code == EXIT_UNUSABLE and "clashes, raids" in refused.output
    built = CliRunner().invoke(main, ["build", str(path), "--layer", "raids", "--out", str(out),
                                      "--offline"])
    assert built.exit_code == EXIT_OK, built.output
    assert (out / "index.html").exists()
