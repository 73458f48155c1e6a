"""Classify map values into colour classes, with zero and missing kept apart.

One function, :func:`classify_values`, is shared by the interactive maps
(:mod:`khorasan_map.render`) and the static exports (:mod:`khorasan_map.static`), so both draw
the same classes in the same colours. The rules:

* ``NaN`` (no value could be computed) is the *missing* class ``-1``, drawn in
  :data:`settings.MISSING_COLOR` and labelled "No data".
* ``0`` is the *zero* class ``0``, drawn in :data:`settings.ZERO_COLOR` and labelled "No events":
  a province where nothing was recorded is not the same as a province with few events.
* Only the non-zero values are classified, into classes ``1..k`` (mapclassify's schemes, written
  in numpy with the very same bins). When there are fewer distinct values than ``k``, ``k``
  shrinks to fit; it never invents empty classes.
* The result is deterministic: the same values always give the same bins (natural breaks on many
  values use an evenly spaced sample, never a random one).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from khorasan_map import settings

#: Schemes accepted by :func:`classify_values`, with the ``mapclassify`` classifier each uses.
SCHEMES: dict[str, str] = {
    "quantiles": "Quantiles",
    "natural_breaks": "FisherJenks",
    "equal_interval": "EqualInterval",
    "user_defined": "UserDefined",
}

#: Spellings accepted for each scheme (case, underscores and hyphens are ignored).
_ALIASES: dict[str, str] = {
    "quantiles": "quantiles",
    "quantile": "quantiles",
    "naturalbreaks": "natural_breaks",
    "fisherjenks": "natural_breaks",
    "jenks": "natural_breaks",
    "equalinterval": "equal_interval",
    "userdefined": "user_defined",
}

#: Above this many values, natural breaks run on an evenly spaced sample of the sorted values
#: (exact Fisher-Jenks is quadratic and slow without numba).
NATURAL_BREAKS_SAMPLE: int = 300

#: Default legend labels of the two special classes.
ZERO_LABEL: str = "No events"
MISSING_LABEL: str = "No data"


@dataclass
class Classes:
    """Classes of a set of values, their colours and their legend.

    Attributes
    ----------
    scheme : str
        Scheme used (a key of :data:`SCHEMES`).
    k : int
        Number of classes of non-zero values actually used (may be less than asked).
    bins : numpy.ndarray
        Upper bound of each class ``1..k`` (inclusive), float.
    labels : list of str
        Legend label of each class ``1..k``, such as ``"1-2"`` or ``"3-5"`` (integers when every
        value is a whole number).
    class_of : numpy.ndarray
        Class of each input value: ``-1`` missing, ``0`` zero, ``1..k`` non-zero classes.
    counts : list of int
        Number of values in each class ``1..k``.
    colors : list of str
        Hex colour of each class ``1..k``, light to dark.
    n_zero, n_missing : int
        Number of zero and missing values.
    zero_color, missing_color : str
        Colours of the zero and missing classes.
    zero_label, missing_label : str
        Legend labels of the zero and missing classes.
    integer : bool
        Whether every value is a whole number (labels are then integer ranges).
    """

    scheme: str
    k: int
    bins: np.ndarray
    labels: list[str]
    class_of: np.ndarray
    counts: list[int]
    colors: list[str]
    n_zero: int = 0
    n_missing: int = 0
    zero_color: str = field(default_factory=lambda: settings.ZERO_COLOR)
    missing_color: str = field(default_factory=lambda: settings.MISSING_COLOR)
    zero_label: str = ZERO_LABEL
    missing_label: str = MISSING_LABEL
    integer: bool = True

    def classes_of(self, values) -> np.ndarray:
        """Class of new values under the same bins.

        Parameters
        ----------
        values : array-like of float
            Values to place; ``NaN`` is missing, ``0`` is the zero class.

        Returns
        -------
        numpy.ndarray of int
            ``-1`` missing, ``0`` zero, ``1..k`` otherwise (values above the last bound fall in
            class ``k``).
        """
        return _assign(_as_float(values), self.bins)

    def color_of(self, values) -> list[str]:
        """Fill colour of each value under these classes.

        Parameters
        ----------
        values : array-like of float
            Values to colour.

        Returns
        -------
        list of str
            One hex colour per value.

        Examples
        --------
        >>> c = classify_values([0, 1, 2, 10, float("nan")], k=2)
        >>> c.color_of([0, float("nan")]) == [c.zero_color, c.missing_color]
        True
        """
        table = self.class_colors()
        return [table[int(c)] for c in self.classes_of(values)]

    def class_colors(self) -> dict[int, str]:
        """Colour of every class number, ``-1`` and ``0`` included.

        Returns
        -------
        dict of int to str
            Class number to hex colour.
        """
        table = {-1: self.missing_color, 0: self.zero_color}
        table.update({i + 1: color for i, color in enumerate(self.colors)})
        return table

    def class_labels(self) -> dict[int, str]:
        """Legend label of every class number, ``-1`` and ``0`` included.

        Returns
        -------
        dict of int to str
            Class number to label.
        """
        table = {-1: self.missing_label, 0: self.zero_label}
        table.update({i + 1: label for i, label in enumerate(self.labels)})
        return table

    def legend_items(self, include_empty: bool = True) -> list[tuple[str, str, int]]:
        """Legend rows, darkest class last, then zero and missing.

        Parameters
        ----------
        include_empty : bool, default True
            Keep the zero and missing rows even when no value falls in them (a legend that
            always shows both swatches reads the same on every map).

        Returns
        -------
        list of (label, color, count)
            One row per class ``1..k``, then ``(zero_label, zero_color, n_zero)`` and
            ``(missing_label, missing_color, n_missing)``.

        Examples
        --------
        >>> classify_values([0, 1, 2, 3, 4], k=2).legend_items()[-2:]
        [('No events', '#f2f2f2', 1), ('No data', '#bdbdbd', 0)]
        """
        rows = list(zip(self.labels, self.colors, self.counts, strict=True))
        for label, color, count in (
            (self.zero_label, self.zero_color, self.n_zero),
            (self.missing_label, self.missing_color, self.n_missing),
        ):
            if include_empty or count:
                rows.append((label, color, count))
        return rows

    def to_dict(self) -> dict:
        """Describe the classes as plain JSON-ready values.

        Returns
        -------
        dict
            ``scheme``, ``k``, ``bins``, ``labels``, ``colors``, ``counts``, ``n_zero``,
            ``n_missing`` and the special classes' labels and colours.
        """
        return {
            "scheme": self.scheme,
            "k": self.k,
            "bins": [float(b) for b in self.bins],
            "labels": list(self.labels),
            "colors": list(self.colors),
            "counts": [int(c) for c in self.counts],
            "n_zero": int(self.n_zero),
            "n_missing": int(self.n_missing),
            "zero_label": self.zero_label,
            "zero_color": self.zero_color,
            "missing_label": self.missing_label,
            "missing_color": self.missing_color,
        }


def normalize_scheme(scheme: str) -> str:
    """Return the canonical name of a classification scheme.

    Parameters
    ----------
    scheme : str
        A scheme name in any case, with or without underscores (``"NaturalBreaks"``,
        ``"natural-breaks"``, ``"fisher_jenks"``).

    Returns
    -------
    str
        A key of :data:`SCHEMES`.

    Raises
    ------
    ValueError
        If the scheme is unknown; the message lists the valid schemes.

    Examples
    --------
    >>> normalize_scheme("Natural-Breaks")
    'natural_breaks'
    """
    key = str(scheme).lower().replace("_", "").replace("-", "").replace(" ", "")
    if key not in _ALIASES:
        raise ValueError(f"scheme must be one of {', '.join(SCHEMES)} (got {scheme!r})")
    return _ALIASES[key]


def classify_values(
    values,
    scheme: str | None = None,
    k: int | None = None,
    bins=None,
    *,
    zero_label: str = ZERO_LABEL,
    missing_label: str = MISSING_LABEL,
    cmap: str | None = None,
) -> Classes:
    """Classify values into ``k`` colour classes, keeping zero and missing apart.

    Parameters
    ----------
    values : array-like of float
        One value per map feature; ``NaN``/``None`` is missing data, ``0`` means nothing recorded.
    scheme : str, optional
        ``"quantiles"``, ``"natural_breaks"``, ``"equal_interval"`` or ``"user_defined"``;
        default :data:`settings.SCHEME` (or ``"user_defined"`` when ``bins`` is given).
    k : int, optional
        Number of classes of non-zero values; default :data:`settings.K`. Reduced when there
        are fewer distinct non-zero values.
    bins : sequence of float, optional
        Upper bounds for ``"user_defined"``, increasing. The largest value is appended when it
        exceeds the last bound, so no value is left unclassed.
    zero_label, missing_label : str
        Legend labels of the zero and missing classes.
    cmap : str, optional
        Matplotlib colormap name; default :data:`settings.CMAP`.

    Returns
    -------
    Classes
        Bins, labels, class of each value, counts and colours.

    Raises
    ------
    ValueError
        If the scheme is unknown (the message lists the valid ones), ``k`` is not a positive
        integer, ``bins`` are missing, unsorted or given with another scheme.

    Examples
    --------
    >>> c = classify_values([0, 1, 2, 3, 5, 8, 13, float("nan")], k=3)
    >>> c.labels
    ['1-2', '3-6', '7-13']
    >>> c.class_of.tolist()
    [0, 1, 1, 2, 2, 3, 3, -1]
    """
    if bins is not None and scheme is None:
        scheme = "user_defined"
    scheme = normalize_scheme(settings.SCHEME if scheme is None else scheme)
    k = settings.K if k is None else k
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer (got {k!r})")
    k = int(k)
    if scheme == "user_defined":
        if bins is None:
            raise ValueError("scheme 'user_defined' needs bins (upper bounds, increasing)")
    elif bins is not None:
        raise ValueError(f"bins are only used with scheme 'user_defined' (got scheme {scheme!r})")

    y = _as_float(values)
    finite = ~np.isnan(y)
    if np.isinf(y[finite]).any():
        raise ValueError("values must be finite numbers or NaN (got an infinite value)")
    nonzero = y[finite & (y != 0)]
    integer = bool(np.all(np.equal(np.mod(y[finite], 1), 0)))

    if scheme == "user_defined":
        upper = _user_bins(bins, nonzero)
    else:
        upper = _scheme_bins(scheme, nonzero, k)
    if integer and upper.size:
        upper = np.unique(np.floor(upper))
    class_of = _assign(y, upper)
    n_classes = int(upper.size)
    counts = [int(np.sum(class_of == i + 1)) for i in range(n_classes)]
    return Classes(
        scheme=scheme,
        k=n_classes,
        bins=upper,
        labels=_labels(upper, nonzero, integer),
        class_of=class_of,
        counts=counts,
        colors=class_colors(n_classes, cmap),
        n_zero=int(np.sum(class_of == 0)),
        n_missing=int(np.sum(class_of == -1)),
        zero_label=zero_label,
        missing_label=missing_label,
        integer=integer,
    )


def class_colors(k: int, cmap: str | None = None) -> list[str]:
    """Sample ``k`` colours, light to dark, from a sequential colormap.

    The lightest end is skipped so the first class stays distinct from the zero-class grey.

    Parameters
    ----------
    k : int
        Number of colours.
    cmap : str, optional
        Matplotlib colormap name; default :data:`settings.CMAP`.

    Returns
    -------
    list of str
        ``k`` hex colours (``#rrggbb``).

    Examples
    --------
    >>> len(class_colors(5))
    5
    """
    if k <= 0:
        return []
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    colormap = colormaps[cmap or settings.CMAP]
    stops = [0.6] if k == 1 else np.linspace(0.2, 1.0, k)
    return [to_hex(colormap(float(s))) for s in stops]


def _as_float(values) -> np.ndarray:
    """Turn any array-like (pandas nullable included) into a float array with NaN for missing."""
    import pandas as pd

    if hasattr(values, "dtype"):
        series = pd.Series(values)
    else:
        series = pd.Series(list(values), dtype="object")
    return pd.to_numeric(series, errors="raise").astype("float64").to_numpy(na_value=np.nan)


def _assign(y: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Class number of each value: -1 NaN, 0 zero, else 1 + first bound >= value (capped at k)."""
    out = np.zeros(y.shape, dtype=int)
    out[np.isnan(y)] = -1
    positive = ~np.isnan(y) & (y != 0)
    if upper.size:
        idx = np.searchsorted(upper, y[positive], side="left")
        out[positive] = np.minimum(idx, upper.size - 1) + 1
    return out


def _scheme_bins(scheme: str, y: np.ndarray, k: int) -> np.ndarray:
    """Upper bounds of ``scheme`` for the non-zero values ``y``."""
    distinct = np.unique(y)
    if distinct.size == 0:
        return np.array([], dtype=float)
    if distinct.size <= k:
        return distinct.astype(float)
    if scheme == "natural_breaks":
        sample = np.sort(y)
        if sample.size > NATURAL_BREAKS_SAMPLE:
            positions = np.linspace(0, sample.size - 1, NATURAL_BREAKS_SAMPLE)
            sample = sample[np.round(positions).astype(int)]
        bounds = fisher_jenks_bins(sample, k)
    elif scheme == "quantiles":
        bounds = quantile_bins(y, k)
    else:
        bounds = equal_interval_bins(y, k)
    bounds = np.unique(np.asarray(bounds, dtype=float))
    bounds[-1] = max(bounds[-1], float(y.max()))
    return bounds


# The three schemes below give the very bins of ``mapclassify`` 2.x (``Quantiles``,
# ``EqualInterval``, ``FisherJenks``), to the bit: tests/test_classify.py compares them. They are
# written here in numpy because importing mapclassify (scipy, scikit-learn) costs 1-2 s, longer
# than a whole small build spends classifying.


def quantile_bins(y, k: int) -> np.ndarray:
    """Upper bounds of ``k`` quantile classes, as ``mapclassify.Quantiles(y, k).bins``.

    Percentiles are interpolated between the two nearest sorted values (``scipy.stats.
    scoreatpercentile``); repeated bounds collapse, so there may be fewer than ``k``.

    Parameters
    ----------
    y : array-like of float
        Values to classify (at least one).
    k : int
        Number of classes asked for.

    Returns
    -------
    numpy.ndarray of float
        Increasing upper bounds; the last is the largest value.

    Examples
    --------
    >>> quantile_bins([1, 2, 3, 4, 5, 6, 7, 8], 4).tolist()
    [2.75, 4.5, 6.25, 8.0]
    """
    ordered = np.sort(np.asarray(y, dtype=float).ravel())
    width = 100.0 / k
    percents = np.arange(width, 100 + width, width)
    if percents[-1] > 100.0:
        percents[-1] = 100.0
    return np.unique(np.array([_score_at_percent(ordered, p) for p in percents]))


def _score_at_percent(ordered: np.ndarray, percent: float) -> float:
    """One percentile of sorted values, with the arithmetic of scipy.stats.scoreatpercentile."""
    idx = percent / 100.0 * (ordered.size - 1)
    low = int(idx)
    if low == idx:
        return float(ordered[low])
    weights = np.array([(low + 1 - idx), (idx - low)], float)
    return float(np.add.reduce(ordered[low:low + 2] * weights) / weights.sum())


def equal_interval_bins(y, k: int) -> np.ndarray:
    """Upper bounds of ``k`` classes of equal width, as ``mapclassify.EqualInterval(y, k).bins``.

    Parameters
    ----------
    y : array-like of float
        Values to classify (at least two distinct).
    k : int
        Number of classes.

    Returns
    -------
    numpy.ndarray of float
        ``k`` increasing upper bounds; the last is the largest value.

    Examples
    --------
    >>> equal_interval_bins([0, 1, 10], 2).tolist()
    [5.0, 10.0]
    """
    values = np.asarray(y, dtype=float).ravel()
    high, low = max(values), min(values)
    width = (high - low) * 1.0 / k
    cuts = np.arange(low + width, high + width, width)
    if len(cuts) > k:  # floating point may give one cut too many
        cuts = cuts[0:k]
    cuts[-1] = high
    return cuts.copy()


def fisher_jenks_bins(y, k: int) -> np.ndarray:
    """Upper bounds of ``k`` natural-breaks classes, as ``mapclassify.FisherJenks(y, k).bins``.

    Fisher's exact optimisation (the least sum of squared deviations from the class means), with
    mapclassify's single-precision sums and its choice among equal sums, vectorised over the
    candidate lower bounds of each class. Quadratic in the number of values: give it a sample of
    a few hundred (see :data:`NATURAL_BREAKS_SAMPLE`).

    Parameters
    ----------
    y, k
        As in :func:`equal_interval_bins`; ``y`` needs at least ``k`` distinct values.

    Returns
    -------
    numpy.ndarray of float
        The bounds, as :func:`equal_interval_bins` gives them.

    Examples
    --------
    >>> fisher_jenks_bins([1, 2, 3, 10, 11, 12, 30], 3).tolist()
    [3.0, 12.0, 30.0]
    """
    values = np.sort(np.asarray(y, dtype=float).ravel())
    lower_of = _fisher_jenks_table(values, k)
    bounds = np.zeros(k + 1, dtype=values.dtype)
    bounds[k] = values[-1]
    bounds[0] = values[0]
    end = values.size
    for cls in range(k, 1, -1):
        pivot = int(lower_of[end, cls])
        bounds[cls - 1] = values[pivot - 2]
        end = pivot - 1
    return bounds[1:]


def _fisher_jenks_table(values: np.ndarray, k: int) -> np.ndarray:
    """Table of the best lower bound (1-based) of class ``j`` for the first ``n`` values."""
    n = values.size
    lower_of = np.zeros((n + 1, k + 1), dtype=np.int32)
    cost = np.zeros((n + 1, k + 1), dtype=np.float32)
    lower_of[1, 1:] = 1
    cost[2:, 1:] = np.inf
    as32 = values.astype(np.float32)
    for last in range(2, n + 1):
        # The class ending at value ``last`` starting at value ``last - m + 1``, m = 1..last:
        backwards = as32[:last][::-1]
        sums = np.cumsum(backwards, dtype=np.float32)
        squares = np.cumsum(backwards * backwards, dtype=np.float32)
        counts = np.arange(1, last + 1, dtype=np.float32)
        variance = squares - (sums * sums) / counts
        starts = last - np.arange(last - 1)  # 1-based first value of the class, m = 1..last-1
        before = starts - 1
        for cls in range(2, k + 1):
            total = variance[: last - 1] + cost[before, cls - 1]
            best = last - 2 - int(np.argmin(total[::-1]))  # the last m of equal cost wins
            lower_of[last, cls] = starts[best]
            cost[last, cls] = total[best]
        lower_of[last, 1] = 1
        cost[last, 1] = variance[last - 1]
    return lower_of


def _user_bins(bins, y: np.ndarray) -> np.ndarray:
    """Validate user bounds; append the largest value when it exceeds the last one."""
    upper = np.asarray(list(bins), dtype=float)
    if upper.ndim != 1 or upper.size == 0:
        raise ValueError("bins must be a non-empty list of upper bounds")
    if np.isnan(upper).any() or np.any(np.diff(upper) <= 0):
        raise ValueError(f"bins must be strictly increasing numbers (got {list(bins)!r})")
    if y.size and y.max() > upper[-1]:
        upper = np.append(upper, float(y.max()))
    return upper


def _fmt(value: float, integer: bool) -> str:
    """Short label number: integers as such, else up to 3 significant decimals."""
    if integer or float(value).is_integer():
        return str(int(round(value)))
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def _labels(upper: np.ndarray, y: np.ndarray, integer: bool) -> list[str]:
    """Range labels ``lower-upper`` for each class; integer ranges do not overlap."""
    labels = []
    if not upper.size:
        return labels
    if not y.size:  # user bins with no non-zero value to classify
        lower = 1.0 if integer else 0.0
    elif integer:
        lower = 1.0 if y.min() >= 1 else float(y.min())
    else:
        lower = float(y.min())
    for i, high in enumerate(upper):
        if i > 0:
            lower = upper[i - 1] + 1 if integer else upper[i - 1]
        if integer and lower >= high:
            labels.append(_fmt(high, integer))
        else:
            labels.append(f"{_fmt(lower, integer)}-{_fmt(high, integer)}")
    return labels
