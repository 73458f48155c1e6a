"""The canvas point layer: binary columns in the page, chosen above the threshold (no browser)."""

import base64
import json
import re

import numpy as np
import pandas as pd
import pytest

from khorasan_map import pointlayer, render, settings

DATA_RE = re.compile(
    r'<script type="application/json" class="km-data" id="([^"]+)">(.*?)</script>', re.S
)
HOSTILE = "</script><script>window.__pwned=1</script><img src=x onerror=alert(1)> حمله"


def events(n=60):
    """Synthetic events (labelled synthetic), all located, several kinds and precisions."""
    rng = np.random.default_rng(1)
    kinds = ["clash", "defection", "isk_attack_on_taliban", "taliban_raid_on_isk"]
    dates = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    return pd.DataFrame(
        {
            "event_id": [f"syn{i:05d}" for i in range(n)],
            "date": dates,
            "date_start": dates,
            "date_end": dates,
            "date_precision": "day",
            "kind": [kinds[i % 4] for i in range(n)],
            "actor1": "Taliban",
            "actor2": "ISK",
            "province_code": "AF-NAN",
            "province": "Nangarhar",
            "district": None,
            "latitude": rng.uniform(31, 36, n),
            "longitude": rng.uniform(62, 70, n),
            "location_precision": [("exact", "near", "district")[i % 3] for i in range(n)],
            "fatalities": 1.0,
            "fatalities_low": 1.0,
            "fatalities_high": 2.0,
            "description": [HOSTILE if i == 0 else "synthetic event" for i in range(n)],
            "source_name": "synthetic",
            "source_title": "",
            "source_date": "",
            "source_url": "",
            "confidence": "high",
            "dataset": "synthetic",
        }
    )


def page_data(m):
    html = m.get_root().render()
    blocks = DATA_RE.findall(html)
    assert len(blocks) == 1
    return html, json.loads(blocks[0][1])


@pytest.fixture
def low_threshold(monkeypatch):
    monkeypatch.setattr(settings, "CANVAS_THRESHOLD", 10)  # read at call time


def test_threshold_and_explicit_choice():
    n = settings.CANVAS_THRESHOLD
    assert not pointlayer.uses_canvas(n, None)
    assert pointlayer.uses_canvas(n + 1, None)
    assert not pointlayer.uses_canvas(n + 1, True)
    assert not pointlayer.uses_canvas(n + 1, False)


def test_points_map_above_threshold_uses_binary_columns(low_threshold):
    ev = events()
    html, data = page_data(render.points_map(ev, tiles=None))
    pts = data["points"]
    assert pts["canvas"] is True and pts["cluster"] is False
    assert "x" not in pts and "y" not in pts
    lon = np.frombuffer(base64.b64decode(pts["lon"]), "<f4")
    lat = np.frombuffer(base64.b64decode(pts["lat"]), "<f4")
    kp = np.frombuffer(base64.b64decode(pts["kp"]), "<u1").reshape(-1, 2)
    assert len(lon) == len(lat) == len(kp) == pts["n"] == len(ev)
    # the page's order is by date then id; every point is one of the events, to 1e-4 degree
    found = {(round(a, 4), round(b, 4)) for a, b in zip(ev.longitude, ev.latitude, strict=True)}
    assert {(round(float(a), 4), round(float(b), 4)) for a, b in zip(lon, lat, strict=True)} <= {
        (round(a + da, 4), round(b + db, 4))
        for a, b in found for da in (-1e-4, 0, 1e-4) for db in (-1e-4, 0, 1e-4)
    }
    kinds = [pts["kinds"][k]["key"] for k in kp[:, 0]]
    assert sorted(kinds) == sorted(ev["kind"])
    assert {pts["precisions"][p] for p in kp[:, 1]} == {"exact", "near", "district"}
    assert [row[:2] for row in (pts["meta"][m] for m in pts["m"])] == kp.tolist()
    assert "var kmCanvas" in html and "leaflet.markercluster" not in html


def test_canvas_page_keeps_text_escaped(low_threshold):
    html, data = page_data(render.points_map(events(), tiles=None))
    assert HOSTILE in data["points"]["descriptions"]
    assert "<script>window.__pwned" not in html
    assert "<img src=x" not in html


def test_below_threshold_and_explicit_cluster_keep_markers(low_threshold):
    _, data = page_data(render.points_map(events(8), tiles=None))
    assert "canvas" not in data["points"] and "x" in data["points"]
    html, data = page_data(render.points_map(events(), tiles=None, cluster=True))
    assert data["points"]["cluster"] is True and "canvas" not in data["points"]
    assert "var kmCanvas" not in html


def test_combined_and_timeline_use_the_canvas(low_threshold):
    ev = events()
    for make in (render.combined_map, render.timeline_map):
        html, data = page_data(make(ev, tiles=None))
        assert data["points"]["canvas"] is True, make.__name__
        assert "var kmCanvas" in html
        assert len(data["points"]["d"]) == data["points"]["n"]  # the slider filters by year


def test_canvas_table_empty():
    table = {"n": 0, "scale": 10_000, "x0": 0, "y0": 0, "x": [], "y": [], "m": [], "meta": []}
    out = pointlayer.canvas_table(table)
    assert out["lon"] == out["lat"] == out["kp"] == ""


def test_static_map_rasterises_points_above_threshold(monkeypatch):
    from matplotlib.collections import PathCollection

    from khorasan_map import static
    from khorasan_map.aggregate import summarize

    ev = events()
    summary = summarize(ev)

    def drawn(threshold):
        monkeypatch.setattr(settings, "RASTER_THRESHOLD", threshold)
        fig = static.draw_map(summary, events=ev)
        scatters = [c for c in fig.axes[0].collections
                    if isinstance(c, PathCollection) and c.get_gid() != "provinces"]
        words = " ".join(t.get_text() for t in fig.texts)
        return fig, scatters, words

    fig, scatters, words = drawn(10)
    assert not scatters and len(fig.axes[0].images) == 1
    assert f"{len(ev)} points drawn as one image (over 10)" in words
    fig, scatters, words = drawn(10_000)
    assert scatters and not fig.axes[0].images
    assert "drawn as one image" not in words


def test_a_page_s_outputs_share_one_image_of_its_points(monkeypatch, tmp_path):
    from khorasan_map import static
    from khorasan_map.aggregate import summarize

    ev = events()
    monkeypatch.setattr(settings, "RASTER_THRESHOLD", 10)
    drawings = []
    real = static._points_raster
    monkeypatch.setattr(static, "_points_raster",
                        lambda *args: drawings.append(args[-1]) or real(*args))
    fig = static.draw_map(summarize(ev), events=ev)
    for name in ("map.pdf", "map.png", "map.svg"):
        static.save_figures([fig], tmp_path / name, dpi=static._POINTS_DPI)
        assert (tmp_path / name).stat().st_size > 0
    assert drawings == [static._POINTS_DPI]  # drawn once, at the PNG's resolution
    static.save_figures([fig], tmp_path / "fine.png", dpi=300)
    assert drawings == [static._POINTS_DPI, 300]  # a PNG of its own resolution: drawn again
    image = fig.axes[0].images[0]
    assert image.get_array().shape[2] == 4  # clear where there is no point
    assert image.get_extent() == (*fig.axes[0].get_xlim(), *fig.axes[0].get_ylim())
