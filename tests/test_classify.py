import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from khorasan_map import settings
from khorasan_map.classify import SCHEMES, classify_values, normalize_scheme

VALUES = [0, 0, 1, 2, 3, 4, 5, 6, 8, 10, 13, 21, 34, np.nan]


@pytest.mark.parametrize("scheme", ["quantiles", "natural_breaks", "equal_interval"])
def test_each_scheme_gives_k_classes_and_keeps_zero_and_missing(scheme):
    c = classify_values(VALUES, scheme=scheme, k=4)
    assert c.scheme == scheme
    assert c.k == 4 == len(c.labels) == len(c.colors) == len(c.counts) == len(c.bins)
    assert c.class_of[:2].tolist() == [0, 0]
    assert c.class_of[-1] == -1
    assert set(c.class_of[2:-1].tolist()) == {1, 2, 3, 4}
    assert sum(c.counts) == 11
    assert c.n_zero == 2 and c.n_missing == 1
    assert c.bins[-1] == 34
    assert np.all(np.diff(c.bins) > 0)


def test_quantiles_labels_are_integer_ranges_for_counts():
    c = classify_values([0, 1, 2, 3, 5, 8, 13, np.nan], "quantiles", 3)
    assert c.labels == ["1-2", "3-6", "7-13"]
    assert c.class_of.tolist() == [0, 1, 1, 2, 2, 3, 3, -1]
    assert c.counts == [2, 2, 2]


def test_float_labels():
    c = classify_values([1.5, 2.25, 7.8, 0, None], k=2)
    assert c.labels == ["1.5-2.25", "2.25-7.8"]
    assert not c.integer


def test_zero_class_distinct_from_missing_colors_and_labels():
    c = classify_values([0, np.nan, 5, 7], k=2)
    assert c.zero_color == settings.ZERO_COLOR
    assert c.missing_color == settings.MISSING_COLOR
    assert c.zero_color != c.missing_color
    assert c.zero_color not in c.colors and c.missing_color not in c.colors
    items = c.legend_items()
    assert items[-2] == ("No events", settings.ZERO_COLOR, 1)
    assert items[-1] == ("No data", settings.MISSING_COLOR, 1)
    assert c.color_of([0, np.nan]) == [settings.ZERO_COLOR, settings.MISSING_COLOR]


def test_all_zero_gives_no_classes():
    c = classify_values([0, 0, 0], k=5)
    assert c.k == 0 and c.labels == [] and c.colors == []
    assert c.legend_items() == [
        ("No events", settings.ZERO_COLOR, 3),
        ("No data", settings.MISSING_COLOR, 0),
    ]
    assert c.legend_items(include_empty=False) == [("No events", settings.ZERO_COLOR, 3)]


def test_fewer_distinct_values_than_k_reduces_k():
    c = classify_values([0, 1, 1, 2, 2, 2], k=5)
    assert c.k == 2
    assert c.labels == ["1", "2"]
    assert c.counts == [2, 3]


def test_user_defined_bins_and_max_appended():
    c = classify_values([0, 1, 5, 20, 50], bins=[2, 10])
    assert c.scheme == "user_defined"
    assert c.labels == ["1-2", "3-10", "11-50"]
    assert c.class_of.tolist() == [0, 1, 2, 3, 3]


def test_user_defined_needs_bins_and_rejects_bad_bins():
    with pytest.raises(ValueError, match="needs bins"):
        classify_values([1, 2], scheme="user_defined")
    with pytest.raises(ValueError, match="increasing"):
        classify_values([1, 2], bins=[5, 2])
    with pytest.raises(ValueError, match="only used with"):
        classify_values([1, 2], scheme="quantiles", bins=[1, 2])


def test_invalid_scheme_lists_valid_ones():
    with pytest.raises(ValueError) as info:
        classify_values([1, 2, 3], scheme="rainbow")
    message = str(info.value)
    assert "rainbow" in message
    for name in SCHEMES:
        assert name in message


def test_invalid_k():
    for k in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="k must be"):
            classify_values([1, 2, 3], k=k)


def test_scheme_aliases():
    assert normalize_scheme("NaturalBreaks") == "natural_breaks"
    assert normalize_scheme("fisher-jenks") == "natural_breaks"
    assert normalize_scheme("EqualInterval") == "equal_interval"


def test_deterministic_natural_breaks_on_many_values():
    y = np.random.default_rng(3).integers(0, 5000, 20_000)
    a = classify_values(y, "natural_breaks", 5)
    b = classify_values(y, "natural_breaks", 5)
    assert a.bins.tolist() == b.bins.tolist()
    assert a.class_of.tolist() == b.class_of.tolist()
    assert a.k == 5


def test_classes_of_new_values_use_same_bins():
    c = classify_values([0, 1, 2, 3, 10], k=2)
    assert c.classes_of([0, np.nan, 1, 10, 1000]).tolist() == [0, -1, 1, 2, 2]


def test_nullable_and_series_input():
    c = classify_values(pd.Series([1, None, 3], dtype="Int64"), k=2)
    assert c.class_of.tolist() == [1, -1, 2]


def test_colors_are_hex_light_to_dark():
    c = classify_values(range(1, 11), k=5)
    assert all(len(h) == 7 and h.startswith("#") for h in c.colors)
    assert len(set(c.colors)) == 5


def test_infinite_values_rejected():
    with pytest.raises(ValueError, match="finite"):
        classify_values([1, np.inf])


def test_to_dict_is_json_ready():
    import json

    json.dumps(classify_values(VALUES).to_dict())


# The numpy schemes give mapclassify's very bins (synthetic values, built here).
def _synthetic_samples():
    rng = np.random.default_rng(13)
    samples = [np.array([1.0, 2, 3, 4, 5, 6, 8, 10, 13, 21, 34])]
    for n in (7, 20, 34, 90):
        samples.append(rng.integers(1, 60, n).astype(float))  # counts, many ties
        samples.append(rng.lognormal(2, 1.5, n))  # skewed rates
        samples.append(rng.integers(1, 4, n).astype(float))  # few distinct values
        samples.append(np.round(rng.normal(100, 30, n), 1))
    return samples


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [("quantile_bins", "Quantiles"), ("equal_interval_bins", "EqualInterval"),
     ("fisher_jenks_bins", "FisherJenks")],
)
def test_numpy_schemes_equal_mapclassify(ours, theirs):
    mapclassify = pytest.importorskip("mapclassify")
    from khorasan_map import classify

    for y in _synthetic_samples():
        for k in (2, 3, 4, 5, 7):
            if np.unique(y).size <= k:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # mapclassify warns about numba and ties
                expected = getattr(mapclassify, theirs)(y, k=k).bins
            got = getattr(classify, ours)(y, k)
            assert got.shape == expected.shape, (ours, k, y)
            assert np.array_equal(got, expected), (ours, k, y)


def test_natural_breaks_on_a_sample_equal_mapclassify():
    mapclassify = pytest.importorskip("mapclassify")
    from khorasan_map.classify import fisher_jenks_bins

    y = np.sort(np.random.default_rng(5).lognormal(2, 1.5, 300))  # synthetic
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = mapclassify.FisherJenks(y, k=5).bins
    assert np.array_equal(fisher_jenks_bins(y, 5), expected)


def test_classifying_does_not_import_mapclassify():
    code = (
        "import sys; from khorasan_map.classify import classify_values;"
        "[classify_values(list(range(40)), s, 5) for s in "
        "('quantiles', 'natural_breaks', 'equal_interval')];"
        "print('mapclassify' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
