"""Tests for khorasan_map.synthetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from khorasan_map import settings
from khorasan_map.boundaries import load_provinces
from khorasan_map.events import EVENT_COLUMNS, read_events
from khorasan_map.join import locate_points
from khorasan_map.synthetic import synthetic_events


@pytest.fixture(scope="module")
def events():
    return synthetic_events(3000, seed=7)


def test_schema_and_labels(events):
    assert list(events.columns) == list(EVENT_COLUMNS)
    assert len(events) == 3000 and events["event_id"].is_unique
    assert set(events["dataset"]) == {"synthetic"}
    assert set(events["source_name"]) == {"synthetic"}
    assert set(events["description"]) == {"synthetic event for tests"}
    assert events["source_url"].str.startswith("https://example.org/synthetic/").all()
    assert events["date"].dtype == "datetime64[ns]"


def test_every_kind_and_precision_is_present(events):
    assert set(events["kind"]) == set(settings.EVENT_KINDS)
    assert set(events["location_precision"]) == set(settings.LOCATION_PRECISIONS)
    assert set(events["date_precision"]) == set(settings.DATE_PRECISIONS)
    small = synthetic_events(12, seed=1)
    assert set(small["kind"]) == set(settings.EVENT_KINDS)
    assert set(small["date_precision"]) == set(settings.DATE_PRECISIONS)


def test_deterministic_for_a_seed():
    pd.testing.assert_frame_equal(synthetic_events(500, seed=3), synthetic_events(500, seed=3))
    assert not synthetic_events(500, seed=3).equals(synthetic_events(500, seed=4))


def test_points_fall_in_their_province(events):
    located = events.dropna(subset=["latitude"])
    assert (located["location_precision"] != "province").all()
    codes = locate_points(located["longitude"], located["latitude"])
    assert (codes == located["province_code"].to_numpy()).all()
    unplaced = events[events["latitude"].isna()]
    assert (unplaced["location_precision"] == "province").all()
    assert events["province_code"].notna().all()


def test_points_are_clustered(events):
    counts = events["province_code"].value_counts()
    # Heavy-tailed hot spots: the busiest province holds far more than an even share.
    assert counts.iloc[0] > 3 * len(events) / settings.N_PROVINCES


def test_dates_are_consistent(events):
    dated = events[events["date_precision"] != "unknown"]
    assert dated["date"].notna().all()
    assert (dated["date_end"] >= dated["date_start"]).all()
    month = dated[dated["date_precision"] == "month"]
    assert (month["date_start"].dt.day == 1).all()
    assert events.loc[events["date_precision"] == "unknown", "date"].isna().all()
    low, best, high = events["fatalities_low"], events["fatalities"], events["fatalities_high"]
    known = best.notna()
    assert ((low[known] <= best[known]) & (best[known] <= high[known])).all()


def test_synthetic_events_validate_cleanly(events):
    result = read_events(events, on_invalid="report")
    assert result.ok and len(result.warnings) == 0, result.messages()
    assert len(result.events) == len(events)


def test_custom_boundaries_and_empty():
    layer = load_provinces()
    two = layer[layer["province_code"].isin(["AF-KAB", "AF-NAN"])]
    events = synthetic_events(400, seed=2, boundaries=two)
    assert set(events["province_code"]) <= {"AF-KAB", "AF-NAN"}
    assert len(synthetic_events(0)) == 0
    with pytest.raises(ValueError, match="zero or more"):
        synthetic_events(-1)


def test_fast_enough():
    import time

    start = time.perf_counter()
    events = synthetic_events(200_000, seed=0)
    assert time.perf_counter() - start < 10
    assert np.isfinite(events["latitude"].dropna()).all()
