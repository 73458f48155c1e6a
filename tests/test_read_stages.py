"""Tests for the reading stages: one path expansion, one reader per format, one border rule.

Every file here is synthetic and written in the test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from khorasan_map import settings
from khorasan_map.cli import EXIT_OK, EXIT_UNUSABLE, main
from khorasan_map.errors import InputFileError
from khorasan_map.events import read_events
from khorasan_map.sources import expand_paths

TODAY = "2025-06-01"
HEADER = "event_id,date,kind,province,latitude,longitude,source_url,description"


def two_files(folder: Path) -> list[Path]:
    """Two small, valid, synthetic event files with distinct ids."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (province, lat, lon) in enumerate((("Nangarhar", 34.13, 70.70),
                                              ("Kunar", 34.85, 71.10))):
        path = folder / f"part{i}.csv"
        path.write_text(f"{HEADER}\nS{i},2019-03-1{i},clash,{province},{lat},{lon},"
                        f"https://example.org/{i},synthetic\n", encoding="utf-8")
        paths.append(path)
    return paths


# ----------------------------------------------------------------------------- paths


def test_expand_paths_takes_files_folders_and_globs(tmp_path):
    a, b = two_files(tmp_path / "in")
    (tmp_path / "in" / "_SUCCESS").write_text("", encoding="utf-8")
    assert expand_paths(tmp_path / "in") == [a, b]
    assert expand_paths(str(tmp_path / "in" / "*.csv")) == [a, b]
    assert expand_paths([b, a, str(tmp_path / "in" / "*.csv")]) == [b, a]
    odd = tmp_path / "in" / "events[1].csv"  # a real name with glob characters is a file
    odd.write_text(a.read_text(encoding="utf-8"), encoding="utf-8")
    assert expand_paths(odd) == [odd]
    with pytest.raises(InputFileError, match="no files match"):
        expand_paths(str(tmp_path / "none" / "*.csv"))


def test_read_events_takes_a_folder_and_a_glob(tmp_path):
    two_files(tmp_path / "in")
    by_folder = read_events(tmp_path / "in", today=TODAY)
    by_glob = read_events(str(tmp_path / "in" / "*.csv"), today=TODAY)
    assert list(by_folder["event_id"]) == list(by_glob["event_id"]) == ["S0", "S1"]


@pytest.mark.parametrize("form", ["glob", "folder"])
def test_cli_validate_takes_a_quoted_glob_and_a_folder(tmp_path, form):
    two_files(tmp_path / "in")
    arg = str(tmp_path / "in" / "*.csv") if form == "glob" else str(tmp_path / "in")
    result = CliRunner().invoke(main, ["validate", arg, "--today", TODAY])
    assert result.exit_code == EXIT_OK, result.output
    assert "2 rows read from part0.csv, part1.csv: 2 valid, 0 rejected" in result.output


@pytest.mark.parametrize("form", ["glob", "folder"])
def test_cli_export_takes_a_quoted_glob_and_a_folder(tmp_path, form):
    two_files(tmp_path / "in")
    arg = str(tmp_path / "in" / "*.csv") if form == "glob" else str(tmp_path / "in")
    out = tmp_path / "x.png"
    result = CliRunner().invoke(main, ["export", arg, "-o", str(out), "--dpi", "30"])
    assert result.exit_code == EXIT_OK, result.output
    assert out.stat().st_size > 0


def test_cli_glob_matching_nothing_is_one_line(tmp_path):
    for command in (["validate"], ["export", "-o", str(tmp_path / "x.png")]):
        result = CliRunner().invoke(main, [*command, str(tmp_path / "*.csv")])
        assert result.exit_code == EXIT_UNUSABLE
        assert "no files match" in result.output and "Traceback" not in result.output


# ----------------------------------------------------------------------------- GeoParquet CRS


def utm_geoparquet(tmp_path) -> Path:
    """One synthetic event in Kabul, its point written in EPSG:32642 (UTM 42N)."""
    import geopandas as gpd

    frame = pd.DataFrame({"event_id": ["UTM-1"], "date": ["2019-03-14"], "kind": ["clash"],
                          "location_precision": ["exact"], "description": ["synthetic"]})
    points = gpd.GeoSeries(gpd.points_from_xy([69.17], [34.53]), crs=settings.CRS)
    geo = gpd.GeoDataFrame(frame, geometry=points.to_crs("EPSG:32642").values, crs="EPSG:32642")
    path = tmp_path / "utm.parquet"
    geo.to_parquet(path)
    return path


def test_geoparquet_in_utm_lands_in_kabul_with_either_engine(tmp_path):
    from khorasan_map import scale
    from khorasan_map.join import assign_provinces

    path = utm_geoparquet(tmp_path)
    in_memory = read_events(path, today=TODAY)
    assert in_memory["longitude"].iloc[0] == pytest.approx(69.17)
    assert in_memory["latitude"].iloc[0] == pytest.approx(34.53)
    assert list(assign_provinces(in_memory).events["assigned_code"]) == ["AF-KAB"]
    partitioned = scale.read_events_dask(path, today=TODAY).compute()
    read = [c for c in in_memory.columns if c not in scale.UNUSED_COLUMNS]  # Dask skips those
    pd.testing.assert_frame_equal(partitioned.reset_index(drop=True)[read], in_memory[read])
    summary = scale.summarize_dask(path, today=TODAY)
    assert summary.attrs["scale"]["join"]["by"]["point"] == 1
    assert summary.set_index("province_code").loc["AF-KAB", "events"] == 1


# ----------------------------------------------------------------------------- the border rule


def point_west_of_herat(distance_m: float) -> tuple[float, float]:
    """A point at ``distance_m`` metres (equal-area CRS) from Herat, due west of its border."""
    import geopandas as gpd
    import shapely

    from khorasan_map.boundaries import load_provinces

    layer = load_provinces()
    herat = layer.loc[layer["province_code"] == "AF-HER"].geometry
    herat_m = herat.to_crs(settings.EQUAL_AREA_CRS).iloc[0]
    country_m = layer.to_crs(settings.EQUAL_AREA_CRS).geometry.union_all()
    lat = 34.3
    edge = herat.iloc[0].intersection(shapely.LineString([(55, lat), (66, lat)]))
    west = edge.bounds[0]

    def distance(lon):
        point = gpd.GeoSeries(gpd.points_from_xy([lon], [lat]), crs=settings.CRS)
        return point.to_crs(settings.EQUAL_AREA_CRS).iloc[0].distance(country_m)

    low, high = west - 0.3, west  # bisect: distance falls as the point nears the border
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if distance(mid) > distance_m else (low, mid)
    lon = (low + high) / 2
    point = gpd.GeoSeries(gpd.points_from_xy([lon], [lat]), crs=settings.CRS)
    assert point.to_crs(settings.EQUAL_AREA_CRS).iloc[0].distance(herat_m) == pytest.approx(
        distance_m, abs=1.0)  # Herat is the nearest province
    return lon, lat


def border_event(lon, lat) -> pd.DataFrame:
    return pd.DataFrame({"event_id": ["B1"], "date": ["2019-03-14"], "kind": ["clash"],
                         "latitude": [lat], "longitude": [lon],
                         "location_precision": ["exact"]})


def test_4_6_km_outside_herat_is_accepted_and_snapped_6_km_is_refused_by_both():
    from khorasan_map.join import assign_provinces

    near_lon, lat = point_west_of_herat(4_600)
    near = read_events(border_event(near_lon, lat), today=TODAY)
    assert len(near) == 1
    joined = assign_provinces(near).events
    assert list(joined["assigned_code"]) == ["AF-HER"]
    assert list(joined["assigned_by"]) == ["nearest"]

    far_lon, _ = point_west_of_herat(6_000)
    result = read_events(border_event(far_lon, lat), today=TODAY, on_invalid="report")
    assert len(result.events) == 0
    assert "more than 5 km beyond the border" in result.rejected.loc[0, "reason"]
    far = near.assign(longitude=far_lon)
    assert list(assign_provinces(far).events["assigned_by"]) == ["none"]


def test_border_tolerance_is_read_when_validating(monkeypatch):
    near_lon, lat = point_west_of_herat(4_600)
    monkeypatch.setattr(settings, "BORDER_TOLERANCE_M", 4_000.0)
    result = read_events(border_event(near_lon, lat), today=TODAY, on_invalid="report")
    assert len(result.rejected) == 1
    assert "more than 4 km beyond the border" in result.rejected.loc[0, "reason"]


def test_both_engines_word_a_rejection_the_same(tmp_path):
    from khorasan_map import scale
    from khorasan_map.errors import EventValidationError

    path = tmp_path / "bad.csv"
    path.write_text(f"{HEADER}\nE1,2021-02-30,clash,Kabul,,,,synthetic\n", encoding="utf-8")
    messages = []
    for read in (lambda: read_events(path, today=TODAY),
                 lambda: scale.read_events_dask(path, today=TODAY).compute()):
        with pytest.raises(EventValidationError) as caught:
            read()
        messages.append(str(caught.value).splitlines())
    assert messages[0][0].startswith("1 of 1 rows failed validation")
    assert messages[1][0].startswith("1 of 1 rows failed validation")
    assert messages[0][1:] == messages[1][1:]
    assert np.all(["'2021-02-30' is not a real calendar date" in m[1] for m in messages])


@pytest.mark.parametrize("engine", ["memory", "dask"])
def test_geoparquet_in_utm_summarised_in_kabul_by_the_front_door(tmp_path, engine):
    from khorasan_map.aggregate import summarize

    summary = summarize(utm_geoparquet(tmp_path), engine=engine, today=TODAY)
    counted = summary.set_index("province_code")["events"]
    assert counted["AF-KAB"] == 1 and counted.sum() == 1
