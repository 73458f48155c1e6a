"""Tests for khorasan_map.join: the grid point locator and the event join with its report."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from khorasan_map import join
from khorasan_map.errors import BoundaryError
from khorasan_map.join import (
    REPORT_COLUMNS,
    JoinResult,
    PointLocator,
    assign_provinces,
    get_locator,
    locate_points,
)

# Three one-degree squares sharing edges: Kabul on top of Logar, Nangarhar east of Kabul.
#   (69,35) +--------+--------+ (71,35)
#           | AF-KAB | AF-NAN |
#   (69,34) +--------+--------+ (71,34)
#           | AF-LOG |
#   (69,33) +--------+ (70,33)


@pytest.fixture
def squares():
    return gpd.GeoDataFrame(
        {
            "province_code": ["AF-NAN", "AF-KAB", "AF-LOG"],
            "province": ["Nangarhar", "Kabul", "Logar"],
        },
        geometry=[box(70, 34, 71, 35), box(69, 34, 70, 35), box(69, 33, 70, 34)],
        crs="EPSG:4326",
    )


def make_events(rows):
    columns = ["event_id", "province_code", "province", "latitude", "longitude"]
    columns.append("location_precision")
    return pd.DataFrame(rows, columns=columns)


def one(events, layer, **kwargs):
    """Join a one-event table; return (events row, report row or None)."""
    result = assign_provinces(make_events([events]), layer, **kwargs)
    row = result.events.iloc[0]
    report = result.report.iloc[0] if len(result.report) else None
    return row, report


# --- locate_points -----------------------------------------------------------------------------


def sjoin_codes(lon, lat, layer, field="province_code"):
    """Reference: geopandas.sjoin(within); the lowest code when several polygons match."""
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    joined = gpd.sjoin(pts, layer[[field, "geometry"]], predicate="within")
    joined = joined.sort_values(field, kind="stable")
    joined = joined[~joined.index.duplicated(keep="first")]
    ref = np.full(len(lon), None, dtype=object)
    ref[joined.index.to_numpy()] = joined[field].to_numpy(dtype=object)
    return ref


def on_any_border(lon, lat, layer):
    lines = shapely.union_all(layer.geometry.boundary.values)
    return shapely.intersects_xy(lines, lon, lat)


@pytest.fixture
def mosaic():
    """About 40 Voronoi cells clipped to an irregular outline, with a hole and a multipolygon."""
    rng = np.random.default_rng(7)
    outline = Polygon(
        [(60.5, 29.5), (66, 29.4), (74.8, 33), (74.5, 38.4), (67, 38.3), (60.6, 35.5)]
    )
    seeds = shapely.multipoints(rng.uniform([60.5, 29.4], [74.8, 38.4], (40, 2)))
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=outline))
    cells = [c.intersection(outline) for c in cells]
    cells = [c for c in cells if not c.is_empty and c.area > 0]
    # Densify so the layer has many vertices, like a real one.
    cells = [shapely.segmentize(c, 0.05) for c in cells]
    lake = box(67.5, 33.5, 68.5, 34.5)
    host = max(range(len(cells)), key=lambda i: cells[i].intersection(lake).area)
    island = cells[host].intersection(lake)
    cells[host] = cells[host].difference(lake)
    # A polygon in two pieces: the lake's island plus a far-off piece outside the outline.
    cells.append(MultiPolygon([island, box(75.0, 30.0, 75.5, 30.5)]))
    codes = [f"Z{i:03d}" for i in range(len(cells))]
    layer = gpd.GeoDataFrame({"province_code": codes}, geometry=cells, crs="EPSG:4326")
    assert layer.is_valid.all()
    return layer


def test_locate_points_equals_sjoin_on_random_points(mosaic):
    rng = np.random.default_rng(0)
    xmin, ymin, xmax, ymax = mosaic.total_bounds
    lon = rng.uniform(xmin - 0.5, xmax + 0.5, 20_000)
    lat = rng.uniform(ymin - 0.5, ymax + 0.5, 20_000)
    got = locate_points(lon, lat, mosaic)
    ref = sjoin_codes(lon, lat, mosaic)
    interior = ~on_any_border(lon, lat, mosaic)
    assert interior.sum() > 19_900
    assert (got[interior] == ref[interior]).all()
    assert (got != None).sum() > 10_000  # noqa: E711


def test_locate_points_small_grid_still_exact(mosaic):
    rng = np.random.default_rng(1)
    xmin, ymin, xmax, ymax = mosaic.total_bounds
    lon = rng.uniform(xmin, xmax, 5_000)
    lat = rng.uniform(ymin, ymax, 5_000)
    coarse = PointLocator(mosaic, grid_size=8).locate(lon, lat)
    assert (coarse == sjoin_codes(lon, lat, mosaic)).all()


def test_locate_points_on_the_shipped_layer():
    boundaries = pytest.importorskip("khorasan_map.boundaries")
    provinces = boundaries.load_provinces()
    rng = np.random.default_rng(2)
    xmin, ymin, xmax, ymax = provinces.total_bounds
    lon = rng.uniform(xmin, xmax, 20_000)
    lat = rng.uniform(ymin, ymax, 20_000)
    got = locate_points(lon, lat)
    interior = ~on_any_border(lon, lat, provinces)
    assert (got[interior] == sjoin_codes(lon, lat, provinces)[interior]).all()
    places = {
        "AF-KAB": (69.17, 34.53),  # Kabul city
        "AF-NAN": (70.45, 34.43),  # Jalalabad
        "AF-KAN": (65.71, 31.61),  # Kandahar city
        "AF-HER": (62.20, 34.35),  # Herat city
        "AF-BAL": (67.11, 36.71),  # Mazar-i-Sharif
        "AF-PAN": (69.52, 35.31),  # Bazarak
        "AF-DAY": (66.14, 33.72),  # Nili
    }
    xy = np.array(list(places.values()))
    assert locate_points(xy[:, 0], xy[:, 1]).tolist() == list(places)


def test_border_rule_lowest_code_among_covering(squares):
    lon = [69.5, 70.0, 70.0, 70.5, 69.0, 71.0]
    lat = [34.0, 34.5, 34.0, 34.0, 34.5, 34.5]
    # KAB/LOG edge, KAB/NAN edge, the vertex of all three, NAN's outer bottom edge,
    # KAB's outer west edge, NAN's outer east edge.
    expected = ["AF-KAB", "AF-KAB", "AF-KAB", "AF-NAN", "AF-KAB", "AF-NAN"]
    assert locate_points(lon, lat, squares).tolist() == expected
    # Deterministic: the layer's row order does not matter.
    shuffled = squares.iloc[[2, 0, 1]].reset_index(drop=True)
    assert locate_points(lon, lat, shuffled).tolist() == expected
    ranks, counts = get_locator(squares).locate_ranks(lon, lat, with_count=True)
    assert counts.tolist() == [2, 2, 3, 1, 1, 1]


def test_locate_points_nan_outside_and_empty(squares):
    got = locate_points([np.nan, 69.5, 0.0, 69.5, np.inf], [34.5, np.nan, 0.0, 34.5, 34.5], squares)
    assert got.tolist() == [None, None, None, "AF-KAB", None]
    assert locate_points([], [], squares).tolist() == []
    with pytest.raises(ValueError, match="differ in length"):
        locate_points([1.0, 2.0], [1.0], squares)


def test_polygon_with_hole_and_overlap():
    ring = Polygon(box(0, 0, 4, 4).exterior.coords, [box(1, 1, 3, 3).exterior.coords])
    layer = gpd.GeoDataFrame(
        {"code": ["B-RING", "A-CORE", "C-OVER"]},
        geometry=[ring, box(1.5, 1.5, 2.5, 2.5), box(3.5, 3.5, 5, 5)],
        crs="EPSG:4326",
    )
    lon = [0.5, 2.0, 1.2, 3.8, 4.5, 3.0]
    lat = [0.5, 2.0, 1.2, 3.8, 4.5, 2.0]
    got = locate_points(lon, lat, layer, code_field="code")
    # Ring; inner polygon; the hole (nothing); overlap of ring and C-OVER (lowest code wins);
    # C-OVER alone; the hole's edge (the ring covers it).
    assert got.tolist() == ["B-RING", "A-CORE", None, "B-RING", "C-OVER", "B-RING"]
    locator = get_locator(layer, "code")
    assert locator.has_overlaps
    _, counts = locator.locate_ranks(lon, lat, with_count=True)
    assert counts.tolist() == [1, 1, 0, 2, 1, 1]


def test_locator_is_cached_and_invalidated_by_edits(squares):
    first = get_locator(squares)
    assert get_locator(squares) is first
    edited = squares.copy()
    edited.loc[0, "geometry"] = box(70, 34, 72, 35)
    assert get_locator(edited) is not first
    assert locate_points([71.5], [34.5], edited).tolist() == ["AF-NAN"]
    assert locate_points([71.5], [34.5], squares).tolist() == [None]


def test_locator_rejects_a_missing_code_field(squares):
    with pytest.raises(BoundaryError, match="no column 'shapeID'"):
        locate_points([69.5], [34.5], squares, code_field="shapeID")


def test_locator_reprojects_other_crs(squares):
    metres = squares.to_crs("EPSG:3857")
    assert locate_points([69.5, 70.5], [34.5, 34.5], metres).tolist() == ["AF-KAB", "AF-NAN"]


# --- assign_provinces: every report case --------------------------------------------------------


def test_point_agreeing_with_stated_needs_no_report(squares):
    row, report = one(("e", "AF-KAB", "Kabul", 34.5, 69.5, "exact"), squares)
    assert (row["assigned_code"], row["assigned_province"], row["assigned_by"]) == (
        "AF-KAB",
        "Kabul",
        "point",
    )
    assert report is None


@pytest.mark.parametrize("precision", ["exact", "near"])
def test_disagreement_point_wins_for_exact_and_near(squares, precision):
    row, report = one(("e", "AF-KAB", "Kabul", 34.5, 70.5, precision), squares)
    assert (row["assigned_code"], row["assigned_by"]) == ("AF-NAN", "point")
    assert report["case"] == "disagreement"
    assert (report["stated_code"], report["point_code"], report["used"]) == (
        "AF-KAB",
        "AF-NAN",
        "point",
    )
    assert "Nangarhar (AF-NAN)" in report["detail"] and "Kabul (AF-KAB)" in report["detail"]


def test_disagreement_stated_wins_for_district_precision(squares):
    row, report = one(("e", "AF-KAB", "Kabul", 34.5, 70.5, "district"), squares)
    assert (row["assigned_code"], row["assigned_province"], row["assigned_by"]) == (
        "AF-KAB",
        "Kabul",
        "stated",
    )
    assert (report["case"], report["used"], report["point_code"]) == (
        "disagreement",
        "stated",
        "AF-NAN",
    )


def test_outside_within_tolerance_goes_to_nearest_with_distance(squares):
    # 0.02 degree east of Nangarhar at 34.5 N: about 1.8 km.
    row, report = one(("e", None, None, 34.5, 71.02, "exact"), squares)
    assert (row["assigned_code"], row["assigned_by"]) == ("AF-NAN", "nearest")
    assert (report["case"], report["used"], report["point_code"]) == (
        "outside",
        "nearest",
        "AF-NAN",
    )
    assert 1.5 < report["distance_km"] < 2.2
    assert "within the 5 km tolerance" in report["detail"]


def test_outside_beyond_tolerance_with_and_without_stated(squares):
    row, report = one(("e", None, None, 34.5, 71.2, "exact"), squares)
    assert row["assigned_code"] is None and row["assigned_by"] == "none"
    assert (report["case"], report["used"]) == ("outside", "none")
    # Beyond the tolerance the distance is not measured (most such points are far away).
    assert np.isnan(report["distance_km"]) and "more than 5 km" in report["detail"]
    assert 17 < get_locator(squares).nearest([71.2], [34.5], 5_000)[1][0] / 1000 < 20
    row, report = one(("e", "AF-LOG", "Logar", 34.5, 71.2, "exact"), squares)
    assert (row["assigned_code"], row["assigned_by"]) == ("AF-LOG", "stated")
    assert (report["case"], report["used"], report["stated_code"]) == (
        "outside",
        "stated",
        "AF-LOG",
    )


def test_tolerance_is_settable(squares):
    row, _ = one(("e", None, None, 34.5, 71.2, "exact"), squares, tolerance_m=25_000)
    assert (row["assigned_code"], row["assigned_by"]) == ("AF-NAN", "nearest")
    row, report = one(("e", None, None, 34.5, 71.02, "exact"), squares, tolerance_m=0)
    assert row["assigned_by"] == "none" and report["case"] == "outside"


def test_shared_border_rule_and_stated_tie_break(squares):
    row, report = one(("e", None, None, 34.0, 69.5, "exact"), squares)
    assert (row["assigned_code"], row["assigned_by"]) == ("AF-KAB", "point")
    assert report["case"] == "border" and "border rule" in report["detail"]
    assert "Kabul (AF-KAB)" in report["detail"] and "Logar (AF-LOG)" in report["detail"]
    # The stated province is one of the two: it breaks the tie.
    row, report = one(("e", "AF-LOG", "Logar", 34.0, 69.5, "exact"), squares)
    assert (row["assigned_code"], row["assigned_by"]) == ("AF-LOG", "point")
    assert (report["case"], report["point_code"]) == ("border", "AF-LOG")


def test_vertex_of_three_provinces(squares):
    row, report = one(("e", None, None, 34.0, 70.0, "exact"), squares)
    assert row["assigned_code"] == "AF-KAB" and report["case"] == "border"
    row, report = one(("e", "AF-NAN", None, 34.0, 70.0, "near"), squares)
    assert row["assigned_code"] == "AF-NAN" and report["case"] == "border"


def test_border_point_with_a_stated_province_not_on_that_border(squares):
    # On the Kabul/Logar edge, but the source names Nangarhar: a disagreement, point wins.
    row, report = one(("e", "AF-NAN", None, 34.0, 69.5, "exact"), squares)
    assert (row["assigned_code"], row["assigned_by"]) == ("AF-KAB", "point")
    assert report["case"] == "disagreement" and "border" in report["detail"]


def test_outer_edge_point_is_not_a_border_case(squares):
    row, report = one(("e", None, None, 34.5, 69.0, "exact"), squares)
    assert (row["assigned_code"], row["assigned_by"]) == ("AF-KAB", "point")
    assert report is None


def test_unlocatable(squares):
    row, report = one(("e", None, None, np.nan, np.nan, "exact"), squares)
    assert row["assigned_code"] is None and row["assigned_by"] == "none"
    assert (report["case"], report["used"]) == ("unlocatable", "none")
    assert "no usable coordinates" in report["detail"]
    row, report = one(("e", "", "Narnia", np.nan, np.nan, "province"), squares)
    assert report["case"] == "unlocatable" and "'Narnia'" in report["detail"]


def test_nan_coordinates_fall_back_to_stated(squares):
    row, report = one(("e", "AF-LOG", "Logar", np.nan, 69.5, "exact"), squares)
    assert (row["assigned_code"], row["assigned_by"]) == ("AF-LOG", "stated")
    assert report is None
    # Impossible coordinates count as missing.
    row, _ = one(("e", "AF-LOG", "Logar", 134.0, 69.5, "exact"), squares)
    assert row["assigned_by"] == "stated"


def test_province_precision_uses_the_stated_name(squares):
    # The code is empty: the name is resolved by the gazetteer. The point is ignored.
    row, report = one(("e", "", "Logar", 34.5, 70.5, "province"), squares)
    assert (row["assigned_code"], row["assigned_province"], row["assigned_by"]) == (
        "AF-LOG",
        "Logar",
        "stated",
    )
    assert report is None
    row, _ = one(("e", np.nan, "  kabul ", np.nan, np.nan, "province"), squares)
    assert row["assigned_code"] == "AF-KAB"
    row, _ = one(("e", "af-nan", None, np.nan, np.nan, "province"), squares)
    assert row["assigned_code"] == "AF-NAN"


def test_province_precision_without_a_stated_province_uses_its_point(squares):
    row, report = one(("e", None, None, 34.5, 70.5, "province"), squares)
    assert (row["assigned_code"], row["assigned_by"]) == ("AF-NAN", "point")
    assert report is None


def test_invariant_order_and_index_kept(squares):
    rows = [
        ("a", "AF-KAB", "Kabul", 34.5, 69.5, "exact"),
        ("b", "AF-KAB", "Kabul", 34.5, 70.5, "exact"),
        ("c", None, None, 34.5, 71.02, "near"),
        ("d", None, None, 34.5, 71.2, "exact"),
        ("e", None, None, 34.0, 69.5, "exact"),
        ("f", None, None, np.nan, np.nan, "exact"),
        ("g", "", "Logar", np.nan, np.nan, "province"),
        ("h", "AF-NAN", None, 34.5, 70.5, "district"),
    ]
    events = make_events(rows)
    events.index = [70, 10, 30, 20, 60, 50, 40, 0]
    before = events.copy()
    result = assign_provinces(events, squares)
    assert isinstance(result, JoinResult)
    pd.testing.assert_frame_equal(events, before)  # the input is untouched
    assert result.events.index.tolist() == events.index.tolist()
    assert result.events["event_id"].tolist() == list("abcdefgh")
    assert result.n_input == 8
    assert result.n_assigned + result.n_unassigned == result.n_input
    assert (result.n_assigned, result.n_unassigned) == (6, 2)
    assert result.events["assigned_by"].tolist() == [
        "point",
        "point",
        "nearest",
        "none",
        "point",
        "none",
        "stated",
        "point",
    ]
    report = result.report
    assert list(report.columns) == list(REPORT_COLUMNS)
    assert report["event_id"].tolist() == ["b", "c", "d", "e", "f"]
    assert report["case"].tolist() == [
        "disagreement",
        "outside",
        "outside",
        "border",
        "unlocatable",
    ]
    assert report.index.tolist() == [10, 30, 20, 60, 50]
    assert result.summary_line() == (
        "8 events: 6 assigned (4 by point, 1 by stated province, 1 nearest within 5 km), "
        "2 unassigned; 5 need a look (see report)"
    )


def test_empty_events(squares):
    result = assign_provinces(make_events([]), squares)
    assert (result.n_input, result.n_assigned, result.n_unassigned) == (0, 0, 0)
    assert list(result.report.columns) == list(REPORT_COLUMNS)
    assert result.summary_line().startswith("0 events: 0 assigned")


def test_user_layer_of_districts_skips_stated_comparison():
    districts = gpd.GeoDataFrame(
        {"shapeID": ["D-2", "D-1"], "shapeName": ["East", "West"]},
        geometry=[box(70, 34, 71, 35), box(69, 34, 70, 35)],
        crs="EPSG:4326",
    )
    events = make_events(
        [
            ("a", "AF-KAB", "Kabul", 34.5, 70.5, "exact"),
            ("b", "AF-KAB", "Kabul", np.nan, np.nan, "province"),
            ("c", None, None, 34.0 - 1e-9, 69.5, "exact"),
        ]
    )
    result = assign_provinces(events, districts, code_field="shapeID", name_field="shapeName")
    out = result.events
    assert out["assigned_code"].tolist() == ["D-2", None, "D-1"]
    assert out["assigned_province"].tolist() == ["East", None, "West"]
    assert out["assigned_by"].tolist() == ["point", "none", "nearest"]
    assert result.report["case"].tolist() == ["unlocatable", "outside"]
    assert "not provinces" in result.report["detail"].iloc[0]


def test_default_layer_is_the_shipped_one():
    pytest.importorskip("khorasan_map.boundaries")
    events = make_events(
        [
            ("a", "AF-KAB", "Kabul", 34.53, 69.17, "exact"),
            ("b", "AF-KNR", "Kunar", 34.43, 70.45, "exact"),
            ("c", "", "Bamyan", np.nan, np.nan, "province"),
        ]
    )
    result = assign_provinces(events)
    assert result.events["assigned_code"].tolist() == ["AF-KAB", "AF-NAN", "AF-BAM"]
    assert result.report["case"].tolist() == ["disagreement"]


def test_many_events_follow_locate_points(squares):
    rng = np.random.default_rng(3)
    n = 5_000
    lon = rng.uniform(68.9, 71.1, n)
    lat = rng.uniform(32.9, 35.1, n)
    events = pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "latitude": lat,
            "longitude": lon,
            "location_precision": "exact",
        }
    )
    result = assign_provinces(events, squares, tolerance_m=0)
    expected = locate_points(lon, lat, squares)
    assert (result.events["assigned_code"].to_numpy(dtype=object) == expected).all()
    assert result.n_assigned == int((expected != None).sum())  # noqa: E711
    assert result.n_assigned + result.n_unassigned == n


def test_rejects_non_frames(squares):
    with pytest.raises(TypeError, match="DataFrame"):
        assign_provinces([{"event_id": "a"}], squares)


def test_grid_size_by_polygon_count():
    assert join._grid_size(34) == 1024
    assert join._grid_size(398) == 1024
    assert join._grid_size(5000) == 2048


def test_tolerance_must_be_a_distance(squares):
    with pytest.raises(ValueError, match="tolerance_m"):
        assign_provinces(make_events([]), squares, tolerance_m=-1)


def test_benchmark_script_runs(tmp_path, mosaic):
    import subprocess
    import sys
    from pathlib import Path

    path = tmp_path / "mosaic.geojson"
    mosaic.to_file(path, driver="GeoJSON")
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_join.py"
    args = [sys.executable, str(script), "--boundaries", str(path), "--code-field"]
    args += ["province_code", "--n", "3000", "--repeat", "1"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    # The end-to-end ratios come first, both mixes, with both peak memories; then the kernel.
    assert out.count("RATIO END TO END sjoin / assign_provinces") == 3  # inside, bbox, stress
    assert out.count("memory (") == 3
    assert out.index("RATIO END TO END") < out.index("RATIO KERNEL") < out.index("/ kernel")
    assert out.count("point placements identical to sjoin's; 0 differ") == 3
