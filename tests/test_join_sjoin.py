"""The vectorised join against geopandas.sjoin and against the exact nearest-edge tree.

All events here are synthetic (khorasan_map.synthetic), built in the test.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from khorasan_map import join, settings
from khorasan_map.join import assign_provinces, get_locator

boundaries = pytest.importorskip("khorasan_map.boundaries")


@pytest.fixture(scope="module")
def provinces():
    return boundaries.load_provinces()


@pytest.fixture(scope="module")
def mixes(provinces):
    """Synthetic events (full schema): as made, and with their points moved over the bbox."""
    from khorasan_map.synthetic import synthetic_events

    events = synthetic_events(20_000, seed=5)
    has_xy = events["latitude"].notna().to_numpy()
    rng = np.random.default_rng(5)
    xmin, ymin, xmax, ymax = provinces.total_bounds
    bbox = events.copy()
    bbox.loc[has_xy, "longitude"] = rng.uniform(xmin, xmax, has_xy.sum())
    bbox.loc[has_xy, "latitude"] = rng.uniform(ymin, ymax, has_xy.sum())
    return {"inside": events, "bbox": bbox}


def sjoin_codes(events, layer):
    points = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(events["longitude"], events["latitude"]), crs=settings.CRS
    )
    joined = gpd.sjoin(points, layer[["province_code", "geometry"]], predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    ref = np.full(len(events), None, dtype=object)
    ref[joined.index.to_numpy()] = joined["province_code"].to_numpy(dtype=object)
    return ref


@pytest.mark.parametrize("mix", ["inside", "bbox"])
def test_point_placements_equal_sjoin_where_sjoin_assigns(mixes, provinces, mix):
    events = mixes[mix]
    result = assign_provinces(events, provinces)
    ref = sjoin_codes(events, provinces)
    out = result.events
    by = out["assigned_by"].to_numpy(dtype=object)
    placed = np.where(by == "point", out["assigned_code"].to_numpy(dtype=object), None)
    report = result.report
    disagreements = report.index[report["case"] == "disagreement"].to_numpy()
    placed[disagreements] = report.loc[disagreements, "point_code"].to_numpy(dtype=object)
    compared = (ref != None) & (placed != None)  # noqa: E711
    assert compared.sum() > 5_000
    assert (placed[compared] == ref[compared]).all()
    # Every point sjoin places was placed by its point (none was snapped or left out).
    uses_point = events["location_precision"].to_numpy(dtype=object) != "province"
    assert ((placed != None) | ~uses_point | (ref == None)).all()  # noqa: E711


def test_band_nearest_equals_the_exact_tree(provinces):
    rng = np.random.default_rng(9)
    xmin, ymin, xmax, ymax = provinces.total_bounds
    lon = rng.uniform(xmin - 0.3, xmax + 0.3, 20_000)
    lat = rng.uniform(ymin - 0.3, ymax + 0.3, 20_000)
    # Points just off the outline, where the tolerance matters.
    coords = shapely.get_coordinates(provinces.geometry.values)
    pick = rng.integers(0, len(coords), 5_000)
    lon[:5_000] = coords[pick, 0] + rng.normal(0, 0.04, 5_000)
    lat[:5_000] = coords[pick, 1] + rng.normal(0, 0.04, 5_000)
    locator = get_locator(provinces)
    outside = locator.locate_ranks(lon, lat) < 0
    lon, lat = lon[outside], lat[outside]
    for tolerance in (0.0, 5_000.0, 20_000.0):
        near, dist, _ = locator.nearest(lon, lat, tolerance, measure_beyond=False)
        best, exact = join._nearest_by_tree(locator, lon, lat)
        within = exact <= tolerance
        assert (near[within] == best[within]).all()
        assert (dist[within] == exact[within]).all()
        assert (near[~within] == -1).all() and np.isnan(dist[~within]).all()
        assert within.sum() > (100 if tolerance else -1)
        # measure_beyond gives the tree's answer for every point.
        near2, dist2, nearest2 = locator.nearest(lon, lat, tolerance)
        assert (nearest2 == best).all() and np.allclose(dist2, exact, rtol=0, atol=0)
        assert (near2 == np.where(within, best, -1)).all()


@pytest.mark.parametrize("pairs_per_block", [2_000, 10**9])
def test_large_tolerance_band_search_in_blocks(provinces, monkeypatch, pairs_per_block):
    """A 200 km tolerance lists thousands of edges per point: they are measured in blocks."""
    rng = np.random.default_rng(13)
    xmin, ymin, xmax, ymax = provinces.total_bounds
    lon = rng.uniform(xmin - 3, xmax + 3, 40)
    lat = rng.uniform(ymin - 3, ymax + 3, 40)
    locator = get_locator(provinces)
    outside = locator.locate_ranks(lon, lat) < 0
    lon, lat = lon[outside], lat[outside]
    monkeypatch.setattr(join, "_BAND_PAIRS_PER_BLOCK", pairs_per_block)
    near, dist, _ = locator.nearest(lon, lat, 200_000.0, measure_beyond=False)
    best, exact = join._nearest_by_tree(locator, lon, lat)
    within = exact <= 200_000.0
    assert 5 < within.sum() < len(lon)
    assert (near[within] == best[within]).all() and (dist[within] == exact[within]).all()
    assert (near[~within] == -1).all() and np.isnan(dist[~within]).all()


def test_pair_blocks_hold_at_most_the_limit_or_one_point():
    blocks = list(join._pair_blocks(np.array([5, 1, 1, 10, 2]), 6))
    assert [(b.start, b.stop) for b in blocks] == [(0, 2), (2, 3), (3, 4), (4, 5)]


def _point_west_of_herat(provinces, km):
    herat = provinces.loc[provinces["province_code"] == "AF-HER", "geometry"].iloc[0]
    coords = shapely.get_coordinates(herat)
    west = coords[coords[:, 0].argmin()]
    lat = west[1]
    return west[0] - km / (111.32 * np.cos(np.radians(lat))), lat


@pytest.mark.parametrize("km, snapped", [(4.6, True), (6.0, False)])
def test_herat_border_tolerance_in_metres(provinces, km, snapped):
    lon, lat = _point_west_of_herat(provinces, km)
    locator = get_locator(provinces)
    near, metres, nearest = locator.nearest([lon], [lat], settings.BORDER_TOLERANCE_M)
    assert provinces["province_code"].iloc[locator.positions[nearest[0]]] == "AF-HER"
    assert abs(metres[0] / 1000 - km) < 0.3
    assert bool(near[0] >= 0) is snapped
    events = pd.DataFrame({"event_id": ["h"], "latitude": [lat], "longitude": [lon],
                           "location_precision": ["exact"]})
    result = assign_provinces(events, provinces)
    row, report = result.events.iloc[0], result.report.iloc[0]
    assert report["case"] == "outside"
    if snapped:
        assert (row["assigned_code"], row["assigned_by"]) == ("AF-HER", "nearest")
        assert f"{report['distance_km']:.1f} km from Herat (AF-HER)" in report["detail"]
    else:
        assert row["assigned_code"] is None and row["assigned_by"] == "none"


def test_report_keeps_the_province_text_as_given():
    layer = gpd.GeoDataFrame(
        {"province_code": ["AF-KAB", "AF-NAN"], "province": ["Kabul", "Nangarhar"]},
        geometry=[box(69, 34, 70, 35), box(70, 34, 71, 35)], crs=settings.CRS,
    )
    events = pd.DataFrame({
        "event_id": ["a", "b"],
        "province_code": ["af-kab", None],
        "province": [None, "  kabul province "],
        "latitude": [34.5, 34.5],
        "longitude": [70.5, 70.5],
        "location_precision": ["exact", "exact"],
    })
    report = assign_provinces(events, layer).report
    assert report["stated_code"].tolist() == ["AF-KAB", "AF-KAB"]
    assert report["stated_text"].tolist() == ["af-kab", "kabul province"]


def test_tolerance_setting_is_read_at_call_time(monkeypatch):
    layer = gpd.GeoDataFrame({"province_code": ["AF-NAN"], "province": ["Nangarhar"]},
                             geometry=[box(70, 34, 71, 35)], crs=settings.CRS)
    events = pd.DataFrame({"event_id": ["e"], "latitude": [34.5], "longitude": [71.2],
                           "location_precision": ["exact"]})
    assert assign_provinces(events, layer).events["assigned_by"].iloc[0] == "none"
    monkeypatch.setattr(settings, "BORDER_TOLERANCE_M", 25_000.0)
    result = assign_provinces(events, layer)
    assert result.events["assigned_by"].iloc[0] == "nearest"
    assert result.tolerance_m == 25_000.0
