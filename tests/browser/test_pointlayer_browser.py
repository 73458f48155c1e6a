"""The canvas point layer in headless Chromium: drawn, clickable, escaped, filtered by the slider.

Maps are built from synthetic events with ``settings.CANVAS_THRESHOLD`` lowered, so a few
points take the canvas path, and saved offline.
"""

import numpy as np
import pandas as pd
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from khorasan_map import render, settings
from khorasan_map.export import save_html

PWN = "<img src=x onerror=\"window.__pwned=1\"><script>window.__pwned=1</script> حمله"
PLACES = [(34.42, 70.45), (31.61, 65.71), (36.74, 65.76), (34.35, 62.20), (37.12, 70.58)]

# Leaflet map of the page, and its canvas layer.
LAYER = (
    "(() => { const m = Object.values(window).find(v => v instanceof L.Map); let c = null;"
    " m.eachLayer(l => { if (l instanceof kmCanvas.Layer) c = l; }); return [m, c]; })()"
)


def synthetic_frame() -> pd.DataFrame:
    """Synthetic events, one a place and year, far apart; the first description is hostile."""
    n = len(PLACES)
    dates = pd.to_datetime([f"{2017 + i}-03-0{i + 1}" for i in range(n)])
    return pd.DataFrame(
        {
            "event_id": [f"syn{i}" for i in range(n)],
            "date": dates, "date_start": dates, "date_end": dates, "date_precision": "day",
            "kind": ["clash", "defection", "isk_attack_on_taliban", "clash", "clash"],
            "actor1": "Taliban", "actor2": [PWN, "ISK", "ISK", "ISK", "ISK"],
            "province_code": ["AF-NAN", "AF-KAN", "AF-JOW", "AF-HER", "AF-BDS"],
            "province": ["Nangarhar", "Kandahar", "Jowzjan", "Herat", "Badakhshan"],
            "district": None,
            "latitude": [p[0] for p in PLACES], "longitude": [p[1] for p in PLACES],
            "location_precision": ["exact", "near", "district", "exact", "near"],
            "fatalities": 1.0, "fatalities_low": 1.0, "fatalities_high": 2.0,
            "description": [PWN] + [f"synthetic event {i}" for i in range(1, n)],
            "source_name": "synthetic", "source_title": "", "source_date": "",
            "source_url": ["javascript:window.__pwned=1"] + ["https://example.org/r"] * (n - 1),
            "confidence": "high", "dataset": "synthetic",
        }
    )


@pytest.fixture
def canvas_maps(monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "CANVAS_THRESHOLD", 0)
    ev = synthetic_frame()
    return {
        kind: save_html(getattr(render, kind)(ev), tmp_path / f"{kind}.html", offline=True)
        for kind in ("points_map", "timeline_map")
    }


def drawn_points(driver) -> list:
    """Container pixels of every point the canvas drew."""
    return driver.execute_script(
        f"const [m, c] = {LAYER}; const out = [];"
        " for (let i = 0; i < c._n; i++) { if (!isNaN(c._px[i])) out.push([c._px[i], c._py[i]]); }"
        " return out;"
    )


def click_at(driver, x, y):
    box = driver.find_element(By.CSS_SELECTOR, ".leaflet-container")
    size = box.size
    ActionChains(driver).move_to_element_with_offset(
        box, int(x - size["width"] / 2), int(y - size["height"] / 2)
    ).click().perform()


def test_canvas_points_drawn_and_popups_escaped(offline_browser, canvas_maps, open_page, wait):
    driver = open_page(offline_browser, canvas_maps["points_map"], min_paths=34)
    wait(driver, "window.kmPointsDrawn", what="the canvas to draw")
    assert driver.execute_script("return performance.getEntriesByName('km-points-drawn').length")
    assert len(drawn_points(driver)) == len(PLACES)
    shown = []
    for i in range(len(PLACES)):
        driver.execute_script(f"{LAYER}[0].closePopup()")
        wait(driver, "document.querySelectorAll('.leaflet-popup').length === 0", timeout=2)
        lat, lon = PLACES[i]
        driver.execute_script(f"{LAYER}[0].setView([{lat}, {lon}], 7, {{animate: false}})")
        wait(driver, f"{LAYER}[1]._px.some(v => !isNaN(v)) && !{LAYER}[1]._frame")
        x, y = driver.execute_script(
            f"const [m, c] = {LAYER};"
            f" const p = m.latLngToContainerPoint([c._lat[{i}], c._lon[{i}]]); return [p.x, p.y];"
        )
        click_at(driver, x, y)
        shown.append(wait(driver, "document.querySelector('.leaflet-popup-content')"
                                  " && document.querySelector('.leaflet-popup-content').innerText",
                          timeout=3, what="a popup"))
    assert len(set(shown)) == len(PLACES)
    assert any(PWN in text for text in shown)
    assert driver.execute_script("return typeof window.__pwned") == "undefined"
    assert driver.execute_script("return window.__dialogs") == []
    assert driver.find_elements(By.CSS_SELECTOR, "img[src='x'], a[href^='javascript:' i]") == []


def test_timeline_slider_filters_canvas_points(offline_browser, canvas_maps, open_page, wait):
    driver = open_page(offline_browser, canvas_maps["timeline_map"], min_paths=34)
    wait(driver, "window.kmPointsDrawn", what="the canvas to draw")
    wait(driver, f"{LAYER}[1]._frame === null || {LAYER}[1]._frame === undefined")
    assert len(drawn_points(driver)) == len(PLACES)  # it opens on all years
    slider = driver.find_element(By.CSS_SELECTOR, ".km-slider-input")
    driver.execute_script(
        "arguments[0].value = '0'; arguments[0].dispatchEvent(new Event('input'));", slider
    )
    wait(driver, f"!{LAYER}[1]._frame")
    xs = np.array(drawn_points(driver))
    assert len(xs) == 1
