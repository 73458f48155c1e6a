"""Write maps and tables to disk: atomic, deterministic, optionally fully offline.

:func:`save_html` writes a folium map as one HTML file. The file is byte-identical for the same
input: folium's random element ids are replaced by counters in order of first appearance. With
``offline=True`` every script, stylesheet and icon is inlined from the XStatic packages installed
with this toolkit (Leaflet and Leaflet.markercluster), the tile layers are dropped, and the file
opens on a machine with no network at all.

:func:`save_table` and :func:`save_json` write data exports (CSV, GeoJSON, GeoPackage, Parquet,
JSON). Every writer goes through a temporary file in the destination folder, ``fsync`` and
:func:`os.replace`, so a reader never sees half a file and a failed write leaves the old file
untouched.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as _dt
import itertools
import json
import math
import os
import re
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from khorasan_map.errors import OfflineAssetError
from khorasan_map.output import atomic_write, escape_formula, iso_dates, write_bytes, write_csv
from khorasan_map.output import umask as output_umask

__all__ = [
    "OFFLINE_BACKGROUND",
    "OfflineAssetError",
    "escape_formula",
    "offline_assets",
    "render_html",
    "save_html",
    "save_json",
    "save_table",
]

# Old private names, kept for callers (static.save_figures) and tests; use khorasan_map.output.
_atomic_write, _write_bytes, _umask = atomic_write, write_bytes, output_umask

#: Background of offline maps, which have no tile layer: the province outlines are the basemap
#: (the colour ``web/offline.css`` gives them).
OFFLINE_BACKGROUND: str = "#eef1f4"

_HEX_ID = re.compile(r"(?<=_)[0-9a-f]{32}(?![0-9a-f])")
_SCRIPT_SRC = re.compile(
    r"""<script\b[^>]*?\bsrc\s*=\s*["']([^"']+)["'][^>]*>\s*</script>""", re.IGNORECASE
)
_LINK_CSS = re.compile(
    r"""<link\b[^>]*?\brel\s*=\s*["']stylesheet["'][^>]*?\bhref\s*=\s*["']([^"']+)["'][^>]*>""",
    re.IGNORECASE,
)
_EXTERNAL_REF = re.compile(
    r"""<(?:script|link|img|iframe)\b[^>]*?\b(?:src|href)\s*=\s*["']\s*(?:https?:)?//""",
    re.IGNORECASE,
)
_CSS_URL = re.compile(r"""url\((["']?)(images/[\w.-]+\.png)\1\)""")
_SOURCE_MAP = re.compile(r"^\s*/[/*][#@] sourceMappingURL=.*$", re.MULTILINE)

# Assets folium and its plugins fetch from a CDN that our maps never need: folium's page
# template loads them for awesome markers (folium.Icon) and Bootstrap widgets. They are dropped
# from offline files unless the page uses them.
_OPTIONAL_ASSETS: tuple[str, ...] = (
    "jquery",
    "bootstrap",
    "bootstrap-glyphicons",
    "fontawesome",
    "leaflet.awesome-markers",
    "leaflet.awesome.rotate",
)
# Code that shows a page really needs one of them: folium.Icon markers (awesome markers, with
# Bootstrap glyphicons or Font Awesome) and folium.Popup, whose template builds its content
# with jQuery (``$(`<div ...>`)``). Searched outside JSON data blocks, in code only.
_NEEDS_OPTIONAL = {
    "awesome markers (folium.Icon)": re.compile(r"L\.AwesomeMarkers\.icon\("),
    "jQuery (folium.Popup)": re.compile(r"\$\(`|\bjQuery\("),
}
_JSON_BLOCK = re.compile(
    r"""<script\b[^>]*\btype\s*=\s*["']application/(?:ld\+)?json["'][^>]*>.*?</script>""",
    re.IGNORECASE | re.DOTALL,
)


@dataclasses.dataclass(frozen=True)
class _Asset:
    """One file inlined into offline maps."""

    name: str
    package: str
    version: str
    path: Path
    kind: str  # "js" or "css"


def offline_assets() -> list[dict[str, str]]:
    """List the files :func:`save_html` inlines into offline maps, with their source package.

    Returns
    -------
    list of dict
        One dict per file: ``name``, ``kind`` (``js``, ``css`` or ``png``), ``package``
        (the registry package that ships it), ``version`` (the upstream version) and ``path``.

    Examples
    --------
    >>> names = [a["name"] for a in offline_assets()]
    >>> "leaflet.js" in names and "leaflet.markercluster.js" in names
    True
    """
    rows = []
    for asset in _ASSETS().values():
        rows.append(_asset_row(asset))
    leaflet = _xstatic("leaflet")
    for png in sorted((Path(leaflet.BASE_DIR) / "images").glob("*.png")):
        rows.append(
            {
                "name": png.name,
                "kind": "png",
                "package": f"XStatic-Leaflet {leaflet.PACKAGE_VERSION}",
                "version": leaflet.VERSION,
                "path": str(png),
            }
        )
    return rows


def _asset_row(asset: _Asset) -> dict[str, str]:
    return {
        "name": asset.name,
        "kind": asset.kind,
        "package": asset.package,
        "version": asset.version,
        "path": str(asset.path),
    }


def _xstatic(name: str):
    """Import ``xstatic.pkg.<name>`` with an install hint when it is missing."""
    import importlib

    try:
        return importlib.import_module(f"xstatic.pkg.{name}")
    except ImportError as exc:  # pragma: no cover - both are hard dependencies
        package = "xstatic-" + name.replace("_", "-")
        raise ImportError(
            f"offline maps need the {package} package: pip install {package}"
        ) from exc


_ASSET_CACHE: dict[str, _Asset] = {}


def _ASSETS() -> dict[str, _Asset]:  # noqa: N802 - a lazily built constant
    """Map each asset's file name to where the XStatic packages keep it."""
    if not _ASSET_CACHE:
        for module, files in (
            ("leaflet", ("leaflet.js", "leaflet.css")),
            (
                "leaflet_markercluster",
                ("leaflet.markercluster.js", "MarkerCluster.css", "MarkerCluster.Default.css"),
            ),
        ):
            pkg = _xstatic(module)
            for name in files:
                _ASSET_CACHE[name] = _Asset(
                    name=name,
                    package=f"{pkg.PACKAGE_NAME} {pkg.PACKAGE_VERSION}",
                    version=pkg.VERSION,
                    path=Path(pkg.BASE_DIR) / name,
                    kind=name.rsplit(".", 1)[1],
                )
    return _ASSET_CACHE


def _asset_for_url(url: str) -> str | None:
    """Name the offline asset that stands for a CDN address, ``"optional"`` or None (unknown)."""
    base = url.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    lower = url.lower()
    if base in ("leaflet.js", "leaflet-src.js"):
        return "leaflet.js"
    if base == "leaflet.css":
        return "leaflet.css"
    if base in ("leaflet.markercluster.js", "leaflet.markercluster-src.js"):
        return "leaflet.markercluster.js"
    if base in ("MarkerCluster.css", "MarkerCluster.Default.css"):
        return base
    if any(key in lower for key in _OPTIONAL_ASSETS):
        return "optional"
    return None


def _png_data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _read_asset(name: str) -> str:
    """Return an asset's text ready to inline: source maps removed, images as data URIs."""
    asset = _ASSETS()[name]
    text = asset.path.read_text(encoding="utf-8")
    text = _SOURCE_MAP.sub("", text).rstrip() + "\n"
    if asset.kind == "css":
        folder = asset.path.parent
        text = _CSS_URL.sub(lambda m: f'url("{_png_data_uri(folder / m.group(2))}")', text)
    closing = "</script" if asset.kind == "js" else "</style"
    if closing in text.lower():  # pragma: no cover - checked for the shipped versions
        raise OfflineAssetError(asset.name, f"the file contains {closing}> and cannot be inlined")
    return text


def _icon_script() -> str:
    """Point Leaflet's default marker icon at inlined images (no image folder offline).

    The images travel as JSON; ``web/offline-icons.js`` reads them.
    """
    from khorasan_map.web import web_file

    images = Path(_xstatic("leaflet").BASE_DIR) / "images"
    options = {
        "iconUrl": _png_data_uri(images / "marker-icon.png"),
        "iconRetinaUrl": _png_data_uri(images / "marker-icon-2x.png"),
        "shadowUrl": _png_data_uri(images / "marker-shadow.png"),
    }
    return (
        f'<script type="application/json" id="km-leaflet-icons">{json.dumps(options)}</script>'
        f"<script>/* inlined: offline-icons.js */\n{web_file('offline-icons.js')}</script>"
    )


def _walk(element) -> Iterator[Any]:
    """Yield an element and every element below it, figure header, html and script included."""
    seen: set[int] = set()
    stack = [element]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        for attr in ("header", "html", "script"):
            part = getattr(node, attr, None)
            if part is not None and hasattr(part, "_children"):
                stack.append(part)
        stack.extend(reversed(list(getattr(node, "_children", {}).values())))


def _is_tile_layer(element) -> bool:
    from folium.raster_layers import TileLayer, WmsTileLayer

    return isinstance(element, (TileLayer, WmsTileLayer))


@contextlib.contextmanager
def _rendering(root, offline: bool) -> Iterator[None]:
    """Render-time state: tile layers detached when offline; the tree restored afterwards.

    folium adds elements to the figure while rendering (``addTo`` statements, includes), so a
    second render of the same map would repeat them. Every node's children are saved and put
    back after rendering: the map is left exactly as the caller built it.
    """
    from folium import Map

    nodes = list(_walk(root))
    saved = [(node, node._children) for node in nodes if hasattr(node, "_children")]
    maps = [(node, node.options) for node in nodes if isinstance(node, Map)]
    if offline:
        for node, options in maps:
            # Leaflet takes the zoom range from the tile layer; without one, clusters fail
            # ("Map has no maxZoom specified"), so the map gets the range of its tiles.
            tiles = [c for c in node._children.values() if _is_tile_layer(c)]
            zooms = [t.options.get("maxZoom") for t in tiles if t.options.get("maxZoom")]
            node.options = {"maxZoom": max(zooms, default=18), **options}
    for node, children in saved:
        node._children = OrderedDict(
            (key, child)
            for key, child in children.items()
            if not (offline and _is_tile_layer(child))
        )
    try:
        yield
    finally:
        for node, children in saved:
            node._children = children
        for node, options in maps:
            node.options = options


def _stable_ids(html: str, known: set[str]) -> str:
    """Replace folium's random 32-hex element ids by counters in order of first appearance."""
    numbers: dict[str, str] = {}

    def replace(match: re.Match) -> str:
        hexid = match.group(0)
        if hexid not in known:
            return hexid
        if hexid not in numbers:
            numbers[hexid] = str(len(numbers) + 1)
        return numbers[hexid]

    return _HEX_ID.sub(replace, html)


def render_html(
    m,
    offline: bool = False,
    *,
    inline: bool = False,
    extra_assets: Mapping[str, Any] | None = None,
) -> str:
    """Render a folium map to the HTML text :func:`save_html` writes.

    Parameters
    ----------
    m : folium.Map or branca.element.Figure
        The map to render.
    offline : bool, default False
        Inline every script, stylesheet and icon and drop the tile layers (see :func:`save_html`).
    inline : bool, default False
        Inline them but keep the tile layers.
    extra_assets : mapping of str to path, optional
        For offline maps that use further plugins: CDN address (as the page refers to it) to a
        local file whose text is inlined instead.

    Returns
    -------
    str
        The page, with stable element ids.

    Examples
    --------
    >>> import folium
    >>> html = render_html(folium.Map(tiles=None), offline=True)
    >>> "Leaflet 1.9" in html and "https://cdn" not in html
    True
    """
    root = m.get_root()
    with _rendering(root, offline):
        html = root.render()
        known = {getattr(node, "_id", "") for node in _walk(root)}
    markup, data = _data_set_aside(html)  # the passes below read markup, never the data
    markup = _stable_ids(markup, known)
    if offline or inline:
        markup = _inline_assets(markup, dict(extra_assets or {}))
    return _data_put_back(markup, data)


#: How the element holding a map's data begins (``render.Layer``); its JSON holds no ``<``.
_DATA_ELEMENT = '<script type="application/json" class="km-data"'
#: What stands for the data while the page's markup is rewritten.
_DATA_MARK = "\x00km-data\x00"


def _data_set_aside(html: str) -> tuple[str, list[str]]:
    """Return the page with the JSON of each map data element replaced by a mark, and the JSON.

    The data is most of a page of many events (37 MB at a million), and the passes that
    stabilise ids and inline scripts only need the markup around it.
    """
    if _DATA_MARK in html:
        return html, []
    pieces, data, start = [], [], 0
    while (begin := html.find(_DATA_ELEMENT, start)) >= 0:
        body = html.index(">", begin) + 1
        end = html.index("</script>", body)
        pieces.append(html[start:body])
        data.append(html[body:end])
        start = end
    pieces.append(html[start:])
    return _DATA_MARK.join(pieces), data


def _data_put_back(markup: str, data: list[str]) -> str:
    """Undo :func:`_data_set_aside`: each mark replaced by its JSON, in order."""
    pieces = markup.split(_DATA_MARK) if data else [markup]
    if len(pieces) != len(data) + 1:
        raise RuntimeError("a map data element was lost while the page was rewritten")
    return "".join(itertools.chain.from_iterable(itertools.zip_longest(pieces, data,
                                                                       fillvalue="")))


def _inline_assets(html: str, extra: dict[str, Any]) -> str:
    """Swap every external script and stylesheet for its inlined text; drop what is unused."""
    from khorasan_map.web import web_file

    code = _JSON_BLOCK.sub("", html)
    needs = [name for name, pattern in _NEEDS_OPTIONAL.items() if pattern.search(code)]
    done: set[str] = set()

    def inline(url: str, kind: str) -> str:
        if url in extra:
            text = Path(extra[url]).read_text(encoding="utf-8")
            text = _SOURCE_MAP.sub("", text).rstrip() + "\n"
            key = f"extra:{url}"
        else:
            name = _asset_for_url(url)
            if name is None:
                raise OfflineAssetError(
                    url,
                    "no offline copy is known (offline maps inline Leaflet and "
                    "Leaflet.markercluster); pass extra_assets={url: local_file}",
                )
            if name == "optional":
                if needs:
                    raise OfflineAssetError(
                        url,
                        f"the map uses {' and '.join(needs)}, which has no offline copy; use "
                        "CircleMarker or DivIcon markers and bind popups with plain Leaflet "
                        "(khorasan_map.render does), or pass extra_assets",
                    )
                return ""
            text = _read_asset(name)
            key = name
        if key in done:
            return ""
        done.add(key)
        if kind == "js":
            out = f"<script>/* inlined: {key} */\n{text}</script>"
            if key == "leaflet.js":
                out += "\n" + _icon_script()
            return out
        out = f"<style>/* inlined: {key} */\n{text}</style>"
        if key == "leaflet.css":
            out += f"\n<style>/* inlined: offline.css */\n{web_file('offline.css')}</style>"
        return out

    html = _SCRIPT_SRC.sub(lambda m: inline(m.group(1), "js"), html)
    html = _LINK_CSS.sub(lambda m: inline(m.group(1), "css"), html)
    left = _EXTERNAL_REF.search(html)
    if left:
        raise OfflineAssetError(left.group(0), "an external reference is left in the page")
    return html


def save_html(m, path: str | os.PathLike, offline: bool = False, **render) -> Path:
    """Write a folium map to one HTML file, atomically and deterministically.

    Parameters
    ----------
    m : folium.Map or branca.element.Figure
        The map, for example from :func:`khorasan_map.render.choropleth_map`.
    path : str or path-like
        Destination file; its folder must exist. An existing file is replaced only once the
        new one is complete.
    offline : bool, default False
        False: scripts and stylesheets load from folium's CDN addresses and tiles from the map's
        tile provider, as folium writes them. True: a self-contained file. Leaflet 1.9.3 and
        Leaflet.markercluster 1.4.1 (from the ``xstatic-leaflet`` and
        ``xstatic-leaflet-markercluster`` packages) and their icons are inlined, folium's
        unused jQuery, Bootstrap, Font Awesome and awesome-markers links are removed, tile
        layers are dropped and the map gets a plain background; the page fetches nothing.
    **render
        ``inline`` (bool, default False: inline the scripts, stylesheets and icons as
        ``offline=True`` does but keep the tile layers, so the page works with no network and
        tiles are an extra when reachable; ``build`` and ``map`` write maps so) and
        ``extra_assets`` (offline copies of further CDN files a plugin needs, by the address
        the page uses), as for :func:`render_html`.

    Returns
    -------
    pathlib.Path
        ``path``, once the complete page is in place.

    Raises
    ------
    OfflineAssetError
        With ``offline=True``, when the page needs a file that has no offline copy.

    Notes
    -----
    folium gives every element a random 32-hex id (``map_8fb3...``); they are replaced by
    counters in order of first appearance (``map_1``, ``geo_json_3``), so the same map gives a
    byte-identical file.

    Examples
    --------
    >>> import folium, tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "map.html"
    >>> save_html(folium.Map(tiles=None), out, offline=True).name
    'map.html'
    """
    html = render_html(m, offline=offline, **render)
    return _write_bytes(path, html.encode("utf-8"))


def _json_default(value: Any) -> Any:
    """Turn numpy, pandas, date and path values into plain JSON values."""
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot write a {type(value).__name__} as JSON: {value!r}")


def _clean_json(value: Any) -> Any:
    """Replace NaN, infinities and pandas missing values by None, recursively."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dict):
        return {str(k): _clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_json(v) for v in value]
    if value is None or isinstance(value, (str, bool, int)):
        return value
    try:
        import pandas as pd

        if pd.api.types.is_scalar(value) and pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    return _clean_json(_json_default(value))


def save_json(obj: Any, path: str | os.PathLike, *, indent: int = 2) -> Path:
    r"""Write an object as UTF-8 JSON, atomically.

    Parameters
    ----------
    obj : object
        Plain JSON values, or anything with ``to_dict()`` (for example
        :class:`khorasan_map.aggregate.Coverage`), dataclasses, dates, numpy and pandas
        values. NaN and missing values become ``null``.
    path : str or path-like
        Destination file.
    indent : int, default 2
        Indentation of the output.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "coverage.json"
    >>> save_json({"share": float("nan"), "provinces": ["Kunar"]}, out).read_text().splitlines()[1]
    '  "share": null,'
    """
    text = json.dumps(_clean_json(obj), ensure_ascii=False, indent=indent, allow_nan=False)
    return _write_bytes(path, (text + "\n").encode("utf-8"))


def _gdal_write(frame, tmp: Path, **options) -> None:
    """Write a GeoDataFrame with GDAL (pyogrio); a failed write is raised as the OSError it is.

    GDAL reports a full disk as "Could not add feature"; with under 1 MiB left in the folder it
    becomes ENOSPC, any other GDAL failure EIO, so the command says "cannot write PATH" and
    leaves the old file, as for every other file.
    """
    import errno
    import shutil

    import pyogrio.errors

    gdal_errors = (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError)
    try:
        frame.to_file(tmp, engine="pyogrio", **options)
    except gdal_errors as exc:
        full = shutil.disk_usage(tmp.parent).free < 2**20
        code = errno.ENOSPC if full else errno.EIO
        raise OSError(code, f"{os.strerror(code)} (GDAL: {exc})") from exc


def _geo_frame(df, path: Path):
    """Return a GeoDataFrame in EPSG:4326 with dates as ISO text, ready for GDAL drivers."""
    import geopandas as gpd
    import pandas as pd

    if not isinstance(df, gpd.GeoDataFrame):
        raise ValueError(
            f"cannot write {path.name}: {path.suffix} needs a GeoDataFrame with a geometry; "
            "use .csv or .parquet for a plain table"
        )
    frame = df.copy()
    if frame.crs is None:
        raise ValueError(f"cannot write {path.name}: the GeoDataFrame has no CRS; set one first")
    if path.suffix.lower() in (".geojson", ".json") and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")  # RFC 7946 allows WGS 84 longitude/latitude only
    for column in frame.columns:
        if column != frame.geometry.name and pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = iso_dates(frame[column])
    return frame


def save_table(
    df,
    path: str | os.PathLike,
    *,
    escape_formulas: bool = True,
) -> Path:
    """Write a table or a layer, the format chosen by the file extension, atomically.

    Parameters
    ----------
    df : pandas.DataFrame or geopandas.GeoDataFrame
        The data, for example events or :func:`khorasan_map.aggregate.summarize` output.
    path : str or path-like
        Destination file. ``.csv``: written by :func:`khorasan_map.output.write_csv` (UTF-8
        with a byte-order mark, CR LF, every text cell quoted), without the geometry,
        dates as ISO 8601 text (``2021-08-26``), missing values empty. ``.geojson`` (or
        ``.json``): RFC 7946 GeoJSON, reprojected to EPSG:4326, dates as ISO text. ``.gpkg``:
        GeoPackage layer named after the file. ``.parquet``: GeoParquet for a GeoDataFrame,
        Parquet otherwise.
    escape_formulas : bool, default True
        CSV only. Text cells that start with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
        return (and are not plain numbers) get a leading apostrophe, so a spreadsheet shows them
        as text instead of running them as formulas (event text comes from scraped sources).
        Only text columns are touched; numbers and dates are written as they are. Pass False to
        write the text exactly.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ValueError
        For an unknown extension, or a geographic format with a plain DataFrame or no CRS.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "events.csv"
    >>> df = pd.DataFrame({"note": ["=1+1"], "date": pd.to_datetime(["2021-08-26"])})
    >>> print(save_table(df, out).read_text("utf-8-sig"), end="")
    "note","date"
    "'=1+1","2021-08-26"
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return write_csv(df, path, escape_formulas=escape_formulas)
    if suffix in (".geojson", ".json"):
        frame = _geo_frame(df, path)

        def write(tmp: Path) -> None:
            tmp.unlink()  # GDAL refuses to overwrite a GeoJSON file
            _gdal_write(frame, tmp, driver="GeoJSON", layer=path.stem,  # named after the file
                        layer_options={"RFC7946": "YES"})

    elif suffix == ".gpkg":
        frame = _geo_frame(df, path)

        def write(tmp: Path) -> None:
            tmp.unlink()
            _gdal_write(frame, tmp, driver="GPKG", layer=path.stem)

    elif suffix == ".parquet":

        def write(tmp: Path) -> None:
            df.to_parquet(tmp, index=False)

    else:
        raise ValueError(
            f"cannot write {path.name}: extension {path.suffix or '(none)'} is not one of "
            ".csv, .geojson, .json, .gpkg, .parquet"
        )
    return atomic_write(path, write)
