"""Defaults shared by every stage: coordinate systems, vocabularies, colours and file names.

A flat module of typed constants, in the manner of ``osmnx.settings``. Change a value here (or
assign to it at run time) to change the default everywhere.
"""

from __future__ import annotations

#: Coordinate reference system of every layer the toolkit returns (RFC 7946 GeoJSON, WGS 84).
CRS: str = "EPSG:4326"

#: Albers equal-area conic fitted to Afghanistan (standard parallels 30 N and 37 N), in metres.
#: Used for areas, distances and static maps, never for storage.
EQUAL_AREA_CRS: str = (
    "+proj=aea +lat_0=33.5 +lon_0=66 +lat_1=30 +lat_2=37 +x_0=0 +y_0=0 "
    "+datum=WGS84 +units=m +no_defs"
)

#: Bounding box of Afghanistan, (min_lon, min_lat, max_lon, max_lat), padded by about 0.1 degree.
AFGHANISTAN_BOUNDS: tuple[float, float, float, float] = (60.4, 29.3, 75.0, 38.6)

#: Number of provinces in the shipped layer.
N_PROVINCES: int = 34

#: Event kinds the toolkit knows. Readers may add others; these have styles and labels.
EVENT_KINDS: tuple[str, ...] = (
    "clash",
    "defection",
    "isk_attack_on_taliban",
    "taliban_raid_on_isk",
    "taliban_killing_of_suspected_isk",
)

#: How far an event's point can be trusted, from most to least precise.
LOCATION_PRECISIONS: tuple[str, ...] = ("exact", "near", "district", "province")

#: Precisions whose coordinates are used to place an event in a province.
POINT_PRECISIONS: tuple[str, ...] = ("exact", "near", "district")

#: Above this many located events a map draws its points on one canvas (khorasan_map.pointlayer).
CANVAS_THRESHOLD: int = 5_000

#: Above this many points a static map draws them as one image (rasterised), keeping PDF and SVG
#: small; the page says so.
RASTER_THRESHOLD: int = 5_000

#: Above this many events a build writes them as GeoParquet (``events.parquet``) in place of
#: ``events.geojson``: a GeoJSON of a million points is near 1 GB and takes half a minute to
#: write, a GeoParquet file of them about 60 MB and 2 s. ``build.json`` and the command say so.
GEOJSON_MAX_EVENTS: int = 100_000

#: Title of every map (HTML and static) unless one is given.
MAP_TITLE: str = "Where the Taliban and ISK have fought"

#: Legend words for point precisions, shared by the HTML and static maps (each adds its marker).
PRECISION_LABELS: dict[str, str] = {
    "exact": "Exact location",
    "near": "Near a named place",
    "district": "District only, at its centre",
}

#: How precisely the date is known ("unknown": the source gives no usable date).
DATE_PRECISIONS: tuple[str, ...] = ("day", "month", "year", "range", "unknown")

#: Confidence grades, from weakest to strongest.
CONFIDENCE_LEVELS: tuple[str, ...] = ("low", "medium", "high")

#: The Taliban took Kabul on this day; the rivalry changed from rival insurgents to state and
#: insurgent. Default split for before/after comparisons and the UCDP government rule.
SHIFT_DATE: str = "2021-08-15"

#: Default tolerance, in metres, for snapping a point just outside every polygon to the nearest one.
BORDER_TOLERANCE_M: float = 5_000.0

#: Default classification scheme and number of classes for choropleths (mapclassify names).
SCHEME: str = "quantiles"
K: int = 5

#: Colour-blind-safe sequential palette for choropleths (ColorBrewer "YlOrRd", 5 classes is the
#: default; matplotlib colormap name).
CMAP: str = "YlOrRd"

#: Fill for provinces with no recorded events (distinct from missing data).
ZERO_COLOR: str = "#f2f2f2"

#: Fill for provinces with missing data (no value could be computed).
MISSING_COLOR: str = "#bdbdbd"

#: Colour and marker for each event kind (Okabe-Ito, colour-blind safe).
KIND_STYLES: dict[str, dict[str, str]] = {
    "clash": {"color": "#D55E00", "label": "Taliban-ISK clash"},
    "defection": {"color": "#0072B2", "label": "Taliban-to-ISK defection"},
    "isk_attack_on_taliban": {"color": "#CC79A7", "label": "ISK attack on Taliban"},
    "taliban_raid_on_isk": {"color": "#009E73", "label": "Taliban raid on ISK"},
    "taliban_killing_of_suspected_isk": {
        "color": "#E69F00",
        "label": "Taliban killing of suspected ISK",
    },
}

#: Style for kinds outside :data:`EVENT_KINDS`.
OTHER_KIND_STYLE: dict[str, str] = {"color": "#666666", "label": "Other"}

#: Default basemap tiles of online maps (an xyzservices name; needs no API key). Offline maps
#: have no tiles: the province outlines are the basemap.
TILES: str = "OpenStreetMap.Mapnik"

#: Default output folder of ``khorasan-map build``.
BUILD_DIR: str = "khorasan-maps"

#: File names of the shipped data, inside the package's ``data`` folder.
PROVINCES_FILE: str = "afghanistan_provinces.geojson"
PROVINCES_WEB_FILE: str = "afghanistan_provinces_web.geojson"
EVENTS_FILE: str = "taliban_isk_events.csv"
#: The shipped records' name, version and fingerprint (see :mod:`khorasan_map.dataset`).
DATASET_FILE: str = "dataset.json"
GAZETTEER_FILE: str = "provinces.csv"
