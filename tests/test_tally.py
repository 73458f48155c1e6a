"""Tests for the one tally behind every summary and coverage figure (khorasan_map.aggregate).

Every event here is synthetic (khorasan_map.synthetic) or hand-built in the test; the province
layer is four squares covering part of Afghanistan, so many events are unassigned.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from khorasan_map import aggregate, settings
from khorasan_map.aggregate import Tally, fatality_figures, summarize, tally_events
from khorasan_map.events import REPORT_COLUMNS
from khorasan_map.synthetic import synthetic_events

TODAY = "2026-06-01"
CODES = ["AF-BAM", "AF-DAY", "AF-GHA", "AF-WAR"]


@pytest.fixture(scope="module")
def layer():
    return gpd.GeoDataFrame(
        {"province_code": CODES, "province": ["Bamyan", "Daykundi", "Ghazni", "Wardak"]},
        geometry=[box(67, 34, 68, 35), box(67, 33, 68, 34), box(68, 33, 69, 34),
                  box(68, 34, 69, 35)],
        crs="EPSG:4326",
    )


def one_province(rows):
    """Hand-built placed events, all in AF-GHA."""
    base = {"event_id": None, "kind": "clash", "confidence": "high", "assigned_code": "AF-GHA",
            "date": pd.Timestamp("2019-01-01"), "fatalities": np.nan,
            "fatalities_low": np.nan, "fatalities_high": np.nan}
    frame = pd.DataFrame([{**base, **r} for r in rows])
    frame["event_id"] = [f"E{i}" for i in range(len(frame))]
    return frame


def gha(table):
    return table.set_index("province_code").loc["AF-GHA"]


# --------------------------------------------------------------------------------------------
# Fatalities: one rule, low <= best <= high always
# --------------------------------------------------------------------------------------------


def test_only_a_lower_bound_counts_as_best_and_leaves_the_top_open(layer):
    row = gha(summarize(one_province([{"fatalities_low": 28}]), layer))
    assert (row["fatalities_low"], row["fatalities"], row["fatalities_high"]) == (28, 28, 28)
    assert row["fatalities_open"] == 1 and row["fatalities_known"] == 1


def test_low_and_high_without_best(layer):
    row = gha(summarize(one_province([{"fatalities_low": 6, "fatalities_high": 20}]), layer))
    assert (row["fatalities_low"], row["fatalities"], row["fatalities_high"]) == (6, 6, 20)
    assert row["fatalities_open"] == 0


def test_best_given_alone_and_with_its_range(layer):
    events = one_province([
        {"fatalities": 13},
        {"fatalities": 38, "fatalities_low": 30, "fatalities_high": 153},
    ])
    row = gha(summarize(events, layer))
    assert (row["fatalities_low"], row["fatalities"], row["fatalities_high"]) == (43, 51, 166)


def test_a_best_outside_its_own_range_still_keeps_the_order():
    figures = fatality_figures(pd.DataFrame(
        {"fatalities": [3.0, 50.0], "fatalities_low": [15.0, 1.0], "fatalities_high": [20.0, 9.0]}
    ))
    low, best, high = (figures[c] for c in ("fatalities_low", "fatalities", "fatalities_high"))
    assert (low <= best).all() and (best <= high).all()
    assert best.tolist() == [3.0, 50.0]  # the source's best is kept as given


def test_not_reported_only_when_no_record_gives_a_figure(layer):
    silent = gha(summarize(one_province([{}, {}]), layer))
    assert np.isnan(silent["fatalities"]) and np.isnan(silent["fatalities_high"])
    assert silent["fatalities_known"] == 0
    mixed = gha(summarize(one_province([{}, {"fatalities_high": 4}]), layer))
    assert (mixed["fatalities_low"], mixed["fatalities"], mixed["fatalities_high"]) == (0, 0, 4)
    empty = summarize(one_province([{}]), layer).set_index("province_code").loc["AF-BAM"]
    assert empty["fatalities"] == 0  # no events at all: zero, not "not reported"


def test_province_sums_are_ordered_for_random_figures(layer):
    rng = np.random.default_rng(3)
    n = 300
    low = rng.choice([np.nan, 1, 5, 40], n)
    best = rng.choice([np.nan, 2, 10, 60], n)
    high = rng.choice([np.nan, 3, 12, 90], n)
    events = one_province([{"fatalities_low": a, "fatalities": b, "fatalities_high": c}
                           for a, b, c in zip(low, best, high, strict=True)])
    row = gha(summarize(events, layer))
    assert row["fatalities_low"] <= row["fatalities"] <= row["fatalities_high"]


# --------------------------------------------------------------------------------------------
# partial -> combine -> finalize
# --------------------------------------------------------------------------------------------


def test_combining_tallies_equals_one_tally(layer):
    events = synthetic_events(400, seed=11)
    whole = tally_events(events, layer)
    parts = [tally_events(events.iloc[a:b], layer) for a, b in ((0, 7), (7, 150), (150, 400))]
    combined = Tally.combine(*parts)
    assert combined.n_partitions == 3
    for by in ("province", ("province", "year")):
        pd.testing.assert_frame_equal(pd.DataFrame(combined.summary(layer, by=by)),
                                      pd.DataFrame(whole.summary(layer, by=by)))
    for kinds in ("clash", None):
        assert (combined.coverage(layer, kinds=kinds).to_dict()
                == whole.coverage(layer, kinds=kinds).to_dict())
    assert combined.join == whole.join


def test_one_tally_answers_every_kind_and_grade(layer):
    events = synthetic_events(300, seed=4)
    result = tally_events(events, layer, since="2016")
    for kinds, grade in (("clash", "medium"), (None, None), ("defection,other", "high")):
        want = aggregate.coverage(events, layer, since="2016", kinds=kinds,
                                  min_confidence=grade)
        got = result.coverage(layer, kinds=kinds, min_confidence=grade)
        assert got.to_dict() == want.to_dict()


def test_running_summaries_are_the_summaries_of_the_years_so_far(layer):
    events = synthetic_events(500, seed=8)
    events.loc[events.index[::40], "date"] = None  # some of no known year: in no running total
    whole = tally_events(events, layer)
    year = whole.groups.index.get_level_values("year")
    steps = [2012, *range(2015, 2024), 2031]  # before, within and after the events' years
    for pick in ({}, {"kinds": "clash"}, {"kinds": "defection,other", "min_confidence": "high"}):
        running = whole.summaries_through(steps, layer, **pick)
        assert list(running) == steps
        for last in steps:
            keep = (year != aggregate.NO_YEAR) & (year <= last)
            want = dataclasses.replace(whole, groups=whole.groups[keep]).summary(layer, **pick)
            pd.testing.assert_frame_equal(pd.DataFrame(running[last]), pd.DataFrame(want))
    assert whole.summaries_through([], layer) == {}


def test_left_out_reasons_keep_their_order_kind_first(layer):
    events = one_province([
        {"kind": "defection", "date": pd.Timestamp("2010-01-01")},  # kind beats the window
        {"confidence": "low", "date": pd.Timestamp("2010-01-01")},  # grade beats the window
        {"date": pd.Timestamp("2010-01-01")},
        {"assigned_code": None},
        {},
    ])
    cov = aggregate.coverage(events, layer, since="2015", min_confidence="medium")
    assert cov.left_out_reasons == {"before since": 1, "confidence below medium": 1,
                                    "kind not selected": 1,
                                    "no province (unassigned by the join)": 1}
    assert cov.n_events == 1


# --------------------------------------------------------------------------------------------
# Coverage by confidence (issue 11)
# --------------------------------------------------------------------------------------------


def test_shipped_answer_by_confidence_recomputed_from_the_csv():
    cov = aggregate.coverage()
    raw = pd.read_csv(Path(aggregate.__file__).parent / "data" / settings.EVENTS_FILE,
                      dtype=str, keep_default_na=False)
    clashes = raw[raw["kind"] == "clash"]
    before = pd.to_datetime(clashes["date_start"].replace("", None)) < settings.SHIFT_DATE
    counts = {}
    for grade, kept in (("high", {"high"}), ("medium", {"high", "medium"}),
                        ("low", {"high", "medium", "low"})):
        rows = clashes[before.to_numpy() & clashes["confidence"].isin(kept).to_numpy()]
        answer = cov.by_confidence[grade]["before"]
        counts[grade] = answer["provinces_with_events"]
        assert answer["province_codes"] == sorted(set(rows["province_code"]))
        ids = rows.groupby("province_code")["event_id"].apply(sorted).to_dict()
        assert answer["record_ids"] == ids
    assert counts == {"high": 8, "medium": 12, "low": 14}
    assert [a["label"] for a in cov.by_confidence.values()] == [
        "high", "high and medium", "every grade"]
    assert cov.dataset == aggregate.tally().dataset is not None


def test_coverage_names_the_shipped_records_only_when_they_are_counted(layer):
    from khorasan_map.events import read_events

    shipped = read_events()
    assert aggregate.coverage(shipped).dataset == aggregate.dataset_of()
    assert aggregate.coverage(shipped).dataset["n_records"] == len(shipped)
    assert aggregate.coverage(synthetic_events(50, seed=1), layer).dataset is None


def test_by_confidence_stops_at_the_chosen_grade(layer):
    cov = aggregate.coverage(synthetic_events(100, seed=2), layer, min_confidence="medium")
    assert list(cov.by_confidence) == ["high", "medium"]
    assert (cov.by_confidence["medium"]["before"]["province_codes"]
            == cov.before["province_codes"])


def test_coverage_json_names_the_dataset_and_stays_small():
    from click.testing import CliRunner

    from khorasan_map.cli import main

    out = CliRunner().invoke(main, ["coverage", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["dataset"]["version"] == aggregate.tally().dataset["version"]
    assert data["by_confidence"]["medium"]["before"]["provinces_with_events"] == 12
    assert len(out.output) < 20_000
    text = CliRunner().invoke(main, ["coverage"]).output
    assert "at high: 8 of 34" in text and "at every grade: 14 of 34" in text


# --------------------------------------------------------------------------------------------
# Both engines: the same answers and the same rejected rows, the data read once
# --------------------------------------------------------------------------------------------

dask_geopandas = pytest.importorskip("dask_geopandas")


def _files(folder, picks, bad, cuts, group, pool):
    """Write the picked pool rows (repeats allowed) as Parquet files cut at ``cuts``."""
    frame = pool.iloc[list(picks)].reset_index(drop=True)
    frame.loc[sorted(bad), "latitude"] = 95.0  # rejected: outside the valid range
    paths, edges = [], [0, *cuts, len(frame)]
    for i, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        path = Path(folder) / f"part-{i}.parquet"
        frame.iloc[a:b].to_parquet(path, index=False, row_group_size=group)
        paths.append(str(path))
    return paths


def _answers(paths, layer, **options):
    result = aggregate.tally(paths, layer, on_invalid="report", today=TODAY, **options)
    tables = [pd.DataFrame(result.summary(layer, by=by)) for by in ("province",
                                                                    ("province", "year"))]
    covers = [result.coverage(layer, kinds=k).to_dict() for k in ("clash", None)]
    rejected = result.rejected[list(REPORT_COLUMNS)].astype(str).reset_index(drop=True)
    return tables, covers, rejected, result


def _assert_same(want, got):
    for a, b in zip(want[0], got[0], strict=True):
        pd.testing.assert_frame_equal(b, a)
    assert got[1] == want[1]
    pd.testing.assert_frame_equal(got[2], want[2])
    assert got[3].join == want[3].join and got[3].n_input == want[3].n_input


@pytest.fixture(scope="module")
def pool():
    return synthetic_events(80, seed=5)


def test_random_partitionings_give_the_answer_of_one_partition(pool, layer):
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies

    examples = int(os.environ.get("TALLY_EXAMPLES", 12))  # more: TALLY_EXAMPLES=60

    @hypothesis.settings(max_examples=examples, deadline=None, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(data=st.data())
    def check(data):
        picks = data.draw(st.lists(st.integers(0, 40), min_size=2, max_size=30), "picks")
        bad = data.draw(st.sets(st.integers(0, len(picks) - 1), max_size=3), "bad")
        cuts = sorted(data.draw(st.sets(st.integers(1, len(picks) - 1), max_size=2), "cuts"))
        group = data.draw(st.integers(1, 8), "row group")
        rows = data.draw(st.integers(1, 12), "rows per partition")
        with tempfile.TemporaryDirectory() as folder:
            paths = _files(folder, picks, bad, cuts, group, pool)
            want = _answers(paths, layer, engine="memory")
            got = _answers(paths, layer, engine="dask", scheduler="synchronous",
                           rows_per_partition=rows)
        _assert_same(want, got)

    check()


def test_repeats_across_files_reject_the_same_rows_with_both_engines(pool, layer, tmp_path):
    picks = [0, 1, 2, 3, 4, 5, 1, 6, 2, 2, 7, 0]  # ids 0, 1 and 2 repeat across files
    paths = _files(tmp_path, picks, {1, 8}, [4, 9], 2, pool)  # a bad first copy, a bad repeat
    want = _answers(paths, layer, engine="memory")
    got = _answers(paths, layer, engine="dask", scheduler="synchronous", rows_per_partition=3)
    _assert_same(want, got)
    reasons = want[2]["reason"].tolist()
    assert sum("duplicate event id" in r for r in reasons) == 4
    assert any("first used in part-0.parquet row 2" in r for r in reasons)  # the bad first copy


@pytest.fixture()
def count_reads(monkeypatch):
    from khorasan_map import scale

    calls = []
    real = scale._read_piece

    def counting(piece, *args):
        calls.append((piece.label, piece.first_row))
        return real(piece, *args)

    monkeypatch.setattr(scale, "_read_piece", counting)
    return calls


def test_the_dask_engine_reads_each_partition_once(pool, layer, tmp_path, count_reads):
    from khorasan_map import scale

    paths = _files(tmp_path, range(30), set(), [10, 20], 5, pool)
    result = scale.tally_dask(paths, layer, scheduler="synchronous", rows_per_partition=5)
    assert len(count_reads) == result.n_partitions == 6
    count_reads.clear()
    repeat = _files(tmp_path / "..", [0, 1], set(), [], 5, pool)  # ids of part-0 again
    scale.tally_dask([*paths, *repeat], layer, scheduler="synchronous", rows_per_partition=5)
    assert len(count_reads) == 7 + 1  # one pass, then only the partition holding the repeats


def test_the_dask_build_passes_over_the_data_once(pool, tmp_path, count_reads):
    from khorasan_map.pipeline import build

    first = pool.iloc[:20].copy()
    first.loc[3, "latitude"] = 95.0
    paths = [tmp_path / "a.csv", tmp_path / "b.csv"]
    first.to_csv(paths[0], index=False)
    pd.concat([pool.iloc[20:30], pool.iloc[[0, 1, 3]]]).to_csv(paths[1], index=False)
    dask_out = build(paths, tmp_path / "dask", engine="dask", keep_going=True, offline=True)
    assert len(count_reads) == 2 + 1  # two files, then the one holding the repeats
    memory_out = build(paths, tmp_path / "memory", engine="pandas", keep_going=True,
                       offline=True)
    assert dask_out.n_rejected == memory_out.n_rejected == 1 + 3
    tables = [pd.read_csv(out.out_dir / "rejected.csv", dtype=str, keep_default_na=False)
              for out in (dask_out, memory_out)]
    key = list(REPORT_COLUMNS)
    pd.testing.assert_frame_equal(tables[0][key], tables[1][key])
    covers = [json.loads((out.out_dir / "coverage.json").read_text()) for out in
              (dask_out, memory_out)]
    assert covers[0] == covers[1]
