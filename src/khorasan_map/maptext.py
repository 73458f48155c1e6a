"""The words of every map and report: labels, legend words, tooltip rows, headline and notes.

One definition shared by the HTML maps (:mod:`khorasan_map.render`) and the static outputs
(:mod:`khorasan_map.static`), so a report and the map it accompanies say the same thing in the
same words: metric names, the zero and missing classes, numbers, fatality figures, the source
and dataset lines, the left-out line and the headline (clash coverage first, its breakdown by
confidence before the split date, then every kind).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from khorasan_map import settings

__all__ = [
    "DATASET_LABELS",
    "EVIDENCE_COLUMNS",
    "FIGHTING_KINDS",
    "METRIC_LABELS",
    "NO_DATA",
    "PRECISION_MARKS",
    "Headline",
    "MapText",
    "class_labels",
    "confidence_line",
    "dataset_line",
    "date_text",
    "evidence_rows",
    "fatalities_text",
    "fatality_rows",
    "format_number",
    "HEADLINE_KINDS",
    "headline",
    "kinds_line",
    "lead_sentence",
    "left_out_line",
    "map_title",
    "map_text",
    "merge_reasons",
    "metric_label",
    "metric_values",
    "reason_counts",
    "sources_line",
    "step_headline",
    "summary_span",
    "text_or_none",
    "tooltip_rows",
    "value_text",
    "year_headlines",
    "span_ends",
    "span_text",
]

#: Legend and tooltip names of summary columns.
METRIC_LABELS: dict[str, str] = {
    "events": "Events",
    "n_clash": "Taliban-ISK clashes",
    "n_defection": "Taliban-to-ISK defections",
    "n_isk_attack_on_taliban": "ISK attacks on Taliban",
    "n_taliban_raid_on_isk": "Taliban raids on ISK",
    "n_other": "Other events",
    "fatalities": "Fatalities (best estimate)",
    "fatalities_low": "Fatalities (low estimate)",
    "fatalities_high": "Fatalities (high estimate)",
    "n_sources": "Distinct sources",
    "n_actors": "Distinct actors",
    "share_province_precise": "Share known only to the province",
    "first_year": "First year with an event",
    "last_year": "Last year with an event",
}


#: How the "Source:" line names each dataset.
DATASET_LABELS: dict[str, str] = {
    "khorasan_map": "khorasan_map sourced events (news and reports)",
    "acled": "ACLED",
    "ucdp": "UCDP GED",
    "user": "user-supplied events",
    "synthetic": "SYNTHETIC test data (not real events)",
}


NO_DATA = "No data"


#: How each point precision is drawn, in words, on every map and report (the legend's words).
PRECISION_MARKS: dict[str, str] = {
    "exact": "filled circle",
    "near": "small ring",
    "district": "dashed ring",
}


def text_or_none(value) -> str | None:
    """Return a cell as stripped text, None when missing or blank.

    Parameters
    ----------
    value : object
        A table cell.

    Returns
    -------
    str or None

    Examples
    --------
    >>> text_or_none("  Kabul "), text_or_none(float("nan")), text_or_none("")
    ('Kabul', None, None)
    """
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    text = str(value).strip()
    return text or None


def format_number(value) -> str:
    """Format a count or sum for people: whole numbers without decimals.

    Parameters
    ----------
    value : number or None

    Returns
    -------
    str
        ``"1,234"``, ``"2.5"``, or :data:`NO_DATA` when missing.

    Examples
    --------
    >>> format_number(1234.0), format_number(2.5), format_number(None)
    ('1,234', '2.5', 'No data')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return NO_DATA
    value = float(value)
    if value.is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def metric_values(table: pd.DataFrame, column: str) -> np.ndarray:
    """Return the values a map classes: a summary column, or a year from the date columns.

    Parameters
    ----------
    table : pandas.DataFrame
        A summary from :func:`khorasan_map.aggregate.summarize`.
    column : str
        A numeric column, or ``first_year`` / ``last_year``.

    Returns
    -------
    numpy.ndarray
        Floats, NaN where missing.

    Raises
    ------
    ValueError
        When the column is not in the table; the message lists the columns that are.
    """
    if column in ("first_year", "last_year"):
        source = "first_date" if column == "first_year" else "last_date"
        dates = pd.to_datetime(table[source], errors="coerce")
        return dates.dt.year.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    if column not in table:
        numeric = [
            c
            for c in table.columns
            if c not in ("geometry", "year") and pd.api.types.is_numeric_dtype(table[c])
        ]
        raise ValueError(
            f"column {column!r} is not in the summary; choose one of "
            + ", ".join(sorted(set(numeric) | {"first_year", "last_year"}))
        )
    values = pd.to_numeric(table[column], errors="coerce")
    return values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def class_labels(column: str) -> tuple[str, str]:
    """Return the legend labels of the zero and the missing class for a column.

    Parameters
    ----------
    column : str
        The mapped summary column.

    Returns
    -------
    tuple of str
        ``(zero_label, missing_label)``.

    Examples
    --------
    >>> class_labels("n_clash"), class_labels("fatalities")
    (('No events', 'No data'), ('None recorded', 'Not reported'))
    """
    if column in ("first_year", "last_year"):
        return "0", "No events"
    if column == "events" or column.startswith("n_"):
        return "No events", "No data"
    if column.startswith("fatalities"):
        return "None recorded", "Not reported"
    return "0", "No data"


def metric_label(column: str) -> str:
    """Return the name of a summary column for legends and tooltips.

    Parameters
    ----------
    column : str

    Returns
    -------
    str

    Examples
    --------
    >>> metric_label("n_clash"), metric_label("my_column")
    ('Taliban-ISK clashes', 'My column')
    """
    return METRIC_LABELS.get(column, column.replace("_", " ").capitalize())


def value_text(column: str, value: float, missing_label: str) -> str:
    """Write one mapped value: a share as a percentage, a year as a year, else a number.

    Parameters
    ----------
    column : str
        The mapped column.
    value : float
        Its value (NaN when missing).
    missing_label : str
        Text for a missing value (see :func:`class_labels`).

    Returns
    -------
    str

    Examples
    --------
    >>> value_text("share_province_precise", 0.25, "No data")
    '25%'
    """
    if value is None or math.isnan(value):
        return missing_label
    if column == "share_province_precise":
        return f"{value:.0%}"
    if column in ("first_year", "last_year"):
        return str(int(value))
    return format_number(value)


def fatalities_text(row) -> str:
    """Write fatality figures as a source gives them: best, range, or a lower bound only.

    Parameters
    ----------
    row : tuple of float
        ``(best, low, high)``, NaN where a figure is not given.

    Returns
    -------
    str
        ``"12"``, ``"12 (range 10-15)"``, ``"10-15 (no best estimate)"``, ``"at least 28"``,
        or ``"not reported"`` only when no figure is given at all.

    Examples
    --------
    >>> nan = float("nan")
    >>> fatalities_text((nan, 28.0, nan)), fatalities_text((nan, nan, nan))
    ('at least 28', 'not reported')
    """
    best, low, high = row
    has_low, has_high = not pd.isna(low), not pd.isna(high)
    if pd.isna(best):
        if has_low and has_high and low != high:
            return f"{format_number(low)}-{format_number(high)} (no best estimate)"
        if has_low and has_high:
            return format_number(low)
        if has_low:
            return f"at least {format_number(low)}"
        if has_high:
            return f"at most {format_number(high)}"
        return "not reported"
    text = format_number(best)
    if has_low and has_high and low != high:
        text += f" (range {format_number(low)}-{format_number(high)})"
    elif has_low and not has_high and low != best:
        text += f" (at least {format_number(low)})"
    return text


def fatality_rows(table: pd.DataFrame):
    """Yield ``(best, low, high)`` for each row of an events or summary table.

    Parameters
    ----------
    table : pandas.DataFrame
        With ``fatalities``, ``fatalities_low`` and ``fatalities_high`` (missing columns are
        read as NaN).

    Returns
    -------
    iterator of tuple of float
    """

    def column(name):
        if name in table:
            return pd.to_numeric(table[name], errors="coerce").tolist()
        return [math.nan] * len(table)

    return zip(column("fatalities"), column("fatalities_low"), column("fatalities_high"),
               strict=True)


def tooltip_rows(rec: dict, column: str, value: float, missing_label: str) -> list:
    """Return the rows of a province tooltip: mapped value, counts by kind, fatalities, dates.

    Parameters
    ----------
    rec : dict
        One summary row.
    column : str
        The mapped column.
    value : float
        Its value for this province.
    missing_label : str
        Text for a missing value.

    Returns
    -------
    list of [str, str]
        ``[label, text]`` pairs, in the order the tooltip shows them.
    """
    pairs = [[metric_label(column), value_text(column, value, missing_label)]]
    if column != "events" and "events" in rec:
        pairs.append(["Events", format_number(rec.get("events"))])
    for kind in settings.EVENT_KINDS:
        col = f"n_{kind}"
        if col in rec and col != column:
            pairs.append([settings.KIND_STYLES[kind]["label"], format_number(rec.get(col))])
    if "n_other" in rec and format_number(rec.get("n_other")) not in ("0", NO_DATA):
        pairs.append(["Other kinds", format_number(rec.get("n_other"))])
    if "fatalities" in rec and column != "fatalities":
        figures = tuple(rec.get(c, math.nan) for c in
                        ("fatalities", "fatalities_low", "fatalities_high"))
        pairs.append(["Fatalities", fatalities_text(figures)])
    first, last = text_or_none(rec.get("first_date")), text_or_none(rec.get("last_date"))
    if first or last:
        pairs.append(["First and last", f"{first or '?'} to {last or '?'}"])
    share = rec.get("share_province_precise")
    if share is not None and not pd.isna(share) and column != "share_province_precise":
        pairs.append(["Known only to the province", f"{float(share):.0%}"])
    return pairs


def reason_counts(obj) -> dict[str, int]:
    """Return ``{reason: count}`` from a dict, a Series or a left-out table.

    Parameters
    ----------
    obj : dict, pandas.Series, pandas.DataFrame (with a ``reason`` column) or None

    Returns
    -------
    dict of str to int
        Reasons with a non-zero count.

    Examples
    --------
    >>> reason_counts({"rejected as invalid": 2, "before since": 0})
    {'rejected as invalid': 2}
    """
    if obj is None:
        return {}
    if isinstance(obj, dict):
        return {str(k): int(v) for k, v in obj.items() if int(v)}
    if isinstance(obj, pd.DataFrame):
        if "reason" not in obj or obj.empty:
            return {}
        return {str(k): int(v) for k, v in obj["reason"].value_counts().items()}
    if isinstance(obj, pd.Series):
        return {str(k): int(v) for k, v in obj.items() if int(v)}
    return {str(k): int(v) for k, v in dict(obj).items() if int(v)}


def merge_reasons(*parts: dict) -> dict[str, int]:
    """Add up ``{reason: count}`` dicts; the largest count first.

    Parameters
    ----------
    *parts : dict of str to int

    Returns
    -------
    dict of str to int

    Examples
    --------
    >>> merge_reasons({"a": 1}, {"a": 2, "b": 5})
    {'b': 5, 'a': 3}
    """
    total: dict[str, int] = {}
    for part in parts:
        for key, value in part.items():
            total[key] = total.get(key, 0) + int(value)
    return dict(sorted(total.items(), key=lambda kv: (-kv[1], kv[0])))


def sources_line(datasets, source: str | None) -> str:
    """Write the "Source:" line from the events' dataset names, or the caller's own words.

    Parameters
    ----------
    datasets : iterable of str
        Values of the events' ``dataset`` column.
    source : str or None
        The caller's text; used as it is when given.

    Returns
    -------
    str

    Examples
    --------
    >>> sources_line(["acled"], None)
    'Source: ACLED'
    """
    if source:
        return f"Source: {source}"
    names = sorted({str(d) for d in datasets if text_or_none(d)})
    if not names:
        return "Source: not stated"
    return "Source: " + "; ".join(DATASET_LABELS.get(n, n) for n in names)


def dataset_line(datasets) -> str | None:
    """Name the shipped records' version when the events include them.

    Parameters
    ----------
    datasets : iterable of str
        Values of the events' ``dataset`` column; ``"khorasan_map"`` marks the shipped records.

    Returns
    -------
    str or None
        ``"Dataset: khorasan_map Taliban-ISK events 2.0.0 (2026-12-02)"`` from
        :func:`khorasan_map.dataset.shipped_dataset`, or None for other data.
    """
    from khorasan_map.dataset import SHIPPED_DATASET, shipped_dataset

    if SHIPPED_DATASET not in {str(d) for d in datasets}:
        return None

    return f"Dataset: {shipped_dataset().label}"


def left_out_line(reasons: dict[str, int]) -> str:
    """Write the "Left out:" line: how many events were not mapped, and why.

    Parameters
    ----------
    reasons : dict of str to int

    Returns
    -------
    str

    Examples
    --------
    >>> left_out_line({"before since": 2})
    'Left out: 2 events (2 before since)'
    """
    total = sum(reasons.values())
    if not total:
        return "Left out: none"
    parts = "; ".join(f"{n:,} {reason}" for reason, n in reasons.items())
    noun = "event" if total == 1 else "events"
    return f"Left out: {total:,} {noun} ({parts})"


# --------------------------------------------------------------------------------------------
# The headline: clash coverage first, by confidence, then every kind
# --------------------------------------------------------------------------------------------

#: The kinds the headline leads with when the caller chooses none: what ``khorasan-map
#: coverage`` counts by default.
HEADLINE_KINDS: tuple[str, ...] = ("clash",)


@dataclass(frozen=True)
class Headline:
    """The headline of a map or report, one figure a line, the lead figure first.

    Attributes
    ----------
    lines : tuple of str
        The lead coverage sentence, then (when known) its breakdown by confidence before the
        split date, then the every-kind figure naming the kinds.
    coverage : Coverage or None
        The coverage the lead line states (:func:`khorasan_map.aggregate.coverage`).
    """

    lines: tuple[str, ...]
    coverage: object = None

    @property
    def sentence(self) -> str:
        """The lead line."""
        return self.lines[0] if self.lines else ""


def confidence_line(before: dict[str, int], total: int, split_date: str, noun: str) -> str:
    """Write the breakdown by confidence of the provinces covered before the split date.

    Parameters
    ----------
    before : dict
        Provinces covered before the split at ``"high"``, ``"medium"`` (high and medium) and
        ``"low"`` (every grade).
    total : int
        Provinces in the layer.
    split_date : str
        ISO date of the split.
    noun : str
        What is counted, e.g. ``"Clashes"``.

    Returns
    -------
    str

    Examples
    --------
    >>> line = confidence_line({"high": 8, "medium": 12, "low": 14}, 34, "2021-08-15", "Clashes")
    >>> line[:60]
    'Clashes before 15 August 2021, by confidence: 8 of 34 provin'
    """
    day = pd.Timestamp(split_date)
    when = f"{day.day} {day.strftime('%B %Y')}"
    return (
        f"{noun} before {when}, by confidence: {before['high']} of {total} provinces at high, "
        f"{before['medium']} at high or medium, {before['low']} at every grade"
    )


def kinds_line(summary) -> str | None:
    """Write the every-kind figure from a summary, naming the kinds it counts.

    Parameters
    ----------
    summary : pandas.DataFrame
        Output of :func:`khorasan_map.aggregate.summarize` (every kind counted).

    Returns
    -------
    str or None
        For example "Every kind (clashes, defections, ISK attacks on the Taliban): events in
        24 of 34 provinces"; None without an ``events`` column.
    """
    from khorasan_map.aggregate import KIND_NOUNS

    if summary is None or "events" not in summary:
        return None
    counts = pd.to_numeric(summary["events"], errors="coerce").fillna(0).to_numpy() > 0
    count = summary.loc[counts, "province_code"].astype(str).nunique()
    total = summary["province_code"].astype(str).nunique()
    names = [
        KIND_NOUNS.get(kind, kind)
        for kind in settings.EVENT_KINDS
        if f"n_{kind}" in summary and pd.to_numeric(summary[f"n_{kind}"]).fillna(0).sum() > 0
    ]
    if "n_other" in summary and pd.to_numeric(summary["n_other"]).fillna(0).sum() > 0:
        names.append("other kinds")
    named = f" ({', '.join(names)})" if names else ""
    return f"Every kind{named}: events in {count} of {total} provinces"


def headline(events=None, summary=None, boundaries=None, *, since=None, until=None, kinds=None,
             min_confidence=None, coverage=None) -> Headline:
    """Compose the headline once, for every map and report of a build.

    Parameters
    ----------
    events : pandas.DataFrame, optional
        The events (joined to provinces); without them the lead line comes from ``summary``.
    summary : pandas.DataFrame, optional
        Every-kind summary, for the last line.
    boundaries : geopandas.GeoDataFrame, optional
        Province layer, as for :func:`khorasan_map.aggregate.coverage`.
    since, until, kinds, min_confidence
        The map's filters. The lead counts ``kinds`` (clashes when None, as ``khorasan-map
        coverage`` does); the confidence breakdown is given when ``min_confidence`` is None.
    coverage : Coverage or Headline, optional
        The lead coverage, already computed with these filters (or a whole headline, returned
        as it is).

    Returns
    -------
    Headline
    """
    from khorasan_map import aggregate

    if isinstance(coverage, Headline):
        return coverage
    lead_kinds = kinds if kinds is not None else HEADLINE_KINDS
    filters = {"since": since, "until": until, "kinds": lead_kinds}
    if events is None:
        return Headline(_summary_lead(summary, lead_kinds), None)
    cover = coverage or aggregate.coverage(events, boundaries, min_confidence=min_confidence,
                                           **filters)
    lines = [lead_sentence(cover, events, since, until, min_confidence)]
    if min_confidence is None:
        before = _before_by_grade(cover, events, boundaries, filters)
        noun = aggregate.kinds_noun(cover.kinds)
        lines.append(confidence_line(before, cover.total_provinces, cover.split_date, noun))
    every = kinds_line(summary)
    if every and kinds is None:
        lines.append(every)
    return Headline(tuple(lines), cover)


def lead_sentence(cover, events, since=None, until=None, min_confidence=None) -> str:
    """Write a coverage's sentence with its dates at the precision the counted records give.

    Parameters
    ----------
    cover : Coverage
        The coverage (:func:`khorasan_map.aggregate.coverage`).
    events : pandas.DataFrame
        The events it counted from, joined (``assigned_code``).
    since, until, min_confidence
        The coverage's filters: a window given is written as given (a day), otherwise each
        end is the first or last counted record's date at its precision (:func:`span_ends`).

    Returns
    -------
    str
        For example "Clashes recorded in 16 of 34 provinces (47%), 2014 to 2024-12-06".
    """
    from khorasan_map.aggregate import coverage_sentence, filter_events, kinds_noun

    kinds = None if list(cover.kinds) == ["all"] else cover.kinds
    counted = filter_events(events, since, until, kinds, min_confidence).events
    if "assigned_code" in counted:
        counted = counted[counted["assigned_code"].notna()]
    ends = span_ends(counted)
    if ends is None or not (cover.since and cover.until):
        return cover.sentence
    first = cover.since if since is not None else ends[0]
    last = cover.until if until is not None else ends[1]
    return coverage_sentence(kinds_noun(cover.kinds), cover.provinces_with_events,
                             cover.total_provinces, first, last)


def step_headline(table, kinds=None, overall=None, when="", total=None) -> list[str]:
    """Return the headline of one timeline step from its province table.

    Parameters
    ----------
    table : pandas.DataFrame
        The step's rows: one year's, or the provinces' totals up to a year (summary columns).
    kinds : None or sequence of str
        The kinds the lead counts (clashes when None, as :func:`headline`).
    overall : Headline, optional
        The all-years headline; its lead closes the lines.
    when : str
        Words placed after each figure, e.g. ``"in 2016"`` or ``"by the end of 2016"``.
    total : int, optional
        Provinces in the layer (default: the provinces in ``table``).

    Returns
    -------
    list of str
        ``["Clashes recorded in 2 of 34 provinces (6%) in 2016", "Every kind: ...", ...]``.

    Examples
    --------
    >>> t = pd.DataFrame({"province_code": ["A", "B"], "events": [1, 0], "n_clash": [0, 0]})
    >>> step_headline(t, when="in 2017")[0]
    'Clashes recorded in 0 of 2 provinces (0%) in 2017'
    >>> step_headline(t.assign(events=0), when="in 2018")
    ['No events recorded in 2018']
    """
    from khorasan_map.aggregate import coverage_sentence, kinds_noun

    lead_kinds = tuple(kinds) if kinds is not None else HEADLINE_KINDS
    columns = [f"n_{k}" for k in lead_kinds if f"n_{k}" in table] or ["events"]
    noun = kinds_noun(lead_kinds) if columns != ["events"] else "Events"
    total = table["province_code"].astype(str).nunique() if total is None else total
    lead = table[columns].apply(pd.to_numeric, errors="coerce").fillna(0).sum(axis=1) > 0
    every = pd.to_numeric(table["events"], errors="coerce").fillna(0) > 0
    n_lead = table.loc[lead.to_numpy(), "province_code"].nunique()
    n_every = table.loc[every.to_numpy(), "province_code"].nunique()
    suffix = f" {when}" if when else ""
    if not n_every:  # a step with no event of any kind says so, never "No data"
        lines = [f"No events recorded{suffix}"]
    else:
        lines = [f"{coverage_sentence(noun, int(n_lead), int(total))}{suffix}"]
    if kinds is None and n_every:
        lines.append(f"Every kind: events in {n_every} of {total} provinces{suffix}")
    if overall is not None and overall.lines:
        lines.append(f"All years: {overall.sentence}")
    return lines


def year_headlines(by_year, kinds=None, overall=None) -> dict[str, list[str]]:
    """Return a timeline's headline for each year: that year's figures, then all years' lead.

    Parameters
    ----------
    by_year : pandas.DataFrame
        A province-year summary (``summarize(..., by=("province", "year"))``).
    kinds : None or sequence of str
        The kinds the lead counts (clashes when None, as :func:`headline`).
    overall : Headline, optional
        The all-years headline; its lead closes each year's lines.

    Returns
    -------
    dict of str to list of str
        ``{"2016": ["Clashes recorded in 2 of 34 provinces (6%) in 2016", ...]}``
        (:func:`step_headline` of each year).
    """
    total = by_year["province_code"].astype(str).nunique()
    years = pd.to_numeric(by_year["year"], errors="coerce")
    return {
        str(year): step_headline(by_year[(years == year).to_numpy()], kinds, overall,
                                 f"in {year}", total)
        for year in sorted(int(y) for y in years.dropna().unique())
    }


def _before_by_grade(cover, events, boundaries, filters) -> dict[str, int]:
    """Provinces covered before the split at each grade: the coverage's own answer by grade.

    A coverage without ``by_confidence`` (an older one) is completed with two more counts.
    """
    graded = getattr(cover, "by_confidence", None) or {}
    if all(level in graded for level in ("high", "medium", "low")):
        return {level: int(graded[level]["before"]["provinces_with_events"])
                for level in ("high", "medium", "low")}
    from khorasan_map import aggregate

    before = {"low": cover.before["provinces_with_events"]}
    for level in ("high", "medium"):
        other = aggregate.coverage(events, boundaries, min_confidence=level, **filters)
        before[level] = other.before["provinces_with_events"]
    return before


def _summary_lead(summary, lead_kinds) -> tuple[str, ...]:
    """Headline lines from a summary alone (no events): the lead kinds' provinces, every kind."""
    from khorasan_map.aggregate import coverage_sentence, kinds_noun

    columns = [f"n_{k}" for k in lead_kinds if f"n_{k}" in summary]
    if not columns:
        columns = ["events"]
    counts = summary[columns].apply(pd.to_numeric, errors="coerce").fillna(0).sum(axis=1)
    with_events = summary.loc[counts.to_numpy() > 0, "province_code"].astype(str).nunique()
    total = summary["province_code"].astype(str).nunique()
    span = summary.attrs.get("span") or (None, None)
    noun = kinds_noun(lead_kinds) if columns != ["events"] else "Events"
    lines = [coverage_sentence(noun, int(with_events), int(total), span[0], span[1])]
    every = kinds_line(summary)
    if every:
        lines.append(every)
    return tuple(lines)


#: Kinds a title may call fighting; every other kind is named, not called fighting.
FIGHTING_KINDS: tuple[str, ...] = ("clash",)


def map_title(kinds=None) -> str:
    """Return the default title of a map of the chosen kinds; only clashes are called fighting.

    Parameters
    ----------
    kinds : None, str or sequence of str
        The kinds the map shows (None or ``"all"`` for every kind).

    Returns
    -------
    str
        :data:`khorasan_map.settings.MAP_TITLE` for clashes; otherwise a title naming the
        kinds, for example "Taliban and ISK: every recorded kind of event, by province".

    Examples
    --------
    >>> map_title(["defection"])
    'Taliban and ISK: defections, by province'
    """
    from khorasan_map.aggregate import kinds_noun

    if isinstance(kinds, str):
        kinds = [k.strip() for k in kinds.split(",") if k.strip()]
    if kinds and "all" not in kinds and set(kinds) <= set(FIGHTING_KINDS):
        return settings.MAP_TITLE
    noun = kinds_noun(kinds)
    if noun == "Events":
        return "Taliban and ISK: every recorded kind of event, by province"
    return f"Taliban and ISK: {noun[0].lower() + noun[1:]}, by province"


def date_text(date, start=None, end=None, precision=None) -> str:
    """Write an event's date at the precision its source gives, never finer.

    Parameters
    ----------
    date, start, end : date-like or None
        The event's ``date``, ``date_start`` and ``date_end``.
    precision : str, optional
        ``day``, ``month``, ``year``, ``range`` or ``unknown``.

    Returns
    -------
    str
        ``"2015-06-27"``, ``"June 2015"``, ``"2015"``, ``"2014-2015"`` (a range of whole years),
        ``"March 2015 to August 2015"`` (of whole months), ``"2017-04-25 to 2017-04-26"``, or
        ``"date unknown"``.

    Examples
    --------
    >>> date_text("2014-01-01", "2014-01-01", "2015-12-31", "range")
    '2014-2015'
    >>> date_text("2015-06-01", precision="month")
    'June 2015'
    """
    date, start, end = (pd.to_datetime(x, errors="coerce") if x is not None else pd.NaT
                        for x in (date, start, end))
    kind = (text_or_none(precision) or "day").lower()
    first = start if not pd.isna(start) else date
    if pd.isna(first) or kind == "unknown":
        return "date unknown"
    if kind == "year":
        return str(first.year)
    if kind == "month":
        return first.strftime("%B %Y")
    if kind != "range":
        return first.strftime("%Y-%m-%d")
    last = end if not pd.isna(end) else first
    if (first.month, first.day, last.month, last.day) == (1, 1, 12, 31):
        return str(first.year) if first.year == last.year else f"{first.year}-{last.year}"
    if first.day == 1 and last == last + pd.offsets.MonthEnd(0):
        a, b = first.strftime("%B %Y"), last.strftime("%B %Y")
        return a if a == b else f"{a} to {b}"
    return f"{first.strftime('%Y-%m-%d')} to {last.strftime('%Y-%m-%d')}"


def span_ends(events) -> tuple[str, str] | None:
    """Write the first and the last end of some events' span, each at its record's precision.

    Parameters
    ----------
    events : pandas.DataFrame
        Events with ``date`` and, where known, ``date_start``, ``date_end`` and
        ``date_precision``.

    Returns
    -------
    tuple of str, or None
        ``("2014", "2025-02-11")`` when the first record is dated only 2014-2015; None when
        no event is dated.

    Examples
    --------
    >>> events = pd.DataFrame({"date": ["2014-01-01", "2016-06-01"],
    ...     "date_start": ["2014-01-01", "2016-06-01"], "date_end": ["2015-12-31", "2016-06-30"],
    ...     "date_precision": ["range", "month"]})
    >>> span_ends(events)
    ('2014', 'June 2016')
    """
    if not len(events) or "date" not in events:
        return None
    date = pd.to_datetime(events["date"], errors="coerce")
    starts = pd.to_datetime(events.get("date_start", date), errors="coerce").fillna(date)
    ends = pd.to_datetime(events.get("date_end", date), errors="coerce").fillna(starts)
    if starts.isna().all():
        return None
    precision = events.get("date_precision", pd.Series("day", index=events.index))
    first, last = starts.idxmin(), ends.idxmax()
    return (_bound_text(starts[first], precision[first], ends[first], "start"),
            _bound_text(ends[last], precision[last], starts[last], "end"))


def span_text(events) -> str | None:
    """Write the span of some events as one text: :func:`span_ends` joined by "to".

    Parameters
    ----------
    events : pandas.DataFrame
        As for :func:`span_ends`.

    Returns
    -------
    str or None
        ``"2014 to 2025-02-11"``; one date when both ends read the same; None when no event
        is dated.

    Examples
    --------
    >>> span_text(pd.DataFrame({"date": ["2014-01-01"], "date_start": ["2014-01-01"],
    ...     "date_end": ["2015-12-31"], "date_precision": ["range"]}))
    '2014 to 2015'
    """
    ends_at = span_ends(events)
    if ends_at is None:
        return None
    return ends_at[0] if ends_at[0] == ends_at[1] else f"{ends_at[0]} to {ends_at[1]}"


def _bound_text(date, precision, other, side) -> str:
    """Write one end of a span: a whole year as the year, a whole month as the month."""
    kind = (text_or_none(precision) or "day").lower()
    if kind == "range":
        first, last = (date, other) if side == "start" else (other, date)
        if (first.month, first.day, last.month, last.day) == (1, 1, 12, 31):
            kind = "year"
        elif first.day == 1 and last == last + pd.offsets.MonthEnd(0):
            kind = "month"
    if kind == "year":
        return str(date.year)
    if kind == "month":
        return date.strftime("%B %Y")
    return date.strftime("%Y-%m-%d")


#: Columns of the report's province-by-province evidence table.
EVIDENCE_COLUMNS: tuple[str, ...] = (
    "Province", "Records", "Sources", "Best confidence", "First record", "Last record",
)


def evidence_rows(events, summary) -> list[list[str]]:
    """Return the report's evidence table: per province, what the map's figures rest on.

    Parameters
    ----------
    events : pandas.DataFrame
        The mapped events, joined (``assigned_code``).
    summary : pandas.DataFrame
        Their summary (:func:`khorasan_map.aggregate.summarize`), for names and sources.

    Returns
    -------
    list of list of str
        One row per province with records, most records first: the columns of
        :data:`EVIDENCE_COLUMNS`; dates at their precision (:func:`date_text`).
    """
    from khorasan_map.aggregate import index_in

    code = events["assigned_code" if "assigned_code" in events else "province_code"].astype(str)
    # Each grade's place in CONFIDENCE_LEVELS; -1 where not graded (below every grade).
    grade = index_in(events["confidence"], settings.CONFIDENCE_LEVELS)
    starts = pd.to_datetime(events["date_start"], errors="coerce").fillna(
        pd.to_datetime(events["date"], errors="coerce"))
    ends = pd.to_datetime(events["date_end"], errors="coerce").fillna(starts)
    facts = summary.drop(columns="geometry", errors="ignore").set_index(
        summary["province_code"].astype(str))
    frame = pd.DataFrame({"code": code, "grade": grade, "start": starts, "end": ends},
                         index=events.index)
    counts = frame.groupby("code", sort=False).size()
    best = frame.groupby("code")["grade"].max()
    # idxmin/idxmax over the dated rows only: each row label is the first of its extreme.
    first = frame[frame["start"].notna()].groupby("code")["start"].idxmin()
    last = frame[frame["end"].notna()].groupby("code")["end"].idxmax()
    rows = []
    for pcode, n in counts.items():
        if pcode not in facts.index:
            continue
        rows.append([
            str(facts.at[pcode, "province"]), int(n),
            format_number(facts.at[pcode, "n_sources"]) if "n_sources" in facts else "",
            settings.CONFIDENCE_LEVELS[best[pcode]] if best[pcode] >= 0 else "not graded",
            _event_date(events, first.get(pcode)), _event_date(events, last.get(pcode)),
        ])
    rows.sort(key=lambda r: (-r[1], r[0]))
    return [[r[0], f"{r[1]:,}", *r[2:]] for r in rows]


def _event_date(events, label) -> str:
    """Return one event's date (by index label) at its precision; unknown when undated."""
    if pd.isna(label):
        return "date unknown"
    row = events.loc[label]
    return date_text(row.get("date"), row.get("date_start"), row.get("date_end"),
                     row.get("date_precision"))


# --------------------------------------------------------------------------------------------
# The words around a static map
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MapText:
    """The words around a static map: title, subtitle, dates, source, headline and note.

    ``headline`` holds the :class:`Headline` lines joined by newlines.
    """

    title: str
    subtitle: str
    date_range: str
    source: str
    headline: str
    note: str


def map_text(
    summary, cover=None, *, title=None, subtitle=None, column="events", datasets=(), left_out=None
) -> MapText:
    """Compose the words printed around a map from a summary and its headline.

    Parameters
    ----------
    summary : geopandas.GeoDataFrame
        Output of :func:`khorasan_map.aggregate.summarize`.
    cover : Headline or Coverage, optional
        The headline (:func:`headline`), or a coverage whose sentence is the headline.
    title, subtitle : str, optional
        Override the default title and subtitle.
    column : str
        The summary column the map shows.
    datasets : iterable of str
        Dataset names of the mapped events (the ``dataset`` column), for the source line.
    left_out : dict, optional
        Events left out before the summary, ``{reason: count}`` (rows rejected by validation).

    Returns
    -------
    MapText
    """
    attrs = summary.attrs
    n_events = attrs.get("n_events", int(summary.get("events", pd.Series(dtype=float)).sum()))
    reasons = attrs.get("left_out_reasons", {}) or {}
    n_left = attrs.get("n_left_out", sum(reasons.values()))
    before = reason_counts(left_out)  # rows left out before the summary, e.g. rejected
    reasons = merge_reasons(reasons, before)
    n_left += sum(before.values())
    start, end = summary_span(summary)
    date_range = f"{start} to {end}" if start and end else "dates unknown"
    if isinstance(cover, Headline):
        lines = cover.lines
    else:
        lines = (cover.sentence,) if cover is not None else ()
    left = ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items()))
    note = f"{n_events:,} records mapped; {n_left:,} left out" + (f" ({left})" if left else "")
    datasets = list(datasets) or attrs.get("datasets") or ()
    source = sources_line(datasets, None)
    named = dataset_line(datasets)
    return MapText(
        title=title or map_title(attrs.get("kinds")),
        subtitle=subtitle or f"{metric_label(column)} by province",
        date_range=date_range,
        source=f"{source}. {named}" if named else source,
        headline="\n".join(lines),
        note=note,
    )


def summary_span(summary) -> tuple[str | None, str | None]:
    """Return the window a summary covers: its filters, else the span coverage() states.

    Parameters
    ----------
    summary : pandas.DataFrame
        Output of :func:`khorasan_map.aggregate.summarize`.

    Returns
    -------
    tuple of (str or None)
        First and last ISO date.
    """
    attrs = summary.attrs
    span = attrs.get("span") or (None, None)
    first = pd.Series(summary["first_date"]).dropna() if "first_date" in summary else pd.Series()
    last = pd.Series(summary["last_date"]).dropna() if "last_date" in summary else pd.Series()
    return (
        text_or_none(attrs.get("since")) or span[0] or (text_or_none(first.min()) if len(first)
                                                        else None),
        text_or_none(attrs.get("until")) or span[1] or (text_or_none(last.max()) if len(last)
                                                        else None),
    )
