"""Tests of save_html (offline, deterministic, atomic) and the data exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from folium import plugins
from shapely.geometry import Point, Polygon

from khorasan_map import export
from khorasan_map.export import (
    OfflineAssetError,
    escape_formula,
    offline_assets,
    render_html,
    save_html,
    save_json,
    save_table,
)

# An external script or stylesheet: <script src="http..."> or <link ... href="http...">.
EXTERNAL_ASSET = re.compile(
    r"""<(script|link)\b[^>]*\b(src|href)\s*=\s*["']\s*(https?:)?//""", re.IGNORECASE
)
RANDOM_ID = re.compile(r"_[0-9a-f]{32}\b")

SQUARE = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"name": "Kunar"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[70.5, 34.6], [71.6, 34.6], [71.6, 35.6], [70.5, 34.6]]],
            },
        }
    ],
}


def plain_map() -> folium.Map:
    """A folium map like ours: tiles, polygons, clustered circle markers, a layer control."""
    m = folium.Map(location=[34.5, 66.0], zoom_start=6, tiles="OpenStreetMap")
    folium.GeoJson(SQUARE, name="provinces").add_to(m)
    cluster = plugins.MarkerCluster(name="events").add_to(m)
    for lat, lon in [(34.9, 71.1), (34.4, 70.4), (31.6, 65.7)]:
        folium.CircleMarker([lat, lon], radius=5).add_to(cluster)
    folium.LayerControl().add_to(m)
    return m


def external_assets(html: str) -> list[str]:
    return [m.group(0) for m in EXTERNAL_ASSET.finditer(html)]


# ---------------------------------------------------------------- save_html


def test_online_keeps_cdn_assets_and_tiles(tmp_path):
    html = save_html(plain_map(), tmp_path / "m.html").read_text(encoding="utf-8")
    assert "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js" in html
    assert "leaflet.markercluster" in html
    assert "tile.openstreetmap.org" in html
    assert "OpenStreetMap" in html  # tile attribution kept


def test_offline_has_no_external_script_or_style(tmp_path):
    html = save_html(plain_map(), tmp_path / "m.html", offline=True).read_text(encoding="utf-8")
    assert external_assets(html) == []
    assert "<script src=" not in html and 'rel="stylesheet"' not in html
    assert not re.search(r"url\(\s*['\"]?https?:", html)


def test_offline_inlines_leaflet_and_markercluster(tmp_path):
    html = save_html(plain_map(), tmp_path / "m.html", offline=True).read_text(encoding="utf-8")
    assert "Leaflet 1.9.3" in html  # the banner of leaflet.js
    assert 't.version="1.9.3"' in html
    assert "L.MarkerClusterGroup" in html
    assert ".marker-cluster-small" in html  # MarkerCluster.Default.css
    assert "data:image/png;base64," in html  # layer-control and marker icons
    assert "sourceMappingURL" not in html


def test_offline_drops_tiles_and_unused_folium_assets(tmp_path):
    html = save_html(plain_map(), tmp_path / "m.html", offline=True).read_text(encoding="utf-8")
    assert "L.tileLayer(" not in html
    assert "tile.openstreetmap.org" not in html
    for unused in ("jquery", "bootstrap", "fontawesome", "awesome-markers", "glyphicons"):
        assert unused not in html.lower(), unused
    assert export.OFFLINE_BACKGROUND in html
    assert '"maxZoom": 18' in html  # clusters need a zoom range once the tiles are gone


def test_offline_leaves_the_map_unchanged(tmp_path):
    m = plain_map()
    save_html(m, tmp_path / "a.html", offline=True)
    online = save_html(m, tmp_path / "b.html").read_text(encoding="utf-8")
    assert "L.tileLayer(" in online
    assert "maxZoom" not in m.options


def test_same_map_saved_twice_is_byte_identical(tmp_path):
    m = plain_map()
    for offline in (False, True):
        a = save_html(m, tmp_path / "a.html", offline=offline).read_bytes()
        b = save_html(m, tmp_path / "b.html", offline=offline).read_bytes()
        assert a == b


def test_fresh_builds_are_byte_identical(tmp_path):
    for offline in (False, True):
        a = save_html(plain_map(), tmp_path / "a.html", offline=offline).read_bytes()
        b = save_html(plain_map(), tmp_path / "b.html", offline=offline).read_bytes()
        assert a == b


def test_random_ids_become_counters():
    html = render_html(plain_map())
    assert not RANDOM_ID.search(html)
    assert 'id="map_1"' in html
    assert re.search(r"\bgeo_json_\d+\b", html)


def test_hex_text_in_data_is_not_renumbered():
    event_id = "evt_" + "ab" * 16
    m = folium.Map(tiles=None)
    folium.GeoJson(
        {
            "type": "Feature",
            "properties": {"id": event_id},
            "geometry": SQUARE["features"][0]["geometry"],
        }
    ).add_to(m)
    assert event_id in render_html(m)


def test_offline_refuses_awesome_markers():
    m = folium.Map(tiles=None)
    folium.Marker([34.5, 69.2], icon=folium.Icon(icon="info-sign")).add_to(m)
    with pytest.raises(OfflineAssetError, match="awesome markers"):
        render_html(m, offline=True)


def test_offline_refuses_folium_popups_which_need_jquery():
    m = folium.Map(tiles=None)
    folium.CircleMarker([34.5, 69.2], popup=folium.Popup("Kabul")).add_to(m)
    with pytest.raises(OfflineAssetError, match=r"jQuery \(folium.Popup\)"):
        render_html(m, offline=True)


def test_offline_ignores_code_like_text_in_json_data():
    m = folium.Map(tiles=None)
    data = (
        '<script type="application/json" id="d">["$(`x`)", "jQuery(1)", "L.AwesomeMarkers.icon("]'
    )
    m.get_root().html.add_child(folium.Element(data + "</script>"))
    assert "Leaflet 1.9.3" in render_html(m, offline=True)


def test_offline_refuses_unknown_plugin_assets_and_accepts_local_copies(tmp_path):
    m = folium.Map(tiles=None)
    plugins.Fullscreen().add_to(m)
    with pytest.raises(OfflineAssetError, match="no offline copy") as info:
        render_html(m, offline=True)
    assert isinstance(info.value, ValueError)
    urls = re.findall(r'(?:src|href)="(https://[^"]+leaflet.fullscreen[^"]+)"', render_html(m))
    assert urls
    extra = {}
    for i, url in enumerate(urls):
        local = tmp_path / f"asset{i}.{'js' if url.endswith('.js') else 'css'}"
        local.write_text("/* local copy */\n", encoding="utf-8")
        extra[url] = local
    html = render_html(m, offline=True, extra_assets=extra)
    assert external_assets(html) == []
    assert "/* local copy */" in html


def test_offline_assets_lists_packages_and_versions():
    rows = {row["name"]: row for row in offline_assets()}
    assert rows["leaflet.js"]["version"] == "1.9.3"
    assert rows["leaflet.js"]["package"] == "XStatic-Leaflet 1.9.3.0"
    assert rows["leaflet.markercluster.js"]["package"] == "XStatic-Leaflet-MarkerCluster 1.4.1.1"
    assert {"MarkerCluster.css", "MarkerCluster.Default.css", "leaflet.css"} <= set(rows)
    assert "marker-icon.png" in rows
    for row in rows.values():
        assert Path(row["path"]).is_file()


def test_folium_expects_the_leaflet_we_inline():
    from folium.folium import _default_js

    url = dict(_default_js)["leaflet"]
    assert "leaflet@1.9.3/" in url


def test_failed_write_leaves_no_partial_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    out = tmp_path / "m.html"
    out.write_text("old", encoding="utf-8")

    def broken(path, data):
        def write(tmp):
            with open(tmp, "wb") as handle:
                handle.write(data[:100])
                raise OSError("disk full")

        return export._atomic_write(path, write)

    monkeypatch.setattr(export, "_write_bytes", broken)
    with pytest.raises(OSError, match="disk full"):
        save_html(plain_map(), out)
    assert out.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["m.html"]


def test_failed_rename_leaves_no_temp_file(tmp_path, monkeypatch):
    def refuse(src, dst):
        raise PermissionError("read-only")

    monkeypatch.setattr(export.os, "replace", refuse)
    with pytest.raises(PermissionError):
        save_json({"a": 1}, tmp_path / "x.json")
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_html(plain_map(), tmp_path / "nope" / "m.html")


def test_written_file_gets_normal_permissions(tmp_path):
    out = save_json({"a": 1}, tmp_path / "x.json")
    assert out.stat().st_mode & 0o777 == 0o666 & ~export._umask()
    out.chmod(0o600)
    save_json({"a": 2}, out)
    assert out.stat().st_mode & 0o777 == 0o600  # an existing file keeps its mode


# ---------------------------------------------------------------- real maps (render.py)


def _provinces_and_render():
    render = pytest.importorskip("khorasan_map.render", reason="render.py has not landed yet")
    boundaries = pytest.importorskip("khorasan_map.boundaries")
    return render, boundaries


def test_choropleth_of_34_provinces_fits_the_size_limits(tmp_path):
    render, boundaries = _provinces_and_render()
    synthetic = pytest.importorskip("khorasan_map.synthetic")
    events = synthetic.synthetic_events(300, seed=3)
    m = render.choropleth_map(events)
    online = save_html(m, tmp_path / "on.html").stat().st_size
    offline = save_html(m, tmp_path / "off.html", offline=True).stat().st_size
    assert online <= 200_000, f"online choropleth is {online:,} bytes"
    assert offline <= 700_000, f"offline choropleth is {offline:,} bytes"


def test_choropleth_of_the_shipped_events_fits_the_size_limits(tmp_path):
    render, _ = _provinces_and_render()
    events = pytest.importorskip("khorasan_map.events")
    m = render.choropleth_map(events.read_events())
    online = save_html(m, tmp_path / "on.html").stat().st_size
    offline = save_html(m, tmp_path / "off.html", offline=True).stat().st_size
    assert online <= 200_000, f"online choropleth is {online:,} bytes"
    assert offline <= 700_000, f"offline choropleth is {offline:,} bytes"


def test_real_map_online_keeps_tiles_with_attribution_offline_drops_them(tmp_path):
    render, _ = _provinces_and_render()
    synthetic = pytest.importorskip("khorasan_map.synthetic")
    m = render.choropleth_map(synthetic.synthetic_events(50, seed=2))
    online = save_html(m, tmp_path / "on.html").read_text(encoding="utf-8")
    offline = save_html(m, tmp_path / "off.html", offline=True).read_text(encoding="utf-8")
    assert "L.tileLayer(" in online
    assert re.search(r'"attribution": "[^\n]*OpenStreetMap', online)  # xyzservices attribution
    assert "L.tileLayer(" not in offline and '"attribution"' not in offline
    assert export.OFFLINE_BACKGROUND in offline


@pytest.mark.parametrize("kind", ["choropleth_map", "points_map", "combined_map", "timeline_map"])
def test_real_maps_offline_and_deterministic(tmp_path, kind):
    render, _ = _provinces_and_render()
    synthetic = pytest.importorskip("khorasan_map.synthetic")
    build = getattr(render, kind)
    a = save_html(build(synthetic.synthetic_events(150, seed=5)), tmp_path / "a.html", offline=True)
    b = save_html(build(synthetic.synthetic_events(150, seed=5)), tmp_path / "b.html", offline=True)
    html = a.read_text(encoding="utf-8")
    assert external_assets(html) == []
    assert "Leaflet 1.9.3" in html
    assert not RANDOM_ID.search(html)
    assert a.read_bytes() == b.read_bytes()


# ---------------------------------------------------------------- data exports


@pytest.fixture
def layer() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "province_code": ["AF-KNR", "AF-NAN"],
            "province": ["Kunar", "Nangarhar"],
            "province_dari": ["کنر", "ننگرهار"],
            "events": [3, 0],
            "fatalities": [12.5, np.nan],
            "first_date": pd.to_datetime(["2019-03-01", None]),
        },
        geometry=[
            Polygon([(70.5, 34.6), (71.6, 34.6), (71.6, 35.6)]),
            Polygon([(69.9, 33.9), (71.1, 33.9), (71.1, 34.6)]),
        ],
        crs="EPSG:4326",
    )


def test_csv_has_no_geometry_and_iso_dates(tmp_path, layer):
    out = save_table(layer, tmp_path / "t.csv")
    text = out.read_text(encoding="utf-8-sig")  # the BOM of write_csv
    assert (
        text.splitlines()[0]
        == '"province_code","province","province_dari","events","fatalities","first_date"'
    )  # text quoted, numbers not
    assert '"2019-03-01",' not in text and text.splitlines()[1].endswith(',"2019-03-01"')
    assert "POLYGON" not in text and "geometry" not in text
    back = pd.read_csv(out)
    assert back["events"].tolist() == [3, 0]
    assert back["province_dari"].tolist() == ["کنر", "ننگرهار"]
    assert back["first_date"].isna().tolist() == [False, True]


def test_csv_keeps_times_when_not_midnight(tmp_path):
    df = pd.DataFrame({"t": pd.to_datetime(["2021-08-26 17:50:00", "2021-08-27 00:00:00"])})
    text = save_table(df, tmp_path / "t.csv").read_text(encoding="utf-8")
    assert "2021-08-26T17:50:00" in text and "2021-08-27T00:00:00" in text


def test_csv_guards_text_cells_against_formulas(tmp_path):
    df = pd.DataFrame(
        {
            "description": [
                '=HYPERLINK("http://x")',
                "+cmd",
                "-2+3+cmd|' /C calc'!A0",
                "@SUM(1)",
                "Kunar",
            ],
            "note": ["-12.5", "1e3", "\tx", "ok", None],
            "fatalities": [-1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    out = save_table(df, tmp_path / "t.csv")
    back = pd.read_csv(out, keep_default_na=False)
    assert back["description"].tolist() == [
        '\'=HYPERLINK("http://x")',
        "'+cmd",
        "'-2+3+cmd|' /C calc'!A0",
        "'@SUM(1)",
        "Kunar",
    ]
    assert back["note"].tolist()[:2] == ["-12.5", "1e3"]  # plain numbers stay as they are
    assert back["note"].tolist()[2] == "'\tx"
    assert back["fatalities"].tolist()[0] == -1.0  # numeric columns are untouched
    raw = save_table(df, tmp_path / "raw.csv", escape_formulas=False)
    assert pd.read_csv(raw)["description"].tolist()[1] == "+cmd"


def test_csv_guards_categorical_text(tmp_path):
    df = pd.DataFrame({"kind": pd.Categorical(["=evil()", "clash"])})
    back = pd.read_csv(save_table(df, tmp_path / "t.csv"))
    assert back["kind"].tolist() == ["'=evil()", "clash"]


def test_escape_formula():
    assert escape_formula("=1+1") == "'=1+1"
    assert escape_formula("-5") == "-5"
    assert escape_formula(7) == 7
    assert escape_formula("Kabul") == "Kabul"


def test_geojson_is_rfc7946_and_round_trips(tmp_path, layer):
    out = save_table(layer.to_crs(3857), tmp_path / "t.geojson")
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert "crs" not in doc
    x, y = doc["features"][0]["geometry"]["coordinates"][0][0]
    assert 60 < x < 75 and 29 < y < 39  # back in longitude/latitude
    assert doc["features"][0]["properties"]["first_date"] == "2019-03-01"
    assert doc["features"][1]["properties"]["first_date"] is None
    back = gpd.read_file(out)
    assert back.crs.to_epsg() == 4326
    assert back["province_dari"].tolist() == ["کنر", "ننگرهار"]
    assert back.geometry.iloc[0].equals_exact(layer.geometry.iloc[0], tolerance=1e-6)


def test_geopackage_and_parquet_round_trip(tmp_path, layer):
    gpkg = gpd.read_file(save_table(layer, tmp_path / "t.gpkg"))
    assert gpkg["province"].tolist() == ["Kunar", "Nangarhar"]
    assert gpkg.geometry.iloc[1].equals(layer.geometry.iloc[1])
    parquet = gpd.read_parquet(save_table(layer, tmp_path / "t.parquet"))
    pd.testing.assert_frame_equal(
        pd.DataFrame(parquet.drop(columns="geometry")),
        pd.DataFrame(layer.drop(columns="geometry")),
    )
    assert parquet.crs.equals(layer.crs)


def test_plain_dataframe_parquet_round_trip(tmp_path):
    df = pd.DataFrame({"a": [1, 2], "b": ["x", None], "d": pd.to_datetime(["2020-01-01", None])})
    back = pd.read_parquet(save_table(df, tmp_path / "t.parquet"))
    pd.testing.assert_frame_equal(back, df)


def test_table_errors_name_the_cause(tmp_path, layer):
    with pytest.raises(ValueError, match=r"\.xlsx is not one of"):
        save_table(layer, tmp_path / "t.xlsx")
    with pytest.raises(ValueError, match="needs a GeoDataFrame"):
        save_table(pd.DataFrame({"a": [1]}), tmp_path / "t.geojson")
    with pytest.raises(ValueError, match="no CRS"):
        save_table(layer.set_crs(None, allow_override=True), tmp_path / "t.gpkg")


def test_save_table_overwrites_atomically(tmp_path, layer):
    out = tmp_path / "t.geojson"
    save_table(layer, out)
    save_table(layer.iloc[:1], out)
    assert len(gpd.read_file(out)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["t.geojson"]


def test_save_json_handles_numpy_pandas_and_nan(tmp_path):
    obj = {
        "n": np.int64(3),
        "share": np.float64("nan"),
        "codes": np.array(["AF-KNR"]),
        "when": pd.Timestamp("2021-08-15"),
        "missing": pd.NA,
        "nested": [{"x": float("inf")}],
    }
    out = save_json(obj, tmp_path / "x.json")
    assert json.loads(out.read_text(encoding="utf-8")) == {
        "n": 3,
        "share": None,
        "codes": ["AF-KNR"],
        "when": "2021-08-15T00:00:00",
        "missing": None,
        "nested": [{"x": None}],
    }
    assert out.read_text(encoding="utf-8").endswith("}\n")


def test_save_json_uses_to_dict_and_keeps_dari(tmp_path):
    class Coverage:
        def to_dict(self):
            return {"provinces": ["کنر"]}

    out = save_json(Coverage(), tmp_path / "c.json")
    assert "کنر" in out.read_text(encoding="utf-8")


def test_save_json_rejects_unknown_objects(tmp_path):
    with pytest.raises(TypeError, match="cannot write a object"):
        save_json({"x": object()}, tmp_path / "x.json")
    assert list(tmp_path.iterdir()) == []


def test_point_layer_round_trip(tmp_path):
    points = gpd.GeoDataFrame(
        {"event_id": ["e1"], "description": ["<script>x</script>"]},
        geometry=[Point(71.1, 34.9)],
        crs="EPSG:4326",
    )
    back = gpd.read_file(save_table(points, tmp_path / "p.geojson"))
    assert back["description"].iloc[0] == "<script>x</script>"


def test_map_data_is_set_aside_and_put_back_in_order():
    from khorasan_map.export import _data_put_back, _data_set_aside

    page = ('<p>a</p><script type="application/json" class="km-data" id="x">{"n":1}</script>'
            '<script type="application/json" class="km-data" id="y">{"n":2}</script><p>b</p>')
    markup, data = _data_set_aside(page)
    assert data == ['{"n":1}', '{"n":2}'] and '"n"' not in markup
    assert _data_put_back(markup, data) == page
    odd = page + "\x00km-data\x00"  # a page already holding the mark is passed through whole
    assert _data_set_aside(odd) == (odd, [])
