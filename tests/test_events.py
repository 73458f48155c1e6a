"""Tests for khorasan_map.events: schema, readers (own, ACLED, UCDP) and validation."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from khorasan_map import settings
from khorasan_map.errors import EventValidationError, InputFileError
from khorasan_map.events import EVENT_COLUMNS, ValidationResult, detect_format, read_events

FIXTURES = Path(__file__).parent / "fixtures"
TODAY = "2025-06-01"
HEADER = "event_id,date,kind,province,latitude,longitude,fatalities,source_url,description"
GOOD = "E1,2019-03-14,clash,Nangarhar,34.13,70.70,3,https://example.org/a,fixture row"


def report(source, **kwargs) -> ValidationResult:
    """Read in report mode and check the accounting that must hold for every input."""
    kwargs.setdefault("today", TODAY)
    result = read_events(source, on_invalid="report", **kwargs)
    assert result.n_input == len(result.events) + len(result.rejected)
    assert result.rejected["row"].is_unique or len(result.sources) > 1
    assert list(result.events.columns) == list(EVENT_COLUMNS)
    assert result.n_read == result.n_input + result.n_left_out
    return result


def write(tmp_path, text, name="events.csv", encoding="utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def csv_rows(tmp_path, *rows, header=HEADER, name="events.csv") -> Path:
    return write(tmp_path, "\n".join([header, *rows]) + "\n", name=name)


def reasons(result) -> str:
    return "\n".join(result.messages(limit=None))


# ----------------------------------------------------------------------------- own schema


def test_valid_fixture_reads_with_schema_types():
    result = report(FIXTURES / "events_valid.csv")
    events = result.events
    assert result.ok and len(events) == 5 and result.n_input == 5
    assert events["date"].dtype == "datetime64[ns]"
    assert events["latitude"].dtype == "float64"
    assert events.loc[0, "province_code"] == "AF-NAN"
    assert events.loc[1, "province_code"] == "AF-JOW"  # from the name alone
    assert events.loc[2, "province"] == "Kabul"  # from the code alone
    by_id = events.set_index("event_id")
    assert by_id.loc["FX-2", "date_end"] == pd.Timestamp("2018-07-31")
    assert by_id.loc["FX-5", "date_end"] == pd.Timestamp("2016-12-31")
    assert by_id.loc["FX-5", "location_precision"] == "province"
    assert "متن آزمایشی به دری" in by_id.loc["FX-3", "description"]
    assert by_id.loc["FX-3", "source_title"] == "سرخط آزمایشی"
    assert set(events["dataset"]) == {"user"}


def test_dataframe_input_gives_the_same_events():
    frame = pd.read_csv(FIXTURES / "events_valid.csv", dtype=str, keep_default_na=False)
    from_file = report(FIXTURES / "events_valid.csv").events
    from_frame = report(frame).events
    pd.testing.assert_frame_equal(from_file, from_frame)


def test_raise_mode_returns_a_dataframe():
    events = read_events(FIXTURES / "events_valid.csv", today=TODAY)
    assert isinstance(events, pd.DataFrame) and len(events) == 5


def test_shipped_dataset_validates_with_full_sourcing():
    ref = importlib.resources.files("khorasan_map") / "data" / settings.EVENTS_FILE
    if not ref.is_file():
        pytest.skip("the shipped dataset is not built yet")
    result = report(None, today=None)
    assert result.ok, reasons(result)
    events = result.events
    assert len(events) > 0
    assert set(events["dataset"]) == {"khorasan_map"}
    for column in ("source_url", "source_name", "source_title"):
        assert events[column].notna().all(), column
    assert events["source_url"].str.match(r"^https?://").all()
    # A publication date on every row whose source is dated at all.
    undated = events["source_date"].isna()
    assert (events.loc[undated, "date_precision"] == "unknown").all()


def test_columns_are_case_and_space_insensitive(tmp_path):
    path = csv_rows(tmp_path, GOOD, header=HEADER.replace("event_id", "Event ID").upper())
    assert report(path).ok


# ----------------------------------------------------------------------------- ACLED


def test_acled_detected_and_filtered_to_taliban_vs_isk():
    result = report(FIXTURES / "acled_sample.csv")
    assert result.n_read == 14 and result.n_left_out == 3 and result.n_input == 11
    events = result.events.set_index("event_id")
    assert sorted(events.index) == [
        "FXA001",
        "FXA002",
        "FXA003",
        "FXA004",
        "FXA005",
        "FXA008",
        "FXA013",
        "FXA014",
    ]
    assert set(events["dataset"]) == {"acled"}
    assert events.loc["FXA001", "kind"] == "clash"
    assert events.loc["FXA004", "kind"] == "isk_attack_on_taliban"
    assert events.loc["FXA005", "kind"] == "taliban_raid_on_isk"
    assert events.loc["FXA008", "kind"] == "clash"  # Taliban as associated actor
    assert events.loc["FXA014", "kind"] == "taliban_killing_of_suspected_isk"
    assert "Dari" in events.loc["FXA004", "description"]
    assert "طالبان" in events.loc["FXA004", "description"]
    assert events.loc["FXA001", "source_name"] == "Pajhwok Afghan News"
    assert pd.isna(events.loc["FXA001", "source_url"])


def test_acled_precisions_are_mapped():
    events = report(FIXTURES / "acled_sample.csv").events.set_index("event_id")
    assert events.loc["FXA001", "location_precision"] == "exact"
    assert events.loc["FXA002", "location_precision"] == "near"
    week = events.loc["FXA002"]
    assert week["date_precision"] == "range"
    assert week["date_start"] == pd.Timestamp("2019-03-17")
    assert week["date_end"] == pd.Timestamp("2019-03-23")
    month = events.loc["FXA003"]
    assert month["date_precision"] == "month" and month["location_precision"] == "province"
    assert month["date_end"] == pd.Timestamp("2018-07-31")
    assert np.isnan(month["latitude"])  # province-level: no pretend point


def test_acled_rejections_and_warning():
    result = report(FIXTURES / "acled_sample.csv")
    rejected = result.rejected.set_index("event_id")
    assert sorted(rejected.index) == ["FXA009", "FXA010", "FXA011"]
    assert "did you mean Nangarhar (AF-NAN)" in rejected.loc["FXA009", "reason"]
    assert rejected.loc["FXA009", "column"] == "admin1"
    assert "not a real calendar date" in rejected.loc["FXA010", "reason"]
    assert "look swapped" in rejected.loc["FXA011", "reason"]
    assert "Nangarhar" in rejected.loc["FXA011", "reason"]
    assert rejected.loc["FXA011", "row"] == 11
    assert "notes" in rejected.columns  # the original row is kept for fixing
    warned = result.warnings.set_index("event_id")
    assert list(warned.index) == ["FXA013"]
    assert "Nangarhar" in warned.loc["FXA013", "reason"]
    assert "FXA013" in set(result.events["event_id"])


def test_acled_keep_all_keeps_other_conflicts():
    result = report(FIXTURES / "acled_sample.csv", keep_all=True)
    assert result.n_left_out == 0 and result.n_input == 14
    kinds = result.events.set_index("event_id")["kind"]
    assert kinds["FXA006"] == "other"
    assert kinds["FXA007"] == "other"  # "and/or" is unattributed
    assert kinds["FXA012"] == "other"


def test_detect_format():
    assert detect_format(pd.read_csv(FIXTURES / "acled_sample.csv", nrows=0).columns) == "acled"
    assert detect_format(pd.read_csv(FIXTURES / "ucdp_ged_sample.csv", nrows=0).columns) == "ucdp"
    assert detect_format(HEADER.split(",")) == "khorasan"


def test_forcing_a_format_names_missing_columns():
    with pytest.raises(InputFileError, match="event_id_cnty.*found: event_id"):
        read_events(FIXTURES / "events_valid.csv", format="acled")


# ----------------------------------------------------------------------------- UCDP


def test_ucdp_dyads_and_government_rule():
    result = report(FIXTURES / "ucdp_ged_sample.csv")
    ids = set(result.events["event_id"]) | set(result.rejected["event_id"])
    assert "UCDP-900007" in ids  # conflict 13651, Zabul 2015
    assert "UCDP-900009" in ids  # Government of Afghanistan - IS after 2021-08-15
    assert "UCDP-900008" not in ids  # the same dyad in 2019: the republic
    assert "UCDP-900010" not in ids  # Government - Taleban
    assert "UCDP-900011" not in ids  # in Pakistan
    assert result.n_left_out == 3
    events = result.events.set_index("event_id")
    assert events.loc["UCDP-900009", "kind"] == "clash"
    assert "Taliban" in events.loc["UCDP-900009", "actor1"]
    off = report(FIXTURES / "ucdp_ged_sample.csv", ucdp_government_from=None)
    assert "UCDP-900009" not in set(off.events["event_id"])
    assert off.n_left_out == 4


def test_ucdp_mapping_of_places_dates_and_deaths():
    events = report(FIXTURES / "ucdp_ged_sample.csv").events.set_index("event_id")
    first = events.loc["UCDP-900001"]
    assert first["province_code"] == "AF-NAN" and first["district"] == "Achin"
    assert first["date"] == pd.Timestamp("2017-07-31") and first["date_precision"] == "day"
    assert (first["fatalities"], first["fatalities_low"], first["fatalities_high"]) == (10, 8, 14)
    assert first["confidence"] == "high"
    assert first["source_title"].startswith("FIXTURE")
    assert events.loc["UCDP-900002", "date_precision"] == "range"
    assert events.loc["UCDP-900003", "location_precision"] == "district"
    assert events.loc["UCDP-900003", "date_precision"] == "month"
    assert events.loc["UCDP-900004", "location_precision"] == "province"
    assert np.isnan(events.loc["UCDP-900004", "latitude"])
    assert events.loc["UCDP-900005", "date_precision"] == "year"
    assert set(events["dataset"]) == {"ucdp"}


def test_ucdp_too_vague_and_backwards_rows_are_rejected():
    result = report(FIXTURES / "ucdp_ged_sample.csv")
    rejected = result.rejected.set_index("event_id")
    assert set(rejected.index) == {"UCDP-900006", "UCDP-900012"}
    assert "too vague" in rejected.loc["UCDP-900006", "reason"]
    assert "before the start" in rejected.loc["UCDP-900012", "reason"]


# ----------------------------------------------------------------------------- unusable files


def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="no such file"):
        read_events(tmp_path / "nope.csv")


def test_directory(tmp_path):
    with pytest.raises(InputFileError, match="is a directory"):
        read_events(tmp_path)


def test_empty_file(tmp_path):
    with pytest.raises(InputFileError, match=r"empty \(0 bytes\)"):
        read_events(write(tmp_path, b""))


def test_header_only(tmp_path):
    with pytest.raises(InputFileError, match="header but no data rows"):
        read_events(csv_rows(tmp_path))


def test_missing_required_columns_are_named(tmp_path):
    path = csv_rows(tmp_path, "E1,hello", header="event_id,notes")
    with pytest.raises(InputFileError) as info:
        read_events(path)
    message = str(info.value)
    assert "date or date_start" in message and "kind" in message
    assert "found: event_id, notes" in message


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("events.parquet", b"event_id,date\nE1,2020-01-01\n", "not a Parquet file"),
        ("events.geojson", b"event_id,date\nE1,2020-01-01\n", "not JSON"),
        ("events.csv", b"PAR1\x00\x00binary", "not CSV text"),
        ("events.gpkg", b"{}", "not a GeoPackage"),
        ("events.xlsx", b"PK\x03\x04zipped", "ZIP archive"),
    ],
)
def test_file_that_is_not_what_its_extension_says(tmp_path, name, content, says):
    with pytest.raises(InputFileError, match=says):
        read_events(write(tmp_path, content, name=name))


def test_geojson_that_is_broken_json(tmp_path):
    with pytest.raises(InputFileError, match="could not be read as GeoJSON"):
        read_events(write(tmp_path, '{"type": "FeatureCollection", "features": [', "e.geojson"))


# ----------------------------------------------------------------------------- encodings


def test_utf8_bom_is_accepted(tmp_path):
    path = write(tmp_path, "\ufeff" + HEADER + "\n" + GOOD + "\n")
    result = report(path)
    assert result.ok and result.events.loc[0, "event_id"] == "E1"


def test_latin1_is_read_with_a_warning(tmp_path):
    path = write(
        tmp_path,
        HEADER + "\n" + GOOD.replace("fixture row", "Café à Hérat") + "\n",
        encoding="latin-1",
    )
    result = report(path)
    assert result.ok
    assert result.events.loc[0, "description"] == "Café à Hérat"
    assert "not UTF-8" in "\n".join(result.messages("warnings"))


@pytest.mark.parametrize(("sep", "shown"), [(";", "';'"), ("\t", "tab")])
def test_other_separators_are_detected(tmp_path, sep, shown):
    path = write(tmp_path, HEADER.replace(",", sep) + "\n" + GOOD.replace(",", sep) + "\n")
    result = report(path)
    assert result.ok and len(result.events) == 1
    assert f"looks {shown}-separated" in "\n".join(result.messages("warnings"))


def test_dari_and_pashto_text_is_kept(tmp_path):
    pashto = "د طالبانو او داعش ترمنځ جګړه"
    path = csv_rows(tmp_path, GOOD.replace("fixture row", pashto).replace("Nangarhar", "ننگرهار"))
    result = report(path)
    assert result.ok, reasons(result)
    assert result.events.loc[0, "description"] == pashto
    assert result.events.loc[0, "province_code"] == "AF-NAN"


def test_ragged_row_is_rejected_and_counted(tmp_path):
    path = csv_rows(tmp_path, GOOD, "E2,2019-03-14,clash", GOOD.replace("E1", "E3"))
    result = report(path)
    assert result.n_input == 3 and len(result.events) == 2
    assert list(result.rejected["row"]) == [2]
    assert "fields where the header has" in result.rejected.loc[0, "reason"]
    assert list(result.events["event_id"]) == ["E1", "E3"]


# ----------------------------------------------------------------------------- row problems


def one_problem(tmp_path, row, **kwargs):
    result = report(csv_rows(tmp_path, GOOD, row), **kwargs)
    assert len(result.events) == 1 and len(result.rejected) == 1, reasons(result)
    assert result.rejected.loc[0, "row"] == 2
    return result.rejected.loc[0, "column"], result.rejected.loc[0, "reason"]


@pytest.mark.parametrize(
    ("row", "column", "says"),
    [
        ("E2,yesterday,clash,Kabul,,,,,", "date", "is not a date"),
        ("E2,2021-02-30,clash,Kabul,,,,,", "date", "not a real calendar date"),
        ("E2,2099-01-01,clash,Kabul,,,,,", "date", "is in the future"),
        ("E2,,clash,Kabul,,,,,", "date", "date is empty"),
        ("E2,2020-01-01,clash,Kabul,abc,69.1,,,", "latitude", "'abc' is not a number"),
        ("E2,2020-01-01,clash,Kabul,34.5,,,,", "longitude", "longitude is empty"),
        ("E2,2020-01-01,clash,Kabul,10,10,,,", "latitude", "outside Afghanistan"),
        ("E2,2020-01-01,clash,,34.01,71.58,,,", "latitude, longitude", "beyond the border"),
        ("E2,2020-01-01,clash,Kabul,,,many,,", "fatalities", "'many' is not a number"),
        ("E2,2020-01-01,clash,Kabul,,,-3,,", "fatalities", "is negative"),
        ("E2,2020-01-01,clash,Nangahar,,,,,", "province", "did you mean Nangarhar"),
        ("E2,2020-01-01,battle royale,Kabul,,,,,", "kind", "is not one of clash"),
        ("E2,2020-01-01,,Kabul,,,,,", "kind", "kind is empty"),
        ("E2,2020-01-01,clash,,,,,,", "province", "no location"),
        (",2020-01-01,clash,Kabul,,,,,", "event_id", "event_id is empty"),
        ("E2,2020-01-01,clash,Kabul,,,,javascript:alert(1),", "source_url", "'javascript:'"),
        ("E2,2020-01-01,clash,Kabul,,,, JaVaScRiPt:alert(1),", "source_url", "'javascript:'"),
        ('E2,2020-01-01,clash,Kabul,,,,"data:text/html;base64,x",', "source_url", "'data:'"),
        ("E2,2020-01-01,clash,Kabul,,,,/local/page.html,", "source_url", "relative"),
        ("E2,2020-01-01,clash,Kabul,,,,https://x.org/<script>,", "source_url", "well-formed"),
    ],
)
def test_row_problems_are_named(tmp_path, row, column, says):
    got_column, reason = one_problem(tmp_path, row)
    assert got_column == column
    assert says in reason


def test_swapped_coordinates_are_spotted(tmp_path):
    _, reason = one_problem(tmp_path, "E2,2020-01-01,clash,Kabul,69.17,34.53,,,")
    assert reason.startswith("69.17 is outside Afghanistan")
    assert "look swapped (latitude 34.53, longitude 69.17 would be in Kabul)" in reason
    assert "would be in Kabul" in reason


def test_far_away_point_is_not_called_swapped(tmp_path):
    _, reason = one_problem(tmp_path, "E2,2020-01-01,clash,Kabul,10,10,,,")
    assert "swapped" not in reason


def test_province_disagreeing_with_point_is_a_warning(tmp_path):
    path = csv_rows(tmp_path, GOOD.replace("Nangarhar", "Kabul"))
    result = report(path)
    assert result.ok and len(result.events) == 1
    warning = result.warnings.loc[0]
    assert warning["row"] == 1 and warning["column"] == "province"
    assert "Kabul (AF-KAB)" in warning["reason"] and "Nangarhar (AF-NAN)" in warning["reason"]


def test_code_and_name_must_agree(tmp_path):
    header = "event_id,date,kind,province,province_code"
    result = report(
        csv_rows(
            tmp_path,
            "E1,2020-01-01,clash,Kabul,AF-NAN",
            "E2,2020-01-01,clash,,AF-XXX",
            header=header,
        )
    )
    assert len(result.rejected) == 2
    assert "disagrees with province" in result.rejected.loc[0, "reason"]
    assert "not one of the 34 province codes" in result.rejected.loc[1, "reason"]


def test_fatality_range_must_be_ordered(tmp_path):
    header = "event_id,date,kind,province,fatalities,fatalities_low,fatalities_high"
    result = report(
        csv_rows(
            tmp_path,
            "E1,2020-01-01,clash,Kabul,5,9,2",
            "E2,2020-01-01,clash,Kabul,12,2,9",
            header=header,
        )
    )
    assert list(result.rejected["row"]) == [1, 2]
    assert "above the high estimate" in result.rejected.loc[0, "reason"]
    # a best figure outside its own range is rejected at validation, naming row and column
    assert result.rejected.loc[1, "column"] == "fatalities"
    assert "best estimate 12.0 is outside its low-high range 2.0-9.0" in result.rejected.loc[
        1, "reason"]


def test_other_kinds_need_keep_all(tmp_path):
    path = csv_rows(tmp_path, GOOD.replace("clash", "assassination"))
    assert len(report(path).rejected) == 1
    kept = report(path, keep_all=True)
    assert kept.ok and kept.events.loc[0, "kind"] == "assassination"


def test_no_bad_url_ever_reaches_the_events(tmp_path):
    urls = [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        " javascript:x",
        "data:x",
        "//x.org",
        "ftp://x.org/a",
        "x.org/a",
        "https://ok.org/a",
        'https://x.org/"onmouseover=x',
    ]
    rows = [
        GOOD.replace("E1", f"E{i}").replace("https://example.org/a", url)
        for i, url in enumerate(urls)
    ]
    result = report(csv_rows(tmp_path, *rows))
    assert list(result.events["source_url"]) == ["https://ok.org/a"]
    assert len(result.rejected) == len(urls) - 1


def test_unknown_date_precision_allows_no_date(tmp_path):
    header = "event_id,date,date_precision,kind,province"
    result = report(csv_rows(tmp_path, "E1,,unknown,clash,Kabul", header=header))
    assert result.ok and pd.isna(result.events.loc[0, "date"])


def test_end_before_start(tmp_path):
    header = "event_id,date_start,date_end,kind,province"
    result = report(csv_rows(tmp_path, "E1,2020-01-05,2020-01-01,clash,Kabul", header=header))
    assert "before the start" in result.rejected.loc[0, "reason"]


def test_future_is_relative_to_today(tmp_path):
    path = csv_rows(tmp_path, GOOD.replace("2019-03-14", "2025-07-01"))
    assert len(report(path, today="2025-06-01").rejected) == 1
    assert report(path, today="2025-08-01").ok


def test_several_problems_in_one_row_are_all_listed(tmp_path):
    result = report(csv_rows(tmp_path, "E2,2021-02-30,dance,Kabul,abc,69,-1,javascript:x,"))
    assert len(result.rejected) == 1
    assert len(result.problems) == 5
    reason = result.rejected.loc[0, "reason"]
    for says in ("calendar", "dance", "abc", "negative", "javascript"):
        assert says in reason


# ----------------------------------------------------------------------------- duplicates


def test_duplicate_ids_name_the_first_row(tmp_path):
    result = report(csv_rows(tmp_path, GOOD, GOOD, GOOD.replace("E1", "E2"), GOOD))
    assert list(result.events["event_id"]) == ["E1", "E2"]
    assert list(result.rejected["row"]) == [2, 4]
    assert all("first used in row 1" in r for r in result.rejected["reason"])


def test_duplicates_across_chunks_and_files(tmp_path):
    path = csv_rows(tmp_path, GOOD, GOOD.replace("E1", "E2"), GOOD.replace("E1", "E3"), GOOD)
    chunked = report(path, chunksize=2)
    assert list(chunked.rejected["row"]) == [4]
    assert "first used in row 1" in chunked.rejected.loc[0, "reason"]
    other = csv_rows(tmp_path, GOOD.replace("E1", "E3"), name="more.csv")
    both = report([path, other])
    assert both.n_input == 5 and len(both.rejected) == 2
    last = both.rejected.iloc[-1]
    assert last["file"] == "more.csv" and last["row"] == 1
    assert "events.csv row 3" in last["reason"]


def test_chunked_reading_matches_whole_reading(tmp_path):
    rows = [GOOD.replace("E1", f"E{i}") for i in range(7)] + ["E9,2021-02-30,clash,Kabul,,,,,"]
    path = csv_rows(tmp_path, *rows)
    whole, chunked = report(path), report(path, chunksize=3)
    pd.testing.assert_frame_equal(whole.events, chunked.events)
    pd.testing.assert_frame_equal(whole.rejected, chunked.rejected)


# ----------------------------------------------------------------------------- raise mode


def test_raise_mode_raises_once_with_every_problem(tmp_path):
    rows = [GOOD] + [f"B{i},2021-02-30,clash,Kabul,,,,," for i in range(25)]
    with pytest.raises(EventValidationError) as info:
        read_events(csv_rows(tmp_path, *rows), today=TODAY)
    message = str(info.value)
    assert message.startswith("25 of 26 rows failed validation")
    assert "row 2, column date: '2021-02-30' is not a real calendar date" in message
    assert "... and 5 more" in message
    assert len(info.value.rejected) == 25
    assert isinstance(info.value, ValueError)


def test_raise_mode_warns_about_warnings(tmp_path):
    path = csv_rows(tmp_path, GOOD.replace("Nangarhar", "Kabul"))
    with pytest.warns(UserWarning, match="stated province Kabul"):
        read_events(path, today=TODAY)


def test_bad_options():
    with pytest.raises(ValueError, match="format must be one of"):
        read_events(FIXTURES / "events_valid.csv", format="excel")
    with pytest.raises(ValueError, match="on_invalid"):
        read_events(FIXTURES / "events_valid.csv", on_invalid="ignore")


# ----------------------------------------------------------------------------- other formats


@pytest.fixture
def valid_frame():
    return read_events(FIXTURES / "events_valid.csv", today=TODAY)


def test_geojson_and_geopackage_points_fill_coordinates(tmp_path, valid_frame):
    import geopandas as gpd

    frame = valid_frame.dropna(subset=["latitude"]).copy()
    points = gpd.GeoDataFrame(
        frame.drop(columns=["latitude", "longitude"]).astype(
            {"date": str, "date_start": str, "date_end": str}
        ),
        geometry=gpd.points_from_xy(frame["longitude"], frame["latitude"]),
        crs=4326,
    )
    for name, driver in (("e.geojson", "GeoJSON"), ("e.gpkg", "GPKG")):
        points.to_file(tmp_path / name, driver=driver)
        result = report(tmp_path / name)
        assert result.ok, reasons(result)
        np.testing.assert_allclose(result.events["latitude"], frame["latitude"])
        np.testing.assert_allclose(result.events["longitude"], frame["longitude"])


def test_parquet_and_geoparquet(tmp_path, valid_frame):
    import geopandas as gpd

    valid_frame.to_parquet(tmp_path / "e.parquet")
    result = report(tmp_path / "e.parquet")
    assert result.ok, reasons(result)
    pd.testing.assert_frame_equal(result.events, valid_frame)
    located = valid_frame.dropna(subset=["latitude"])
    geo = gpd.GeoDataFrame(
        located.drop(columns=["latitude", "longitude"]),
        geometry=gpd.points_from_xy(located["longitude"], located["latitude"]),
        crs=4326,
    )
    geo.to_parquet(tmp_path / "g.parquet")
    result = report(tmp_path / "g.parquet")
    assert result.ok
    np.testing.assert_allclose(result.events["latitude"], located["latitude"])


def test_geodataframe_in_memory(valid_frame):
    import geopandas as gpd

    located = valid_frame.dropna(subset=["latitude"])
    geo = gpd.GeoDataFrame(
        located.drop(columns=["latitude", "longitude"]),
        geometry=gpd.points_from_xy(located["longitude"], located["latitude"]),
        crs=4326,
    )
    result = report(geo)
    np.testing.assert_allclose(result.events["longitude"], located["longitude"])


def test_empty_points_stand_for_province_only_events(tmp_path, valid_frame):
    """A province-only event saved as POINT EMPTY keeps empty coordinates, in every format."""
    import geopandas as gpd
    from shapely.geometry import Point

    frame = valid_frame.astype({"date": str, "date_start": str, "date_end": str})
    geoms = [
        Point() if np.isnan(lat) else Point(lon, lat)
        for lat, lon in zip(frame["latitude"], frame["longitude"], strict=True)
    ]
    assert any(g.is_empty for g in geoms) and not all(g.is_empty for g in geoms)
    geo = gpd.GeoDataFrame(
        frame.drop(columns=["latitude", "longitude"]), geometry=geoms, crs=4326
    )
    geo.to_file(tmp_path / "e.gpkg", driver="GPKG")
    geo.to_parquet(tmp_path / "e.parquet")
    for source in (geo, tmp_path / "e.gpkg", tmp_path / "e.parquet"):
        result = report(source)
        assert result.ok, reasons(result)
        np.testing.assert_allclose(result.events["latitude"], valid_frame["latitude"])
        np.testing.assert_allclose(result.events["longitude"], valid_frame["longitude"])


def test_progress_bar_does_not_disturb_the_result(tmp_path):
    path = csv_rows(tmp_path, GOOD)
    assert report(path, progress=True).ok
    assert report(path, progress=False).ok


def test_summary_sentence():
    result = report(FIXTURES / "acled_sample.csv")
    assert result.summary() == (
        "14 rows read from acled_sample.csv; 3 left out (not Taliban-vs-ISK in Afghanistan), "
        "11 checked: 8 valid, 3 rejected; 1 warning."
    )


def test_acled_dataframe_with_written_out_dates():
    frame = pd.read_csv(FIXTURES / "acled_sample.csv", dtype=str, keep_default_na=False)
    frame["event_date"] = pd.to_datetime(frame["event_date"], errors="coerce").dt.strftime(
        "%d %B %Y"
    )
    result = report(frame)
    events = result.events.set_index("event_id")
    assert events.loc["FXA001", "date"] == pd.Timestamp("2019-03-14")
    assert "FXA010" in set(result.rejected["event_id"])  # 2019-02-30 never parsed


def test_ucdp_keep_all_marks_other_conflicts():
    result = report(FIXTURES / "ucdp_ged_sample.csv", keep_all=True)
    kinds = result.events.set_index("event_id")["kind"]
    assert kinds["UCDP-900010"] == "other" and kinds["UCDP-900008"] == "other"
    assert result.n_left_out == 1  # the row in Pakistan


def test_ragged_rows_keep_their_numbers_across_chunks(tmp_path):
    rows = [f"E{i},2020-01-01,clash,Kabul" for i in range(10)]
    rows[2], rows[3], rows[7] = "E2,2020-01-01", "E3,2020-01-01,clash,Kabul,extra", "E7"
    path = csv_rows(tmp_path, *rows, header="event_id,date,kind,province")
    for chunksize in (100, 3, 1):
        result = report(path, chunksize=chunksize)
        assert list(result.rejected["row"]) == [3, 4, 8]
        assert len(result.events) == 7


def test_acled_and_ucdp_from_parquet_match_csv(tmp_path):
    for name in ("acled_sample", "ucdp_ged_sample"):
        frame = pd.read_csv(FIXTURES / f"{name}.csv", dtype=str, keep_default_na=False)
        frame.to_parquet(tmp_path / f"{name}.parquet")
        from_csv = report(FIXTURES / f"{name}.csv", chunksize=4)
        from_parquet = report(tmp_path / f"{name}.parquet", chunksize=4)
        pd.testing.assert_frame_equal(from_csv.events, from_parquet.events)
        assert list(from_csv.rejected["row"]) == list(from_parquet.rejected["row"])
        assert from_csv.n_left_out == from_parquet.n_left_out > 0


def test_dates_with_times_zones_or_datetime_dtype():
    text = ["2021-08-26T12:00:00Z", "2021-08-26 23:30", "2021-08-26T01:00:00+04:30",
            "26 August 2021", "26 Aug 2021", "2021-08-26 00:00:00.000"]
    frame = pd.DataFrame({"event_id": [f"E{i}" for i in range(len(text))], "date": text,
                          "kind": "clash", "province": "Kabul"})
    result = report(frame)
    assert result.ok, reasons(result)
    assert (result.events["date"] == pd.Timestamp("2021-08-26")).all()
    aware = frame.assign(date=pd.Timestamp("2021-08-26 02:00", tz="Asia/Kabul"))
    assert (report(aware).events["date"] == pd.Timestamp("2021-08-26")).all()
    mixed = frame.head(2).assign(date=pd.to_datetime(["2021-08-26", "2021-09-01"]),
                                 date_start=["2021-08-20", None])
    events = report(mixed).events
    assert list(events["date_start"]) == [pd.Timestamp("2021-08-20"), pd.Timestamp("2021-09-01")]


def test_acled_leaves_out_pakistan_and_the_pakistani_taliban():
    frame = pd.read_csv(FIXTURES / "acled_sample.csv", dtype=str, keep_default_na=False)
    first = frame.iloc[[0]]
    ttp = first.assign(event_id_cnty="FXP1", actor1="Tehreek-i-Taliban Pakistan (TTP)")
    abroad = first.assign(event_id_cnty="FXP2", country="Pakistan", iso="586")
    result = report(pd.concat([first, ttp, abroad], ignore_index=True))
    assert list(result.events["event_id"]) == ["FXA001"]
    assert result.n_left_out == 2
    kept = report(pd.concat([first, ttp, abroad], ignore_index=True), keep_all=True)
    assert list(kept.events["event_id"]) == ["FXA001", "FXP1"]


def test_acled_taliban_state_forces_follow_the_government_switch():
    frame = pd.read_csv(FIXTURES / "acled_sample.csv", dtype=str, keep_default_na=False)
    state = frame.iloc[[3]].assign(event_id_cnty="FXS1", event_type="Battles",
                                   actor2="Military Forces of Afghanistan (2021-)")
    assert report(state).events.loc[0, "kind"] == "clash"
    assert report(state, ucdp_government_from=None).n_left_out == 1
