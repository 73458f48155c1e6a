"""Static maps for reports: PNG, SVG and PDF with matplotlib, no browser and no network.

The static choropleth uses the same classification (:func:`khorasan_map.classify.classify_values`),
palette and legend labels as the interactive one, so a report and the HTML map it accompanies never
disagree. Maps are drawn in :data:`khorasan_map.settings.EQUAL_AREA_CRS`, an Albers equal-area conic
fitted to Afghanistan, not in raw degrees.

The same input gives the same bytes: file metadata carries no dates and SVG ids are salted with a
fixed string.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from khorasan_map import settings
from khorasan_map.maptext import (
    EVIDENCE_COLUMNS,
    MapText,
    evidence_rows,
    headline,
    map_text,
    map_title,
    metric_label,
    metric_values,
    span_text,
    step_headline,
)

#: Page sizes in inches, portrait (width, height).
PAGE_SIZES: dict[str, tuple[float, float]] = {
    "a4": (8.27, 11.69),
    "letter": (8.5, 11.0),
    "a3": (11.69, 16.54),
}

#: File types :func:`export_static` writes.
STATIC_FORMATS: tuple[str, ...] = (".png", ".svg", ".pdf")

#: Provinces too small for a label inside them at report scale; their labels go outside with a
#: leader line when they would collide.
SMALL_PROVINCES: tuple[str, ...] = (
    "AF-KAB", "AF-KAP", "AF-PAR", "AF-PAN", "AF-LAG", "AF-KNR", "AF-NUR", "AF-LOG", "AF-PIA",
    "AF-KHO",
)

#: Space kept on every page, in inches: above the map (title, subtitle, headline), below it
#: (source and note), at the sides, and for the legends beside (landscape) or under (portrait).
PAGE_MARGINS: dict[str, float] = {"top": 1.45, "bottom": 0.6, "side": 0.3, "legend": 2.3}

_METADATA = {
    ".png": {"Software": None},
    ".svg": {"Date": None, "Creator": None},
    ".pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
}


def page_size(page: str = "a4-landscape") -> tuple[float, float]:
    """Return the figure size in inches for a named page.

    Parameters
    ----------
    page : str
        ``"a4"``, ``"letter"`` or ``"a3"``, optionally followed by ``"-portrait"`` or
        ``"-landscape"`` (portrait when omitted).

    Returns
    -------
    tuple of float
        Width and height in inches.

    Examples
    --------
    >>> page_size("letter-landscape")
    (11.0, 8.5)
    """
    name, _, orientation = page.lower().partition("-")
    if name not in PAGE_SIZES or orientation not in ("", "portrait", "landscape"):
        valid = ", ".join(f"{p}-{o}" for p in PAGE_SIZES for o in ("portrait", "landscape"))
        raise ValueError(f"page must be one of {valid}; got {page!r}")
    width, height = PAGE_SIZES[name]
    return (height, width) if orientation == "landscape" else (width, height)


def preload() -> None:
    """Import what drawing a report needs and lay out the shipped layer, ahead of the first page.

    A build calls it in the report's process while the events are read, so the pages draw at
    full speed: the font is loaded, and the shipped provinces are projected, simplified and
    labelled (the work every page of that layer reuses). Calling it is never needed.

    Examples
    --------
    >>> preload()
    """
    from matplotlib.backends import backend_pdf, backend_svg  # noqa: F401
    from matplotlib.font_manager import FontProperties, findfont, get_font

    from khorasan_map.boundaries import load_provinces

    get_font(findfont(FontProperties()))
    layer = load_provinces().assign(events=0)
    draw_map(layer)
    _project(layer, settings.EQUAL_AREA_CRS, _PANEL_SIMPLIFY_FRACTION)


def _prepare(data, *, column, boundaries, filters, summary=None, coverage=None):
    """Return (summary, events or None, headline) from events or a ready summary.

    A summary or coverage the caller already computed (with the same filters) is used as is.
    """
    from khorasan_map import aggregate

    is_summary = "province_code" in data.columns and "geometry" in data.columns and column in data
    if is_summary and "event_id" not in data.columns:
        return data, None, headline(None, data, boundaries, **filters)
    if summary is None:
        summary = aggregate.summarize(data, boundaries, **filters)
    return summary, data, headline(data, summary, boundaries, coverage=coverage, **filters)


def _draw_provinces(ax, drawn, fills):
    """Fill each province's path and draw the outline, from paths built once per layer."""
    from matplotlib.collections import LineCollection, PathCollection

    paths, outline = drawn
    ax.add_collection(PathCollection(paths, facecolors=fills, edgecolors="#555555",
                                     linewidths=0.4, gid="provinces"), autolim=False)
    ax.add_collection(LineCollection(outline, colors="#222222", linewidths=0.9), autolim=False)


def _matplotlib_paths(shapes, outline):
    """Return one compound path per shape (holes included) and the outline as line segments.

    Rings are normalised first (exterior and holes wound opposite ways), so holes stay
    holes, as geopandas' own plotting does.
    """
    import shapely
    from matplotlib.path import Path as MplPath

    paths = []
    for shape in shapely.normalize(shapes.values):
        rings = []
        for part in shapely.get_parts(shape):
            rings += [part.exterior, *part.interiors]
        paths.append(MplPath.make_compound_path(
            *(MplPath(np.asarray(ring.coords)[:, :2], closed=True) for ring in rings)
        ))
    segments = [np.asarray(line.coords)[:, :2] for line in shapely.get_parts(outline.values)]
    return paths, segments


def _text_color(fill):
    """Return white on a dark fill and near-black on a light one, so labels need no halo."""
    from matplotlib.colors import to_rgb

    red, green, blue = to_rgb(fill)
    return "white" if 0.299 * red + 0.587 * green + 0.114 * blue < 0.5 else "#111111"


def _project(summary, crs, fraction=None):
    """Return the summary in ``crs`` and its shapes as matplotlib paths, reusing earlier work.

    Every page of a report shows the same shapes with other values; projecting, dissolving
    and turning them into paths (:func:`_matplotlib_paths`) once per layer keeps a many-page
    report fast: each page only gives the paths its own fill colours. Shapes are simplified
    together (shared edges stay shared) to their extent divided by ``fraction`` (default
    :data:`_SIMPLIFY_FRACTION`), far below what the printed map can show.
    """
    import geopandas as gpd
    import shapely

    wkb = shapely.to_wkb(summary.geometry.values)
    fraction = fraction or _SIMPLIFY_FRACTION
    key = (crs, str(summary.crs), hashlib.sha1(b"".join(wkb)).hexdigest(), fraction)
    if key not in _PROJECTED:
        shapes = summary.geometry.to_crs(crs)
        minx, miny, maxx, maxy = shapes.total_bounds
        tolerance = max(maxx - minx, maxy - miny) / fraction
        shapes = gpd.GeoSeries(shapely.coverage_simplify(shapes.values, tolerance), crs=crs)
        outline = gpd.GeoSeries([shapely.union_all(shapes.values).boundary], crs=crs)
        if len(_PROJECTED) > 1:  # a page's map and the year maps of one layer
            del _PROJECTED[next(iter(_PROJECTED))]
        _PROJECTED[key] = (shapes, _matplotlib_paths(shapes, outline))
    shapes, drawn = _PROJECTED[key]
    return gpd.GeoDataFrame(
        summary.drop(columns="geometry"), geometry=shapes.values, crs=crs
    ), drawn


#: Shapes are simplified to their extent divided by this (about 0.7 km for Afghanistan, a tenth
#: of a millimetre on an A4 page).
_SIMPLIFY_FRACTION = 2000

#: The same for the year maps, each about a quarter of the page's width (3.5 km, again about a
#: tenth of a millimetre on the printed map).
_PANEL_SIMPLIFY_FRACTION = 500

#: The last two layers projected by :func:`_project`: key -> (shapes, (paths, outline segments)).
_PROJECTED: dict[tuple, tuple] = {}


def is_rasterised(n_points: int) -> bool:
    """Whether a static map draws ``n_points`` points as one image rather than as shapes.

    Parameters
    ----------
    n_points : int
        Points on the map.

    Returns
    -------
    bool
        True above :data:`khorasan_map.settings.RASTER_THRESHOLD` (read at call time).

    Examples
    --------
    >>> is_rasterised(10), is_rasterised(10**6)
    (False, True)
    """
    return n_points > settings.RASTER_THRESHOLD


def raster_note(events) -> str:
    """Return the page's words when its points are rasterised, else an empty string.

    Parameters
    ----------
    events : pandas.DataFrame or None
        The events a static map draws.

    Returns
    -------
    str
        For example ``"1,000,000 points drawn as one image (over 5,000)"``.

    Examples
    --------
    >>> raster_note(None)
    ''
    """
    if events is None:
        return ""
    n = int(_drawn_as_points(events).sum())
    if not is_rasterised(n):
        return ""
    return f"{n:,} points drawn as one image (over {settings.RASTER_THRESHOLD:,})"


#: The columns :func:`_draw_points` and :func:`raster_note` read.
_POINT_COLUMNS = ("kind", "location_precision", "latitude", "longitude")


def _drawn_as_points(events) -> np.ndarray:
    """Whether each event is drawn as a point: a point precision and both coordinates."""
    return (events["location_precision"].isin(settings.POINT_PRECISIONS)
            & events["latitude"].notna() & events["longitude"].notna()).to_numpy(bool)


def _draw_points(ax, events, crs, size=28, linewidth=1.2, raster_dpi=None):
    """Draw point-precise events by kind and precision; return legend handles.

    ``size`` is the markers' area and ``linewidth`` their edge, in points; ``raster_dpi`` the
    resolution of their image above the raster threshold (:data:`_POINTS_DPI` when None).
    """
    import pandas as pd
    from matplotlib.lines import Line2D

    rows = np.flatnonzero(_drawn_as_points(events))
    handles = []
    if not len(rows):
        return handles
    x, y = _transformers(crs)[1].transform(events["longitude"].to_numpy(dtype=float)[rows],
                                           events["latitude"].to_numpy(dtype=float)[rows])
    kind_of, kinds = pd.factorize(events["kind"].iloc[rows], sort=True)
    precision_of, precisions = pd.factorize(events["location_precision"].iloc[rows], sort=True)
    markers = {"exact": ("o", True), "near": ("o", False), "district": ("s", False)}
    shapes = {"exact": "filled circle", "near": "ring", "district": "open square"}
    rasterized = is_rasterised(len(rows))
    # Each kind, then each precision, in sorted order (a point of no kind is not drawn).
    group = np.where(kind_of < 0, -1, kind_of * len(precisions) + precision_of)
    order = np.argsort(group, kind="stable")  # each group's points in their order
    starts = np.searchsorted(group[order], np.arange(len(kinds) * len(precisions) + 1))
    layers = []  # (x, y, scatter style) of each kind and precision, in drawing order
    for k, kind in enumerate(kinds):
        color = settings.KIND_STYLES.get(kind, settings.OTHER_KIND_STYLE)["color"]
        label = settings.KIND_STYLES.get(kind, settings.OTHER_KIND_STYLE)["label"]
        for p, precision in enumerate(precisions):
            g = k * len(precisions) + p
            members = order[starts[g]:starts[g + 1]]
            if not len(members):
                continue
            marker, filled = markers[precision]
            layers.append((x[members], y[members], {
                "s": size,
                "marker": marker,
                # A clear fill rather than "none" keeps a hollow marker on matplotlib's
                # one-stamp path (draw_markers) when the points become one image.
                "facecolors": color if filled else ((0, 0, 0, 0) if rasterized else "none"),
                "edgecolors": color,
                "linewidths": linewidth,
                "zorder": 5,
            }))
        handles.append(Line2D([], [], marker="o", linestyle="", color=color, label=label))
    if rasterized:
        ax.add_image(_points_image_type()(ax, layers, raster_dpi or _POINTS_DPI))
    else:
        for layer_x, layer_y, style in layers:
            ax.scatter(layer_x, layer_y, **style)
    for precision, (marker, filled) in markers.items():
        if precision in precisions:
            handles.append(
                Line2D(
                    [],
                    [],
                    marker=marker,
                    linestyle="",
                    markerfacecolor="#444444" if filled else "none",
                    markeredgecolor="#444444",
                    label=f"{settings.PRECISION_LABELS[precision]} ({shapes[precision]})",
                )
            )
    return handles


#: Resolution of the image of a map's points above the raster threshold: that of the report's
#: PNG, so the PNG, PDF and SVG of a page share one drawing of the points.
_POINTS_DPI = 200

#: The same for the year maps, drawn in the PDF only: matplotlib's own resolution for a page's
#: images (each map a quarter of the page wide; twice it would double the PDF's drawing time).
_PANEL_POINTS_DPI = 100


@functools.cache
def _points_image_type():
    """Return the image class of rasterised points (made here, as matplotlib loads late)."""
    from matplotlib.image import AxesImage

    class PointsImage(AxesImage):
        """A map's points drawn as one image, once, when a page is first saved.

        The points are drawn over the axes' final size and limits (known only once the page is
        laid out) and kept: every later save of the page reuses the image rather than drawing
        each point again. A PNG draws them at its own resolution; a PDF or SVG takes ``dpi``
        (:data:`_POINTS_DPI` on the report's first page, the PNG's resolution in a build, so
        its three files share one drawing). ``layers`` are the (x, y, scatter style) of each
        group of points, in drawing order.
        """

        def __init__(self, ax, layers, dpi):
            super().__init__(ax, interpolation="none", origin="upper")
            self.set_zorder(5)
            self._layers, self._dpi = layers, dpi
            self._drawn_for = None

        def get_extent(self):
            x0, x1 = self.axes.get_xlim()
            y0, y1 = self.axes.get_ylim()
            return x0, x1, y0, y1

        def draw(self, renderer):
            ax = self.axes
            inches = tuple(round(v / ax.figure.dpi, 6) for v in (ax.bbox.width, ax.bbox.height))
            # A vector file scales the image as it is; a raster one is drawn at its own dpi.
            dpi = self._dpi if renderer.option_scale_image() else round(ax.figure.dpi, 6)
            key = (inches, ax.get_xlim(), ax.get_ylim(), dpi)
            if key != self._drawn_for:
                self.set_data(_points_raster(self._layers, *key))
                self._drawn_for = key
            super().draw(renderer)

    return PointsImage


def _points_raster(layers, inches, xlim, ylim, dpi) -> np.ndarray:
    """Draw ``layers`` (x, y, scatter style) on a clear figure of ``inches``; return its RGBA."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=inches, dpi=dpi)
    fig.patch.set_alpha(0)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    for x, y, style in layers:
        ax.scatter(x, y, **style)
    canvas.draw()
    return np.array(canvas.buffer_rgba())


def _label_provinces(fig, ax, projected, fills):
    """Write province names; move colliding small-province labels out with leader lines.

    The layout depends only on the shapes and the map's place on the page, so it is worked out
    once and reused for every page of a report with the same layer and map place. The leader
    lines are drawn together, as one collection under the labels.
    """
    from matplotlib.collections import LineCollection

    anchors = projected.geometry.representative_point()
    names = [str(name) for name in projected["province"]]
    key = (
        tuple(projected["province_code"].astype(str)),
        tuple(np.round(projected.total_bounds)),
        tuple(fig.get_size_inches()),
        tuple(np.round(ax.get_position().bounds, 4)),  # the map's place, under the words
    )
    if key not in _LABEL_LAYOUTS:
        _LABEL_LAYOUTS[key] = _layout_labels(fig, ax, projected, anchors, names)
    layout = _LABEL_LAYOUTS[key]
    per_point = _data_per_point(ax)
    leaders = [
        np.array([anchors.iloc[i].x, anchors.iloc[i].y]) + np.asarray(leader) * per_point
        for i, _, leader in layout if leader is not None
    ]
    ax.add_collection(LineCollection(leaders, colors="#333333", linewidths=0.5, zorder=6),
                      autolim=False)
    for i, offset, _ in layout:
        color = _text_color(fills[i]) if offset is None else "#111111"
        _annotate(ax, names[i], anchors.iloc[i], offset, color)


#: Label layouts already worked out: (codes, bounds, page size, map place) -> [(row, offset or None,
#: leader line or None)]; offsets and leader ends are in points from the province's anchor.
_LABEL_LAYOUTS: dict[tuple, list[tuple[int, tuple | None, tuple | None]]] = {}


def _data_per_point(ax):
    """Return the map units one typographic point spans on the page, across and up."""
    dpi = ax.figure.dpi
    (x0, y0), (x1, y1) = ax.transData.transform([(0.0, 0.0), (1.0, 1.0)])
    return np.array([dpi / 72 / (x1 - x0), dpi / 72 / (y1 - y0)])


def _layout_labels(fig, ax, projected, anchors, names):
    """Place each label at its province's anchor, or at the nearest free offset around it."""
    renderer = fig.canvas.get_renderer()
    placed, layout = [], []
    areas = projected.area
    codes = list(projected["province_code"].astype(str))
    order = sorted(
        range(len(projected)), key=lambda i: (codes[i] in SMALL_PROVINCES, -areas.iloc[i])
    )
    for i in order:
        offset, leader = None, None
        if codes[i] not in SMALL_PROVINCES:
            box, _ = _measure(ax, renderer, names[i], anchors.iloc[i], None)
            if any(box.overlaps(other) for other in placed):
                offset, box, leader = _free_offset(ax, renderer, names[i], anchors.iloc[i],
                                                   placed)
        else:
            offset, box, leader = _free_offset(ax, renderer, names[i], anchors.iloc[i], placed)
        placed.append(box)
        layout.append((i, offset, leader))
    return layout


def _measure(ax, renderer, name, point, offset):
    """Return the display box a label and its leader line would take, and the leader line.

    The leader runs from the edge of the label's box towards its anchor, 2 points short of
    each end, as a matplotlib annotation's line does; its ends are returned in points from
    the anchor (None at the anchor, or when the anchor is under the label).
    """
    from matplotlib.transforms import Bbox

    text = _annotate(ax, name, point, offset)
    box = text.get_window_extent(renderer)
    text.remove()
    leader = _leader(ax, box, point) if offset is not None else None
    if leader is not None:
        scale = ax.figure.dpi / 72
        anchor = ax.transData.transform((point.x, point.y))
        box = Bbox.union([box, Bbox(anchor + np.asarray(leader) * scale)])
    return box.expanded(1.05, 1.15), leader


def _leader(ax, box, point):
    """Return the leader line from a label's box to its anchor, in points from the anchor."""
    scale = ax.figure.dpi / 72  # display pixels per point
    pad = _LABEL_PAD * _LABEL_SIZE * scale
    anchor = ax.transData.transform((point.x, point.y))
    centre = np.array([(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2])
    dx, dy = anchor - centre
    distance = math.hypot(dx, dy)
    reach = min(
        (box.width / 2 + pad) / abs(dx) if dx else math.inf,
        (box.height / 2 + pad) / abs(dy) if dy else math.inf,
    )  # the fraction of the way to the anchor that is inside the label's box
    shrink = 2 * scale
    if reach >= 1 or distance * (1 - reach) <= 2 * shrink:
        return None
    unit = np.array([dx, dy]) / distance
    start = centre + reach * np.array([dx, dy]) + shrink * unit
    end = anchor - shrink * unit
    return tuple(map(tuple, (np.array([start, end]) - anchor) / scale))


#: Province labels: font size in points, and the white box's margin as a share of it.
_LABEL_SIZE, _LABEL_PAD = 5.5, 0.1


def _free_offset(ax, renderer, name, point, placed):
    """Try offsets around a point, nearest first, until the label collides with nothing.

    Returns the offset (None for a crowded page: the label stays at its anchor), the box it
    takes and its leader line.
    """
    for radius in (14, 22, 32, 44, 58):
        for step in range(12):
            angle = math.radians(30 * step + 15)
            offset = (radius * math.cos(angle), radius * math.sin(angle))
            box, leader = _measure(ax, renderer, name, point, offset)
            if not any(box.overlaps(other) for other in placed):
                return offset, box, leader
    return None, _measure(ax, renderer, name, point, None)[0], None


def _annotate(ax, name, point, offset=None, color="#111111"):
    """Write a province label; with an offset, on a white box (its leader line drawn apart)."""
    options = {"ha": "center", "va": "center", "fontsize": _LABEL_SIZE, "color": color,
               "zorder": 6}
    if offset is not None:
        options.update(
            xytext=offset,
            textcoords="offset points",
            bbox={"boxstyle": f"square,pad={_LABEL_PAD}", "fc": "white", "ec": "none",
                  "alpha": 0.85},
        )
    return ax.annotate(name, (point.x, point.y), **options)


def _scale_bar(ax, length_km=200):
    """Draw a scale bar in the projected metres of the equal-area CRS, at the lower right.

    Afghanistan leaves that corner of its extent empty (Pakistan, south-east of Kandahar), so
    the bar stands on no province.
    """
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    left, bottom = x1 - 0.05 * (x1 - x0) - length_km * 1000, y0 + 0.04 * (y1 - y0)
    length = length_km * 1000
    height = 0.008 * (y1 - y0)
    from matplotlib.patches import Rectangle

    for i in range(4):
        ax.add_patch(
            Rectangle(
                (left + i * length / 4, bottom),
                length / 4,
                height,
                facecolor="#222222" if i % 2 == 0 else "white",
                edgecolor="#222222",
                linewidth=0.6,
                zorder=7,
            )
        )
    for km in (0, length_km // 2, length_km):
        ax.text(
            left + km * 1000,
            bottom + 1.8 * height,
            f"{km}",
            ha="center",
            va="bottom",
            fontsize=6,
            zorder=7,
        )
    ax.text(left + length + 0.01 * (x1 - x0), bottom, "km", va="bottom", fontsize=6, zorder=7)


@functools.lru_cache(maxsize=4)
def _transformers(crs):
    """Return the transformers from ``crs`` to longitude/latitude and back (built once)."""
    from pyproj import Transformer

    return (
        Transformer.from_crs(crs, settings.CRS, always_xy=True),
        Transformer.from_crs(settings.CRS, crs, always_xy=True),
    )


def _north_arrow(ax, crs):
    """Draw an arrow to true north at the upper left, the empty corner north of Herat.

    The arrow's angle is computed from the projection where it stands.
    """
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    x, y = x0 + 0.05 * (x1 - x0), y1 - 0.14 * (y1 - y0)
    to_geo, to_map = _transformers(crs)
    lon, lat = to_geo.transform(x, y)
    nx, ny = to_map.transform(lon, lat + 0.5)
    angle = math.atan2(ny - y, nx - x)
    length = 0.07 * (y1 - y0)
    tip = (x + length * math.cos(angle), y + length * math.sin(angle))
    ax.annotate(
        "",
        xy=tip,
        xytext=(x, y),
        arrowprops={"arrowstyle": "-|>", "color": "#222222", "linewidth": 1.2},
        zorder=7,
    )
    ax.text(
        tip[0],
        tip[1] + 0.012 * (y1 - y0),
        "N",
        ha="center",
        va="bottom",
        fontsize=9,
        fontweight="bold",
        zorder=7,
    )


def _legend(ax, classes, column, point_handles, places=None, counts=True):
    """Draw the fill legend and, when points are drawn, the points legend, each titled apart.

    With ``counts`` each fill row says how many provinces it holds (one map's legend).
    """
    from matplotlib.patches import Patch

    fill_place, point_place = places or ({"loc": "lower right"}, {"loc": "upper left"})
    if places:
        fill_place = {**fill_place, "bbox_transform": ax.figure.transFigure}
        point_place = {**point_place, "bbox_transform": ax.figure.transFigure}

    handles = [
        Patch(facecolor=color, edgecolor="#555555",
              label=f"{label} ({count})" if counts else label)
        for label, color, count in classes.legend_items()
    ]
    first = ax.legend(
        handles=handles,
        title=f"Province fill: {metric_label(column)}",
        **fill_place,
        fontsize=6.5,
        title_fontsize=7,
        frameon=True,
    )
    if point_handles:
        ax.add_artist(first)
        ax.legend(
            handles=point_handles,
            title="Events drawn as points: kind and location",
            **point_place,
            fontsize=6.5,
            title_fontsize=7,
            frameon=True,
        )


def draw_map(
    summary,
    *,
    column="events",
    scheme=None,
    k=None,
    bins=None,
    events=None,
    text=None,
    page="a4-landscape",
    crs=None,
):
    """Draw one static choropleth page and return the matplotlib figure.

    Parameters
    ----------
    summary : geopandas.GeoDataFrame
        Per-province summary (:func:`khorasan_map.aggregate.summarize`).
    column : str
        Summary column to classify and colour.
    scheme, k, bins
        Classification, as for :func:`khorasan_map.classify.classify_values`.
    events : pandas.DataFrame, optional
        Events to draw as points on top (only those with point precision are drawn).
    text : MapText, optional
        Title, subtitle, date range, source line and headline.
    page : str
        Page size, see :func:`page_size`.
    crs : str, optional
        Projected CRS to draw in; defaults to :data:`khorasan_map.settings.EQUAL_AREA_CRS`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from khorasan_map.classify import classify_values

    crs = crs or settings.EQUAL_AREA_CRS
    classes = classify_values(
        metric_values(summary, column),
        scheme=scheme or settings.SCHEME,
        k=k or settings.K,
        bins=bins,
    )
    projected, drawn = _project(summary, crs)
    minx, miny, maxx, maxy = projected.total_bounds
    pad = 0.03 * max(maxx - minx, maxy - miny)
    width, height = page_size(page)
    text = text or map_text(summary, column=column)
    rect, places = map_layout(width, height, (maxx - minx + 2 * pad) / (maxy - miny + 2 * pad),
                              top=_words_top(text, width))
    fig = Figure(figsize=(width, height), layout=None)
    FigureCanvasAgg(fig)  # a renderer to measure labels with, before saving in any format
    ax = fig.add_axes(rect)
    ax.set_axis_off()
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    fills = classes.color_of(metric_values(projected, column))
    _draw_provinces(ax, drawn, fills)
    handles = _draw_points(ax, events, crs) if events is not None else []
    ax.apply_aspect()
    _label_provinces(fig, ax, projected, fills)
    _scale_bar(ax)
    _north_arrow(ax, crs)
    _legend(ax, classes, column, handles, places)
    _page_words(fig, text, raster_note(events))
    return fig


def map_layout(width, height, aspect, top=None):
    """Place the map and its legends on a page so the map takes all the room the words leave.

    Parameters
    ----------
    width, height : float
        Page size in inches.
    aspect : float
        Width over height of the map's extent.
    top : float, optional
        Inches kept above the map for the words; at least ``PAGE_MARGINS["top"]``.

    Returns
    -------
    tuple
        The map's axes rectangle ``(left, bottom, width, height)`` in page fractions, and the
        placement options (``loc`` and ``bbox_to_anchor``, in page fractions) of the fill
        legend and of the points legend.

    Examples
    --------
    >>> rect, places = map_layout(8.27, 11.69, 1.35)
    >>> round(rect[2], 2)  # the map spans the page's width, less the side margins
    0.93
    """
    margin = {**PAGE_MARGINS, "top": max(PAGE_MARGINS["top"], top or 0)}
    free_w = width - 2 * margin["side"]
    free_h = height - margin["top"] - margin["bottom"]
    landscape = width > height
    if landscape:
        map_h = min(free_h, (free_w - margin["legend"]) / aspect)
        map_w = map_h * aspect
    else:
        map_w = min(free_w, (free_h - margin["legend"]) * aspect)
        map_h = map_w / aspect
    left = margin["side"]
    bottom = height - margin["top"] - map_h
    if not landscape:  # the map and the legends under it, centred in the room left
        bottom -= (free_h - map_h - margin["legend"]) / 2
    rect = (left / width, bottom / height, map_w / width, map_h / height)
    if landscape:
        x = (left + map_w + 0.15) / width
        fill = {"loc": "upper left", "bbox_to_anchor": (x, rect[1] + rect[3])}
        points = {"loc": "lower left", "bbox_to_anchor": (x, rect[1])}
    else:
        y = (bottom - 0.1) / height
        fill = {"loc": "upper left", "bbox_to_anchor": (rect[0], y)}
        points = {"loc": "upper right", "bbox_to_anchor": (rect[0] + rect[2], y)}
    return rect, (fill, points)


def _page_words(fig, text, raster=""):
    """Write the title, subtitle, headline, source and note, at fixed inches from the edges.

    ``raster`` is :func:`raster_note`'s sentence, when points were drawn as a density.
    """
    width, height = fig.get_size_inches()
    left = PAGE_MARGINS["side"] / width

    def top(inches):
        return 1 - inches / height

    fig.text(left, top(0.3), text.title, fontsize=15, fontweight="bold", va="top")
    subtitle = f"{text.subtitle}, {text.date_range}" if text.date_range else text.subtitle
    fig.text(left, top(0.62), subtitle, fontsize=10, va="top")
    if text.headline:
        _wrapped_text(fig, left, top(0.86), text.headline, fontsize=8.5, va="top",
                      color="#8c2d04", linespacing=1.3)
    _wrapped_text(fig, left, 0.38 / height, text.source, fontsize=7, va="bottom")
    raster = f" {raster}." if raster else ""
    _wrapped_text(
        fig,
        left,
        0.2 / height,
        text.note + ". Equal-area projection (Albers, Afghanistan)." + raster,
        fontsize=6.5,
        va="bottom",
        color="#444444",
    )


def _words_top(text, width):
    """Return the inches :func:`_page_words` takes above a map, its headline wrapped at ``width``.

    The headline starts 0.86 in from the top; each of its lines takes 1.3 times its size.
    """
    if not text.headline:
        return 0.0
    lines = wrap_lines(text.headline, 8.5, (width - PAGE_MARGINS["side"]) * 72).count("\n") + 1
    return 0.86 + lines * 8.5 * 1.3 / 72 + 0.12


def _wrapped_text(fig, x, y, text, *, fontsize, **options):
    """Write left-aligned text broken into lines that end before the page's right edge.

    The lines break where matplotlib's ``wrap=True`` breaks them, but they are measured once
    (:func:`wrap_lines`), not again word by word each time the page is saved.
    """
    width = (1 - x) * fig.get_figwidth() * 72  # points from x to the right edge
    return fig.text(x, y, wrap_lines(text, fontsize, width), fontsize=fontsize, **options)


@functools.lru_cache(maxsize=512)
def wrap_lines(text: str, fontsize: float, width: float) -> str:
    r"""Break text into lines no wider than ``width`` points, at spaces, as ``wrap=True`` does.

    Parameters
    ----------
    text : str
        The text; its own line breaks are kept.
    fontsize : float
        Font size in points, in the default font (``font.family``, normal weight).
    width : float
        Longest line, in points.

    Returns
    -------
    str
        The text with line breaks where a line would be too long. A word longer than the
        line stays whole, on a line of its own.

    Examples
    --------
    >>> wrap_lines("one two three", 10, 40)
    'one\ntwo\nthree'
    """
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    prop = FontProperties(size=fontsize)

    def fits(line):
        line_width = text_to_path.get_text_width_height_descent(line, prop, ismath=False)[0]
        return math.ceil(line_width) <= width

    lines = []
    for paragraph in text.split("\n"):
        words = paragraph.split(" ")
        while words:
            n_words = _words_that_fit(words, fits)
            lines.append(" ".join(words[:n_words]))
            words = words[n_words:]
    return "\n".join(lines)


def _words_that_fit(words, fits):
    """Return how many leading ``words`` fit on one line (at least one), measuring few lines.

    A line grows wider with every word, so the longest that fits is found by bisection: the
    same break as trying one word more at a time, in a handful of measurements.
    """
    if fits(" ".join(words)):
        return len(words)
    low, high = 1, len(words) - 1  # one word always goes on the line, even too long a word
    while low < high:
        middle = (low + high + 1) // 2
        if fits(" ".join(words[:middle])):
            low = middle
        else:
            high = middle - 1
    return low


def _table_page(title, headers, rows, note, page, first_width=0.16, positions=None):
    """Draw a page holding one table: a left-aligned first column, the others right-aligned.

    Each column is one multi-line text, which draws far faster than a cell-by-cell table.
    ``positions`` gives each column's x (page fraction); else they are spaced evenly.
    """
    import textwrap

    from matplotlib.figure import Figure

    width, height = page_size(page)
    fig = Figure(figsize=(min(width, height), max(width, height)))
    fig.text(0.06, 0.975, title, fontsize=12, fontweight="bold", va="top")
    left, right = 0.06, 0.94
    step = (right - left - first_width) / (len(headers) - 1)
    for i, header in enumerate(headers):
        x = left if i == 0 else left + first_width + step * i
        x = positions[i] if positions else x
        align = "left" if i == 0 else "right"
        head = "\n".join(textwrap.wrap(header, 12))
        fig.text(x, 0.895, head, fontsize=6.5, fontweight="bold", ha=align, va="bottom")
        body = "\n".join(str(row[i]) for row in rows)
        fig.text(x, 0.89, body, fontsize=7, ha=align, va="top", linespacing=1.55)
    _wrapped_text(fig, left, 0.03, note, fontsize=6.5, color="#444444")
    return fig


def _counts_page(summary, page):
    """Draw the page listing every province with its counts by kind and number of sources."""
    kinds = [f"n_{kind}" for kind in settings.EVENT_KINDS if f"n_{kind}" in summary]
    columns = ["province", "events", *kinds, "fatalities", "n_sources"]
    headers = ["Province", "Events"] + [settings.KIND_STYLES[k[2:]]["label"] for k in kinds]
    headers += ["Fatalities (best)", "Sources"]
    table = summary.sort_values(["events", "province"], ascending=[False, True])[columns]
    rows = [[_cell(value) for value in row] for row in table.itertuples(index=False)]
    note = (
        "Fatalities: sum of best estimates where a source gives one; blank "
        "where no record of the province gives a figure."
    )
    return _table_page("Provinces: records by kind and number of sources", headers, rows,
                       note, page)


def _evidence_page(events, summary, page):
    """Draw the evidence table: records, sources, best confidence, first and last record."""
    rows = evidence_rows(events, summary)
    note = (
        "Records: events of the province on the map. Sources: distinct sources cited. Best "
        "confidence: the highest grade among them (low, medium, high). Dates at the precision "
        "the sources give."
    )
    return _table_page("Provinces: the evidence behind each figure", EVIDENCE_COLUMNS, rows,
                       note, page, positions=(0.06, 0.28, 0.37, 0.50, 0.72, 0.94))


def _cell(value):
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:,.0f}"
    return str(value)


def report_figures(
    data,
    *,
    column="events",
    scheme=None,
    k=None,
    bins=None,
    boundaries=None,
    since=None,
    until=None,
    kinds=None,
    min_confidence=None,
    points=True,
    title=None,
    subtitle=None,
    page="a4-landscape",
    multipage=False,
    pages_by="year",
    left_out=None,
    summary=None,
    coverage=None,
    by_year=None,
):
    """Draw the pages of a static report: the overview map, and optionally more pages.

    Parameters are those of :func:`export_static`, less the file. Use this with
    :func:`save_figures` to write one drawing in several formats.

    Parameters
    ----------
    summary, coverage : optional
        The summary and the headline's coverage (or whole headline) of ``data`` already
        computed with the same filters, as in :func:`khorasan_map.render.choropleth_map`.
    by_year : geopandas.GeoDataFrame, optional
        The province-year summary already computed, for the year pages.

    Returns
    -------
    list of matplotlib.figure.Figure
        The overview first; with ``multipage``, the year maps (twelve to a page) or a page per
        kind, then the tables.
    """
    if pages_by not in ("year", "kind"):
        raise ValueError(f"pages_by must be 'year' or 'kind'; got {pages_by!r}")
    page_size(page)
    filters = {"since": since, "until": until, "kinds": kinds, "min_confidence": min_confidence}
    summary, events, cover = _prepare(data, column=column, boundaries=boundaries,
                                      filters=filters, summary=summary, coverage=coverage)
    datasets = events["dataset"].dropna().unique() if events is not None else ()
    text = map_text(
        summary,
        cover,
        title=title,
        subtitle=subtitle,
        column=column,
        datasets=datasets,
        left_out=left_out,
    )
    options = {"column": column, "scheme": scheme, "k": k, "bins": bins, "page": page}
    kept = None
    if events is not None:
        from khorasan_map.aggregate import filter_events

        kept = filter_events(events, **filters).events  # the mapped events
        if since is None and until is None and len(kept):
            text = replace(text, date_range=span_text(kept) or text.date_range)
    shown = kept if points else None
    if shown is not None:
        n_area = int((~shown["location_precision"].isin(settings.POINT_PRECISIONS)).sum())
        if n_area:
            note = f"{n_area:,} known only to their province: counted there, not drawn as points"
            text = replace(text, note=f"{text.note}; {note}")
    figures = [draw_map(summary, events=shown, text=text, **options)]
    if multipage:
        figures += _extra_pages(kept, summary, text, boundaries, filters, options, pages_by,
                                by_year, points=points)
        figures.append(_counts_page(summary, page))
        if kept is not None:
            figures.append(_evidence_page(kept, summary, page))
    return figures


def export_static(data, path, *, dpi=200, multipage=False, **options):
    """Write a static map for a report as PNG, SVG or PDF.

    Parameters
    ----------
    data : pandas.DataFrame or geopandas.GeoDataFrame
        Events in the toolkit's schema, or a per-province summary from
        :func:`khorasan_map.aggregate.summarize`.
    path : str or path-like
        Output file; the extension (``.png``, ``.svg``, ``.pdf``) selects the format. The file is
        written atomically.
    dpi : int
        Resolution of PNG output.
    multipage : bool
        PDF only: after the overview, a map per year side by side, twelve to a page, at the
        overview's classes (``pages_by="year"``), or a page per kind (``pages_by="kind"``);
        then the tables of provinces.
    **options
        Passed to :func:`report_figures`:

        column : str
            Summary column to map (``events``, ``n_clash``, ``fatalities``...).
        scheme, k, bins
            Classification, the same options as the HTML choropleth.
        boundaries : geopandas.GeoDataFrame, optional
            Province layer; the shipped one by default.
        since, until, kinds, min_confidence
            Filters, as for :func:`khorasan_map.aggregate.summarize`.
        points : bool
            Draw point-precise events on top (only when ``data`` holds events).
        title, subtitle : str, optional
            Override the default words.
        page : str
            ``a4``, ``letter`` or ``a3``, ``-portrait`` or ``-landscape``.
        pages_by : {"year", "kind"}
            What the extra PDF pages split by.
        left_out : dict, optional
            Events left out before ``data``, ``{reason: count}`` (for example rows rejected by
            validation), added to the note under the map.

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> from khorasan_map import read_events, export_static
    >>> export_static(read_events(), "report.pdf", multipage=True)  # doctest: +SKIP
    """
    path = _static_path(path)
    if multipage and path.suffix.lower() != ".pdf":
        raise ValueError("multipage=True needs a .pdf file")
    return save_figures(report_figures(data, multipage=multipage, **options), path, dpi=dpi)


def _static_path(path):
    path = Path(path)
    if path.suffix.lower() not in STATIC_FORMATS:
        valid = ", ".join(STATIC_FORMATS)
        raise ValueError(f"static maps are written as {valid}; got {path.name!r}")
    return path


def _extra_pages(kept, summary, text, boundaries, filters, options, pages_by, by_year=None,
                 points=True):
    """Draw the years side by side, or one page per kind, with the overview's classes fixed.

    Each year's map (:func:`_year_grid`, twelve to a page) or kind's page has its own lead
    lines and points; a kind's page also has its own subtitle, date line and coverage line.
    """
    from khorasan_map.classify import classify_values

    if kept is None:
        return []
    overall = classify_values(
        metric_values(summary, options["column"]),
        scheme=options["scheme"] or settings.SCHEME,
        k=options["k"] or settings.K,
        bins=options["bins"],
    )
    if pages_by == "year":
        from khorasan_map.aggregate import event_year

        year_of = event_year(kept, filters["since"], filters["until"])
        years = list(_year_pages(kept, text, boundaries, filters, by_year, year_of))
        undated = int(year_of.isna().sum())
        return [
            _year_grid(chunk, overall, text, options, points, undated)
            for chunk in _chunks(years, math.prod(_year_grid_shape(options["page"])))
        ]
    fixed = {**options, "scheme": "user_defined", "bins": list(overall.bins)}
    return [
        draw_map(part, events=shown if points else None, text=page_text, **fixed)
        for part, shown, page_text in _kind_pages(kept, text, boundaries, filters)
    ]


def _chunks(items, size):
    return [items[start:start + size] for start in range(0, len(items), size)]


def _year_grid_shape(page):
    """Rows and columns of year maps on one page: 3 by 4 across a landscape page, else 4 by 3."""
    width, height = page_size(page)
    return (3, 4) if width > height else (4, 3)


#: Height of a year map's heading (year, records, lead lines), in inches above its map.
_PANEL_HEADING = 0.42


def _year_grid(years, classes, text, options, points=True, undated=0):
    """Draw one page of year maps side by side, each filled with the overview's classes.

    ``years`` holds (summary, events, words) per year, from :func:`_year_pages`. Each map
    carries its year, its number of records and its lead lines; the page carries the
    overview's headline, one fill legend (the classes of every map) and one points legend.
    ``undated`` records, with no known date, are on no year's map; the note says so.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    crs = settings.EQUAL_AREA_CRS
    minx, miny, maxx, maxy = _project(years[0][0], crs, _PANEL_SIMPLIFY_FRACTION)[0].total_bounds
    pad = 0.02 * max(maxx - minx, maxy - miny)
    extent = (minx - pad, miny - pad, maxx + pad, maxy + pad)
    rows, cols = _year_grid_shape(options["page"])
    width, height = page_size(options["page"])
    cell_width = (width - 2 * PAGE_MARGINS["side"] - PAGE_MARGINS["legend"]) / cols
    map_aspect = (extent[2] - extent[0]) / (extent[3] - extent[1])
    cell_aspect = cell_width / (cell_width / map_aspect + _PANEL_HEADING)
    rect, places = map_layout(width, height, cols * cell_aspect / rows,
                              top=_words_top(text, width))
    fig = Figure(figsize=(width, height), layout=None)
    FigureCanvasAgg(fig)
    handles, n_records, n_dense = {}, 0, 0
    for i, (part, shown, words) in enumerate(years):
        row, col = divmod(i, cols)
        cell = (rect[0] + col * rect[2] / cols, rect[1] + (rows - 1 - row) * rect[3] / rows,
                rect[2] / cols, rect[3] / rows)
        ax = _panel(fig, cell, extent)
        projected, drawn = _project(part, crs, _PANEL_SIMPLIFY_FRACTION)
        _draw_provinces(ax, drawn, classes.color_of(metric_values(projected, options["column"])))
        if points and shown is not None:
            n_dense += bool(raster_note(shown))
            for handle in _draw_points(ax, shown, crs, size=6, linewidth=0.6,
                                       raster_dpi=_PANEL_POINTS_DPI):
                handles.setdefault(handle.get_label(), handle)
        n_year = int(part["events"].sum())
        n_records += n_year
        plural = "" if n_year == 1 else "s"
        _panel_heading(fig, ax, f"{words.date_range}: {n_year:,} record{plural}", words.headline)
    rank = {style["label"]: i for i, style in enumerate(settings.KIND_STYLES.values())}
    ordered = sorted(handles.values(),  # the kinds in their usual order, then the locations
                     key=lambda handle: rank.get(handle.get_label(), len(rank)))
    _legend(fig.axes[0], classes, options["column"], ordered, places, counts=False)
    first, last = years[0][2].date_range, years[-1][2].date_range
    page_words = replace(
        text,
        subtitle=f"{text.subtitle}, year by year",
        date_range=first if first == last else f"{first} to {last}",
        note=f"{n_records:,} records in these years{_undated_words(undated)}; every map is "
             "filled with the overview's classes",
    )
    dense = (f"Maps with over {settings.RASTER_THRESHOLD:,} points draw them as one image"
             if n_dense else "")
    _page_words(fig, page_words, dense)
    return fig


def _undated_words(undated):
    if not undated:
        return ""
    verb = "is" if undated == 1 else "are"
    return f" ({undated:,} with no known date {verb} on the overview only)"


def _panel(fig, cell, extent):
    """Add a year map's axes at the top of ``cell`` (page fractions), under its heading.

    The axes take the map's own shape, so the map fills them at equal scale on both axes.
    """
    width, height = fig.get_size_inches()
    left, bottom, cell_w, cell_h = (cell[0] * width, cell[1] * height, cell[2] * width,
                                    cell[3] * height)
    aspect = (extent[2] - extent[0]) / (extent[3] - extent[1])
    map_w = min(cell_w - 0.1, (cell_h - _PANEL_HEADING) * aspect)
    map_h = map_w / aspect
    top = bottom + cell_h - _PANEL_HEADING
    ax = fig.add_axes((left / width, (top - map_h) / height, map_w / width, map_h / height))
    ax.set_axis_off()
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlim(extent[0], extent[2])
    ax.set_ylim(extent[1], extent[3])
    return ax


def _panel_heading(fig, ax, title, lead):
    """Write a map's heading above it: ``title`` in bold, then the ``lead`` lines, wrapped."""
    left, top = ax.get_position().x0, ax.get_position().y1 + _PANEL_HEADING / fig.get_figheight()
    fig.text(left, top, title, fontsize=8, fontweight="bold", va="top")
    width = ax.get_position().width * fig.get_figwidth() * 72
    lines = "\n".join(wrap_lines(line, 5.5, width) for line in lead.split("\n"))
    fig.text(left, top - 0.15 / fig.get_figheight(), lines, fontsize=5.5, va="top",
             color="#8c2d04", linespacing=1.2)


def _year_pages(kept, text, boundaries, filters, by_year, year_of):
    """Yield (summary, events, words) for each year: the year's figures and its lead lines.

    ``year_of`` is each event's year (:func:`khorasan_map.aggregate.event_year`).
    """
    from khorasan_map import aggregate

    if by_year is None:
        by_year = aggregate.summarize(kept, boundaries, by=("province", "year"), **filters)
    total = by_year["province_code"].astype(str).nunique()
    drawn = kept[[name for name in _POINT_COLUMNS if name in kept]]  # fewer columns to copy
    for year, part in by_year.groupby("year", sort=True):
        part = part.copy()
        part.attrs = {}
        n_records = int(part["events"].sum())
        page_text = replace(
            text,
            date_range=str(year),
            headline="\n".join(step_headline(part, filters["kinds"], total=total)),
            note=f"{n_records:,} records in {year}",
        )
        yield part, drawn[(year_of == year).to_numpy()], page_text


def _kind_pages(kept, text, boundaries, filters):
    """Yield (summary, events, words) for each kind: the kind's figures and its coverage."""
    from khorasan_map import aggregate

    for kind in sorted(kept["kind"].dropna().unique()):
        kind_filters = {**filters, "kinds": [kind]}
        part = aggregate.summarize(kept, boundaries, **kind_filters)
        cover = aggregate.coverage(kept, boundaries, **kind_filters)
        label = settings.KIND_STYLES.get(kind, {"label": kind})["label"]
        shown = kept[kept["kind"] == kind]
        default_title = text.title == map_title(filters["kinds"])
        page_text = replace(
            text,
            title=map_title([kind]) if default_title else text.title,
            subtitle=f"{label}: {text.subtitle}",
            date_range=span_text(shown) or text.date_range,
            headline=cover.sentence,
            note=f"{int(part['events'].sum()):,} records",
        )
        yield part, shown, page_text


def save_figures(figures, path, dpi=200):
    """Save report pages atomically, with fixed metadata so the bytes are reproducible.

    Parameters
    ----------
    figures : list of matplotlib.figure.Figure
        Pages from :func:`report_figures`; PNG and SVG take the first only.
    path : str or path-like
        ``.png``, ``.svg`` or ``.pdf`` file.
    dpi : int
        Resolution of PNG output.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages

    from khorasan_map.output import atomic_write

    path = _static_path(path)
    suffix = path.suffix.lower()

    def write(tmp):
        with matplotlib.rc_context({"svg.hashsalt": "khorasan-map", "svg.fonttype": "none"}):
            if suffix == ".pdf":
                with PdfPages(tmp, metadata=_METADATA[".pdf"]) as pdf:
                    for figure in figures:
                        pdf.savefig(figure)
            else:
                figures[0].savefig(tmp, format=suffix[1:], dpi=dpi, metadata=_METADATA[suffix])

    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, write)


__all__ = [
    "MapText",
    "PAGE_SIZES",
    "draw_map",
    "export_static",
    "map_layout",
    "map_text",
    "page_size",
    "preload",
    "report_figures",
    "save_figures",
]
