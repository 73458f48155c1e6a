r"""Interactive maps of Taliban-ISK fighting: choropleth, points, combined and time slider.

Each function returns a :class:`folium.Map` that shows inline in Jupyter and saves with
:func:`khorasan_map.export.save_html` (``offline=True`` for a single self-contained file).

Safety
------
Event and boundary text is treated as hostile. It reaches the page only as JSON inside a
``<script type="application/json">`` element, with ``<``, ``>``, ``&``, U+2028 and U+2029 written
as ``\\u`` escapes so no value can close the element. A small script bundled in the page builds
every tooltip, popup, legend, headline and note with ``createElement`` and ``textContent``, never
``innerHTML``; source links are set through the ``href`` property only for ``http``/``https``
addresses (checked in Python with :func:`urllib.parse.urlsplit` and again in the browser with
``new URL``) and open with ``target="_blank" rel="noopener noreferrer"``; other addresses are
shown as text. folium's ``GeoJsonTooltip``, ``GeoJsonPopup``, ``Popup`` and ``Tooltip`` are not
used, and no data passes through a Jinja template.

Determinism
-----------
Element ids are counters (``map_km0001`` ...) set in creation order, rows are sorted, and nothing
depends on the clock, so the same input renders to the same HTML.

Element classes (for tests and custom CSS)
------------------------------------------
===========================  ===========================================================
``.km-headline``             the coverage sentence (top right)
``.km-furniture``            title (``.km-title``), subtitle (``.km-subtitle``) and notes
                             (``.km-note``): dates, source, record count, left out
``.km-legend``               the legend: ``.km-legend-title``, ``.km-legend-heading``,
                             ``.km-legend-item`` (``data-class`` = class number; -1 no
                             data, 0 no events), ``.km-legend-label``, ``.km-legend-count``,
                             swatches ``.km-swatch``
``path.km-province``         one SVG path per province (``data-province`` = ISO code)
``path.km-defection-outline`` thick outline of provinces with defections (combined map)
``path.km-point``            an event point (``.km-point-exact``, ``-near``, ``-district``)
``.km-badge``                count of province-only events at a province's centre
``.km-tooltip``              tooltip content: ``.km-name`` (English), ``.km-name-dari``
                             (``lang="fa-AF"``), rows ``.km-row`` of ``.km-key``/``.km-value``
``.km-popup``                popup content: ``.km-popup-title``, ``.km-description``,
                             ``a.km-source-link``
``.km-slider``               the year slider (``data-step`` = year shown);
                             ``input.km-slider-input``, ``.km-slider-label``
``script.km-data``           the map's data (JSON), one per map
===========================  ===========================================================

Text containers carry ``dir="auto"`` so right-to-left Dari reads correctly.
"""

from __future__ import annotations

import functools
import html as _html
import itertools
import json
import os
import re
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from khorasan_map import settings
from khorasan_map.classify import Classes, classify_values
from khorasan_map.maptext import (
    DATASET_LABELS,
    METRIC_LABELS,
    Headline,
    class_labels,
    dataset_line,
    fatalities_text,
    headline,
    left_out_line,
    map_title,
    merge_reasons,
    metric_label,
    metric_values,
    reason_counts,
    sources_line,
    step_headline,
    summary_span,
    text_or_none,
    tooltip_rows,
)
from khorasan_map.pointlayer import canvas_table, uses_canvas
from khorasan_map.web import web_file

__all__ = [
    "ADDITIVE_COLUMNS",
    "ALL_YEARS",
    "DATASET_LABELS",
    "DEFAULT_TILES",
    "ELEMENT_CLASSES",
    "MAP_TYPES",
    "METRIC_LABELS",
    "PreparedPoints",
    "choropleth_map",
    "combined_map",
    "filter_counts",
    "points_map",
    "prepare_points",
    "safe_json",
    "safe_url",
    "step_key",
    "tile_provider",
    "timeline_map",
]

#: Map types of :func:`khorasan_map.cli` ``map --type``.
MAP_TYPES: tuple[str, ...] = ("choropleth", "points", "combined", "timeline")

#: CSS classes every map gives its parts (see the module notes).
ELEMENT_CLASSES: dict[str, str] = {
    "legend": "km-legend",
    "headline": "km-headline",
    "furniture": "km-furniture",
    "tooltip": "km-tooltip",
    "popup": "km-popup",
    "province": "km-province",
    "point": "km-point",
    "badge": "km-badge",
    "slider": "km-slider",
    "data": "km-data",
}


#: Where online maps load Leaflet.markercluster: the same 1.4.1 that offline maps inline from
#: the xstatic-leaflet-markercluster package.
_CLUSTER_CDN = "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.4.1"

#: Stands for :data:`khorasan_map.settings.TILES`, read when a map is made.
DEFAULT_TILES: str = "default"

#: Points maps cluster above this many points unless told otherwise.
CLUSTER_THRESHOLD: int = 300

#: Coordinates are stored as integers of 1/COORD_SCALE degree (1e-4 degree, about 11 m).
COORD_SCALE: int = 10_000

#: Descriptions longer than this are cut (with an ellipsis) in popups.
MAX_DESCRIPTION: int = 600

#: Legend labels of the point precisions: the shared words and this map's marker.
PRECISION_LABELS: dict[str, str] = {
    p: f"{settings.PRECISION_LABELS[p]} ({marker})"
    for p, marker in (("exact", "filled"), ("near", "small ring"), ("district", "dashed ring"))
}


#: Whitespace and control characters: never inside an address that becomes a link.
_BAD_URL_CHARS = re.compile(r"[\s\x00-\x1f\x7f]")

#: Stands for the event's own id inside source titles and addresses (see ``_source_table``).
ID_MARK: str = "\x00"


def __getattr__(name: str):
    """Old names of the page code, kept as aliases: the files under ``khorasan_map/web``."""
    aliases = {"JS_LIB": "kmlib.js", "CSS": "kmlib.css"}
    if name in aliases:
        return web_file(aliases[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------------------------
# Safe text, JSON and URLs
# --------------------------------------------------------------------------------------------


def safe_json(obj) -> str:
    r"""Serialise data for a ``<script>`` element so no value can end the element.

    Parameters
    ----------
    obj : JSON-ready object
        Dicts, lists, strings, finite numbers, booleans and None.

    Returns
    -------
    str
        Compact JSON, UTF-8 text kept as is (Dari stays readable), with ``<``, ``>``, ``&``,
        U+2028 and U+2029 as ``\u`` escapes.

    Examples
    --------
    >>> safe_json({"d": "</script><b>"})
    '{"d":"\\u003c/script\\u003e\\u003cb\\u003e"}'
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


class SharedJSON(dict):
    """A JSON-ready table several pages embed as it is: encoded by :func:`safe_json` once.

    A map's data is encoded with each such table of its top level spliced in from
    :attr:`json` (:func:`_spec_json`); the page is the same as if it were encoded in place.
    Leave the table unchanged once made.
    """

    @functools.cached_property
    def json(self) -> str:
        """The table as :func:`safe_json` writes it."""
        return safe_json(dict(self))


def _spec_json(spec: dict) -> str:
    """``safe_json(spec)``, with each :class:`SharedJSON` value of its top level spliced in."""
    shared = {key: value for key, value in spec.items() if isinstance(value, SharedJSON)}
    if not shared:
        return safe_json(spec)
    marks = {key: f"km-shared-{uuid.uuid4().hex}" for key in shared}  # in no text of the spec
    text = safe_json({**spec, **marks})
    for key, mark in marks.items():
        text = text.replace(f'"{mark}"', shared[key].json, 1)
    return text


def safe_url(value) -> str | None:
    """Return a source address if it is a plain ``http`` or ``https`` URL, else None.

    Parameters
    ----------
    value : object
        The address as given.

    Returns
    -------
    str or None
        The stripped address, or None for any other scheme (``javascript:``, ``data:``,
        relative paths), whitespace or control characters inside, or no host.

    Examples
    --------
    >>> safe_url("https://example.org/a?b=1"), safe_url("javascript:alert(1)")
    ('https://example.org/a?b=1', None)
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or _BAD_URL_CHARS.search(text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return text


def _color(value: str) -> str:
    """Only ``#rrggbb`` colours reach style properties."""
    text = str(value)
    if len(text) == 7 and text[0] == "#" and all(c in "0123456789abcdefABCDEF" for c in text[1:]):
        return text.lower()
    raise ValueError(f"colour {value!r} is not #rrggbb")


# --------------------------------------------------------------------------------------------
# folium plumbing: raw elements, assets, stable ids
# --------------------------------------------------------------------------------------------


def _element_classes():
    """Build the folium element classes lazily (folium is imported only when a map is made)."""
    from branca.element import Element, MacroElement
    from folium.elements import JSCSSMixin

    class Raw(Element):
        """Text placed in the page as is: never parsed as a Jinja template."""

        def __init__(self, text: str):
            super().__init__()
            self._name = "KmRaw"
            self._text = text

        def render(self, **kwargs):
            return self._text

    class Assets(MacroElement):
        """The page's styles (``web/kmlib.css``), once per map."""

        def __init__(self):
            super().__init__()
            self._name = "KmAssets"

        def render(self, **kwargs):
            figure = self.get_root()
            figure.header.add_child(Raw(f"<style>{web_file('kmlib.css')}</style>"), name="km_css")

    class ClusterAssets(JSCSSMixin):
        """Leaflet.markercluster 1.4.1, the version export inlines offline, from the CDN."""

        default_js = [("markerclusterjs", f"{_CLUSTER_CDN}/leaflet.markercluster.js")]
        default_css = [
            ("markerclustercss", f"{_CLUSTER_CDN}/MarkerCluster.css"),
            ("markerclusterdefaultcss", f"{_CLUSTER_CDN}/MarkerCluster.Default.css"),
        ]

        def __init__(self):
            super().__init__()
            self._name = "KmClusterAssets"

    class Layer(MacroElement):
        """The map's data (JSON), the element that names its Leaflet variables, and the script.

        ``web/kmlib.js`` comes after every layer group is made and draws the map from the
        ``script.km-boot`` element: no script is written from Python.
        """

        def __init__(self, spec: dict, groups: dict):
            super().__init__()
            self._name = "KmLayer"
            self._payload = _spec_json(spec)
            self._canvas = bool((spec.get("points") or {}).get("canvas"))
            self._groups = groups

        @property
        def data_id(self) -> str:
            return "km-data-" + self.get_name()

        def render(self, **kwargs):
            figure = self.get_root()
            boot = {
                "data": self.data_id,
                "map": self._parent.get_name(),
                "groups": {k: g.get_name() for k, g in self._groups.items()},
            }
            figure.html.add_child(
                Raw(
                    f'<script type="application/json" class="km-data" id="{self.data_id}">'
                    f"{self._payload}</script>"
                    f'<script type="application/json" class="km-boot">{safe_json(boot)}</script>'
                ),
                name=self.get_name(),
            )
            if self._canvas:
                figure.script.add_child(Raw(web_file("kmcanvas.js")), name="km_canvas")
            figure.script.add_child(Raw(web_file("kmlib.js")), name="km_lib")

    return Raw, Assets, ClusterAssets, Layer


def _stabilize(m) -> None:
    """Give every element a counter id in tree order, so the page is the same on every run."""
    counter = itertools.count(1)
    seen: set[int] = set()

    def walk(node):
        if id(node) in seen:
            return
        seen.add(id(node))
        node._id = f"km{next(counter):04d}"
        for attr in ("header", "html", "script"):
            part = getattr(node, attr, None)
            if part is not None and hasattr(part, "_children"):
                walk(part)
        for child in list(getattr(node, "_children", {}).values()):
            walk(child)

    walk(m.get_root())


def _base_map(tiles):
    """Make a folium map over Afghanistan with only Leaflet's own assets and optional tiles."""
    import folium

    if tiles == DEFAULT_TILES:
        tiles = settings.TILES  # read when the map is made: run-time overrides work
    if isinstance(tiles, str) and tiles.strip().lower() in ("", "none"):
        tiles = None

    bounds = settings.AFGHANISTAN_BOUNDS
    center = [(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2]
    m = folium.Map(location=center, zoom_start=6, tiles=None, control_scale=True)
    # The maps use no jQuery, Bootstrap or icon fonts: load Leaflet only.
    m.default_js = [item for item in m.default_js if item[0] == "leaflet"]
    m.default_css = [item for item in m.default_css if item[0] == "leaflet_css"]
    if tiles:
        provider = tile_provider(tiles)
        folium.TileLayer(
            provider.build_url(scale_factor="{r}"),
            attr=provider.html_attribution,
            name=_html.escape(f"Basemap: {provider.name}"),
            max_zoom=provider.get("max_zoom", 19),
            control=False,
        ).add_to(m)
    return m


def tile_provider(name):
    """Return the xyzservices provider for a tile name, refusing those that need an API key.

    Parameters
    ----------
    name : str
        An xyzservices name, for example ``"OpenStreetMap.Mapnik"``.

    Returns
    -------
    xyzservices.TileProvider

    Raises
    ------
    ValueError
        For an unknown name, or tiles that need an API key; the message names the default.
    """
    import xyzservices

    try:
        provider = xyzservices.providers.query_name(name)
    except ValueError:
        raise ValueError(
            f"unknown tiles {name!r}; use an xyzservices name such as {settings.TILES!r}"
        ) from None
    if provider.requires_token():
        raise ValueError(f"tiles {provider.name!r} need an API key; use {settings.TILES!r}")
    return provider


def _finish(m, spec: dict, groups: dict, *, cluster: bool = False, layer_control: bool = False):
    """Attach assets and data, the layer control, and stable ids."""
    import folium

    _, Assets, ClusterAssets, Layer = _element_classes()
    Assets().add_to(m)
    if cluster:
        ClusterAssets().add_to(m)
    for group in groups.values():
        group.add_to(m)
    b = settings.AFGHANISTAN_BOUNDS
    spec["fit"] = [[b[1], b[0]], [b[3], b[2]]]
    Layer(spec, groups).add_to(m)
    if layer_control:
        folium.LayerControl(collapsed=False).add_to(m)
    _stabilize(m)
    return m


def _group(name: str, show: bool = True):
    import folium

    return folium.FeatureGroup(name=_html.escape(name), show=show)


# --------------------------------------------------------------------------------------------
# Boundaries and summaries
# --------------------------------------------------------------------------------------------


def _web_layer():
    from khorasan_map.boundaries import load_provinces

    return load_provinces(web=True)


def _prepare_layer(layer):
    """Province layer in EPSG:4326, sorted by code, with name columns."""
    from khorasan_map.errors import BoundaryError

    if "province_code" not in layer:
        raise BoundaryError("the boundary layer has no 'province_code' column")
    if layer.crs is not None and layer.crs.to_string() != settings.CRS:
        layer = layer.to_crs(settings.CRS)
    layer = layer.sort_values("province_code", kind="stable").reset_index(drop=True)
    if "province" not in layer:
        layer = layer.assign(province=layer["province_code"])
    if "province_dari" not in layer:
        layer = layer.assign(province_dari=None)
    return layer


def _drawing_layer(boundaries, summary=None):
    """Pick the layer to draw: the user's, else the web layer (or the summary's own shapes)."""
    if boundaries is not None:
        return _prepare_layer(boundaries)
    web = _web_layer()
    if summary is not None and "geometry" in summary:
        codes = set(summary["province_code"].dropna().astype(str))
        if not codes <= set(web["province_code"]):
            geo = summary.drop_duplicates("province_code")
            return _prepare_layer(geo[["province_code", "province", "geometry"]].copy())
    return _prepare_layer(web)


def _geojson(layer, precision: int = 4) -> dict:
    """Compact FeatureCollection: rounded coordinates, one property ``i`` (row number)."""
    import shapely
    from shapely.geometry import mapping

    geoms = np.asarray(layer.geometry.values, dtype=object)
    rounded = shapely.transform(geoms, lambda c: np.round(c, precision))
    features = []
    for i, geom in enumerate(rounded):
        if geom is None or geom.is_empty:
            continue
        features.append({"type": "Feature", "properties": {"i": i}, "geometry": mapping(geom)})
    return {"type": "FeatureCollection", "features": features}


def _is_summary(obj) -> bool:
    return (
        isinstance(obj, pd.DataFrame)
        and "province_code" in obj
        and "events" in obj
        and "event_id" not in obj
    )


def _events_frame(events):
    """Events as a DataFrame (a JoinResult or ValidationResult is unwrapped)."""
    from khorasan_map.aggregate import events_frame

    return events_frame(events)


def _records(table: pd.DataFrame) -> dict[str, dict]:
    """Summary rows keyed by province code, geometry dropped."""
    cols = [c for c in table.columns if c != "geometry"]
    out = {}
    for rec in table[cols].to_dict("records"):
        out[str(rec["province_code"])] = rec
    return out


# --------------------------------------------------------------------------------------------
# Furniture and legend
# --------------------------------------------------------------------------------------------


def _furniture(
    title,
    subtitle,
    date_range,
    source_text,
    n_records,
    reasons,
    extra=(),
    boundary_source=None,
    left_out=None,
    datasets=(),
    kinds=None,
):
    reasons = merge_reasons(reasons, reason_counts(left_out))
    lines = []
    if date_range and (date_range[0] or date_range[1]):
        lines.append(f"Dates: {date_range[0] or 'start'} to {date_range[1] or 'end'}")
    lines.append(source_text)
    named = dataset_line(datasets)
    if named:
        lines.append(named)
    if boundary_source:
        lines.append(f"Boundaries: {boundary_source}")
    noun = "event" if n_records == 1 else "events"
    lines.append(f"Records: {n_records:,} {noun} mapped")
    lines.append(left_out_line(reasons))
    lines.extend(extra)
    title = title or map_title(kinds)  # every map has a title, as the static ones do
    return {"title": text_or_none(title), "subtitle": text_or_none(subtitle), "lines": lines}


def _class_items(classes: Classes, counts: bool = True) -> list[dict]:
    items = []
    for i, (label, color, count) in enumerate(
        zip(classes.labels, classes.colors, classes.counts, strict=True)
    ):
        items.append(
            {"type": "fill", "key": i + 1, "label": label, "color": _color(color), "count": count}
        )
    items.append(
        {
            "type": "fill",
            "key": 0,
            "label": classes.zero_label,
            "color": _color(classes.zero_color),
            "count": classes.n_zero,
        }
    )
    items.append(
        {
            "type": "fill",
            "key": -1,
            "label": classes.missing_label,
            "color": _color(classes.missing_color),
            "count": classes.n_missing,
        }
    )
    if not counts:
        for item in items:
            item["count"] = None
    return items


def _class_note(classes: Classes) -> str:
    scheme = classes.scheme.replace("_", " ")
    n = classes.k
    return (
        f"Classes: {scheme}, {n} class{'es' if n != 1 else ''} of non-zero values; "
        "(n) = provinces in the class."
    )


def _kind_table(kinds_present) -> list[dict]:
    """Known kinds first, in settings order, then any others present, sorted."""
    keys = list(settings.EVENT_KINDS) + sorted(
        {str(k) for k in kinds_present if text_or_none(k)} - set(settings.EVENT_KINDS)
    )
    table = []
    for key in keys:
        style = settings.KIND_STYLES.get(key)
        if style is None:
            style = {
                "color": settings.OTHER_KIND_STYLE["color"],
                "label": f"{settings.OTHER_KIND_STYLE['label']}: {key}",
            }
        table.append({"key": key, "label": style["label"], "color": _color(style["color"])})
    return table


def _points_legend_sections(points: dict, stats: dict) -> list[dict]:
    """Legend of the points: kinds as colours, then the precisions drawn, with their counts.

    A kind is a colour (a chip, no shape); the shapes are the precisions, listed only when
    some point is drawn with them, so the legend shows what the map shows.
    """
    kind_counts = stats["kind_counts"]
    kind_items = [
        {"type": "fill", "color": k["color"], "label": k["label"], "kind": k["key"],
         "count": int(kind_counts.get(k["key"], 0))}
        for k in points["kinds"]
        if k["key"] in settings.EVENT_KINDS or kind_counts.get(k["key"], 0)
    ]
    drawn = pd.Series([points["meta"][m][1] for m in points["m"]], dtype="int64").value_counts()
    precision_items = [
        {"type": "marker", "precision": p, "color": "#555555", "label": label,
         "count": int(drawn.get(i, 0))}
        for i, (p, label) in enumerate(PRECISION_LABELS.items())
        if drawn.get(i, 0)
    ]
    if stats["n_province"]:
        precision_items.append(
            {
                "type": "badge",
                "label": "Province only: count at the province centre, not a location",
                "count": stats["n_province"],
            }
        )
    return [
        {"title": "Event kind: colour (count)", "items": kind_items},
        {"title": "Location precision: shape (count)", "items": precision_items},
    ]


# --------------------------------------------------------------------------------------------
# Events to points
# --------------------------------------------------------------------------------------------


def _filter(events, since, until, kinds, min_confidence):
    from khorasan_map.aggregate import filter_events

    result = filter_events(events, since, until, kinds, min_confidence)
    return result.events, reason_counts(result.left_out)


def _column(events: pd.DataFrame, name: str) -> pd.Series:
    if name in events:
        return events[name]
    return pd.Series([None] * len(events), index=events.index, dtype=object)


def _str_column(events: pd.DataFrame, name: str) -> pd.Series:
    """Return a text column (Arrow-backed) with missing values as "" (stripped)."""
    return _column(events, name).astype("string[pyarrow]").str.strip().fillna("")


def _date_display(events: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Display date per event (respecting its precision) and its year as text (or None)."""
    date = pd.to_datetime(_column(events, "date"), errors="coerce")
    start = pd.to_datetime(_column(events, "date_start"), errors="coerce").fillna(date)
    end = pd.to_datetime(_column(events, "date_end"), errors="coerce").fillna(start)
    precision = _str_column(events, "date_precision").str.lower()
    day = _strftime(date, "%Y-%m-%d")
    text = np.where(
        precision == "month",
        _strftime(date, "%Y-%m") + " (month)",
        np.where(
            precision == "year",
            _strftime(date, "%Y") + " (year)",
            np.where(
                precision == "range",
                _strftime(start, "%Y-%m-%d") + " to " + _strftime(end, "%Y-%m-%d"),
                day,
            ),
        ),
    )
    text = pd.Series(text, index=events.index, dtype=object)
    text[date.isna()] = "date unknown"
    year = date.dt.year.astype("Int64").astype("string").astype(object)
    year = year.where(date.notna(), None)
    return text, year


def _strftime(dates: pd.Series, fmt: str) -> pd.Series:
    """``dates.dt.strftime(fmt)`` with missing dates as "", formatting each distinct date once."""
    codes, uniques = pd.factorize(dates)
    table = np.append(pd.DatetimeIndex(uniques).strftime(fmt).to_numpy(object), "")
    return pd.Series(table[codes], index=dates.index, dtype=object)  # code -1: the ""


def _row_codes(*columns) -> tuple[np.ndarray, np.ndarray]:
    """Code each row's combination of values, in order of first appearance.

    Returns the codes and, for each code, the first row holding it.
    """
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        if isinstance(column, list):
            column = pd.Series(column, dtype=object)
        codes, uniques = pd.factorize(column, use_na_sentinel=False)
        key, _ = pd.factorize(key * len(uniques) + codes)
    codes = np.asarray(key, dtype=np.int64)
    first = np.full(codes.max() + 1 if len(codes) else 0, len(codes), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(codes)))
    return codes, first


def _factorize_by(make, *columns) -> tuple[list[int], list]:
    """``_factorize([make(*row) for row in zip(*columns)])``, calling ``make`` once a distinct row.

    The table is the same, in the same order: a value first appears at the first row of the
    first combination that makes it.
    """
    codes, first = _row_codes(*columns)
    picked = [_rows_of(column, first) for column in columns]
    made_codes, table = _factorize([make(*row) for row in zip(*picked, strict=True)])
    return np.asarray(made_codes, dtype=np.int64)[codes].tolist(), table


def _rows_of(column, rows: np.ndarray) -> np.ndarray:
    """Return the values of ``column`` (a Series, an array or a list) at ``rows``, as objects."""
    if isinstance(column, pd.Series):
        return column.iloc[rows].to_numpy(object)
    return np.asarray(column, dtype=object)[rows]


def _factorize(values) -> tuple[list[int], list]:
    """Codes and table of unique values in order of first appearance."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    return codes.tolist(), [None if (u is None or u == "") else u for u in uniques.tolist()]


def _cut(text: str) -> str:
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 1].rstrip() + "…"


#: How exactly a point stands where the event happened, in a popup's words.
_PLACE_LABELS = {"exact": "exact", "near": "near a named place", "district": "district centre"}


def _place_text(precision: str, district: str, province: str) -> str:
    """Return a popup's place line: district, province and how exact the point is."""
    where = ", ".join(x for x in (f"{district} district" if district else "", province) if x)
    label = _PLACE_LABELS.get(precision, precision)
    return f"{where} ({label})" if where else label


def _actors_text(actor1: str, actor2: str) -> str:
    return " and ".join(x for x in (actor1, actor2) if x)


def _fatalities_cell(best: float, low: float, high: float) -> str:
    return fatalities_text((best, low, high))


#: The columns a popup reads (:func:`_points_table`) and a badge counts (:func:`_badges`).
_POINT_COLUMNS = (
    "event_id", "kind", "date", "date_start", "date_end", "date_precision", "latitude",
    "longitude", "location_precision", "district", "province", "actor1", "actor2",
    "description", "fatalities", "fatalities_low", "fatalities_high", "confidence",
    "source_name", "source_title", "source_url", "source_date",
)
_BADGE_COLUMNS = ("kind", "confidence", "date", "date_start", "date_end", "date_precision")


def _columns(events: pd.DataFrame, names) -> pd.DataFrame:
    """Return the events' columns of ``names`` that it has (fewer columns to copy)."""
    return events[[name for name in names if name in events]]


@dataclass
class PreparedPoints:
    """Events made ready to draw, once, for every map that shows them (:func:`prepare_points`).

    Attributes
    ----------
    points : dict
        The points table the page draws (compact JSON-ready columns; see ``kmlib.js``).
    badges : dict
        Counts of province-only events at each province's centre.
    stats : dict
        ``n_points``, ``n_province``, ``n_kept``, ``reasons`` (left out, with counts),
        ``kind_counts``, ``datasets`` and ``dates`` (first and last day).
    layer : geopandas.GeoDataFrame
        The province layer the badges stand on.
    """

    points: dict
    badges: dict
    stats: dict
    layer: object = field(repr=False, default=None)
    #: Each map's drawing of the points, by clustering choice (:func:`_clustered`): made, and
    #: encoded as JSON, once for every map of a build that draws them the same way.
    drawn: dict = field(repr=False, default_factory=dict, compare=False)


def prepare_points(events, boundaries=None, *, since=None, until=None, kinds=None,
                   min_confidence=None, layer=None) -> PreparedPoints:
    """Split events into drawable points, province-only counts and the left out, and encode them.

    A build prepares the points once and hands them to every map that draws them
    (``prepared=`` of :func:`points_map`, :func:`combined_map` and :func:`timeline_map`).

    Parameters
    ----------
    events : pandas.DataFrame or JoinResult
        Events in the toolkit's schema.
    boundaries : geopandas.GeoDataFrame, optional
        Province layer for the badges; the shipped web layer by default.
    since, until, kinds, min_confidence
        Filters, as in :func:`khorasan_map.aggregate.filter_events`.
    layer : geopandas.GeoDataFrame, optional
        The drawing layer already prepared from ``boundaries`` (saves preparing it again).

    Returns
    -------
    PreparedPoints

    Examples
    --------
    >>> from khorasan_map.synthetic import synthetic_events
    >>> prepared = prepare_points(synthetic_events(100))  # doctest: +SKIP
    >>> m = points_map(None, prepared=prepared)  # doctest: +SKIP
    """
    layer = _drawing_layer(boundaries) if layer is None else layer
    events = _events_frame(events)
    kept, reasons = _filter(events, since, until, kinds, min_confidence)
    lat = pd.to_numeric(_column(kept, "latitude"), errors="coerce")
    lon = pd.to_numeric(_column(kept, "longitude"), errors="coerce")
    precision = _str_column(kept, "location_precision").str.lower()
    has_point = (precision.isin(settings.POINT_PRECISIONS) & lat.notna() & lon.notna()).to_numpy(
        bool
    )
    code_column = "assigned_code" if "assigned_code" in kept else "province_code"
    code = _str_column(kept, code_column)
    known = code.isin(set(layer["province_code"].astype(str))).to_numpy(bool)
    province_only = ~has_point & known
    unplaced = int((~has_point & ~known).sum())
    if unplaced:
        reasons = merge_reasons(reasons, {"no usable point and no known province": unplaced})
    kind_counts = kept["kind"].astype(str).value_counts().to_dict() if "kind" in kept else {}
    stats = {
        "n_points": int(has_point.sum()),
        "n_province": int(province_only.sum()),
        "n_kept": int(len(kept)) - unplaced,
        "reasons": reasons,
        "kind_counts": kind_counts,
        "datasets": list(_column(events, "dataset").dropna().unique()),
        "dates": _date_span(kept),
    }
    kinds_table = _kind_table(kept["kind"].unique() if "kind" in kept else ())
    points = _points_table(_columns(kept, _POINT_COLUMNS), has_point, kinds_table)
    badges = _badges(_columns(kept, _BADGE_COLUMNS)[province_only], code[province_only], layer)
    return PreparedPoints(points, badges, stats, layer)


def _points_table(events: pd.DataFrame, has_point: np.ndarray, kinds_table: list[dict]) -> dict:
    """Encode the located events (``has_point``) as the compact table the page script expands.

    The points are ordered by date, then id.
    """
    rows = np.flatnonzero(has_point)
    ids = _str_column(events, "event_id").iloc[rows]
    order = np.lexsort(
        (
            ids.to_numpy(str),
            pd.to_datetime(_column(events, "date").iloc[rows], errors="coerce")
            .fillna(pd.Timestamp.max)
            .to_numpy(),
        )
    )
    pts, ids = events.iloc[rows[order]], ids.iloc[order].tolist()
    dates, _ = _date_display(pts)
    kind_index = {k["key"]: i for i, k in enumerate(kinds_table)}
    precisions = list(PRECISION_LABELS)
    x = np.round(pd.to_numeric(pts["longitude"]).to_numpy(float) * COORD_SCALE).astype(np.int64)
    y = np.round(pd.to_numeric(pts["latitude"]).to_numpy(float) * COORD_SCALE).astype(np.int64)
    x0 = int(x.min()) if len(x) else 0
    y0 = int(y.min()) if len(y) else 0
    d_codes, d_table = _factorize(list(dates))
    a_codes, a_table = _factorize_by(
        _actors_text, _str_column(pts, "actor1"), _str_column(pts, "actor2"))
    t_codes, t_table = _factorize_by(_cut, _str_column(pts, "description"))
    f_codes, f_table = _factorize_by(_fatalities_cell, *_fatality_columns(pts))
    c_codes, c_table = _factorize(_str_column(pts, "confidence").tolist())
    precision = _str_column(pts, "location_precision").str.lower()
    l_codes, l_table = _factorize_by(
        _place_text, precision, _str_column(pts, "district"), _str_column(pts, "province"))
    s_codes, sources = _source_table(pts, ids)
    # Low-cardinality columns travel as one code per event into a table of combinations
    # [kind, precision, actors, description, confidence]; ids without their common prefix.
    k_codes = _str_column(pts, "kind").map(kind_index).to_numpy(np.int64)
    p_codes = precision.map({p: i for i, p in enumerate(precisions)}).to_numpy(np.int64)
    combined = (k_codes, p_codes, np.asarray(a_codes), np.asarray(t_codes), np.asarray(c_codes))
    m_codes, first = _row_codes(*combined)
    meta = [[int(column[i]) for column in combined] for i in first]
    prefix = os.path.commonprefix(ids) if len(ids) > 1 else ""
    return {
        "n": len(pts), "cluster": False, "scale": COORD_SCALE, "x0": x0, "y0": y0,
        "x": (x - x0).tolist(), "y": (y - y0).tolist(),
        "m": m_codes.tolist(), "meta": meta,
        "kinds": kinds_table, "precisions": precisions,
        "d": d_codes, "dates": d_table, "actors": a_table, "descriptions": t_table,
        "f": f_codes, "fatalities": f_table, "confidence": c_table,
        "l": l_codes, "places": l_table, "s": s_codes, "sources": sources,
        "ep": prefix, "e": [i[len(prefix) :] for i in ids],
    }


def _badges(prov: pd.DataFrame, prov_code: pd.Series, layer) -> dict:
    """Province-only events: a count per province at its representative point.

    Each badge holds its events as ``[kind, grade index, year, count]`` rows (for the filters).
    """
    from khorasan_map.aggregate import index_in

    _, years = _date_display(prov)
    grade = index_in(_column(prov, "confidence"), list(settings.CONFIDENCE_LEVELS))
    table = pd.DataFrame({"code": prov_code.to_numpy(object),
                          "kind": _str_column(prov, "kind").to_numpy(object),
                          "grade": grade, "year": years.fillna("").to_numpy(object)})
    sizes = table.groupby(["code", "kind", "grade", "year"]).size()
    rep = layer.set_index("province_code").geometry.representative_point()
    names = layer.set_index("province_code")["province"]
    items = []
    for pcode, mine in sizes.groupby(level="code", sort=True):
        by_year = mine.groupby(level="year").sum().drop("", errors="ignore").sort_index()
        point = rep[pcode]
        items.append(
            {
                "code": pcode,
                "name": text_or_none(names[pcode]) or pcode,
                "lat": round(point.y, 4),
                "lon": round(point.x, 4),
                "count": int(mine.sum()),
                "byYear": {str(k): int(v) for k, v in by_year.items()},
                "rows": [[k, int(g), y or None, int(n)] for (_, k, g, y), n in mine.items()],
            }
        )
    return {
        "items": items,
        "text": "events known only to this province (not drawn as points)",
        "textOne": "event known only to this province (not drawn as a point)",
    }


def _clustered(prepared: PreparedPoints, cluster: bool | None) -> tuple[SharedJSON, list]:
    """Return the points table with this map's choice of clustering, and its legend sections.

    The table is made once for each way of drawing the points and shared by every map that
    draws them so (its JSON encoded once too: :class:`SharedJSON`); the prepared one stays
    as it is.
    """
    n = prepared.points["n"]
    canvas = uses_canvas(n, cluster)
    clustered = False if canvas else bool(cluster if cluster is not None
                                          else n > CLUSTER_THRESHOLD)
    key = "canvas" if canvas else clustered
    if key not in prepared.drawn:
        table = (canvas_table(prepared.points) if canvas
                 else {**prepared.points, "cluster": clustered})
        prepared.drawn[key] = (SharedJSON(table), _points_legend_sections(table, prepared.stats))
    return prepared.drawn[key]


def _points_for(events, prepared, layer, filters) -> PreparedPoints:
    """Return the prepared points given, else prepare them here from the events."""
    if prepared is not None:
        return prepared
    return prepare_points(events, layer=layer, **filters)


def _without_ids(texts: pd.Series, ids: list[str]) -> list[str]:
    """Replace each row's event id inside its text by :data:`ID_MARK` (NUL removed first)."""
    cleaned = texts.str.replace(ID_MARK, "", regex=False).tolist()
    return [text.replace(eid, ID_MARK) if eid and eid in text else text
            for text, eid in zip(cleaned, ids, strict=True)]


#: Addresses :func:`safe_url` surely accepts unchanged: http(s), a plain host, printable ASCII
#: only (no space, no control character). Every other address is checked by :func:`safe_url`.
_PLAIN_URL = r"[hH][tT][tT][pP][sS]?://[A-Za-z0-9.-]+(?::[0-9]+)?(?:[/?#][!-~]*)?"


def _safe_urls(urls: pd.Series) -> np.ndarray:
    """Whether :func:`safe_url` accepts each address (a plain address is known at a glance)."""
    good = urls.str.fullmatch(_PLAIN_URL).fillna(False).to_numpy(bool, copy=True)
    rest = np.flatnonzero(~good & (urls != "").to_numpy(bool))
    good[rest] = [safe_url(url) is not None for url in urls.iloc[rest]]
    return good


def _source_table(pts: pd.DataFrame, ids: list[str]) -> tuple[list[int], list]:
    """Code per event into a table of sources ``[name, title, safe url, date, unsafe text]``.

    Titles and addresses often contain the event's own id (one page per event); the id is
    replaced by :data:`ID_MARK` so such sources share one table entry and the page stays small.
    Each address is checked with :func:`safe_url` before the id is taken out.
    """
    url = _str_column(pts, "source_url")
    given = (url != "").to_numpy(bool)
    good = _safe_urls(url)
    url_text = np.asarray(_without_ids(url, ids), dtype=object)
    columns = (
        _str_column(pts, "source_name").to_numpy(object),
        np.asarray(_without_ids(_str_column(pts, "source_title"), ids), dtype=object),
        np.where(given & good, url_text, None),
        _str_column(pts, "source_date").to_numpy(object),
        np.where(given & ~good, url_text, None),
    )
    codes, first = _row_codes(*columns)
    table = []
    for i in first:
        key = [column[i] or None for column in columns]
        table.append(key if any(key) else None)
    return codes.tolist(), table


def _fatality_columns(table: pd.DataFrame) -> list[np.ndarray]:
    """Return the best, low and high fatality figures of each row (NaN where not given)."""
    return [pd.to_numeric(_column(table, name), errors="coerce").to_numpy(float)
            for name in ("fatalities", "fatalities_low", "fatalities_high")]


def _date_span(events: pd.DataFrame) -> tuple[str | None, str | None]:
    """First and last day the events may have happened, the window coverage() states."""
    from khorasan_map.aggregate import event_span

    if "date" not in events and "date_start" not in events:
        return None, None
    return tuple(None if pd.isna(x) else x.strftime("%Y-%m-%d") for x in event_span(events))


def _window(since, until, data_span) -> tuple[str | None, str | None]:
    """Dates line: the filter window where given, else the span of the data."""
    from khorasan_map.aggregate import parse_date

    start = parse_date(since, name="since") if since is not None else None
    end = parse_date(until, end=True, name="until") if until is not None else None
    return (
        start.strftime("%Y-%m-%d") if start is not None else data_span[0],
        end.strftime("%Y-%m-%d") if end is not None else data_span[1],
    )


# --------------------------------------------------------------------------------------------
# Choropleth parts
# --------------------------------------------------------------------------------------------


def _summary_and_events(obj, boundaries, filters, by="province", summary=None):
    """Return a summary table (the given one, else computed from events) and the events."""
    if _is_summary(obj):
        return obj, None
    events = _events_frame(obj) if obj is not None else None
    if summary is not None:
        return summary, events
    if events is None:
        raise TypeError("give events, or a summary with summary=")
    from khorasan_map.aggregate import summarize

    if "assigned_code" not in events:
        # Join once here: summarize and coverage then reuse the assigned provinces.
        from khorasan_map.join import assign_provinces

        events = assign_provinces(events, boundaries).events
    return summarize(events, boundaries, by=by, **filters), events


def _check_column(summary: pd.DataFrame, column: str) -> None:
    if column in ("first_year", "last_year") and "first_date" in summary:
        return
    metric_values(summary.head(0), column)


def _headline(summary, events, boundaries, filters, coverage) -> list[str]:
    """Return the headline lines (:func:`khorasan_map.maptext.headline`), given or composed."""
    return list(headline(events, summary, boundaries, coverage=coverage, **filters).lines)


def _summary_records(summary) -> int:
    n = summary.attrs.get("n_events")
    if n is not None:
        return int(n)
    if "events" in summary:
        return int(pd.to_numeric(summary["events"], errors="coerce").fillna(0).sum())
    return 0


def _classes_for(aligned: pd.DataFrame, column, scheme, k, bins):
    """Values of ``column`` in the aligned rows and their classes, with this column's labels."""
    values = metric_values(aligned, column)
    zero_label, missing_label = class_labels(column)
    classes = classify_values(
        values, scheme, k, bins, zero_label=zero_label, missing_label=missing_label
    )
    return values, classes, missing_label


def _aligned(rows: list[dict], summary: pd.DataFrame) -> pd.DataFrame:
    """Summary rows in drawing order, every summary column present."""
    aligned = pd.DataFrame(rows)
    for col in summary.columns:
        if col != "geometry" and col not in aligned:
            aligned[col] = None
    return aligned


def _province_row(layer, i, code, recs, cls, lines) -> dict:
    """One province of the drawing: names from the summary, else from the layer."""
    found = [r for r in recs if r is not None]
    name = next((text_or_none(r.get("province")) for r in found if r.get("province")), None)
    dari = next((text_or_none(r.get("province_dari")) for r in found if r.get("province_dari")),
                None)
    return {
        "code": code,
        "name": name or text_or_none(layer["province"].iloc[i]) or code,
        "dari": dari or text_or_none(layer["province_dari"].iloc[i]),
        "cls": cls,
        "lines": lines,
    }


def _tooltip(rec, column, value, missing_label) -> list:
    if rec is None:
        return [[metric_label(column), missing_label]]
    return tooltip_rows(rec, column, value, missing_label)


def _class_colors(classes: Classes) -> dict:
    return {"colors": {str(c): _color(v) for c, v in classes.class_colors().items()}}


def _choropleth_part(summary, layer, column, scheme, k, bins):
    """Classes, rows and shapes of a one-value-per-province choropleth."""
    _check_column(summary, column)
    recs = _records(summary)
    codes = layer["province_code"].astype(str).tolist()
    aligned = _aligned([recs.get(c, {"province_code": c}) for c in codes], summary)
    values, classes, missing = _classes_for(aligned, column, scheme, k, bins)
    rows = [
        _province_row(layer, i, code, [recs.get(code)], int(classes.class_of[i]),
                      _tooltip(recs.get(code), column, values[i], missing))
        for i, code in enumerate(codes)
    ]
    part = {"geojson": _geojson(layer), "rows": rows, "classes": _class_colors(classes)}
    return part, classes, values


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def filter_counts(events, codes: list[str], filters: dict, classes: Classes,
                  years: list[str] | None = None) -> dict | None:
    """Per-province event counts by kind and confidence grade, for the map's own filters.

    Parameters
    ----------
    events : pandas.DataFrame or None
        Events with their assigned province (``assigned_code``); None gives None.
    codes : list of str
        Province codes in drawing order.
    filters : dict
        The map's ``since``, ``until``, ``kinds`` and ``min_confidence``, applied first.
    classes : Classes
        The map's classes of event counts: the page re-classes filtered counts with its bins.
    years : list of str, optional
        A timeline's years: the counts are then also by year, so filters and step combine.

    Returns
    -------
    dict or None
        ``kinds`` (``[kind, label]`` pairs), ``levels`` (confidence grades, low to high),
        ``bins`` and ``rows``: per province, ``[kind index, grade index, count]`` triples
        (grade -1 for ungraded events); with ``years``, also ``years`` and a fourth number in
        each row, the year's index (-1 for an unknown year or one outside ``years``). None
        when the events have no assigned province.

    Examples
    --------
    >>> import pandas as pd
    >>> from khorasan_map.classify import classify_values
    >>> ev = pd.DataFrame({"assigned_code": ["AF-KAB", "AF-KAB"], "kind": ["clash", "clash"],
    ...                    "confidence": ["high", None]})
    >>> out = filter_counts(ev, ["AF-KAB", "AF-HEL"], {}, classify_values([2, 0]))
    >>> out["rows"]
    [[[0, -1, 1], [0, 2, 1]], []]
    """
    if events is None or "assigned_code" not in events or events.empty:
        return None
    from khorasan_map.aggregate import KIND_NOUNS, event_year, filter_events, index_in, parse_date

    kept = filter_events(events, **filters).events
    levels = list(settings.CONFIDENCE_LEVELS)
    kinds = sorted(kept["kind"].dropna().astype(str).unique())
    unique_codes = list(dict.fromkeys(codes))
    columns = {
        "code": index_in(kept["assigned_code"], unique_codes),
        "kind": index_in(kept["kind"], kinds),
        "grade": index_in(kept["confidence"], levels),
    }
    if years is not None:
        since = parse_date(filters.get("since"), name="since")
        until = parse_date(filters.get("until"), end=True, name="until")
        year = event_year(kept, since, until).astype("Int64").astype("string")
        columns["year"] = index_in(year, years)
    table = pd.DataFrame(columns)
    table = table[(table["code"] >= 0) & (table["kind"] >= 0)]
    sizes = table.groupby(list(columns)).size()
    rows: dict[str, list] = {code: [] for code in unique_codes}
    for key, n in sizes.items():
        rows[unique_codes[key[0]]].append([int(key[1]), int(key[2]), int(n),
                                           *(int(v) for v in key[3:])])
    out = {
        "kinds": [[k, _first_upper(KIND_NOUNS.get(k, k.replace("_", " ")))] for k in kinds],
        "levels": levels,
        "bins": [float(b) for b in classes.bins],
        "rows": [rows[code] for code in codes],
    }
    if years is not None:
        out["years"] = list(years)
    return out


def _choropleth_legend(column: str, classes: Classes) -> dict:
    return {
        "title": f"{metric_label(column)} per province",
        "sections": [{"title": None, "items": _class_items(classes)}],
        "note": _class_note(classes),
    }


def _filters(since, until, kinds, min_confidence) -> dict:
    return {"since": since, "until": until, "kinds": kinds, "min_confidence": min_confidence}


def _datasets(events, summary) -> list:
    if events is not None:
        return list(_column(events, "dataset").dropna().unique())
    return list(summary.attrs.get("datasets") or ())


def _summary_furniture(summary, events, layer, filters, words, extra=()) -> dict:
    """Furniture of a map drawn from a summary: dates, sources, records and left out."""
    title, subtitle, source, left_out = words
    span = summary_span(summary)
    return _furniture(
        title,
        subtitle,
        _window(filters["since"], filters["until"], span) if events is not None else span,
        sources_line(_datasets(events, summary), source),
        _summary_records(summary),
        reason_counts(summary.attrs.get("left_out_reasons")),
        extra=extra,
        boundary_source=text_or_none(layer.attrs.get("source")),
        left_out=left_out,
        datasets=_datasets(events, summary),
        kinds=filters["kinds"],
    )


# --------------------------------------------------------------------------------------------
# Public maps
# --------------------------------------------------------------------------------------------


def choropleth_map(
    events_or_summary,
    column: str = "events",
    *,
    boundaries=None,
    scheme: str | None = None,
    k: int | None = None,
    bins=None,
    since=None,
    until=None,
    kinds=None,
    min_confidence=None,
    title: str | None = None,
    subtitle: str | None = None,
    source: str | None = None,
    left_out: dict | None = None,
    tiles: str | None = DEFAULT_TILES,
    summary=None,
    coverage=None,
):
    """Map one value per province, classed, with a legend, tooltips and a coverage headline.

    Parameters
    ----------
    events_or_summary : pandas.DataFrame
        Events in the toolkit's schema (summarised with :func:`khorasan_map.aggregate.summarize`
        using the filters below), or a summary table from it (the filters are then ignored).
    column : str, default "events"
        Summary column to map: ``events``, ``n_clash``, ``n_defection``,
        ``n_isk_attack_on_taliban``, ``n_taliban_raid_on_isk``, ``fatalities``, ``n_sources``,
        ``share_province_precise``..., or ``first_year``/``last_year``.
    boundaries : geopandas.GeoDataFrame, optional
        Province layer to count and draw with; by default events are counted on the shipped
        full-detail layer and drawn on its light web version.
    scheme, k, bins
        Classification, as in :func:`khorasan_map.classify.classify_values`. Zero ("No
        events") and missing ("No data") are always classes of their own.
    since, until, kinds, min_confidence
        Filters, as in :func:`khorasan_map.aggregate.filter_events`.
    summary : pandas.DataFrame, optional
        The summary already computed from the events with the same filters (a build computes
        it once for every map and report); the events then only name the datasets.
    coverage : Coverage or khorasan_map.maptext.Headline, optional
        The headline's coverage (or the whole headline) already computed with the same
        filters; see :func:`khorasan_map.maptext.headline`.
    title, subtitle : str, optional
        Shown in the report furniture (escaped).
    source : str, optional
        Text of the "Source:" line; default the dataset names of the events.
    left_out : dict, optional
        Events left out before they reached this function, ``{reason: count}`` (for example
        ``{"rejected as invalid": 2}``), added to the map's "Left out" line.
    tiles : str or None, default :data:`DEFAULT_TILES`
        Basemap tiles (an xyzservices name); the default is :data:`khorasan_map.settings.TILES`,
        read when the map is made; None (or ``"none"``) for none (the provinces are then the
        basemap, as in offline files).

    Returns
    -------
    folium.Map
        Ready to show in Jupyter or save with :func:`khorasan_map.export.save_html`.

    Examples
    --------
    >>> from khorasan_map.events import read_events
    >>> m = choropleth_map(read_events(), "n_clash", title="Clashes")  # doctest: +SKIP
    >>> m  # shows inline in Jupyter  # doctest: +SKIP
    """
    filters = _filters(since, until, kinds, min_confidence)
    summary, events = _summary_and_events(events_or_summary, boundaries, filters, summary=summary)
    layer = _drawing_layer(boundaries, summary)
    part, classes, _ = _choropleth_part(summary, layer, column, scheme, k, bins)
    if column == "events":
        codes = layer["province_code"].astype(str).tolist()
        part["filters"] = filter_counts(events, codes, filters, classes)
    words = (title, subtitle or f"{metric_label(column)} by province", source, left_out)
    spec = {
        "choropleth": part,
        "headline": _headline(summary, events, boundaries, filters, coverage),
        "legend": _choropleth_legend(column, classes),
        "furniture": _summary_furniture(summary, events, layer, filters, words),
    }
    m = _base_map(tiles)
    return _finish(m, spec, {"provinces": _group(f"Provinces: {metric_label(column)}")})


def points_map(
    events,
    *,
    boundaries=None,
    since=None,
    until=None,
    kinds=None,
    min_confidence=None,
    cluster: bool | None = None,
    title: str | None = None,
    subtitle: str | None = None,
    source: str | None = None,
    left_out: dict | None = None,
    tiles: str | None = DEFAULT_TILES,
    prepared: PreparedPoints | None = None,
):
    """Map events as points, one colour per kind, one symbol per location precision.

    Exact, near and district locations are drawn as circles (filled, small ring, dashed ring).
    Events known only to their province are never drawn at a made-up location: each province
    shows a count badge at its centre instead, and the furniture says how many. Many points are
    clustered with Leaflet.markercluster; the points travel as one compact JSON table, so
    100,000 events stay a few megabytes.

    Parameters
    ----------
    events : pandas.DataFrame
        Events in the toolkit's schema.
    boundaries : geopandas.GeoDataFrame, optional
        Province layer for the outlines and the badges; the shipped web layer by default.
    since, until, kinds, min_confidence
        Filters, as in :func:`khorasan_map.aggregate.filter_events`.
    cluster : bool, optional
        Cluster the points; default when there are more than :data:`CLUSTER_THRESHOLD`.
    prepared : PreparedPoints, optional
        The points already made by :func:`prepare_points` with the same filters (a build
        prepares them once for every map); ``events`` may then be None.
    title, subtitle, source, left_out, tiles
        As in :func:`choropleth_map`.

    Returns
    -------
    folium.Map
        Popups (click a point) give date, kind, actors, description, fatalities, confidence
        and a source link opening in a new tab with ``rel="noopener noreferrer"``.

    Examples
    --------
    >>> from khorasan_map.synthetic import synthetic_events
    >>> m = points_map(synthetic_events(1000))  # doctest: +SKIP
    """
    layer = prepared.layer if prepared is not None else _drawing_layer(boundaries)
    filters = _filters(since, until, kinds, min_confidence)
    prepared = _points_for(events, prepared, layer, filters)
    (points, legend), stats = _clustered(prepared, cluster), prepared.stats
    spec = {
        "points": points,
        "badges": prepared.badges,
        "outlines": [_outline_spec(layer, "outlines", "#7a7a7a", 0.8, "km-outline")],
        "headline": [_points_headline(stats)],
        "legend": {
            "title": "Events",
            "sections": list(legend),
        },
        "furniture": _furniture(
            title,
            subtitle or "Events by kind and location precision",
            _window(since, until, stats["dates"]),
            sources_line(stats["datasets"], source),
            stats["n_kept"],
            stats["reasons"],
            extra=_points_notes(stats, points["cluster"]),
            boundary_source=text_or_none(layer.attrs.get("source")),
            left_out=left_out,
            datasets=stats["datasets"],
            kinds=kinds,
        ),
    }
    m = _base_map(tiles)
    groups = {"outlines": _group("Province outlines"), "points": _group("Events")}
    return _finish(m, spec, groups, cluster=points["cluster"])


def _outline_spec(layer, group, color, weight, class_name, dash=None) -> dict:
    return {
        "group": group,
        "geojson": _geojson(layer),
        "color": _color(color),
        "weight": weight,
        "className": class_name,
        "dash": dash,
    }


def _points_headline(stats) -> str:
    n, p = stats["n_points"], stats["n_province"]
    return f"{n:,} event{'s' if n != 1 else ''} with a location; {p:,} known only to their province"


def _points_notes(stats, cluster: bool) -> list[str]:
    n, p = stats["n_points"], stats["n_province"]
    notes = [
        f"Points: {n:,} event{'s' if n != 1 else ''} at exact, near or district locations.",
        f"Province only: {p:,} event{' is' if p == 1 else 's are'} counted at their province's "
        "centre, not drawn as points.",
    ]
    if cluster:
        notes.append("Numbered circles are clusters of nearby events: zoom in or click.")
    return notes


def _defection_parts(summary, layer, classes, column) -> tuple[list[int], list[dict]]:
    """Rows of provinces with a recorded defection, and the choropleth's legend sections."""
    recs = _records(summary)
    defection = [
        i
        for i, code in enumerate(layer["province_code"].astype(str))
        if float(pd.to_numeric(recs.get(code, {}).get("n_defection", 0), errors="coerce") or 0) > 0
    ]
    item = {
        "type": "outline",
        "color": _color(settings.KIND_STYLES["defection"]["color"]),
        "label": "Province with a recorded defection to ISK",
        "count": len(defection),
    }
    sections = [
        {"title": f"{metric_label(column)} per province", "items": _class_items(classes)},
        {"title": None, "items": [item]},
    ]
    return defection, sections


def combined_map(
    events,
    column: str = "events",
    *,
    boundaries=None,
    scheme: str | None = None,
    k: int | None = None,
    bins=None,
    since=None,
    until=None,
    kinds=None,
    min_confidence=None,
    cluster: bool | None = None,
    title: str | None = None,
    subtitle: str | None = None,
    source: str | None = None,
    left_out: dict | None = None,
    tiles: str | None = DEFAULT_TILES,
    summary=None,
    coverage=None,
    prepared: PreparedPoints | None = None,
):
    """Choropleth and points as layers, with one legend and defection provinces outlined.

    Provinces where at least one Taliban-to-ISK defection was recorded get a thick outline in
    the defection colour over the classed fill, so defections read against the clash pattern.

    Parameters
    ----------
    events : pandas.DataFrame
        Events in the toolkit's schema.
    column, boundaries, scheme, k, bins, since, until, kinds, min_confidence
        As in :func:`choropleth_map`.
    cluster, title, subtitle, source, left_out, tiles
        As in :func:`points_map`.
    summary, coverage
        As in :func:`choropleth_map`.
    prepared : PreparedPoints, optional
        As in :func:`points_map`.

    Returns
    -------
    folium.Map
        With a layer control: provinces, defection outlines, events.

    Examples
    --------
    >>> from khorasan_map.events import read_events
    >>> m = combined_map(read_events(), "n_clash")  # doctest: +SKIP
    """
    filters = _filters(since, until, kinds, min_confidence)
    summary, events = _summary_and_events(_events_frame(events), boundaries, filters,
                                          summary=summary)
    layer = _drawing_layer(boundaries, summary)
    part, classes, _ = _choropleth_part(summary, layer, column, scheme, k, bins)
    if column == "events":  # the kind toggles and minimum confidence, as on the choropleth
        codes = layer["province_code"].astype(str).tolist()
        part["filters"] = filter_counts(events, codes, filters, classes)
    prepared = _points_for(events, prepared, layer, filters)
    (points, legend), stats = _clustered(prepared, cluster), prepared.stats
    defection, sections = _defection_parts(summary, layer, classes, column)
    sections.extend(legend)
    color = settings.KIND_STYLES["defection"]["color"]
    words = (title, subtitle or f"{metric_label(column)} by province, with events as points",
             source, left_out)
    spec = {
        "choropleth": part,
        "outlines": [
            {**_outline_spec(layer.iloc[defection], "defections", color, 3.5,
                             "km-defection-outline"),
             "provinces": defection, "kind": "defection"}  # the filters hide or show each
        ],
        "points": points,
        "badges": prepared.badges,
        "headline": _headline(summary, events, boundaries, filters, coverage),
        "legend": {"title": "Legend", "sections": sections, "note": _class_note(classes)},
        "furniture": _summary_furniture(summary, events, layer, filters, words,
                                        extra=_points_notes(stats, points["cluster"])),
    }
    groups = {
        "provinces": _group(f"Provinces: {metric_label(column)}"),
        "defections": _group("Provinces with defections"),
        "points": _group("Events"),
    }
    m = _base_map(tiles)
    return _finish(m, spec, groups, cluster=points["cluster"], layer_control=True)


#: The timeline's step of every year together: the last on the slider, and the opening one.
ALL_YEARS: str = "all"

#: Summary columns a timeline adds up over years when it has only a province-year summary.
ADDITIVE_COLUMNS: tuple[str, ...] = (
    "events", *(f"n_{k}" for k in settings.EVENT_KINDS), "n_other", "fatalities",
    "fatalities_low", "fatalities_high", "fatalities_known", "fatalities_open",
)


def step_key(step: str, cumulative: bool = False) -> str:
    """Return the key of a timeline step in the page's data (``kmlib.js`` writes the same).

    Parameters
    ----------
    step : str
        A year, or :data:`ALL_YEARS`.
    cumulative : bool
        The running total up to and including the year, rather than the year alone.

    Returns
    -------
    str
        ``"2016"``, ``"upto2016"`` or ``"all"``.

    Examples
    --------
    >>> step_key("2016"), step_key("2016", cumulative=True), step_key(ALL_YEARS, True)
    ('2016', 'upto2016', 'all')
    """
    if step == ALL_YEARS:
        return ALL_YEARS
    return f"upto{step}" if cumulative else str(step)


def _timeline_years(summary) -> list[str]:
    if "year" not in summary:
        raise ValueError("timeline_map needs a province-year summary (a 'year' column)")
    years = sorted({int(y) for y in pd.to_numeric(summary["year"], errors="coerce").dropna()})
    return [str(y) for y in years]  # no dated event: no year step, only all years


def _added_years(by_year, last=None) -> pd.DataFrame:
    """Provinces' totals over the years up to ``last`` (all when None) of a province-year summary.

    Counts and fatality sums add up; distinct counts and shares do not, so they are left out
    (a timeline with events counts them again instead, see :func:`_running_tables`).
    """
    year = pd.to_numeric(by_year["year"], errors="coerce")
    rows = by_year if last is None else by_year[(year <= last).to_numpy()]
    cols = [c for c in ADDITIVE_COLUMNS if c in rows]
    groups = rows.groupby(rows["province_code"].astype(str), sort=True)
    out = groups[cols].sum()
    if {"events", "fatalities_known"} <= set(cols):
        unreported = (out["fatalities_known"] == 0) & (out["events"] > 0)
        for col in ("fatalities", "fatalities_low", "fatalities_high"):
            if col in out:
                out[col] = out[col].astype(float).mask(unreported)
    for col, pick in (("first_date", "min"), ("last_date", "max")):
        if col in rows:
            out[col] = groups[col].agg(lambda v, f=pick: getattr(v.dropna(), f)()
                                       if v.notna().any() else None)
    for col in ("province", "province_dari"):
        if col in rows:
            out[col] = groups[col].first()
    return out.rename_axis("province_code").reset_index()


def _running_tables(summary, events, boundaries, filters, years, counted=None):
    """Return each year's running totals by province, and the table of all years.

    With a tally (the one given, else one made of the events), the running totals are finished
    from its groups of each year and before
    (:meth:`khorasan_map.aggregate.Tally.summaries_through`), so distinct counts stay exact,
    and all years count the events of no known year too; with only a province-year summary,
    its years are added up (:func:`_added_years`).
    """
    if counted is None and events is None:
        return ({int(y): _added_years(summary, int(y)) for y in years},
                _added_years(summary))
    from khorasan_map.aggregate import tally

    if counted is None:
        counted = tally(events, boundaries, since=filters["since"], until=filters["until"],
                        engine="memory")
    pick = {"kinds": filters["kinds"], "min_confidence": filters["min_confidence"]}
    running = counted.summaries_through([int(y) for y in years], boundaries, **pick)
    return running, counted.summary(boundaries, **pick)


def _step_tables(summary, events, boundaries, filters, years, counted=None) -> dict:
    """Province table of every timeline step: each year, each running total, all years."""
    year = pd.to_numeric(summary["year"], errors="coerce")
    tables = {step_key(y): summary[(year == int(y)).to_numpy()] for y in years}
    running, whole = _running_tables(summary, events, boundaries, filters, years, counted)
    for y in years:
        tables[step_key(y, True)] = running[int(y)]
    tables[ALL_YEARS] = whole
    return tables


def _step_words(key: str, years: list[str]) -> str:
    """Name what a step shows, for its tooltips: "2016", "2014 to 2016" or "All years"."""
    if key == ALL_YEARS:
        return "All years"
    if key.startswith("upto"):
        return f"{years[0]} to {key[4:]}" if years and years[0] != key[4:] else key[4:]
    return key


def _empty_record(code: str) -> dict:
    """Return a province with no events in a step: zero counts (a step never says No data)."""
    return {"province_code": code, **dict.fromkeys(ADDITIVE_COLUMNS, 0)}


def _timeline_part(tables, columns, layer, column, scheme, k, bins):
    """Classes over every step's values, and each province's class and rows per step."""
    codes = layer["province_code"].astype(str).tolist()
    recs = {key: _records(table) for key, table in tables.items()}
    keys = list(tables)
    years = [key for key in keys if key.isdigit()]
    aligned = _aligned([recs[key].get(code) or _empty_record(code)
                        for code in codes for key in keys], columns)
    values, classes, missing = _classes_for(aligned, column, scheme, k, bins)
    counts = {key: {} for key in keys}
    rows, tooltips = [], {}  # tooltips: each distinct table of rows once (many read "0")
    for i, code in enumerate(codes):
        cls, lines = {}, {}
        for j, key in enumerate(keys):
            flat = i * len(keys) + j
            c = int(classes.class_of[flat])
            cls[key] = c
            counts[key][str(c)] = counts[key].get(str(c), 0) + 1
            rec = recs[key].get(code) or _empty_record(code)
            pairs = json.dumps(_tooltip(rec, column, values[flat], missing))
            lines[key] = tooltips.setdefault(pairs, len(tooltips))
        found = [recs[key].get(code) for key in keys]
        rows.append(_province_row(layer, i, code, found, cls, lines))
    part = {"geojson": _geojson(layer), "rows": rows, "classes": _class_colors(classes),
            "tooltips": [json.loads(t) for t in tooltips],
            "words": {key: _step_words(key, years) for key in keys}}
    return part, classes, counts


def _step_kind_counts(tables) -> dict[str, dict[str, int]]:
    """Events of each kind in each step (the legend's kind counts follow the step)."""
    out = {}
    for key, table in tables.items():
        out[key] = {
            kind: int(pd.to_numeric(table[f"n_{kind}"], errors="coerce").fillna(0).sum())
            for kind in settings.EVENT_KINDS if f"n_{kind}" in table
        }
    return out


def _step_headlines(tables, years, kinds, overall: Headline, total: int) -> dict:
    """Return the headline of every step: a year's, a running total's, the all-years one."""
    out = {}
    for key, table in tables.items():
        if key == ALL_YEARS:
            out[key] = list(overall.lines)
        elif key.startswith("upto"):
            out[key] = step_headline(table, kinds, overall, f"by the end of {key[4:]}", total)
        else:
            out[key] = step_headline(table, kinds, overall, f"in {key}", total)
    return out


def _timeline_legend(column: str, classes: Classes) -> dict:
    legend = _choropleth_legend(column, classes)
    legend["title"] = f"{metric_label(column)} per province, in the step shown"
    legend["note"] = (
        _class_note(classes).replace(
            "provinces in the class", "provinces in the class in the step shown"
        )
        + " Classes are the same for every step."
    )
    return legend


def _add_timeline_points(spec, groups, prepared, cluster) -> list[str]:
    """Put the prepared points on a timeline; return the notes they add."""
    (pts, legend), stats = _clustered(prepared, cluster), prepared.stats
    spec["points"], spec["badges"] = pts, prepared.badges
    spec["legend"]["sections"].extend(legend)
    groups["points"] = _group("Events")
    return _points_notes(stats, pts["cluster"])


def _undated_note(by_year, whole) -> tuple[object, list[str]]:
    """Return the table the furniture counts from, and a note on events of no known year.

    All years counts every event, the years only the dated ones: the records and left-out
    lines are those of all years, and the note says how many are on no year's step.
    """
    dated, every = by_year.attrs.get("n_events"), whole.attrs.get("n_events")
    if dated is None or every is None:
        return by_year, []
    n = int(every) - int(dated)
    if n <= 0:
        return whole, []
    verb = "has" if n == 1 else "have"
    return whole, [f"{n:,} event{'' if n == 1 else 's'} {verb} no known year: counted and "
                   "drawn on the All years step only."]


def timeline_map(
    events_or_summary,
    column: str = "events",
    *,
    boundaries=None,
    scheme: str | None = None,
    k: int | None = None,
    bins=None,
    since=None,
    until=None,
    kinds=None,
    min_confidence=None,
    points: bool = True,
    cluster: bool | None = None,
    title: str | None = None,
    subtitle: str | None = None,
    source: str | None = None,
    left_out: dict | None = None,
    tiles: str | None = DEFAULT_TILES,
    summary=None,
    coverage=None,
    prepared: PreparedPoints | None = None,
    tally=None,
):
    """Map one year at a time with a slider; the classes and legend stay the same every year.

    The map opens on all years; the slider's steps are the years, then "All years" (year ticks,
    play and pause). A toggle chooses a single year or the running total (every event up to
    and including the year). The classes are computed once over the values of every step, so
    a colour means the same count in every step. The provinces, points, province-only counts,
    headline, kind counts and legend counts follow the step; every figure of every step is
    computed here, once, and the page only switches between them. With events (and
    ``column="events"``) the kind toggles and minimum confidence of :func:`choropleth_map`
    combine with the step.

    Parameters
    ----------
    events_or_summary : pandas.DataFrame
        Events in the toolkit's schema, or a province-year summary
        (``summarize(..., by=("province", "year"))``; no points are drawn then).
    column, boundaries, scheme, k, bins, since, until, kinds, min_confidence
        As in :func:`choropleth_map`.
    points : bool, default True
        Draw the events of the selected year as points (when events are given).
    cluster, title, subtitle, source, left_out, tiles
        As in :func:`points_map`.
    summary : pandas.DataFrame, optional
        The province-year summary already computed from the events with the same filters.
    coverage, prepared
        As in :func:`combined_map`.
    tally : khorasan_map.aggregate.Tally, optional
        The tally ``summary`` was finished from (a build makes one, with no window): the
        running totals and all years are finished from it. By default the events are tallied
        here; with only a summary, its years are added up (counts and fatalities; distinct
        counts and shares are then not given for running totals).

    Returns
    -------
    folium.Map
        With a year slider (``.km-slider``) starting at all years.

    Examples
    --------
    >>> from khorasan_map.events import read_events
    >>> m = timeline_map(read_events(), title="Taliban-ISK fighting by year")  # doctest: +SKIP
    """
    filters = _filters(since, until, kinds, min_confidence)
    summary, events = _summary_and_events(
        events_or_summary, boundaries, filters, by=("province", "year"), summary=summary
    )
    years = _timeline_years(summary)
    _check_column(summary, column)
    layer = _drawing_layer(boundaries, summary)
    tables = _step_tables(summary, events, boundaries, filters, years, tally)
    part, classes, counts = _timeline_part(tables, summary, layer, column, scheme, k, bins)
    if column == "events":
        codes = layer["province_code"].astype(str).tolist()
        part["filters"] = filter_counts(events, codes, filters, classes, years=years)
    spec = {
        "choropleth": part,
        "legend": _timeline_legend(column, classes),
        "timeline": {
            "steps": [*years, ALL_YEARS],
            "labels": {ALL_YEARS: "All years"},
            "initial": ALL_YEARS,
            "cumulative": False,
            "label": "Year",
            "counts": counts,
            "kinds": _step_kind_counts(tables),
        },
    }
    extra = [
        "Slider: a year shows that calendar year only, or, with \"Up to the year\", every "
        "event up to and including it; the last step shows all years. Classes and colours "
        "are the same for every step."
    ]
    groups = {"provinces": _group(f"Provinces: {metric_label(column)}")}
    if events is not None and points:
        prepared = _points_for(events, prepared, layer, filters)
        extra.extend(_add_timeline_points(spec, groups, prepared, cluster))
    # All years: every event, those of no known year too (the province table of all years).
    whole = tables[ALL_YEARS] if events is not None else summary
    lines = _headline(whole, events, boundaries, filters, coverage)
    spec["headline"] = lines
    spec["timeline"]["headlines"] = _step_headlines(
        tables, years, filters["kinds"], Headline(tuple(lines)), len(layer)
    )
    words = (title, subtitle or f"{metric_label(column)} by province and year", source, left_out)
    counted, undated = _undated_note(summary, tables[ALL_YEARS])
    spec["furniture"] = _summary_furniture(counted, events, layer, filters, words,
                                           extra=extra + undated)
    m = _base_map(tiles)
    use_cluster = bool(spec.get("points", {}).get("cluster"))
    return _finish(m, spec, groups, cluster=use_cluster, layer_control=len(groups) > 1)
