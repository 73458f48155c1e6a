"""Tests for khorasan_map.aggregate: filters, per-province summaries and the coverage figure.

Everything is built in code: a layer of four square "provinces" and events that already carry
``assigned_code`` (as a JoinResult's events do), plus a few that go through the real join.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from khorasan_map import settings
from khorasan_map.aggregate import (
    Coverage,
    coverage,
    coverage_sentence,
    filter_events,
    kinds_noun,
    parse_date,
    parse_kinds,
    percent,
    summarize,
)

CODES = ["AF-BDS", "AF-KNR", "AF-NAN", "AF-ZAB"]
NAMES = ["Badakhshan", "Kunar", "Nangarhar", "Zabul"]


@pytest.fixture
def layer():
    return gpd.GeoDataFrame(
        {
            "province_code": CODES,
            "province": NAMES,
            "province_dari": ["بدخشان", "کنر", "ننگرهار", "زابل"],
        },
        geometry=[box(i, 0, i + 1, 1) for i in range(4)],
        crs="EPSG:4326",
    )


def make_events(rows):
    """Events in the schema from short dicts; missing fields get neutral defaults."""
    defaults = {
        "date_precision": "day",
        "kind": "clash",
        "actor1": "Taliban",
        "actor2": "ISK",
        "location_precision": "exact",
        "fatalities": np.nan,
        "fatalities_low": np.nan,
        "fatalities_high": np.nan,
        "source_title": "",
        "source_url": "",
        "confidence": "medium",
        "assigned_code": "AF-NAN",
    }
    full = []
    for i, row in enumerate(rows):
        item = {"event_id": f"e{i + 1}", **defaults, **row}
        item.setdefault("date", "2019-06-01")
        item.setdefault("date_start", item["date"])
        item.setdefault("date_end", item["date_start"])
        full.append(item)
    frame = pd.DataFrame(full)
    for col in ("date", "date_start", "date_end"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


# ---------------------------------------------------------------------------------------------
# parsers
# ---------------------------------------------------------------------------------------------


def test_parse_date_forms():
    assert parse_date("2021-08-15") == pd.Timestamp("2021-08-15")
    assert parse_date(pd.Timestamp("2021-08-15 13:45")) == pd.Timestamp("2021-08-15")
    import datetime as dt

    assert parse_date(dt.date(2020, 2, 3)) == pd.Timestamp("2020-02-03")
    assert parse_date("2020") == pd.Timestamp("2020-01-01")
    assert parse_date("2020", end=True) == pd.Timestamp("2020-12-31")
    assert parse_date("2020-02", end=True) == pd.Timestamp("2020-02-29")
    assert parse_date(None) is None


@pytest.mark.parametrize("bad", ["2021-13-01", "yesterday-ish", "21/31/2020"])
def test_parse_date_rejects(bad):
    with pytest.raises(ValueError, match="since .* is not a date"):
        parse_date(bad, name="since")


def test_parse_kinds_forms():
    assert parse_kinds(None) is None
    assert parse_kinds("all") is None
    assert parse_kinds(["clash", "all"]) is None
    assert parse_kinds("clash, Defection,clash") == ("clash", "defection")
    assert parse_kinds(["taliban_raid_on_isk"]) == ("taliban_raid_on_isk",)
    assert parse_kinds("battle", present=["battle"]) == ("battle",)


def test_parse_kinds_unknown_names_valid_ones():
    with pytest.raises(ValueError) as info:
        parse_kinds("clashes")
    message = str(info.value)
    assert "unknown kind 'clashes'" in message
    assert "did you mean 'clash'" in message
    for kind in ("clash", "defection", "isk_attack_on_taliban", "taliban_raid_on_isk", "all"):
        assert kind in message
    with pytest.raises(ValueError, match="no kind given"):
        parse_kinds(" , ")


# ---------------------------------------------------------------------------------------------
# filter_events
# ---------------------------------------------------------------------------------------------


def test_filter_each_reason():
    ev = make_events(
        [
            {"date": "2016-01-01"},  # e1 before since
            {"date": "2023-01-01"},  # e2 after until
            {"kind": "defection"},  # e3 kind not selected
            {"confidence": "low"},  # e4 confidence below medium
            {"date": None, "date_precision": "unknown"},  # e5 date unknown
            {"date": "2019-06-01"},  # e6 kept
        ]
    )
    res = filter_events(
        ev, since="2017-01-01", until="2022-12-31", kinds="clash", min_confidence="medium"
    )
    assert list(res.events["event_id"]) == ["e6"]
    reasons = dict(zip(res.left_out["event_id"], res.left_out["reason"], strict=True))
    assert reasons == {
        "e1": "before since",
        "e2": "after until",
        "e3": "kind not selected",
        "e4": "confidence below medium",
        "e5": "date unknown (cannot place in a window)",
    }
    assert len(res.events) + len(res.left_out) == len(ev)
    assert res.reasons["before since"] == 1


def test_filter_no_filters_keeps_everything_even_unknown_dates():
    ev = make_events([{"date": None, "date_precision": "unknown"}, {"kind": "other"}])
    res = filter_events(ev)
    assert len(res.events) == 2
    assert res.left_out.empty
    assert list(res.left_out.columns) == ["event_id", "reason"]


def test_filter_first_reason_wins():
    ev = make_events([{"kind": "defection", "confidence": "low", "date": "2010-01-01"}])
    res = filter_events(ev, since="2015", kinds="clash", min_confidence="high")
    assert list(res.left_out["reason"]) == ["kind not selected"]


def test_filter_range_overlap_rule():
    ev = make_events(
        [
            # a month-precision event: March 2019
            {
                "date": "2019-03-01",
                "date_start": "2019-03-01",
                "date_end": "2019-03-31",
                "date_precision": "month",
            },
            # a range ending the day before the window
            {"date": "2019-01-01", "date_start": "2019-01-01", "date_end": "2019-03-19"},
            # a range starting after the window
            {"date": "2019-04-02", "date_start": "2019-04-02", "date_end": "2019-05-01"},
        ]
    )
    res = filter_events(ev, since="2019-03-20", until="2019-04-01")
    assert list(res.events["event_id"]) == ["e1"]
    assert dict(zip(res.left_out["event_id"], res.left_out["reason"], strict=True)) == {
        "e2": "before since",
        "e3": "after until",
    }


def test_filter_until_is_inclusive_and_year_strings_cover_the_year():
    ev = make_events([{"date": "2020-12-31"}, {"date": "2021-01-01"}])
    assert list(filter_events(ev, until="2020-12-31").events["event_id"]) == ["e1"]
    assert list(filter_events(ev, until="2020").events["event_id"]) == ["e1"]
    assert list(filter_events(ev, since="2021").events["event_id"]) == ["e2"]


def test_filter_since_after_until_raises():
    with pytest.raises(ValueError, match="after until"):
        filter_events(make_events([{}]), since="2021-01-02", until="2021-01-01")


def test_filter_min_confidence_ordering():
    ev = make_events([{"confidence": c} for c in ("low", "medium", "high", None)])
    kept = {
        level: list(filter_events(ev, min_confidence=level).events["confidence"])
        for level in ("low", "medium", "high")
    }
    assert kept == {
        "low": ["low", "medium", "high"],
        "medium": ["medium", "high"],
        "high": ["high"],
    }
    res = filter_events(ev, min_confidence="HIGH")
    assert set(res.left_out["reason"]) == {"confidence below high"}
    with pytest.raises(ValueError, match="valid levels: low, medium, high"):
        filter_events(ev, min_confidence="certain")


def test_filter_kinds_all_comma_other_and_invalid():
    ev = make_events(
        [
            {"kind": "clash"},
            {"kind": "defection"},
            {"kind": "isk_attack_on_taliban"},
            {"kind": "battle"},
        ]
    )
    assert len(filter_events(ev, kinds="all").events) == 4
    assert list(filter_events(ev, kinds="clash,defection").events["kind"]) == [
        "clash",
        "defection",
    ]
    assert list(filter_events(ev, kinds=["other"]).events["kind"]) == ["battle"]
    assert list(filter_events(ev, kinds="battle").events["kind"]) == ["battle"]
    with pytest.raises(ValueError, match="valid kinds: clash, defection"):
        filter_events(ev, kinds="raid")


# ---------------------------------------------------------------------------------------------
# summarize
# ---------------------------------------------------------------------------------------------


def test_summarize_every_province_with_zeros(layer):
    ev = make_events([{"assigned_code": "AF-NAN"}, {"assigned_code": "AF-NAN"}])
    table = summarize(ev, layer)
    assert isinstance(table, gpd.GeoDataFrame)
    assert list(table["province_code"]) == CODES
    assert table.crs == layer.crs
    assert list(table["events"]) == [0, 0, 2, 0]
    zero = table[table["province_code"] == "AF-ZAB"].iloc[0]
    assert zero["n_clash"] == 0 and zero["fatalities"] == 0 and zero["n_sources"] == 0
    assert zero["first_date"] is None and np.isnan(zero["share_province_precise"])
    assert list(table.columns) == [
        "province_code",
        "province",
        "province_dari",
        "events",
        "n_clash",
        "n_defection",
        "n_isk_attack_on_taliban",
        "n_taliban_raid_on_isk",
        *[f"n_{k}" for k in settings.EVENT_KINDS[4:]],
        "n_other",
        "fatalities",
        "fatalities_low",
        "fatalities_high",
        "fatalities_known",
        "fatalities_open",
        "first_date",
        "last_date",
        "n_sources",
        "n_actors",
        "share_province_precise",
        "geometry",
    ]
    assert table.geometry.equals(layer.geometry)
    assert table.attrs["n_events"] == 2 and table.attrs["n_left_out"] == 0


def test_summarize_columns_by_kind_fatalities_dates_sources_actors(layer):
    ev = make_events(
        [
            {
                "kind": "clash",
                "date": "2018-02-01",
                "fatalities": 10,
                "fatalities_low": 8,
                "fatalities_high": 15,
                "source_url": "https://a.example/1",
                "location_precision": "province",
            },
            {
                "kind": "defection",
                "date": "2019-07-04",
                "fatalities": np.nan,
                "fatalities_low": np.nan,
                "fatalities_high": 4,
                "source_url": "https://a.example/1",
                "actor1": "Taliban (Mawlawi X faction)",
                "actor2": "ISK",
            },
            {
                "kind": "battle",
                "date": "2017-05-09",
                "fatalities": 3,
                "source_url": "",
                "source_title": "A report",
                "actor2": " ",
            },
            {"kind": "taliban_raid_on_isk", "assigned_code": "AF-KNR", "fatalities": np.nan},
        ]
    )
    table = summarize(ev, layer).set_index("province_code")
    nan = table.loc["AF-NAN"]
    assert (nan["events"], nan["n_clash"], nan["n_defection"], nan["n_other"]) == (3, 1, 1, 1)
    # the event giving only a high figure (4) adds 0 to low and best, 4 to high
    assert nan["fatalities"] == 13 and nan["fatalities_known"] == 3
    # low and high fall back to the best figure (the "battle" row's 3 counts in both)
    assert nan["fatalities_low"] == 8 + 3 and nan["fatalities_high"] == 15 + 4 + 3
    assert (nan["first_date"], nan["last_date"]) == ("2017-05-09", "2019-07-04")
    assert nan["n_sources"] == 2  # one URL twice, one title
    assert nan["n_actors"] == 3  # Taliban, ISK, the faction
    assert nan["share_province_precise"] == pytest.approx(1 / 3)
    knr = table.loc["AF-KNR"]
    assert knr["n_taliban_raid_on_isk"] == 1
    assert np.isnan(knr["fatalities"]) and knr["fatalities_known"] == 0  # events, none known
    assert table.loc["AF-BDS", "fatalities"] == 0  # no events: zero


def test_summarize_by_province_year(layer):
    ev = make_events(
        [
            {"date": "2016-03-01", "assigned_code": "AF-NAN"},
            {"date": "2018-03-01", "assigned_code": "AF-NAN"},
            {"date": "2018-09-01", "assigned_code": "AF-KNR"},
            {"date": None, "date_precision": "unknown", "assigned_code": "AF-KNR"},
        ]
    )
    table = summarize(ev, layer, by=("province", "year"))
    assert len(table) == 4 * 3  # every province x 2016..2018
    assert list(table.columns[:4]) == ["province_code", "province", "province_dari", "year"]
    counts = table.set_index(["province_code", "year"])["events"]
    assert counts[("AF-NAN", 2016)] == 1 and counts[("AF-NAN", 2017)] == 0
    assert counts[("AF-KNR", 2018)] == 1 and counts[("AF-ZAB", 2017)] == 0
    assert table.attrs["left_out_reasons"] == {"date unknown (cannot place in a year)": 1}
    assert table.attrs["n_events"] + table.attrs["n_left_out"] == len(ev)
    # the window, when given, sets the years
    windowed = summarize(ev, layer, by="province,year", since="2015", until="2019")
    assert sorted(windowed["year"].unique()) == [2015, 2016, 2017, 2018, 2019]


def test_summarize_filters_and_unassigned_in_attrs(layer):
    ev = make_events(
        [
            {"kind": "clash"},
            {"kind": "defection"},
            {"assigned_code": None},
            {"assigned_code": "AF-HEL"},  # not in this layer
        ]
    )
    table = summarize(ev, layer, kinds="clash")
    assert table["events"].sum() == 1
    assert table.attrs["left_out_reasons"] == {
        "kind not selected": 1,
        "no province (unassigned by the join)": 1,
        "province not in the boundary layer": 1,
    }
    assert table.attrs["n_events"] + table.attrs["n_left_out"] == 4
    assert table.attrs["kinds"] == ["clash"]
    json.dumps(table.attrs)


def test_summarize_accepts_join_result_and_joins_raw_events(layer, monkeypatch):
    ev = make_events([{"assigned_code": "AF-BDS"}])
    result = SimpleNamespace(events=ev, report=pd.DataFrame())
    assert summarize(result, layer)["events"].tolist() == [1, 0, 0, 0]

    calls = []

    def fake_join(events, boundaries, tolerance_m=None):
        calls.append(len(events))
        placed = events.assign(assigned_code="AF-ZAB", assigned_province="Zabul",
                               assigned_by="point")
        return SimpleNamespace(events=placed, n_input=len(events), n_assigned=len(events),
                               n_unassigned=0, report=pd.DataFrame({"case": []}))

    import khorasan_map.join

    monkeypatch.setattr(khorasan_map.join, "assign_provinces", fake_join)
    raw = make_events([{}, {"kind": "defection"}]).drop(columns="assigned_code")
    table = summarize(raw, layer, kinds="clash")
    assert calls == [2]  # every event in the window is placed once; kinds are chosen after
    assert table["events"].tolist() == [0, 0, 0, 1]
    assert table.attrs["left_out_reasons"] == {"kind not selected": 1}


def test_summarize_empty_input(layer):
    ev = make_events([{}]).iloc[0:0]
    table = summarize(ev, layer, by=("province", "year"))
    assert len(table) == 0
    table = summarize(ev, layer)
    assert table["events"].tolist() == [0, 0, 0, 0]


def test_summarize_bad_by(layer):
    with pytest.raises(ValueError, match="by must be"):
        summarize(make_events([{}]), layer, by="district")


# ---------------------------------------------------------------------------------------------
# coverage
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "total", "expected"),
    [(13, 34, 38), (12, 34, 35), (17, 34, 50), (1, 8, 13), (3, 8, 38), (1, 34, 3), (0, 34, 0)],
)
def test_percent_rounds_half_up(count, total, expected):
    assert percent(count, total) == expected


def test_kinds_noun():
    assert kinds_noun(("clash",)) == "Clashes"
    assert kinds_noun(["defection"]) == "Defections"
    assert kinds_noun(["isk_attack_on_taliban"]) == "ISK attacks on the Taliban"
    assert kinds_noun(["taliban_raid_on_isk"]) == "Taliban raids on ISK"
    assert kinds_noun(["clash", "defection"]) == "Clashes or defections"
    assert kinds_noun(["clash", "defection", "taliban_raid_on_isk"]) == (
        "Clashes, defections or Taliban raids on ISK"
    )
    assert kinds_noun(None) == "Events"
    assert kinds_noun(["all"]) == "Events"
    assert kinds_noun(["clash", "other"]) == "Events"
    assert kinds_noun(list(settings.EVENT_KINDS)) == "Events"
    for kind in settings.EVENT_KINDS:  # every known kind has its own noun
        assert kinds_noun([kind]) != "Events"


def test_sentence_wording():
    assert (
        coverage_sentence("Clashes", 13, 34, "2015-01-01", "2021-08-25")
        == "Clashes recorded in 13 of 34 provinces (38%), 2015-01-01 to 2021-08-25"
    )
    assert coverage_sentence("Events", 1, 1) == "Events recorded in 1 of 1 province (100%)"


def test_coverage_counts_and_sentence(layer):
    ev = make_events(
        [
            {"date": "2015-01-01", "assigned_code": "AF-NAN"},
            {"date": "2016-05-01", "assigned_code": "AF-NAN"},
            {"date": "2021-08-25", "assigned_code": "AF-KNR"},
            {"date": "2017-01-01", "assigned_code": "AF-ZAB", "kind": "defection"},
        ]
    )
    cov = coverage(ev, layer)
    assert isinstance(cov, Coverage)
    assert cov.provinces_with_events == 2 and cov.total_provinces == 4
    assert cov.share == 0.5
    assert cov.province_codes == ["AF-KNR", "AF-NAN"]
    assert cov.provinces == ["Kunar", "Nangarhar"]
    assert (cov.since, cov.until) == ("2015-01-01", "2021-08-25")
    assert cov.kinds == ["clash"]
    assert cov.sentence == "Clashes recorded in 2 of 4 provinces (50%), 2015-01-01 to 2021-08-25"
    assert cov.by_year == {2015: 1, 2016: 1, 2017: 0, 2018: 0, 2019: 0, 2020: 0, 2021: 1}
    assert cov.n_events == 3 and cov.n_left_out == 1
    assert cov.left_out_reasons == {"kind not selected": 1}

    every = coverage(ev, layer, kinds="all")
    assert every.provinces_with_events == 3 and every.kinds == ["all"]
    assert every.sentence.startswith("Events recorded in 3 of 4 provinces (75%)")
    both = coverage(ev, layer, kinds="clash,defection", since="2016", until="2017")
    assert both.sentence == (
        "Clashes or defections recorded in 2 of 4 provinces (50%), 2016-01-01 to 2017-12-31"
    )
    with pytest.raises(ValueError, match="valid kinds"):
        coverage(ev, layer, kinds="clashs")


def test_coverage_single_province_and_no_events(layer):
    ev = make_events([{"assigned_code": "AF-BDS"}])
    cov = coverage(ev, layer)
    assert cov.sentence == "Clashes recorded in 1 of 4 provinces (25%), 2019-06-01 to 2019-06-01"
    none = coverage(ev, layer, kinds="defection")
    assert none.provinces_with_events == 0 and none.province_codes == []
    assert none.sentence == "Defections recorded in 0 of 4 provinces (0%)"
    assert none.since is None and none.by_year == {}


def test_coverage_before_after_split_custom_date(layer):
    ev = make_events(
        [
            {"date": "2019-01-01", "assigned_code": "AF-NAN"},
            {"date": "2020-06-30", "assigned_code": "AF-KNR"},
            {"date": "2020-07-01", "assigned_code": "AF-ZAB"},
            # a range spanning the split counts on both sides
            {
                "date": "2020-06-01",
                "date_start": "2020-06-01",
                "date_end": "2020-07-31",
                "date_precision": "range",
                "assigned_code": "AF-BDS",
            },
            {"date": None, "date_precision": "unknown", "assigned_code": "AF-BDS"},
        ]
    )
    cov = coverage(ev, layer, split_date="2020-07-01")
    assert cov.split_date == "2020-07-01"
    assert cov.before["province_codes"] == ["AF-BDS", "AF-KNR", "AF-NAN"]
    assert cov.after["province_codes"] == ["AF-BDS", "AF-ZAB"]
    assert cov.before["since"] == "2019-01-01" and cov.before["until"] == "2020-06-30"
    # the window ends where the last counted event ends (the range runs to 2020-07-31)
    assert cov.after["since"] == "2020-07-01" and cov.after["until"] == "2020-07-31"
    assert cov.before["share"] == 0.75 and cov.after["provinces_with_events"] == 2
    assert cov.after["sentence"].startswith("Clashes recorded in 2 of 4 provinces (50%)")
    # unknown date: counted overall (no window) but on neither side
    assert cov.n_events == 5 and cov.before["n_events"] == 3 and cov.after["n_events"] == 2

    windowed = coverage(ev, layer, since="2019-06-01", until="2021-01-01")
    assert windowed.split_date == "2021-08-15"
    assert windowed.after["provinces_with_events"] == 0
    assert windowed.after["since"] is None and windowed.after["until"] is None
    assert windowed.left_out_reasons["date unknown (cannot place in a window)"] == 1


def test_coverage_min_confidence(layer):
    ev = make_events(
        [
            {"confidence": "high", "assigned_code": "AF-NAN"},
            {"confidence": "medium", "assigned_code": "AF-KNR"},
            {"confidence": "low", "assigned_code": "AF-ZAB"},
        ]
    )
    assert coverage(ev, layer).provinces_with_events == 3
    assert coverage(ev, layer, min_confidence="medium").provinces_with_events == 2
    high = coverage(ev, layer, min_confidence="high")
    assert high.province_codes == ["AF-NAN"] and high.min_confidence == "high"
    assert high.left_out_reasons == {"confidence below high": 2}


def test_coverage_to_dict_is_json_ready(layer):
    ev = make_events([{"date": "2020-01-01"}, {"date": "2022-01-01", "assigned_code": "AF-KNR"}])
    data = coverage(ev, layer).to_dict()
    for key in (
        "provinces_with_events",
        "total_provinces",
        "share",
        "province_codes",
        "since",
        "until",
        "kinds",
        "sentence",
        "by_year",
        "split_date",
        "before",
        "after",
        "n_events",
        "n_left_out",
    ):
        assert key in data
    assert json.loads(json.dumps(data)) == data
    assert data["by_year"] == {"2020": 1, "2021": 0, "2022": 1}
    assert data["before"]["province_codes"] == ["AF-NAN"]
    assert data["after"]["province_codes"] == ["AF-KNR"]


# ---------------------------------------------------------------------------------------------
# with the real join (events with no assigned_code are placed first)
# ---------------------------------------------------------------------------------------------


def test_summarize_and_coverage_place_raw_events_with_the_join(layer):
    ev = make_events(
        [
            {"latitude": 0.5, "longitude": 0.5, "location_precision": "exact"},  # AF-BDS
            {"latitude": 0.5, "longitude": 2.5, "location_precision": "exact"},  # AF-NAN
            {"province_code": "AF-ZAB", "location_precision": "province"},  # stated
            {"latitude": 50.0, "longitude": 50.0, "location_precision": "exact"},  # nowhere
        ]
    ).drop(columns="assigned_code")
    ev["latitude"] = ev["latitude"].astype(float)
    ev["longitude"] = ev["longitude"].astype(float)
    table = summarize(ev, layer)
    assert table["events"].tolist() == [1, 0, 1, 1]
    assert table.attrs["left_out_reasons"] == {"no province (unassigned by the join)": 1}
    cov = coverage(ev, layer)
    assert cov.province_codes == ["AF-BDS", "AF-NAN", "AF-ZAB"]
    assert cov.n_events + cov.n_left_out == len(ev)

    from khorasan_map.join import assign_provinces

    joined = assign_provinces(ev, layer)
    assert coverage(joined, layer).province_codes == cov.province_codes


def random_events(n, seed):
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3650, n), unit="D")
    span = pd.to_timedelta(rng.choice([0, 0, 0, 30, 400], n), unit="D")
    frame = pd.DataFrame(
        {
            "event_id": [f"r{i}" for i in range(n)],
            "date": start,
            "date_start": start,
            "date_end": start + span,
            "kind": rng.choice(list(settings.EVENT_KINDS) + ["other"], n),
            "confidence": rng.choice(["low", "medium", "high", None], n),
            "assigned_code": rng.choice(CODES + [None], n),
            "fatalities": rng.choice([np.nan, 1.0, 5.0], n),
            "location_precision": rng.choice(["exact", "province"], n),
        }
    )
    unknown = rng.random(n) < 0.05
    for col in ("date", "date_start", "date_end"):
        frame.loc[unknown, col] = pd.NaT
    return frame


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_invariants_nothing_disappears_and_summary_matches_coverage(layer, seed):
    ev = random_events(500, seed)
    rng = np.random.default_rng(seed + 10)
    since = f"{rng.integers(2015, 2019)}-0{rng.integers(1, 9)}-15"
    until = f"{rng.integers(2020, 2025)}"
    kinds = ["clash", "defection"] if seed else "all"
    options = {"since": since, "until": until, "kinds": kinds, "min_confidence": "medium"}
    res = filter_events(ev, **options)
    assert len(res.events) + len(res.left_out) == len(ev)
    assert set(res.events["event_id"]).isdisjoint(res.left_out["event_id"])
    table = summarize(ev, layer, **options)
    cov = coverage(ev, layer, **options)
    assert table.attrs["n_events"] + table.attrs["n_left_out"] == len(ev)
    assert cov.n_events == table.attrs["n_events"] == table["events"].sum()
    assert cov.province_codes == sorted(table.loc[table["events"] > 0, "province_code"])
    assert cov.left_out_reasons == table.attrs["left_out_reasons"]
    by_year = summarize(ev, layer, by=("province", "year"), **options)
    per_year = by_year[by_year["events"] > 0].groupby("year")["province_code"].nunique()
    assert {y: n for y, n in cov.by_year.items() if n} == per_year.to_dict()
    assert by_year["events"].sum() == table["events"].sum()  # the window excludes unknown dates


def test_year_of_an_event_begun_before_the_window_is_the_window_start(layer):
    ev = make_events([{"date": "2016-12-01", "date_start": "2016-12-01", "date_end": "2017-02-01"}])
    table = summarize(ev, layer, by=("province", "year"), since="2017-01-15", until="2017")
    assert table.loc[table["events"] > 0, "year"].tolist() == [2017]
    assert table.loc[table["events"] > 0, "first_date"].tolist() == ["2016-12-01"]
    assert coverage(ev, layer, since="2017-01-15", until="2017").by_year == {2017: 1}


def test_filter_accepts_a_join_result():
    ev = make_events([{}, {"kind": "defection"}])
    res = filter_events(SimpleNamespace(events=ev, report=pd.DataFrame()), kinds="defection")
    assert list(res.events["event_id"]) == ["e2"]
    with pytest.raises(TypeError, match="DataFrame or the JoinResult"):
        filter_events([1, 2, 3])


def test_at_least_reports_never_make_low_exceed_high(layer):
    ev = make_events(
        [
            {"assigned_code": "AF-NAN", "fatalities": np.nan, "fatalities_low": 11},
            {"assigned_code": "AF-NAN", "fatalities": 5, "fatalities_low": 3, "fatalities_high": 8},
            {"assigned_code": "AF-NAN", "fatalities": 2},
        ]
    )
    row = summarize(ev, layer).set_index("province_code").loc["AF-NAN"]
    assert row["fatalities"] == 11 + 5 + 2  # "at least 11" counts 11 as its best
    assert row["fatalities_low"] == 11 + 3 + 2
    assert row["fatalities_high"] == 11 + 8 + 2
    assert row["fatalities_open"] == 1  # the upper end of "at least 11" is open
    assert row["fatalities_low"] <= row["fatalities"] <= row["fatalities_high"]
