import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from khorasan_map import render, settings, worker
from khorasan_map.boundaries import load_provinces

HOSTILE_DESC = (
    "<script>alert(1)</script> <img src=x onerror=alert(1)> `tick` \"dq\" 'sq' "
    "</script><script>alert(2)</script> {{ 7*7 }} \u2028 حمله داعش بر طالبان"
)
HOSTILE_NAME = "<img src=x onerror=alert(1)>"
DARI = "حمله داعش بر طالبان"
BAD_URL = "javascript:alert(1)"
GOOD_URL = "https://example.org/report?a=1&b=2"
KINDS = ["clash", "defection", "isk_attack_on_taliban", "taliban_raid_on_isk"]
PRECISIONS = ["exact", "near", "district", "province"]
DATA_RE = re.compile(
    r'<script type="application/json" class="km-data" id="([^"]+)">(.*?)</script>', re.S
)


@pytest.fixture(scope="module")
def provinces():
    return load_provinces(web=True)


def make_events(provinces, n=40, start="2016-01-01", step_days=70):
    rep = provinces.geometry.representative_point()
    rows = []
    for i in range(n):
        j = i % 12
        p = PRECISIONS[i % 4]
        d = pd.Timestamp(start) + pd.Timedelta(days=i * step_days)
        rows.append(
            {
                "event_id": f"ev{i:04d}",
                "date": d,
                "date_start": d,
                "date_end": d,
                "date_precision": "day",
                "kind": KINDS[i % 4],
                "actor1": "Taliban `x`",
                "actor2": HOSTILE_NAME,
                "province_code": provinces.province_code[j],
                "province": provinces.province[j],
                "district": "Achin" if p == "district" else None,
                "latitude": rep.y[j] if p != "province" else np.nan,
                "longitude": rep.x[j] if p != "province" else np.nan,
                "location_precision": p,
                "fatalities": float(i % 5),
                "fatalities_low": float(i % 5),
                "fatalities_high": float(i % 5 + 2),
                "description": HOSTILE_DESC,
                "source_name": HOSTILE_NAME,
                "source_title": 'Title "quoted" & <b>bold</b>',
                "source_date": "2020-01-01",
                "source_url": BAD_URL if i % 2 else GOOD_URL,
                "confidence": ["low", "medium", "high"][i % 3],
                "dataset": "khorasan_map",
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def events(provinces):
    return make_events(provinces)


def html_of(m):
    return m.get_root().render()


def data_of(html):
    blocks = DATA_RE.findall(html)
    assert len(blocks) == 1
    return json.loads(blocks[0][1])


def expand(pts):
    """Unpack the points table the way the page script does."""
    pts = dict(pts)
    for j, name in enumerate("kpatc"):
        pts[name] = [pts["meta"][code][j] for code in pts["m"]]
    pts["e"] = [pts["ep"] + s for s in pts["e"]]
    return pts


def outside_data(html):
    return DATA_RE.sub("", html)


def summary_table(provinces, values, **extra):
    table = provinces[["province_code", "province", "province_dari", "geometry"]].copy()
    table["events"] = values
    for kind in KINDS:
        table[f"n_{kind}"] = 0
    table["fatalities"] = np.nan
    table["first_date"] = None
    table["last_date"] = None
    for key, value in extra.items():
        table[key] = value
    return table


MAPS = ["choropleth_map", "points_map", "combined_map", "timeline_map"]


@pytest.fixture(scope="module")
def rendered(events):
    out = {}
    for name in MAPS:
        m = getattr(render, name)(events, title="Title <b>bold</b> & </script>", subtitle=DARI)
        out[name] = html_of(m)
    return out


@pytest.mark.parametrize("name", MAPS)
def test_hostile_text_never_reaches_html_unescaped(rendered, name):
    html = rendered[name]
    for bad in ("<script>alert", "<img src=x", "<b>bold", "</script><script>"):
        assert bad not in html, bad
    rest = outside_data(html)
    for text in (
        "javascript:",
        "`tick`",
        "onerror",
        "alert(",
        "{{ 7*7 }}",
        DARI,
        "\u2028",
        "Title",
    ):
        assert text not in rest, text
    block = DATA_RE.findall(html)[0][1]
    assert "<" not in block and ">" not in block and "&" not in block and "\u2028" not in block
    # Hostile text survives intact as data, to be shown with textContent.
    data = json.loads(block)
    text = json.dumps(data, ensure_ascii=False)
    assert "Title \\u003cb\\u003e" not in text  # not double-escaped
    assert "Title <b>bold</b> & </script>" in text
    assert DARI in text


@pytest.mark.parametrize("name", ["points_map", "combined_map", "timeline_map"])
def test_popup_data_and_urls(rendered, name):
    pts = data_of(rendered[name])["points"]
    assert HOSTILE_DESC.replace("\u2028", "\u2028") in pts["descriptions"]
    assert "{{ 7*7 }}" in pts["descriptions"][0]
    urls = [s[2] for s in pts["sources"] if s]
    raws = [s[4] for s in pts["sources"] if s]
    assert GOOD_URL in urls
    assert BAD_URL not in urls
    assert BAD_URL in raws  # shown as text, not a link
    assert all(u is None or u.startswith(("http://", "https://")) for u in urls)


def test_script_builds_text_with_dom_only(rendered):
    html = rendered["points_map"]
    lib = html[html.index("var kmLib") :]
    assert "innerHTML" not in lib
    assert 'rel = "noopener noreferrer"' in lib
    assert 'target = "_blank"' in lib
    assert "textContent" in lib
    assert "insertAdjacentHTML" not in lib and "document.write" not in lib


def test_safe_url():
    assert render.safe_url(GOOD_URL) == GOOD_URL
    assert render.safe_url("http://a.org") == "http://a.org"
    for bad in (
        BAD_URL,
        " JavaScript:alert(1)",
        "data:text/html,x",
        "/rel/path",
        "https://",
        "https://a.org/x y",
        "ftp://a.org",
        None,
        5,
        "vbscript:x",
        "https://a.org\n",
    ):
        assert render.safe_url(bad) is None or bad == "https://a.org\n", bad


def test_safe_json_escapes():
    text = render.safe_json({"a": "</script><!-- & \u2028\u2029"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert "\u2028" not in text and "\u2029" not in text
    assert json.loads(text) == {"a": "</script><!-- & \u2028\u2029"}


def test_a_shared_table_is_spliced_in_as_if_encoded_in_place():
    table = {"d": ["</script>", "\u2028", "km-shared-0"], "n": 2}
    spec = {"a": "km-shared-", "points": table, "z": [1.5, None]}
    shared = {**spec, "points": render.SharedJSON(table)}
    assert render._spec_json(shared) == render.safe_json(spec)
    assert render._spec_json(shared) == render._spec_json(shared)  # encoded once, kept


def test_maps_of_one_preparation_share_its_drawing(events):
    prepared = render.prepare_points(events)
    first, _ = render._clustered(prepared, None)
    again, _ = render._clustered(prepared, None)
    other, _ = render._clustered(prepared, not first["cluster"])
    assert again is first and other is not first
    assert other["cluster"] is (not first["cluster"])
    assert prepared.points.get("cluster", False) is False  # the prepared table is unchanged


def test_choropleth_has_34_provinces_with_dari_tooltips(rendered, provinces):
    data = data_of(rendered["choropleth_map"])
    chor = data["choropleth"]
    assert len(chor["geojson"]["features"]) == 34
    assert len(chor["rows"]) == 34
    codes = [r["code"] for r in chor["rows"]]
    assert codes == sorted(provinces.province_code)
    dari = dict(zip(provinces.province_code, provinces.province_dari, strict=True))
    for row in chor["rows"]:
        assert row["dari"] == dari[row["code"]]
        assert row["name"]
        keys = [k for k, _ in row["lines"]]
        assert keys[0] == "Events"
        assert "Taliban-ISK clash" in keys
    html = rendered["choropleth_map"]
    assert dari["AF-KAB"] in html  # UTF-8, not \u escapes
    # The lead is the figure `khorasan-map coverage` gives by default (clashes), then its
    # breakdown by confidence, then every kind, named.
    lead, by_confidence, every = data["headline"]
    assert lead.startswith("Clashes recorded in 3 of 34 provinces")
    assert by_confidence.startswith("Clashes before 15 August 2021, by confidence: ")
    assert every.startswith("Every kind (clashes, defections, ") and "12 of 34" in every


def test_tooltip_rows_have_counts_fatalities_dates(events):
    data = data_of(html_of(render.choropleth_map(events)))
    row = next(r for r in data["choropleth"]["rows"] if r["cls"] > 0)
    keys = dict(row["lines"])
    assert "Fatalities" in keys
    assert "First and last" in keys and " to " in keys["First and last"]


def test_legend_labels_counts_zero_and_missing(provinces):
    values = [0] * 10 + [1, 2, 3, 4, 5, 6, 8, 10, 13, 21, 34, 55] + [np.nan] + list(range(60, 71))
    table = summary_table(provinces, values)
    data = data_of(html_of(render.choropleth_map(table, k=4, tiles=None)))
    items = data["legend"]["sections"][0]["items"]
    by_key = {item["key"]: item for item in items}
    assert by_key[0]["label"] == "No events" and by_key[0]["count"] == 10
    assert by_key[-1]["label"] == "No data" and by_key[-1]["count"] == 1
    assert by_key[0]["color"] == settings.ZERO_COLOR
    assert by_key[-1]["color"] == settings.MISSING_COLOR
    assert by_key[0]["color"] != by_key[-1]["color"]
    assert sum(item["count"] for item in items) == 34
    labels = [item["label"] for item in items if item["key"] > 0]
    assert len(labels) == 4 and labels[0].startswith("1")
    assert all(re.fullmatch(r"\d+(-\d+)?", label) for label in labels)
    colors = data["choropleth"]["classes"]["colors"]
    assert len(set(colors.values())) == 6


def test_province_missing_from_summary_is_no_data(provinces):
    table = summary_table(provinces, 1).iloc[1:]
    data = data_of(html_of(render.choropleth_map(table, tiles=None)))
    rows = data["choropleth"]["rows"]
    assert rows[0]["cls"] == -1
    assert rows[0]["lines"][0] == ["Events", "No data"]


def test_summary_input_and_bad_column(provinces):
    table = summary_table(provinces, range(34))
    m = render.choropleth_map(table, "events", scheme="equal_interval", k=3)
    assert len(data_of(html_of(m))["choropleth"]["rows"]) == 34
    with pytest.raises(ValueError, match="not in the summary"):
        render.choropleth_map(table, "nonsense")
    with pytest.raises(ValueError, match="scheme must be one of"):
        render.choropleth_map(table, scheme="rainbow")


def test_user_bins(provinces):
    table = summary_table(provinces, range(34))
    data = data_of(html_of(render.choropleth_map(table, bins=[5, 10, 20])))
    labels = [i["label"] for i in data["legend"]["sections"][0]["items"] if i["key"] > 0]
    assert labels == ["1-5", "6-10", "11-20", "21-33"]


@pytest.mark.parametrize("name", MAPS)
def test_determinism_same_input_same_html(events, name):
    build = getattr(render, name)
    a = html_of(build(events, title="t"))
    b = html_of(build(events, title="t"))
    assert a == b
    assert not re.search(r"_[0-9a-f]{32}\b", a)


def test_furniture_counts_and_left_out(events):
    m = render.choropleth_map(events, since="2018-01-01", title="T", subtitle="S")
    furn = data_of(html_of(m))["furniture"]
    assert furn["title"] == "T" and furn["subtitle"] == "S"
    before = int((events["date"] < "2018-01-01").sum())
    lines = furn["lines"]
    assert f"Records: {len(events) - before} events mapped" in lines
    assert any(
        line.startswith(f"Left out: {before} events ({before} before since") for line in lines
    )
    assert any(line.startswith("Dates: 2018-01-01 to ") for line in lines)
    assert any(line.startswith("Source: khorasan_map") for line in lines)


def test_points_precision_and_province_only(events):
    data = data_of(html_of(render.points_map(events)))
    pts, badges = expand(data["points"]), data["badges"]
    n_province = int((events["location_precision"] == "province").sum())
    assert pts["n"] == len(events) - n_province
    assert sum(item["count"] for item in badges["items"]) == n_province
    assert set(pts["precisions"][p] for p in pts["p"]) == {"exact", "near", "district"}
    notes = " ".join(data["furniture"]["lines"])
    assert f"{n_province} events are counted at their province's centre" in notes
    assert not pts["cluster"]
    kinds = [k["key"] for k in pts["kinds"]]
    kind_of = dict(zip(events.event_id, events.kind, strict=True))
    precision_of = dict(zip(events.event_id, events.location_precision, strict=True))
    assert [kinds[k] for k in pts["k"]] == [kind_of[i] for i in pts["e"]]
    assert [pts["precisions"][p] for p in pts["p"]] == [precision_of[i] for i in pts["e"]]


def test_points_unplaced_are_left_out_with_reason(events):
    ev = events.copy()
    ev.loc[ev.index[3], "province_code"] = None  # province precise, no province: unplaceable
    data = data_of(html_of(render.points_map(ev)))
    assert any(
        "no usable point and no known province" in line for line in data["furniture"]["lines"]
    )


def test_points_json_compact_and_clustered(provinces):
    n = 5000
    ev = make_events(provinces, n=n, step_days=1)
    rng = np.random.default_rng(0)
    ev["longitude"] = rng.uniform(62, 70, n)
    ev["latitude"] = rng.uniform(31, 36, n)
    ev["location_precision"] = "exact"
    ev["description"] = [f"event {i % 50}" for i in range(n)]
    ev["date"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 730, n), unit="D")
    html = html_of(render.points_map(ev, tiles=None))
    pts = data_of(html)["points"]
    assert pts["cluster"] is True
    assert "leaflet.markercluster" in html
    assert all(isinstance(v, int) for v in pts["x"][:100])
    size = len(render.safe_json(pts).encode())
    assert size / n < 60  # bytes per point, popup fields included
    assert "L.circleMarker" in html and "chunkedLoading" in html


def test_timeline_same_classes_every_step(events):
    data = data_of(html_of(render.timeline_map(events, k=3)))
    years = [str(y) for y in range(2016, 2024)]
    steps = data["timeline"]["steps"]
    assert steps == [*years, "all"]  # every year, then all years: the opening step
    assert data["timeline"]["initial"] == "all" and data["timeline"]["cumulative"] is False
    keys = {*years, *(f"upto{y}" for y in years), "all"}
    colors = data["choropleth"]["classes"]["colors"]
    tooltips = data["choropleth"]["tooltips"]
    for row in data["choropleth"]["rows"]:
        assert set(row["cls"]) == keys
        assert all(str(c) in colors for c in row["cls"].values())
        assert set(row["lines"]) == keys
        assert all(0 <= i < len(tooltips) for i in row["lines"].values())
    for key in keys:
        assert sum(data["timeline"]["counts"][key].values()) == 34
    legend_keys = [i["key"] for i in data["legend"]["sections"][0]["items"]]
    assert legend_keys[-2:] == [0, -1]
    assert {d[:4] for d in data["points"]["dates"]} <= set(years)
    assert any("calendar year only" in line for line in data["furniture"]["lines"])


def test_timeline_steps_single_cumulative_and_all_years(events):
    data = data_of(html_of(render.timeline_map(events, tiles=None)))
    tl, rows = data["timeline"], data["choropleth"]["rows"]
    assert data["headline"] == tl["headlines"]["all"]  # opens on all years: the same lines
    first, last = tl["steps"][0], tl["steps"][-2]
    assert tl["headlines"][first][0].endswith(f" in {first}")
    assert tl["headlines"][f"upto{last}"][0].endswith(f"by the end of {last}")
    # The running total of the first year is that year; of the last, every dated event.
    assert tl["kinds"][f"upto{first}"] == tl["kinds"][first]
    total = {k: sum(tl["kinds"][y][k] for y in tl["steps"][:-1]) for k in tl["kinds"]["all"]}
    assert total == tl["kinds"][f"upto{last}"] == tl["kinds"]["all"]
    assert sum(tl["kinds"]["all"].values()) == len(events)
    # The legend's kind items carry their kind, so the page can rewrite their counts.
    assert {i.get("kind") for s in data["legend"]["sections"] for i in s["items"]} >= {"clash"}
    words = data["choropleth"]["words"]
    assert words["all"] == "All years" and words[f"upto{last}"] == f"{first} to {last}"
    # A province with events: its tooltip of all years counts every one of them.
    tips = data["choropleth"]["tooltips"]
    counts = [int(dict(tips[r["lines"]["all"]])["Events"]) for r in rows]
    assert sum(counts) == len(events)


def test_timeline_filters_combine_with_the_step(events):
    data = data_of(html_of(render.timeline_map(events, tiles=None)))
    filters = data["choropleth"]["filters"]
    assert filters["years"] == data["timeline"]["steps"][:-1]
    quads = [t for row in filters["rows"] for t in row]
    assert all(len(t) == 4 for t in quads) and sum(t[2] for t in quads) == len(events)
    badge_rows = [r for item in data["badges"]["items"] for r in item["rows"]]
    assert sum(r[3] for r in badge_rows) == sum(i["count"] for i in data["badges"]["items"])


def test_combined_map_has_the_filters(events):
    data = data_of(html_of(render.combined_map(events, tiles=None)))
    filters = data["choropleth"]["filters"]
    assert {k for k, _ in filters["kinds"]} == set(events["kind"])
    assert sum(t[2] for row in filters["rows"] for t in row) == len(events)


def test_timeline_with_no_events_says_no_events(provinces):
    from khorasan_map.synthetic import synthetic_events

    none = synthetic_events(5).iloc[0:0]  # synthetic, emptied
    data = data_of(html_of(render.timeline_map(none, tiles=None)))
    assert data["timeline"]["steps"] == ["all"]
    assert data["timeline"]["counts"]["all"] == {"0": 34}  # "No events", never "No data"


def test_timeline_from_province_year_summary(provinces):
    frames = []
    for year, values in ((2020, [0] * 30 + [1, 2, 3, 4]), (2021, [5] * 34)):
        t = summary_table(provinces, values)
        t["year"] = year
        frames.append(t)
    table = pd.concat(frames, ignore_index=True)
    data = data_of(html_of(render.timeline_map(table, tiles=None)))
    assert data["timeline"]["steps"] == ["2020", "2021", "all"]
    assert "points" not in data
    assert data["timeline"]["counts"]["2020"]["0"] == 30
    # Without events the years' rows are added up: all years = 2020 + 2021.
    tips = data["choropleth"]["tooltips"]
    events = [{key: dict(tips[i])["Events"] for key, i in row["lines"].items()}
              for row in data["choropleth"]["rows"]]
    four = [e for e in events if e["2020"] == "4"]
    assert len(four) == 1 and four[0]["upto2020"] == "4" and four[0]["all"] == "9"
    assert four[0]["upto2021"] == "9"


def test_combined_has_layers_and_defection_outline(events):
    html = html_of(render.combined_map(events))
    data = data_of(html)
    assert "L.control.layers" in html
    outline = data["outlines"][0]
    assert outline["className"] == "km-defection-outline"
    n_def = events.loc[events["kind"] == "defection", "province_code"].nunique()
    assert len(outline["geojson"]["features"]) == n_def
    titles = [s["title"] for s in data["legend"]["sections"]]
    assert "Event kind: colour (count)" in titles and "Location precision: shape (count)" in titles


def test_no_tiles_and_only_leaflet_assets(events):
    html = html_of(render.choropleth_map(events, tiles=None))
    assert "L.tileLayer" not in html
    assert "bootstrap" not in html and "jquery" not in html
    assert html.count("<script src=") == 1


def test_choropleth_size_online(events):
    html = html_of(render.choropleth_map(events))
    assert len(html.encode()) <= 200_000


def test_hostile_boundary_names_stay_data(provinces, events):
    layer = provinces.copy()
    layer.loc[0, "province"] = "<script>alert('b')</script>"
    layer.loc[0, "province_dari"] = "</script><img src=x onerror=alert(3)>"
    html = html_of(render.choropleth_map(events, boundaries=layer))
    assert "<script>alert('b')" not in html and "<img src=x" not in html
    rows = data_of(html)["choropleth"]["rows"]
    first = next(r for r in rows if r["code"] == layer.loc[0, "province_code"])
    assert first["dari"] == "</script><img src=x onerror=alert(3)>"


def test_text_direction_auto_and_lang(rendered):
    lib = rendered["choropleth_map"]
    assert 'node.setAttribute("dir", "auto")' in lib
    assert 'setAttribute("lang", "fa-AF")' in lib


def test_input_events_not_modified(events):
    before = events.copy()
    render.combined_map(events)
    render.points_map(events, since="2018")
    pd.testing.assert_frame_equal(events, before)


def test_element_classes_documented():
    doc = render.__doc__
    for cls in render.ELEMENT_CLASSES.values():
        assert cls in doc, cls


def test_online_tiles_need_no_key_and_carry_attribution(events):
    html = html_of(render.choropleth_map(events))
    assert "tile.openstreetmap.org" in html
    assert "openstreetmap.org/copyright" in html


def test_tiles_that_need_a_key_are_refused_with_a_hint(events):
    with pytest.raises(ValueError, match="API key"):
        render.choropleth_map(events, tiles="CartoDB.Positron")
    with pytest.raises(ValueError, match="unknown tiles"):
        render.choropleth_map(events, tiles="No.Such.Tiles")


@pytest.mark.parametrize("name", MAPS)
def test_every_map_has_a_title_and_subtitle_by_default(events, name):
    from khorasan_map import settings

    html = html_of(getattr(render, name)(events, kinds="clash"))
    block = DATA_RE.findall(html)[0][1]
    assert f'"title":"{settings.MAP_TITLE}"' in block.replace(": ", ":")
    assert '"subtitle":null' not in block.replace(": ", ":")


@pytest.mark.parametrize("name", MAPS)
def test_no_title_claims_fighting_for_kinds_that_are_not_fighting(events, name):
    title = data_of(html_of(getattr(render, name)(events)))["furniture"]["title"]
    assert "fought" not in title and "every recorded kind" in title
    title = data_of(html_of(getattr(render, name)(events, kinds="defection")))["furniture"]
    assert title["title"] == "Taliban and ISK: defections, by province"


# --------------------------------------------------------------------------------------------
# The page code lives in files (khorasan_map/web), not in Python strings
# --------------------------------------------------------------------------------------------

WEB_DIR = Path(render.__file__).parent / "web"


def test_every_web_file_is_shipped_and_listed():
    from khorasan_map.web import WEB_FILES, web_file

    on_disk = {p.name for p in WEB_DIR.iterdir() if p.suffix in (".js", ".css")}
    assert on_disk == set(WEB_FILES)
    for name in WEB_FILES:
        assert web_file(name).strip()
    with pytest.raises(ValueError, match="unknown page file"):
        web_file("nope.js")


@pytest.mark.parametrize("name", sorted(p.name for p in WEB_DIR.glob("*.js")))
def test_javascript_files_parse(name):
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("node is not installed: no JavaScript syntax check")
    done = subprocess.run([node, "--check", str(WEB_DIR / name)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("name", sorted(p.name for p in WEB_DIR.glob("*.css")))
def test_css_files_parse(name):
    tinycss2 = pytest.importorskip("tinycss2")
    rules = tinycss2.parse_stylesheet(
        (WEB_DIR / name).read_text(encoding="utf-8"), skip_comments=True, skip_whitespace=True
    )
    errors = [r for r in rules if r.type == "error"]
    assert not errors, errors
    assert rules
    for rule in rules:
        assert rule.type == "qualified-rule", rule
        for decl in tinycss2.parse_declaration_list(
            rule.content, skip_comments=True, skip_whitespace=True
        ):
            assert decl.type == "declaration", (name, decl)


def test_offline_background_is_the_css_files_colour():
    from khorasan_map import export
    from khorasan_map.web import web_file

    assert export.OFFLINE_BACKGROUND in web_file("offline.css")


#: What script or style code looks like inside a string.
CODE_RE = re.compile(
    r"\bfunction\s*\(|\bvar\s+\w+\s*=|\bdocument\.\w|\bwindow\.\w|\bL\.[\w.]+\s*[(=]|kmLib\.\w+\("
    r"|[\w\-.#]+\s*\{\s*[\w-]+\s*:[^}]*;|=>\s*\{"
)


def test_no_python_string_holds_script_or_style_code():
    import ast

    found = []
    for path in sorted((Path(render.__file__).parent).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):  # an f-string: its literal parts together
                text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = "" if id(node) in docstrings else node.value
            else:
                continue
            if CODE_RE.search(text):
                found.append(f"{path.name}:{node.lineno}: {text[:60]!r}")
    assert not found, found


def test_the_page_starts_from_a_data_element(events):
    html = html_of(render.choropleth_map(events, tiles=None))
    boot = re.findall(r'<script type="application/json" class="km-boot">(.*?)</script>', html)
    assert len(boot) == 1
    info = json.loads(boot[0])
    assert info["data"] == DATA_RE.findall(html)[0][0]
    assert info["map"].startswith("map_") and "provinces" in info["groups"]
    assert "kmLib.render(" not in html and "kmLib.boot();" in html


# --------------------------------------------------------------------------------------------
# One build computes each result once; every map and the report read it
# --------------------------------------------------------------------------------------------


def test_one_build_prepares_points_and_tallies_once(tmp_path, monkeypatch):
    """One join, one tally finished three ways (summary, by year, coverage), one preparation."""
    from khorasan_map import aggregate, join, pipeline

    calls = {"prepare_points": 0, "tally": 0, "assign_provinces": 0, "tally_events": 0,
             "summarize": 0, "coverage": 0}

    def counting(module, name):
        real = getattr(module, name)

        def wrapper(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    counting(render, "prepare_points")
    counting(join, "assign_provinces")
    for name in ("tally", "tally_events", "summarize", "coverage"):
        counting(aggregate, name)
    monkeypatch.setattr(worker, "second_core", worker.Inline)  # count the report too
    result = pipeline.build(out_dir=tmp_path / "maps")
    assert calls == {"prepare_points": 1, "tally": 1, "assign_provinces": 1, "tally_events": 1,
                     "summarize": 0, "coverage": 0}
    written = {p.name for p in result.written}
    assert {"index.html", "choropleth.html", "points.html", "timeline.html"} <= written
    cover = json.loads((tmp_path / "maps" / "coverage.json").read_text())
    data = data_of((tmp_path / "maps" / "index.html").read_text())
    # The same figure as coverage.json; its dates at the precision the records give.
    counted, dates = data["headline"][0].split("), ")
    assert cover["sentence"].startswith(counted + "), ")
    assert dates == "2014 to 2024-12-06", dates  # the first clash is dated only 2014-2015


def test_maps_read_precomputed_results(events, monkeypatch):
    from khorasan_map import aggregate, maptext

    joined = events.assign(assigned_code=events["province_code"])
    summary = aggregate.summarize(joined)
    head = maptext.headline(joined, summary)
    prepared = render.prepare_points(joined)

    def refuse(*args, **kwargs):
        raise AssertionError("recomputed")

    monkeypatch.setattr(aggregate, "summarize", refuse)
    monkeypatch.setattr(aggregate, "coverage", refuse)
    monkeypatch.setattr(render, "prepare_points", refuse)
    combined = data_of(html_of(render.combined_map(
        joined, summary=summary, coverage=head, prepared=prepared)))
    assert combined["headline"] == list(head.lines)
    assert combined["points"]["n"] == prepared.points["n"]
    choropleth = data_of(html_of(render.choropleth_map(joined, summary=summary, coverage=head)))
    assert choropleth["headline"] == list(head.lines)
    points = data_of(html_of(render.points_map(None, prepared=prepared)))
    assert points["points"]["e"] == prepared.points["e"]


# --------------------------------------------------------------------------------------------
# Clustering and tiles, from Python and the command line
# --------------------------------------------------------------------------------------------


def test_cli_map_cluster_and_tiles_options(tmp_path):
    from click.testing import CliRunner

    from khorasan_map.cli import main

    runner = CliRunner()
    out = tmp_path / "p.html"
    done = runner.invoke(main, ["map", "--type", "points", "--cluster", "--tiles", "none",
                                "-o", str(out)])
    assert done.exit_code == 0, done.output
    html = out.read_text(encoding="utf-8")
    assert data_of(html)["points"]["cluster"] is True and "L.tileLayer" not in html
    done = runner.invoke(main, ["map", "--type", "combined", "--no-cluster", "-o", str(out)])
    assert done.exit_code == 0, done.output
    html = out.read_text(encoding="utf-8")
    assert data_of(html)["points"]["cluster"] is False and "tile.openstreetmap.org" in html
    done = runner.invoke(main, ["map", "--tiles", "No.Such.Tiles", "-o", str(out)])
    assert done.exit_code == 2 and "unknown tiles" in done.output
    done = runner.invoke(main, ["build", "--help"])
    assert "--cluster / --no-cluster" in done.output and "--tiles NAME" in done.output


def test_build_clusters_points_by_default(tmp_path):
    from khorasan_map import pipeline

    pipeline.build(out_dir=tmp_path / "a", tiles="none")
    for name in ("index.html", "points.html", "timeline.html"):
        html = (tmp_path / "a" / name).read_text(encoding="utf-8")
        assert data_of(html)["points"]["cluster"] is True, name
        assert "L.tileLayer" not in html
    pipeline.build(out_dir=tmp_path / "b", cluster=False)
    html = (tmp_path / "b" / "points.html").read_text(encoding="utf-8")
    assert data_of(html)["points"]["cluster"] is False


def test_default_tiles_are_read_when_the_map_is_made(events, monkeypatch):
    monkeypatch.setattr(settings, "TILES", "Esri.WorldImagery")
    html = html_of(render.choropleth_map(events))
    assert "arcgisonline" in html.lower()


def test_points_legend_lists_only_the_shapes_drawn(events):
    ev = events[events["location_precision"].isin(["exact", "province"])]
    data = data_of(html_of(render.points_map(ev, tiles=None)))
    kinds, shapes = data["legend"]["sections"]
    assert all(item["type"] == "fill" for item in kinds["items"])  # a kind is a colour
    drawn = [(item.get("precision"), item["count"]) for item in shapes["items"]]
    n_exact = int((ev["location_precision"] == "exact").sum())
    n_province = int((ev["location_precision"] == "province").sum())
    assert drawn == [("exact", n_exact), (None, n_province)]


# ---------------------------------------------------------------- maps work with no network


def test_map_command_writes_inlined_scripts_with_tiles_as_an_extra(tmp_path):
    from click.testing import CliRunner

    from khorasan_map.cli import main

    plain, offline = tmp_path / "plain.html", tmp_path / "offline.html"
    for path, extra in ((plain, []), (offline, ["--offline"])):
        result = CliRunner().invoke(main, ["map", "-o", str(path), *extra])
        assert result.exit_code in (0, 1), result.output
    html = plain.read_text(encoding="utf-8")
    assert not re.search(r"<(script|link)\b[^>]*(src|href)=[\"']https?://", html)
    assert "Leaflet 1.9.3" in html and "L.tileLayer(" in html  # tiles kept, as an extra
    assert "L.tileLayer(" not in offline.read_text(encoding="utf-8")  # --offline: no tiles

    for path in (plain, offline):  # the budget of the shipped choropleth
        size = path.stat().st_size
        assert size <= 350_000, f"shipped choropleth {path.name} is {size:,} bytes"


def test_headline_dates_are_written_at_the_records_precision():
    from khorasan_map import aggregate, maptext

    events = pd.DataFrame({
        "event_id": ["a", "b"], "kind": ["clash", "clash"], "confidence": ["high", "low"],
        "assigned_code": ["AF-KAB", "AF-HEL"], "province_code": ["AF-KAB", "AF-HEL"],
        "date": pd.to_datetime(["2014-01-01", "2019-06-01"]),
        "date_start": pd.to_datetime(["2014-01-01", "2019-06-01"]),
        "date_end": pd.to_datetime(["2015-12-31", "2019-06-30"]),
        "date_precision": ["range", "month"],
    })  # synthetic: one record dated only 2014-2015, one only June 2019
    head = maptext.headline(events, aggregate.summarize(events))
    assert head.lines[0] == "Clashes recorded in 2 of 34 provinces (6%), 2014 to June 2019"
    assert head.coverage.sentence.endswith("2014-01-01 to 2019-06-30")  # coverage.json: ISO
    windowed = maptext.headline(events, aggregate.summarize(events), since="2014-03-01")
    assert windowed.lines[0].endswith("2014-03-01 to June 2019")  # a window given: as given
