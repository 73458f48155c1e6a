"""Open the saved maps in headless Chromium: drawing, tooltips, legends, hostile text, offline.

Every map is saved with ``offline=True`` (the test machine has no internet, so CDN scripts could
not load) and opened from a ``file://`` URL. The ``browser`` fixture fails a test on any SEVERE
console entry.
"""

from __future__ import annotations

import folium
import numpy as np
import pandas as pd
import pytest
from folium import plugins

pytest.importorskip("selenium", reason="selenium is not installed (pip install selenium)")

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from khorasan_map import settings
from khorasan_map.export import save_html

MAP_KINDS = ("choropleth_map", "points_map", "combined_map", "timeline_map")

# ---------------------------------------------------------------- hostile text

PWN_SCRIPT = "<script>window.__pwned=1</script>"
PWN_IMG = '<img src=x onerror="window.__pwned=1">'
PWN_URL = "javascript:window.__pwned=1"
PWN_BACKTICK = "`${window.__pwned=1}`"
PWN_QUOTES = "\"' </script><b>bold?</b>"
DARI = "درگیری طالبان و داعش در ولسوالی اچین"
HOSTILE_TEXTS = (PWN_SCRIPT, PWN_IMG, PWN_BACKTICK, PWN_QUOTES, DARI)

# Province code, English name, latitude, longitude (far apart: no clustering at first zoom).
PLACES = [
    ("AF-NAN", "Nangarhar", 34.17, 70.62),
    ("AF-KNR", "Kunar", 34.87, 71.15),
    ("AF-KAN", "Kandahar", 31.61, 65.71),
    ("AF-JOW", "Jowzjan", 36.74, 65.76),
    ("AF-HER", "Herat", 34.35, 62.20),
    ("AF-BDS", "Badakhshan", 37.12, 70.58),
]
KINDS = ["clash", "defection", "isk_attack_on_taliban", "taliban_raid_on_isk", "clash", "clash"]
YEARS = [2016, 2017, 2018, 2019, 2021, 2022]


def event_frame(texts: dict[str, list[str]] | None = None) -> pd.DataFrame:
    """A small event table in the package schema, built in code (one event per place)."""
    n = len(PLACES)
    dates = pd.to_datetime([f"{y}-0{i + 1}-1{i}" for i, y in enumerate(YEARS)])
    frame = pd.DataFrame(
        {
            "event_id": [f"t{i + 1}" for i in range(n)],
            "date": dates,
            "date_start": dates,
            "date_end": dates,
            "date_precision": ["day"] * n,
            "kind": KINDS,
            "actor1": ["Taliban"] * n,
            "actor2": ["ISKP"] * n,
            "province_code": [p[0] for p in PLACES],
            "province": [p[1] for p in PLACES],
            "district": ["Achin", "Asadabad", "Kandahar", "Darzab", "Herat", "Faizabad"],
            "latitude": [p[2] for p in PLACES],
            "longitude": [p[3] for p in PLACES],
            "location_precision": ["exact", "near", "district", "exact", "province", "exact"],
            "fatalities": [4.0, 0.0, 12.0, np.nan, 2.0, 7.0],
            "fatalities_low": [3.0, 0.0, 10.0, np.nan, 2.0, 5.0],
            "fatalities_high": [6.0, 0.0, 15.0, np.nan, 3.0, 9.0],
            "description": [f"Fighting in {p[1]}" for p in PLACES],
            "source_name": ["Test wire"] * n,
            "source_title": ["Test report"] * n,
            "source_date": [d.strftime("%Y-%m-%d") for d in dates],
            "source_url": [f"https://example.org/report/{i}" for i in range(n)],
            "confidence": ["high", "medium", "low", "high", "medium", "high"],
            "dataset": ["user"] * n,
        }
    )
    for column, values in (texts or {}).items():
        frame[column] = values
    return frame


def hostile_frame() -> pd.DataFrame:
    """Events whose text fields carry script, markup, javascript: URLs, quotes and Dari.

    The first five are drawn as points (each hostile text is the description of one of them);
    the last is known only to its province.
    """
    texts = list(HOSTILE_TEXTS) + [PWN_SCRIPT]
    return event_frame(
        {
            "location_precision": ["exact", "near", "district", "exact", "near", "province"],
            "description": texts,
            "actor1": [PWN_IMG, "طالبان", PWN_QUOTES, PWN_BACKTICK, PWN_SCRIPT, DARI],
            "actor2": [PWN_BACKTICK, PWN_SCRIPT, DARI, PWN_IMG, PWN_QUOTES, "داعش"],
            "district": [PWN_SCRIPT, DARI, PWN_IMG, PWN_QUOTES, PWN_BACKTICK, "اچین"],
            "source_name": [PWN_QUOTES, PWN_IMG, PWN_SCRIPT, DARI, PWN_BACKTICK, "x"],
            "source_title": [PWN_SCRIPT, PWN_BACKTICK, PWN_QUOTES, PWN_IMG, DARI, "y"],
            "source_url": [
                PWN_URL,
                "JaVaScRiPt:window.__pwned=1",
                " javascript:window.__pwned=1",
                "data:text/html,<script>window.__pwned=1</script>",
                "https://example.org/a?q=\"'><script>window.__pwned=1</script>",
                "vbscript:window.__pwned=1",
            ],
        }
    )


# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def render():
    return pytest.importorskip("khorasan_map.render", reason="render.py has not landed yet")


def build(render, kind: str, events: pd.DataFrame):
    """Build one of our maps from an event table."""
    return getattr(render, kind)(events)


def all_layers_js() -> str:
    """JavaScript returning every Leaflet layer of the page's map, clustered markers included."""
    return """
    const maps = Object.values(window).filter(v => v instanceof L.Map);
    const seen = new Set(); const out = [];
    function add(layer) {
        if (!layer || seen.has(layer)) return;
        seen.add(layer); out.push(layer);
        if (layer.getLayers) layer.getLayers().forEach(add);
    }
    maps.forEach(m => m.eachLayer(add));
    """


def open_every_popup_and_tooltip(driver) -> str:
    """Open every popup and tooltip the map offers, one after another; return their text.

    Popups are opened the way a click opens them: a ``click`` event on the marker's group with
    the marker as ``layer`` (this reaches markers hidden inside clusters too), or
    ``openPopup`` for layers with a bound popup.
    """
    return driver.execute_script(
        all_layers_js()
        + """
    const map = maps[0]; const texts = [];
    const slider = document.querySelector('.km-slider input[type=range]');
    function popupText() {
        // The newest popup is the last one (a closed popup fades out for 200 ms).
        const all = document.querySelectorAll('.leaflet-popup-content');
        if (all.length) texts.push(all[all.length - 1].innerText);
        map.closePopup();
    }
    function visit(out) {
    for (const layer of out) {
        if (layer.getLayers && layer.listens && layer.listens('click')) {
            for (const child of layer.getLayers()) {
                if (!child.getLatLng) continue;
                layer.fire('click', {layer: child, latlng: child.getLatLng()});
                popupText();
            }
        }
        if (layer._map && layer.getPopup && layer.getPopup()) {
            layer.openPopup(layer.getLatLng ? layer.getLatLng() : layer.getBounds().getCenter());
            popupText();
        }
        if (layer._map && layer.getTooltip && layer.getTooltip()) {
            layer.openTooltip();
            document.querySelectorAll('.leaflet-tooltip').forEach(el => texts.push(el.innerText));
            layer.closeTooltip();
        }
    }
    }
    visit(out);
    if (slider) {  // a timeline shows one year at a time: visit every step
        for (let v = +slider.min; v <= +slider.max; v++) {
            slider.value = String(v);
            slider.dispatchEvent(new Event('input'));
            seen.clear(); out.length = 0; maps.forEach(m => m.eachLayer(add));
            visit(out);
        }
    }
    return texts.join('\\n');
    """
    )


def province_paths(driver):
    """The province shapes of the page (each carries its code in ``data-province``)."""
    return driver.find_elements(By.CSS_SELECTOR, "path[data-province]")


def assert_nothing_ran(driver):
    assert driver.execute_script("return typeof window.__pwned") == "undefined"
    assert driver.execute_script("return window.__dialogs") == []
    assert driver.find_elements(By.CSS_SELECTOR, "a[href^='javascript:' i]") == []
    assert driver.find_elements(By.CSS_SELECTOR, "a[href^='data:' i], a[href^='vbscript:' i]") == []
    # read in one script: clusters redraw their markers, so element handles can go stale
    unsafe = driver.execute_script(
        "return [...document.querySelectorAll(\"a[target='_blank']\")]"
        ".filter(a => !(a.getAttribute('rel') || '').includes('noopener'))"
        ".map(a => a.outerHTML)"
    )
    assert unsafe == [], unsafe


FILLS = (
    "return [...document.querySelectorAll('path.leaflet-interactive')]"
    ".map(p => p.getAttribute('fill')).join()"
)


def legend_text(driver) -> str:
    legends = driver.find_elements(By.CSS_SELECTOR, ".km-legend")
    assert legends, "no .km-legend element"
    assert any(el.is_displayed() for el in legends), "the legend is not visible"
    return "\n".join(el.text for el in legends)


@pytest.fixture(scope="module")
def saved(tmp_path_factory, render):
    """Each map type built from the small event table, saved offline once for the module."""
    folder = tmp_path_factory.mktemp("maps")
    events = event_frame()
    return {
        kind: save_html(build(render, kind, events), folder / f"{kind}.html", offline=True)
        for kind in MAP_KINDS
    }


# ---------------------------------------------------------------- save_html on a plain map


def test_plain_offline_map_renders_with_network_blocked(offline_browser, tmp_path, open_page, wait):
    m = folium.Map(location=[34.5, 66.0], zoom_start=5, tiles="OpenStreetMap")
    folium.GeoJson(
        {"type": "Polygon", "coordinates": [[[62, 30], [70, 30], [70, 37], [62, 30]]]}
    ).add_to(m)
    cluster = plugins.MarkerCluster().add_to(m)
    for lat, lon in [(34.5, 69.2), (34.51, 69.21), (31.6, 65.7)]:
        folium.Marker([lat, lon]).add_to(cluster)
    path = save_html(m, tmp_path / "plain.html", offline=True)
    driver = open_page(offline_browser, path, selector="path.leaflet-interactive")
    wait(driver, "document.querySelectorAll('.marker-cluster, .leaflet-marker-icon').length >= 2")
    # The default marker icon is an inlined image that loaded.
    assert wait(
        driver,
        "[...document.querySelectorAll('img.leaflet-marker-icon')]"
        ".every(i => i.complete && i.naturalWidth > 0 && i.src.startsWith('data:'))",
    )
    assert driver.find_elements(By.CSS_SELECTOR, ".leaflet-tile") == []
    assert driver.execute_script("return L.version") == "1.9.3"


# ---------------------------------------------------------------- our maps


@pytest.mark.parametrize("kind", MAP_KINDS)
def test_map_draws_34_provinces_and_a_legend(browser, saved, kind, open_page):
    driver = open_page(browser, saved[kind], min_paths=34)
    shapes = driver.find_elements(By.CSS_SELECTOR, "path.km-province, path.km-outline")
    assert len(shapes) >= settings.N_PROVINCES
    if kind != "points_map":  # under points the outlines are drawing, not interactive
        assert len(province_paths(driver)) == settings.N_PROVINCES
        assert len(driver.find_elements(By.CSS_SELECTOR, "path.leaflet-interactive")) >= 34
    assert driver.find_elements(By.CSS_SELECTOR, ".km-headline, .km-furniture")
    text = legend_text(driver)
    if kind in ("choropleth_map", "combined_map", "timeline_map"):
        assert "No events" in text
    if kind in ("points_map", "combined_map"):
        for style in settings.KIND_STYLES.values():
            assert style["label"] in text


@pytest.mark.parametrize("kind", ["choropleth_map", "combined_map"])
def test_hovering_a_province_shows_english_and_dari_names(browser, saved, kind, open_page, wait):
    from khorasan_map.gazetteer import province_table

    table = province_table().set_index("province_code")
    driver = open_page(browser, saved[kind], min_paths=34)
    # Hover the largest shapes first: their centre is inside them.
    paths = sorted(province_paths(driver), key=lambda p: -p.size["width"] * p.size["height"])
    path = paths[0]
    ActionChains(driver).move_to_element(path).perform()
    tip = wait(
        driver,
        "[...document.querySelectorAll('.leaflet-tooltip')].map(t => t.innerText).join(' ')",
        what="a tooltip after hovering a province",
    )
    code = path.get_attribute("data-province")
    assert table.loc[code, "province"] in tip
    assert table.loc[code, "province_dari"] in tip


@pytest.mark.parametrize("kind", MAP_KINDS)
def test_hostile_text_is_shown_and_never_runs(browser, render, tmp_path, kind, open_page):
    path = save_html(build(render, kind, hostile_frame()), tmp_path / f"{kind}.html", offline=True)
    driver = open_page(browser, path, min_paths=34)
    shown = open_every_popup_and_tooltip(driver)
    if kind != "choropleth_map":  # the choropleth carries no event text
        for text in HOSTILE_TEXTS:
            assert text in shown, f"{text!r} not shown as text"
    for province in province_paths(driver)[:3]:
        ActionChains(driver).move_to_element(province).perform()
    assert_nothing_ran(driver)
    # No element was made from the hostile markup, and no runnable script carries it.
    assert driver.find_elements(By.CSS_SELECTOR, "img[src='x'], .leaflet-popup script") == []
    runnable = driver.execute_script(
        "return [...document.scripts].filter(s => s.type !== 'application/json')"
        ".map(s => s.text).join('')"
    )
    assert "__pwned" not in runnable


def test_hostile_popups_opened_by_clicking(browser, render, tmp_path, open_page, wait):
    path = save_html(
        build(render, "points_map", hostile_frame()), tmp_path / "p.html", offline=True
    )
    driver = open_page(browser, path, min_paths=34)
    markers = driver.find_elements(By.CSS_SELECTOR, "path.km-point")
    assert len(markers) == 5  # one event is known only to its province: no point
    shown = []
    for marker in markers:
        driver.execute_script(
            "Object.values(window).filter(v => v instanceof L.Map).forEach(m => m.closePopup())"
        )
        wait(driver, "document.querySelectorAll('.leaflet-popup').length === 0", timeout=2)
        ActionChains(driver).move_to_element(marker).click().perform()
        # The newest popup is the last one; it fades in (and a closed one out) over 200 ms.
        text = wait(
            driver,
            "(() => { const p = [...document.querySelectorAll('.leaflet-popup')].pop();"
            " return p && getComputedStyle(p).opacity === '1' &&"
            " p.querySelector('.leaflet-popup-content').innerText; })()",
            timeout=2,
            what="a popup after clicking a marker",
        )
        shown.append(text)
    assert len(set(shown)) >= 3, "clicking the markers opened too few different popups"
    assert_nothing_ran(driver)
    text = "\n".join(shown)
    assert any(t in text for t in HOSTILE_TEXTS)
    links = driver.find_elements(By.CSS_SELECTOR, ".leaflet-popup-content a")
    assert all(link.get_attribute("href").startswith(("http:", "https:")) for link in links)


def test_timeline_slider_moves_and_legend_classes_stay(browser, saved, open_page):
    driver = open_page(browser, saved["timeline_map"], min_paths=34)
    labels = ("return [...document.querySelectorAll('.km-legend-label')]"
              ".map(e => e.innerText).join('|')")
    before, counts_before = driver.execute_script(labels), legend_text(driver)
    fills_before = driver.execute_script(FILLS)
    slider = driver.find_element(By.CSS_SELECTOR, "input[type=range]")
    start = slider.get_attribute("value")
    slider.click()
    slider.send_keys(Keys.END)  # the opening step: all years
    assert slider.get_attribute("value") == start
    slider.send_keys(Keys.HOME)
    assert slider.get_attribute("value") != start, "slider did not move"
    fills_home = driver.execute_script(FILLS)
    assert fills_home != fills_before
    assert driver.execute_script(labels) == before  # the classes stay; their counts follow
    assert legend_text(driver) != counts_before
    slider.send_keys(Keys.END)
    assert legend_text(driver) == counts_before and driver.execute_script(FILLS) == fills_before


@pytest.mark.parametrize("kind", MAP_KINDS)
def test_offline_file_renders_with_all_network_blocked(offline_browser, saved, kind, open_page):
    driver = open_page(offline_browser, saved[kind], min_paths=34)
    assert driver.execute_script("return L.version") == "1.9.3"
    assert driver.find_elements(By.CSS_SELECTOR, ".leaflet-tile") == []
    legend_text(driver)
    failed = driver.execute_script(
        "return performance.getEntriesByType('resource').map(r => r.name)"
        ".filter(n => !n.startsWith('data:') && !n.startsWith('file:'))"
    )
    assert failed == []


POPUP_CLEAR = """(() => {
const p = [...document.querySelectorAll('.leaflet-popup')].pop();
if (!p || getComputedStyle(p).opacity !== '1') return null;
const b = p.getBoundingClientRect();
const f = document.querySelector('.leaflet-container').getBoundingClientRect();
const under = [...document.querySelectorAll('.leaflet-control')]
  .map(c => c.getBoundingClientRect()).filter(r => r.width && r.height)
  .filter(r => !(b.right <= r.left || b.left >= r.right || b.bottom <= r.top || b.top >= r.bottom));
return {inside: b.left >= f.left && b.right <= f.right && b.top >= f.top && b.bottom <= f.bottom,
        under: under.length};
})()"""


@pytest.mark.parametrize("kind", ["points_map", "combined_map"])
def test_a_popup_opens_clear_of_the_panels(browser, saved, kind, open_page, wait):
    driver = open_page(browser, saved[kind], min_paths=34)
    markers = driver.find_elements(By.CSS_SELECTOR, "path.km-point")
    assert markers
    for i in range(len(markers)):
        driver.execute_script(
            "Object.values(window).filter(v => v instanceof L.Map).forEach(m => m.closePopup())"
        )
        wait(driver, "document.querySelectorAll('.leaflet-popup').length === 0", timeout=2)
        marker = driver.find_elements(By.CSS_SELECTOR, "path.km-point")[i]  # the map may pan
        ActionChains(driver).move_to_element(marker).click().perform()
        place = wait(driver, POPUP_CLEAR, timeout=2, what="a popup after clicking a marker")
        assert place == {"inside": True, "under": 0}, (i, place)


def test_the_checks_catch_an_unsafe_popup(browser, tmp_path, open_page, wait):
    """Canary: folium's own tooltip inserts raw HTML, and the checks above must notice it run."""
    m = folium.Map(tiles=None)
    folium.GeoJson(
        {"type": "Polygon", "coordinates": [[[62, 30], [70, 30], [70, 37], [62, 30]]]}
    ).add_to(m)
    unsafe = '<img src=x onerror="window.__pwned=1; alert(1)">'
    folium.CircleMarker([34.5, 69.2], tooltip=unsafe).add_to(m)
    path = save_html(m, tmp_path / "unsafe.html", offline=True)
    driver = open_page(browser, path, selector="path.leaflet-interactive")
    driver.execute_script(
        all_layers_js()
        + "out.filter(l => l.getTooltip && l.getTooltip()).forEach(l => l.openTooltip());"
    )
    assert wait(driver, "window.__pwned === 1", timeout=5)
    assert driver.execute_script("return window.__dialogs") == [["alert", "1"]]
    with pytest.raises(AssertionError):
        assert_nothing_ran(driver)
    driver.get_log("browser")  # the broken image's load error is expected here


def test_clustered_points_render_offline_and_stay_safe(
    offline_browser, render, tmp_path, open_page
):
    """Leaflet.markercluster inlined from XStatic: clusters draw, popups inside them are text."""
    m = render.points_map(hostile_frame(), cluster=True)
    path = save_html(m, tmp_path / "clustered.html", offline=True)
    assert "inlined: leaflet.markercluster.js" in path.read_text(encoding="utf-8")
    driver = open_page(offline_browser, path, min_paths=34)
    assert driver.execute_script("return typeof L.MarkerClusterGroup") == "function"
    shown = open_every_popup_and_tooltip(driver)
    for text in HOSTILE_TEXTS:
        assert text in shown, f"{text!r} not shown as text"
    assert_nothing_ran(driver)


def test_hostile_boundary_names_are_text(browser, render, tmp_path, open_page):
    """Names from a user's boundary file reach tooltips and legends as text too."""
    from khorasan_map.boundaries import load_provinces

    layer = load_provinces(web=True)
    layer["province"] = layer["province"].astype(object)
    layer["province_dari"] = layer["province_dari"].astype(object)
    layer.loc[layer.index[0], "province"] = PWN_IMG
    layer.loc[layer.index[0], "province_dari"] = PWN_SCRIPT
    layer.loc[layer.index[1], "province"] = PWN_BACKTICK
    layer.loc[layer.index[1], "province_dari"] = PWN_QUOTES
    m = render.choropleth_map(event_frame(), boundaries=layer, title=PWN_SCRIPT)
    path = save_html(m, tmp_path / "boundaries.html", offline=True)
    driver = open_page(browser, path, min_paths=34)
    shown = open_every_popup_and_tooltip(driver)
    for text in (PWN_IMG, PWN_SCRIPT, PWN_BACKTICK, PWN_QUOTES):
        assert text in shown, f"{text!r} not shown as text"
    furniture = " ".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, ".km-furniture"))
    assert PWN_SCRIPT in furniture
    assert driver.title == PWN_SCRIPT  # the tab title, as text
    assert_nothing_ran(driver)


# ---------------------------------------------------------------- readable tooltips

TOOLTIP_BOX = """(() => {
const tips = [...document.querySelectorAll('.leaflet-tooltip')];
if (!tips.length) return null;
const r = tips[tips.length - 1].getBoundingClientRect();
return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width,
        height: r.height, vw: window.innerWidth, vh: window.innerHeight,
        rows: tips[tips.length - 1].querySelectorAll('tr.km-row').length};
})()"""


def hover_province(driver, code, wait, x=0, y=0):
    path = driver.find_element(By.CSS_SELECTOR, f"path[data-province='{code}']")
    ActionChains(driver).move_to_element_with_offset(path, x, y).perform()
    return wait(driver, TOOLTIP_BOX, what=f"a tooltip after hovering {code}")


@pytest.mark.parametrize("kind", ["choropleth_map", "combined_map", "timeline_map"])
def test_nangarhar_tooltip_is_a_compact_table_inside_the_viewport(
    browser, saved, kind, open_page, wait
):
    driver = open_page(browser, saved[kind], min_paths=34)
    box = hover_province(driver, "AF-NAN", wait)
    assert box["width"] >= 180, box
    assert box["rows"] >= 4, box  # a table of label/value rows, not a column of words
    assert box["height"] < 0.6 * box["vh"], box
    assert box["left"] >= 0 and box["top"] >= 0, box
    assert box["right"] <= box["vw"] and box["bottom"] <= box["vh"], box


@pytest.mark.parametrize("corner", [(1, 1), (0, 1), (1, 0)])
def test_tooltip_at_the_edge_is_shifted_inside(browser, saved, open_page, wait, corner):
    from selenium.webdriver.common.action_chains import ActionBuilder

    driver = open_page(browser, saved["combined_map"], min_paths=34)
    # Hide the map's boxes and pan a point inside Nangarhar to 15 px from a corner: a tooltip
    # opened there would spill off the page unless it is shifted back.
    x, y = driver.execute_script(
        """
        document.querySelector('.leaflet-control-container').style.display = 'none';
        const map = Object.values(window).filter(v => v instanceof L.Map)[0];
        const size = map.getSize();
        const target = L.point(arguments[0] ? size.x - 15 : 15, arguments[1] ? size.y - 15 : 15);
        const here = map.latLngToContainerPoint([34.25, 70.5]);
        map.stop();  // end the opening fit's pan animation, which would undo ours
        map.panBy(here.subtract(target), {animate: false});
        const at = map.latLngToContainerPoint([34.25, 70.5]);
        return [Math.round(at.x), Math.round(at.y)];
        """,
        *corner,
    )
    wait(driver, f"document.elementFromPoint({x}, {y}).matches('path.km-province')",
         what="Nangarhar drawn under the corner after the pan")
    action = ActionBuilder(driver)
    action.pointer_action.move_to_location(x, y)
    action.perform()
    box = wait(driver, TOOLTIP_BOX, what="a tooltip at the edge")
    assert box["width"] >= 180, box
    assert box["left"] >= 0 and box["top"] >= 0, box
    assert box["right"] <= box["vw"] and box["bottom"] <= box["vh"], box


# ---------------------------------------------------------------- every event reachable

KABUL = (34.5281, 69.1723)


def stacked_frame() -> pd.DataFrame:
    """The small table plus five events at one district centre and one known only to Kabul."""
    base = event_frame()
    stack = event_frame().iloc[[0] * 5].reset_index(drop=True)
    stack["event_id"] = [f"s{i + 1}" for i in range(5)]
    stack["province_code"], stack["province"], stack["district"] = "AF-KAB", "Kabul", "Kabul"
    stack["latitude"], stack["longitude"] = KABUL
    stack["location_precision"] = "district"
    stack["kind"] = ["clash", "defection", "isk_attack_on_taliban", "clash", "clash"]
    badge = stack.iloc[[0]].assign(event_id="b1", latitude=np.nan, longitude=np.nan,
                                   location_precision="province")
    return pd.concat([base, stack, badge], ignore_index=True)


POPUP_EVENT = """(() => {
const p = [...document.querySelectorAll('.leaflet-popup')].pop();
if (!p || getComputedStyle(p).opacity !== '1') return null;
const row = [...p.querySelectorAll('tr.km-row')].find(r => r.cells[0].innerText === 'Event');
return row ? row.cells[1].innerText : 'no id';
})()"""


def click_at(driver, x, y):
    from selenium.webdriver.common.action_chains import ActionBuilder

    action = ActionBuilder(driver)
    action.pointer_action.move_to_location(int(x), int(y))
    action.pointer_action.click()
    action.perform()


@pytest.mark.parametrize("kind", ["points_map", "combined_map"])
def test_every_event_opens_by_clicking_where_it_is_drawn(
    browser, render, tmp_path, kind, open_page, wait
):
    events = stacked_frame()
    m = getattr(render, kind)(events, cluster=True)
    driver = open_page(browser, save_html(m, tmp_path / "m.html", offline=True), min_paths=34)
    driver.execute_script(
        "window.kmMap = Object.values(window).filter(v => v instanceof L.Map)[0]; kmMap.stop();"
    )
    located = events[events["location_precision"] != "province"]
    opened = set()
    for (lat, lon), _ in located.groupby(["latitude", "longitude"]):
        # Zoom in on the place as far as the map goes, centred on it (from one step out, so
        # a stack spread out at the last place closes again).
        driver.execute_script(
            "kmMap.closePopup(); const at = [arguments[0], arguments[1]];"
            "kmMap.setView(at, kmMap.getMaxZoom() - 1, {animate: false});"
            "kmMap.setView(at, kmMap.getMaxZoom(), {animate: false});", lat, lon
        )
        centre = driver.execute_script(
            "const p = kmMap.latLngToContainerPoint([arguments[0], arguments[1]]);"
            "const r = kmMap.getContainer().getBoundingClientRect();"
            "return [r.left + p.x, r.top + p.y];", lat, lon
        )
        # Stacked events stay a cluster at the last zoom: a click spreads them out.
        on_top = f"document.elementFromPoint({centre[0]}, {centre[1]})"
        if driver.execute_script(f"return !!{on_top}.closest('.marker-cluster')"):
            drawn = "document.querySelectorAll('path.km-point').length"
            before = driver.execute_script(f"return {drawn}")
            # markercluster redraws its icons after a view change: a click that lands while
            # it does is lost, so a person (and this test) clicks again
            for attempt in range(3):
                click_at(driver, *centre)
                try:
                    wait(driver, f"{drawn} > {before}", timeout=4,
                         what="the stacked events spread out")
                    break
                except AssertionError:
                    if attempt == 2:
                        raise
            wait(driver, "!document.querySelector('.leaflet-cluster-anim')", what="the spread")
        # A popup may pan the map to fit: centre the place again and find each point afresh.
        where = (
            "const v = document.documentElement;"
            "return [...document.querySelectorAll('path.km-point')].map(p => {"
            " const r = p.getBoundingClientRect(); return [r.left + r.width / 2,"
            " r.top + r.height / 2]; }).filter(([x, y]) => x > 0 && y > 0 &&"
            " x < v.clientWidth && y < v.clientHeight);"
        )
        n = len(driver.execute_script(where))
        assert n, f"nothing drawn at {lat}, {lon}"
        for i in range(n):
            driver.execute_script(
                "kmMap.closePopup(); kmMap.setView([arguments[0], arguments[1]], kmMap.getZoom(),"
                " {animate: false});", lat, lon
            )
            wait(driver, "document.querySelectorAll('.leaflet-popup').length === 0", timeout=2)
            x, y = driver.execute_script(where)[i]
            click_at(driver, x, y)  # whatever is drawn on top there takes the click
            opened.add(wait(driver, POPUP_EVENT, timeout=3, what=f"a popup at {x}, {y}"))

    assert opened == set(located["event_id"]), opened


# ---------------------------------------------------------------- the timeline follows its step


def test_timeline_headline_follows_the_slider_and_plays(browser, saved, open_page, wait):
    driver = open_page(browser, saved["timeline_map"], min_paths=34)
    headline = "document.querySelector('.km-headline').innerText"
    slider = driver.find_element(By.CSS_SELECTOR, "input.km-slider-input")
    slider.click()
    slider.send_keys(Keys.HOME)
    first_year = driver.find_element(By.CSS_SELECTOR, ".km-slider").get_attribute("data-step")
    first = driver.execute_script(f"return {headline}")
    assert f"in {first_year}" in first and first.startswith("Clashes recorded in 1 of 34")
    slider.send_keys(Keys.ARROW_RIGHT)  # 2017: a defection, no clash
    second = driver.execute_script(f"return {headline}")
    assert second != first and "Clashes recorded in 0 of 34 provinces (0%) in 2017" in second
    assert "All years: Clashes recorded in 3 of 34" in second
    ticks = driver.execute_script(
        "return [...document.querySelectorAll('.km-slider-tick')].map(t => t.innerText)"
    )
    assert ticks[0] == "2016" and ticks[-2:] == ["2022", "All"]
    driver.find_element(By.CSS_SELECTOR, "button.km-slider-play").click()  # play
    wait(driver, "document.querySelector('.km-slider').dataset.step !== '2017'",
         what="the slider playing on")
    driver.find_element(By.CSS_SELECTOR, "button.km-slider-play").click()  # pause
    assert driver.find_element(By.CSS_SELECTOR, "button.km-slider-play").text == "Play"


# ---------------------------------------------------------------- no network by default


def test_default_map_with_tiles_draws_and_says_so_when_tiles_fail(
    offline_browser, render, tmp_path, open_page, wait
):
    # Scripts inlined, tiles kept: with every request blocked the outlines are the basemap.
    m = render.choropleth_map(event_frame(), tiles="OpenStreetMap.Mapnik")
    path = save_html(m, tmp_path / "tiles.html", inline=True)
    driver = open_page(offline_browser, path, min_paths=34)
    note = wait(driver, "document.querySelector('.km-tile-note')", what="the tile note")
    assert "outlines" in note.text
    assert len(driver.find_elements(By.CSS_SELECTOR, ".km-tile-note")) == 1
    legend_text(driver)
    # The only console errors are the blocked tiles themselves.
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert all("tile.openstreetmap.org" in e["message"] for e in severe), severe


# ---------------------------------------------------------------- filters inside the map


def test_kind_filter_changes_fills_counts_and_headline(browser, saved, open_page, wait):
    driver = open_page(browser, saved["choropleth_map"], min_paths=34)
    headline = "return document.querySelector('.km-headline').innerText"
    zero_count = "return document.querySelector('[data-class=\"0\"] .km-legend-count').innerText"
    nangarhar = ("return document.querySelector('path[data-province=\"AF-NAN\"]')"
                 ".getAttribute('fill')")
    before = driver.execute_script(headline)
    fill_before = driver.execute_script(nangarhar)
    assert driver.execute_script(zero_count) == "(28)"
    driver.find_element(By.CSS_SELECTOR, "input[data-kind='clash']").click()  # clashes off
    after = driver.execute_script(headline)
    assert after.startswith("Filtered: 3 events in 3 of 34 provinces"), after
    assert "Clashes" not in after and "Defections" in after
    assert driver.execute_script(zero_count) == "(31)"
    assert driver.execute_script(nangarhar) != fill_before  # Nangarhar had only a clash
    driver.find_element(By.CSS_SELECTOR, "input[data-kind='clash']").click()  # back on
    assert driver.execute_script(headline) == before
    assert driver.execute_script(nangarhar) == fill_before
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.CSS_SELECTOR, ".km-filter-grade select")).select_by_visible_text(
        "high")
    graded = driver.execute_script(headline)
    assert graded.startswith("Filtered: 3 events in 3 of 34 provinces"), graded
    assert "confidence high or higher" in graded


def test_fit_afghanistan_brings_the_view_back(browser, saved, open_page, wait):
    driver = open_page(browser, saved["choropleth_map"], min_paths=34)
    zoom = "return window[document.querySelector('.folium-map').id].getZoom()"
    start = driver.execute_script(zoom)
    driver.execute_script(  # zoomed in with no animation: nothing left running
        f"window[document.querySelector('.folium-map').id].setZoom({start} + 2, "
        "{animate: false})")
    assert driver.execute_script(zoom) == start + 2
    driver.find_element(By.CSS_SELECTOR, "button.km-fit").click()
    wait(driver, f"window[document.querySelector('.folium-map').id].getZoom() === {start}",
         what="the view fitted to Afghanistan again")


def test_province_label_toggle_shows_and_hides_names(browser, saved, open_page, wait):
    driver = open_page(browser, saved["choropleth_map"], min_paths=34)
    count = ("return [...document.querySelectorAll('.leaflet-tooltip.km-label')]"
             ".filter(n => n.offsetParent !== null).length")
    assert driver.execute_script(count) == 0
    driver.find_element(By.CSS_SELECTOR, ".km-label-toggle input").click()
    assert driver.execute_script(count) == 34
    names = driver.execute_script(
        "return [...document.querySelectorAll('.km-label')].map(n => n.textContent)"
    )
    assert "Nangarhar" in names
    driver.find_element(By.CSS_SELECTOR, ".km-label-toggle input").click()
    assert driver.execute_script(count) == 0


def test_province_search_zooms_to_the_province_and_opens_its_tooltip(
    browser, saved, open_page, wait
):
    driver = open_page(browser, saved["choropleth_map"], min_paths=34)
    zoom = "return window[document.querySelector('.folium-map').id].getZoom()"
    start = driver.execute_script(zoom)
    box = driver.find_element(By.CSS_SELECTOR, ".km-search input")
    box.send_keys("Nangarhar", Keys.ENTER)
    tip = wait(driver, "document.querySelector('.km-tooltip')", what="Nangarhar's tooltip")
    assert "Nangarhar" in tip.text
    assert driver.execute_script(zoom) > start


# ---------------------------------------------------------------- all years, totals, filters

HEADLINE = "return document.querySelector('.km-headline').innerText"


def kind_count(driver, kind: str) -> str:
    """The legend's count of a kind, e.g. "(2)"."""
    return driver.execute_script(
        f"return document.querySelector('.km-legend-item[data-kind=\"{kind}\"] "
        ".km-legend-count').innerText")


def class_count(driver, key: int) -> str:
    return driver.execute_script(
        f"return document.querySelector('[data-class=\"{key}\"] .km-legend-count').innerText")


def markers(driver) -> int:
    return driver.execute_script("return document.querySelectorAll('path.km-point').length")


def step_to(driver, index: int) -> None:
    slider = driver.find_element(By.CSS_SELECTOR, "input.km-slider-input")
    driver.execute_script(
        "arguments[0].value = String(arguments[1]);"
        " arguments[0].dispatchEvent(new Event('input'));", slider, index)


def test_timeline_opens_on_all_years_and_its_counts_follow_the_slider(browser, saved, open_page):
    driver = open_page(browser, saved["timeline_map"], min_paths=34)
    box = driver.find_element(By.CSS_SELECTOR, ".km-slider")
    assert box.get_attribute("data-step") == "all"
    assert driver.find_element(By.CSS_SELECTOR, ".km-slider-label").text == "All years"
    opening = driver.execute_script(HEADLINE)
    assert opening.startswith("Clashes recorded in 3 of 34 provinces (9%), 2016-01-10 to "
                              "2022-06-15"), opening
    assert kind_count(driver, "clash") == "(3)" and class_count(driver, 0) == "(28)"
    assert markers(driver) == 5  # every located event; the sixth is a province badge
    step_to(driver, 0)  # 2016: one clash in Nangarhar
    assert box.get_attribute("data-step") == "2016"
    first = driver.execute_script(HEADLINE)
    assert first.startswith("Clashes recorded in 1 of 34 provinces (3%) in 2016"), first
    assert kind_count(driver, "clash") == "(1)" and kind_count(driver, "defection") == "(0)"
    assert class_count(driver, 0) == "(33)"
    assert markers(driver) == 1
    step_to(driver, 1)  # 2017: a defection, no clash
    assert kind_count(driver, "clash") == "(0)" and kind_count(driver, "defection") == "(1)"
    step_to(driver, 4)  # 2020: no event at all
    assert driver.execute_script(HEADLINE).startswith("No events recorded in 2020")
    assert class_count(driver, 0) == "(34)" and class_count(driver, -1) == "(0)"


def test_an_open_tooltip_follows_the_slider_and_the_filters(browser, saved, open_page, wait):
    driver = open_page(browser, saved["timeline_map"], min_paths=34)
    tip = "return document.querySelector('.leaflet-tooltip').innerText"
    hover_province(driver, "AF-NAN", wait)
    step_to(driver, 0)  # 2016, the mouse still on Nangarhar
    assert "2016" in driver.execute_script(tip)
    step_to(driver, 1)  # 2017: the open tooltip is written again, not left on 2016
    text = driver.execute_script(tip)
    assert "2017" in text and "2016" not in text, text
    driver.find_element(By.CSS_SELECTOR, "input[data-kind='clash']").click()  # clashes off
    hover_province(driver, "AF-NAN", wait)
    assert "Shown by the filters" in driver.execute_script(tip)


def test_cumulative_toggle_gives_running_totals(browser, saved, open_page):
    driver = open_page(browser, saved["timeline_map"], min_paths=34)
    step_to(driver, 3)  # 2019
    single = driver.execute_script(HEADLINE)
    assert single.startswith("Clashes recorded in 0 of 34 provinces (0%) in 2019"), single
    driver.find_element(By.CSS_SELECTOR, ".km-slider-mode input[value='cumulative']").click()
    box = driver.find_element(By.CSS_SELECTOR, ".km-slider")
    assert box.get_attribute("data-mode") == "cumulative"
    assert driver.find_element(By.CSS_SELECTOR, ".km-slider-label").text == (
        "Up to and including 2019")
    total = driver.execute_script(HEADLINE)
    assert total.startswith("Clashes recorded in 1 of 34 provinces (3%) by the end of 2019")
    assert "Every kind: events in 4 of 34 provinces by the end of 2019" in total
    assert kind_count(driver, "clash") == "(1)" and kind_count(driver, "defection") == "(1)"
    assert class_count(driver, 0) == "(30)" and markers(driver) == 4
    step_to(driver, 6)  # 2022, the last year: every event
    assert driver.execute_script(HEADLINE).startswith("Clashes recorded in 3 of 34 provinces")
    assert kind_count(driver, "clash") == "(3)"


def test_kind_filter_on_the_combined_map_changes_counts_and_points(browser, saved, open_page):
    driver = open_page(browser, saved["combined_map"], min_paths=34)
    before = driver.execute_script(HEADLINE)
    assert markers(driver) == 5 and kind_count(driver, "clash") == "(3)"
    driver.find_element(By.CSS_SELECTOR, "input[data-kind='clash']").click()  # clashes off
    after = driver.execute_script(HEADLINE)
    assert after.startswith("Filtered: 3 events in 3 of 34 provinces"), after
    assert kind_count(driver, "clash") == "(0)" and kind_count(driver, "defection") == "(1)"
    assert markers(driver) == 3  # the two located clashes are gone
    assert driver.find_elements(By.CSS_SELECTOR, ".km-badge") == []  # Herat's was a clash
    driver.find_element(By.CSS_SELECTOR, "input[data-kind='clash']").click()  # back on
    assert driver.execute_script(HEADLINE) == before and markers(driver) == 5
    outline = ("return [document.querySelector('.km-swatch-outline').parentNode"
               ".querySelector('.km-legend-count').innerText,"
               " document.querySelector('path.km-defection-outline')"
               ".getAttribute('stroke-opacity')]")
    assert driver.execute_script(outline) == ["(1)", "0.95"]  # Kunar's defection
    driver.find_element(By.CSS_SELECTOR, "input[data-kind='defection']").click()  # off
    assert driver.execute_script(outline) == ["(0)", "0"]


def test_kind_filter_on_the_timeline_combines_with_the_step(browser, saved, open_page):
    driver = open_page(browser, saved["timeline_map"], min_paths=34)
    driver.find_element(By.CSS_SELECTOR, "input[data-kind='clash']").click()  # clashes off
    every = driver.execute_script(HEADLINE)
    assert every.startswith("Filtered: 3 events in 3 of 34 provinces, All years"), every
    step_to(driver, 0)  # 2016: its only event was a clash
    assert driver.execute_script(HEADLINE).startswith("Filtered: 0 events in 0 of 34 provinces"
                                                      ", 2016")
    assert markers(driver) == 0 and class_count(driver, 0) == "(34)"
    step_to(driver, 1)  # 2017: the defection passes
    assert driver.execute_script(HEADLINE).startswith("Filtered: 1 events in 1 of 34")
    assert markers(driver) == 1 and kind_count(driver, "defection") == "(1)"
