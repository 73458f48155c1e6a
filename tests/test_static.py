"""Static exports: valid files, fixed bytes, the same classes as the HTML maps, atomic writes."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from pypdf import PdfReader

from khorasan_map import static
from khorasan_map.classify import classify_values


@pytest.fixture
def events():
    """Four hand-made events in the toolkit's schema (not real records)."""
    dates = pd.to_datetime(["2015-05-29", "2017-04-01", "2021-10-03", "2023-03-09"])
    return pd.DataFrame(
        {
            "event_id": ["t1", "t2", "t3", "t4"],
            "date": dates,
            "date_start": dates,
            "date_end": dates,
            "date_precision": ["day"] * 4,
            "kind": ["clash", "clash", "taliban_raid_on_isk", "isk_attack_on_taliban"],
            "actor1": ["Taliban"] * 4,
            "actor2": ["ISKP"] * 4,
            "province_code": ["AF-FRA", "AF-JOW", "AF-KAB", "AF-BAL"],
            "province": ["Farah", "Jowzjan", "Kabul", "Balkh"],
            "district": ["", "Darzab", "", ""],
            "latitude": [np.nan, 35.97, np.nan, 36.70],
            "longitude": [np.nan, 65.37, np.nan, 67.11],
            "location_precision": ["province", "district", "province", "exact"],
            "fatalities": [32.0, 91.0, np.nan, 3.0],
            "fatalities_low": [np.nan] * 4,
            "fatalities_high": [np.nan] * 4,
            "description": ["test"] * 4,
            "source_name": ["test"] * 4,
            "source_title": ["a", "b", "c", "d"],
            "source_date": ["2015-06-01"] * 4,
            "source_url": [f"https://example.org/{i}" for i in range(4)],
            "confidence": ["high", "medium", "high", "low"],
            "dataset": ["test"] * 4,
        }
    )


def test_png_is_an_image_of_the_page_size(events, tmp_path):
    path = static.export_static(events, tmp_path / "map.png", page="letter-portrait", dpi=50)
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.size == (425, 550)


def test_svg_is_xml_with_province_names_and_furniture(events, tmp_path):
    path = static.export_static(events, tmp_path / "map.svg", title="My title")
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    text = path.read_text()
    assert "My title" in text or "<!-- M -->" in text
    assert "Source:" in text or "<!-- S -->" in text


def test_pdf_multipage_has_overview_years_and_table(events, tmp_path):
    path = static.export_static(events, tmp_path / "report.pdf", multipage=True)
    # the overview, the nine years 2015 to 2023 side by side, the counts and the evidence
    assert len(PdfReader(path).pages) == 1 + 1 + 2


def test_year_maps_go_twelve_to_a_page(events):
    spread = events.copy()
    spread.loc[0, ["date", "date_start", "date_end"]] = pd.Timestamp("2001-05-29")
    pages = static.report_figures(spread, multipage=True)  # 2001 to 2023: 23 years
    assert len(pages) == 1 + 2 + 2
    assert [len(page.axes) for page in pages[1:3]] == [12, 11]
    words = [t.get_text() for t in pages[2].texts]
    assert "Events by province, year by year, 2013 to 2023" in words


def test_pdf_pages_by_kind(events, tmp_path):
    path = static.export_static(events, tmp_path / "kinds.pdf", multipage=True, pages_by="kind")
    assert len(PdfReader(path).pages) == 1 + 3 + 2


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_same_input_same_bytes(events, tmp_path, suffix):
    first = static.export_static(events, tmp_path / f"a{suffix}", dpi=40)
    second = static.export_static(events, tmp_path / f"b{suffix}", dpi=40)
    assert first.read_bytes() == second.read_bytes()


def test_legend_uses_the_shared_classes(events, tmp_path, monkeypatch):
    from khorasan_map.aggregate import summarize

    summary = summarize(events)
    expected = classify_values(summary["events"].to_numpy(dtype=float))
    seen = []
    original = static._legend

    def spy(ax, classes, column, handles, places=None):
        seen.append(classes)
        return original(ax, classes, column, handles, places)

    monkeypatch.setattr(static, "_legend", spy)
    static.export_static(summary, tmp_path / "map.png", dpi=30)
    assert seen[0].legend_items() == expected.legend_items()
    assert list(seen[0].bins) == list(expected.bins)


def test_failed_write_leaves_nothing(events, tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("matplotlib.figure.Figure.savefig", boom)
    with pytest.raises(OSError, match="disk full"):
        static.export_static(events, tmp_path / "map.png")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("map.jpg", {}, "written as"),
        ("map.png", {"multipage": True}, "needs a .pdf"),
        ("map.png", {"page": "a5"}, "page must be one of"),
        ("map.pdf", {"pages_by": "month"}, "pages_by"),
    ],
)
def test_bad_options_say_what_is_valid(events, tmp_path, name, options, message):
    with pytest.raises(ValueError, match=message):
        static.export_static(events, tmp_path / name, **options)


def test_page_sizes():
    assert static.page_size("a4") == (8.27, 11.69)
    assert static.page_size("a4-landscape") == (11.69, 8.27)


def test_points_follow_the_filters_and_province_only_events_are_named(events, monkeypatch):
    seen = {}
    draw = static.draw_map

    def spy(summary, **options):
        seen.update(options)
        return draw(summary, **options)

    monkeypatch.setattr(static, "draw_map", spy)
    static.report_figures(events, since="2021-01-01")
    assert sorted(seen["events"]["event_id"]) == ["t3", "t4"]
    assert "1 known only to their province: counted there, not drawn" in seen["text"].note


@pytest.mark.parametrize(
    "args, message",
    [
        (["-o", "map.jpg"], "static maps are written as .png, .svg, .pdf"),
        (["-o", "map.png", "--metric", "nope"], "column 'nope' is not in the summary"),
    ],
)
def test_export_command_refuses_bad_options_without_a_traceback(tmp_path, args, message):
    from click.testing import CliRunner

    from khorasan_map.cli import main

    args = [str(tmp_path / a) if a.startswith("map.") else a for a in args]
    result = CliRunner().invoke(main, ["export", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not list(tmp_path.iterdir())


def test_evidence_table_rows_per_province(events):
    from khorasan_map import aggregate, maptext

    ev = pd.concat([events, events.iloc[[0]].assign(
        event_id="t5", confidence="low", date=pd.Timestamp("2014-01-01"),
        date_start=pd.Timestamp("2014-01-01"), date_end=pd.Timestamp("2015-12-31"),
        date_precision="range", source_title="e")], ignore_index=True)
    summary = aggregate.summarize(ev)
    rows = maptext.evidence_rows(ev.assign(assigned_code=ev["province_code"]), summary)
    assert len(rows[0]) == len(maptext.EVIDENCE_COLUMNS)
    by_name = {r[0]: r for r in rows}
    assert set(by_name) == {"Farah", "Jowzjan", "Kabul", "Balkh"}
    assert rows[0][0] == "Farah"  # most records first
    # One source cited twice; the 2014-2015 record both starts first and ends last.
    assert by_name["Farah"][1:] == ["2", "1", "high", "2014-2015", "2014-2015"]
    assert by_name["Balkh"][3] == "low"


def test_dates_at_their_precision():
    from khorasan_map.maptext import date_text

    assert date_text("2014-01-01", "2014-01-01", "2015-12-31", "range") == "2014-2015"
    assert date_text("2015-03-01", "2015-03-01", "2015-08-31", "range") == (
        "March 2015 to August 2015"
    )
    assert date_text("2017-04-25", "2017-04-25", "2017-04-26", "range") == (
        "2017-04-25 to 2017-04-26"
    )
    assert date_text("2015-06-01", precision="month") == "June 2015"
    assert date_text("2016-01-01", precision="year") == "2016"
    assert date_text(None, precision="unknown") == "date unknown"
    assert date_text("2015-06-27", precision="day") == "2015-06-27"


def test_report_names_the_shipped_dataset_version_and_confidence_breakdown():
    from khorasan_map.dataset import shipped_dataset
    from khorasan_map.events import read_events

    pages = static.report_figures(read_events(), multipage=False)
    words = " ".join(t.get_text() for t in pages[0].texts)
    assert shipped_dataset().label in words
    assert "Clashes before 15 August 2021, by confidence: 8 of 34 provinces at high, 12 at " \
        "high or medium, 14 at every grade" in words
    assert "fought" not in words  # every kind is shown: the title does not call it fighting


def _province_labels(fig):
    """The province-name texts on a drawn page, with their boxes on the page."""
    from khorasan_map.boundaries import load_provinces

    names = set(load_provinces()["province"].astype(str))
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    return [(t.get_text(), t.get_window_extent(renderer)) for t in ax.texts
            if t.get_text() in names]


@pytest.mark.parametrize("page", ["a4-portrait", "a4-landscape", "letter-portrait"])
def test_no_two_province_labels_overlap(events, page):
    fig = static.report_figures(events, page=page)[0]
    labels = _province_labels(fig)
    assert len(labels) == 34
    clashes = [(a, b) for i, (a, box_a) in enumerate(labels) for b, box_b in labels[i + 1:]
               if box_a.overlaps(box_b)]
    assert clashes == []


def test_scale_bar_and_north_arrow_stand_on_no_province(events):
    import shapely
    from matplotlib.patches import Rectangle

    from khorasan_map import settings
    from khorasan_map.boundaries import load_provinces

    fig = static.report_figures(events)[0]
    ax = fig.axes[0]
    land = shapely.union_all(load_provinces().to_crs(settings.EQUAL_AREA_CRS).geometry.values)
    bar = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_zorder() == 7]
    assert len(bar) == 4
    for patch in bar:
        (x0, y0), (x1, y1) = patch.get_bbox().get_points()
        assert not shapely.box(x0, y0, x1, y1).intersects(land)
    arrow = next(t for t in ax.texts if t.get_text() == "" and hasattr(t, "xyann"))
    assert not shapely.Point(arrow.xyann).intersects(land)


def test_the_two_legends_say_what_each_holds(events):
    fig = static.report_figures(events)[0]
    titles = [legend.get_title().get_text() for legend in fig.axes[0].findobj(
        lambda artist: type(artist).__name__ == "Legend")]
    assert len(titles) == 2 and len(set(titles)) == 2
    assert "Events" not in titles
    assert any("points" in title for title in titles)


@pytest.mark.parametrize("page", ["a4-portrait", "a4-landscape", "letter-portrait",
                                  "letter-landscape", "a3-portrait", "a3-landscape"])
def test_the_map_uses_the_page(events, page):
    fig = static.report_figures(events, page=page)[0]
    width, height = fig.get_size_inches()
    assert (width, height) == static.page_size(page)
    left, bottom, w, h = fig.axes[0].get_position().bounds
    assert left >= 0 and bottom >= 0 and left + w <= 1 and bottom + h <= 1
    assert w * h >= 0.45  # the map takes at least 45% of the page (a third was blank before)


def test_a3_is_a_page_size():
    assert static.page_size("a3-landscape") == (16.54, 11.69)


def test_svg_keeps_text_as_text(events, tmp_path):
    path = static.export_static(events, tmp_path / "map.svg", title="My editable title")
    root = ET.parse(path).getroot()
    texts = ["".join(el.itertext()) for el in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "My editable title" in texts
    assert "Kabul" in texts


def test_year_maps_have_their_own_heading_points_and_coverage(events):
    pages = static.report_figures(events, multipage=True)
    words = [t.get_text() for t in pages[1].texts]
    assert "Events by province, year by year, 2015 to 2023" in words
    assert "2017: 1 record" in words and "2016: 0 records" in words
    assert "No events recorded" in words  # 2016
    assert "Clashes recorded in 1 of 34 provinces (3%)\nEvery kind: events in 1 of 34 provinces" \
        in words
    assert any(w.startswith("Clashes recorded in") for w in words)  # the overview's lead
    panel_2017 = pages[1].axes[2]
    assert sum(len(c.get_offsets()) for c in panel_2017.collections
               if hasattr(c, "get_offsets") and c.get_zorder() == 5) == 1  # Jowzjan, t2
    assert "4 records in these years; every map" in pages[1].texts[-1].get_text()


def test_year_maps_say_how_many_records_have_no_year(events):
    undated = events.copy()
    undated.loc[0, ["date", "date_start", "date_end"]] = pd.NaT
    undated.loc[0, "date_precision"] = "unknown"
    note = static.report_figures(undated, multipage=True)[1].texts[-1].get_text()
    assert "3 records in these years (1 with no known date is on the overview only)" in note


def test_kind_pages_name_their_kind_and_its_coverage(events):
    pages = static.report_figures(events, multipage=True, pages_by="kind")
    subtitles = [t.get_text() for page in pages[1:4] for t in page.texts]
    assert any(s.startswith("Taliban-ISK clash: Events by province") for s in subtitles)
    assert any("recorded in 2 of 34 provinces" in s for s in subtitles)


def test_subtitle_dates_at_their_precision(events):
    ranged = events.copy()
    ranged.loc[0, ["date", "date_start"]] = pd.Timestamp("2014-01-01")
    ranged.loc[0, "date_end"] = pd.Timestamp("2015-12-31")
    ranged.loc[0, "date_precision"] = "range"
    ranged.loc[3, "date_precision"] = "month"
    ranged.loc[3, ["date", "date_start"]] = pd.Timestamp("2023-03-01")
    ranged.loc[3, "date_end"] = pd.Timestamp("2023-03-31")
    words = [t.get_text() for t in static.report_figures(ranged)[0].texts]
    assert "Events by province, 2014 to March 2023" in words


def test_kind_pages_title_says_what_they_count(events):
    pages = static.report_figures(events, multipage=True, pages_by="kind")
    titles = [page.texts[0].get_text() for page in pages[:4]]
    assert "fought" not in titles[0]  # the overview holds every kind
    assert titles[1:].count("Where the Taliban and ISK have fought") == 1  # the clash page
    mine = static.report_figures(events, multipage=True, pages_by="kind", title="Mine")
    assert {page.texts[0].get_text() for page in mine[:4]} == {"Mine"}
