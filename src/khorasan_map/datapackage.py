"""A build's data tables and their description: the events table and ``datapackage.json``.

:func:`events_table` is every event with the province it was assigned to, as ``build`` writes
it (``events.csv`` and ``events.geojson``). :func:`data_package` describes the data files of a
build folder as a Frictionless Data Package (https://specs.frictionlessdata.io/): for each file
its path, format, encoding, size and SHA-256 and, for a CSV, its columns exactly as its header
names them, each with its type, description and unit, taken from the one table
:data:`FIELDS`. :func:`write_datapackage` writes it as ``datapackage.json``.

The description is read from the files written, so it always matches them: a file that is
not there is not described, and a column is described as the CSV header spells it.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import NamedTuple

from khorasan_map.schema import REPORT_COLUMNS

__all__ = [
    "AS_GIVEN",
    "DATAPACKAGE_FILE",
    "FIELDS",
    "TABLES",
    "Field",
    "csv_header",
    "data_package",
    "events_table",
    "field_entry",
    "package_sources",
    "resource",
    "write_datapackage",
]

#: The file name of the description.
DATAPACKAGE_FILE = "datapackage.json"


class Field(NamedTuple):
    """How one column is described: its Table Schema type, a description and a unit.

    Attributes
    ----------
    type : str
        Table Schema type: "string", "integer", "number", "date" or "boolean".
    description : str
        What the column holds, in a sentence.
    unit : str or None
        Unit of a number (None for text, codes and dates).
    """

    type: str
    description: str
    unit: str | None = None


_KILLED = "people killed, as reported"

#: Every column a build's tables write, described once (events, provinces, join report and
#: rejected rows share names such as ``event_id`` and ``fatalities``; the description covers
#: each use). Columns not listed (a rejected row's own input columns) are described as text.
FIELDS: dict[str, Field] = {
    # events.csv: the event schema (khorasan_map.schema.EVENT_COLUMNS) and the join's columns
    "event_id": Field("string", "Identifier of the event, as given by its source file."),
    "date": Field("date", "Date of the event (the first day of its range when only a range "
                          "is known; see date_precision)."),
    "date_start": Field("date", "First day the event may have happened."),
    "date_end": Field("date", "Last day the event may have happened."),
    "date_precision": Field("string", "How precisely the date is known: day, month, year, "
                                      "range or unknown."),
    "kind": Field("string", "Kind of event: clash, defection, isk_attack_on_taliban, "
                            "taliban_raid_on_isk, taliban_killing_of_suspected_isk or other."),
    "actor1": Field("string", "First actor, as named by the source."),
    "actor2": Field("string", "Second actor, as named by the source."),
    "province_code": Field("string", "ISO 3166-2 code of the province (for an event: the "
                                     "province its source states, resolved)."),
    "province": Field("string", "Name of the province (for an event: as its source states "
                                "it)."),
    "district": Field("string", "District, as the source names it."),
    "latitude": Field("number", "Latitude of the event's point (WGS 84); empty when only the "
                                "province is known.", "degrees north"),
    "longitude": Field("number", "Longitude of the event's point (WGS 84); empty when only the "
                                 "province is known.", "degrees east"),
    "location_precision": Field("string", "How precisely the place is known: exact, near, "
                                          "district or province."),
    "fatalities": Field("number", "Best figure of people killed (for a province: the sum over "
                                  "its events); empty when not reported.", _KILLED),
    "fatalities_low": Field("number", "Lowest figure of people killed the sources give (for a "
                                      "province: the sum).", _KILLED),
    "fatalities_high": Field("number", "Highest figure of people killed the sources give (for "
                                       "a province: the sum; a floor when fatalities_open is "
                                       "above 0).", _KILLED),
    "description": Field("string", "Summary of the event, in the toolkit's words."),
    "source_name": Field("string", "Publisher of the source."),
    "source_title": Field("string", "Title of the source."),
    "source_date": Field("string", "Publication date of the source, as given."),
    "source_url": Field("string", "Address of the source."),
    "confidence": Field("string", "Confidence that the event happened as described: low, "
                                  "medium or high."),
    "dataset": Field("string", "Dataset the record comes from (khorasan_map for the shipped "
                               "records, acled, ucdp or user)."),
    "assigned_code": Field("string", "ISO 3166-2 code of the province the event was assigned "
                                     "to by the join; empty when none."),
    "assigned_province": Field("string", "Name of the province the event was assigned to; "
                                         "empty when none."),
    "assigned_by": Field("string", "How the province was assigned: point (the point lies in "
                                   "it), nearest (a point just outside, snapped), stated (the "
                                   "source's province) or none."),
    # provinces.csv: khorasan_map.aggregate.summarize
    "province_dari": Field("string", "Name of the province in Dari."),
    "events": Field("integer", "Events assigned to the province.", "events"),
    "n_clash": Field("integer", "Clashes between the Taliban and ISK.", "events"),
    "n_defection": Field("integer", "Defections between the two groups.", "events"),
    "n_isk_attack_on_taliban": Field("integer", "ISK attacks on the Taliban.", "events"),
    "n_taliban_raid_on_isk": Field("integer", "Taliban raids on ISK.", "events"),
    "n_taliban_killing_of_suspected_isk": Field(
        "integer", "Killings of suspected ISK members by the Taliban.", "events"),
    "n_other": Field("integer", "Events of every other kind.", "events"),
    "fatalities_known": Field("integer", "Events giving any figure of people killed.",
                              "events"),
    "fatalities_open": Field("integer", "Events giving only a lower bound of people killed.",
                             "events"),
    "first_date": Field("date", "Date of the province's first event; empty when none."),
    "last_date": Field("date", "Date of the province's last event; empty when none."),
    "n_sources": Field("integer", "Distinct sources (addresses, else titles) of the "
                                  "province's events.", "sources"),
    "n_actors": Field("integer", "Distinct actor names in the province's events.", "actors"),
    "share_province_precise": Field("number", "Share of the province's events located only "
                                              "to the province; empty when none.",
                                    "fraction (0 to 1)"),
    # join_report.csv: khorasan_map.join.REPORT_COLUMNS
    "case": Field("string", "Why the placement needs a look: disagreement, outside, border "
                            "or unlocatable."),
    "detail": Field("string", "The case in a plain sentence."),
    "stated_code": Field("string", "Code of the province the source states, resolved."),
    "stated_text": Field("string", "The province text as the source gives it."),
    "point_code": Field("string", "Code of the province the event's point lies in."),
    "used": Field("string", "What the assignment used: point, stated, nearest or none."),
    "distance_km": Field("number", "Distance from the point to the province used.",
                         "kilometres"),
    # rejected.csv: khorasan_map.schema.REPORT_COLUMNS, then the row's own columns
    "file": Field("string", "Input file the rejected row comes from."),
    "row": Field("integer", "Row number in that file (1 is the first data row)."),
    "column": Field("string", "Column or columns at fault."),
    "value": Field("string", "The value at fault, as given."),
    "reason": Field("string", "Why the row was rejected."),
}

#: The data files a build may write: title and description of each, in the package's order.
TABLES: dict[str, tuple[str, str]] = {
    "events.csv": ("Events", "Every Taliban-ISK event with the province it was assigned to."),
    "events.geojson": ("Events (points)", "The rows of events.csv as GeoJSON (RFC 7946, "
                                          "EPSG:4326); an event known only to its province "
                                          "has no geometry."),
    "events.parquet": ("Events (points)", "The rows of events.csv as GeoParquet (EPSG:4326), "
                                          "written in place of events.geojson above "
                                          "settings.GEOJSON_MAX_EVENTS events; an event known "
                                          "only to its province has no geometry."),
    "provinces.csv": ("Provinces", "Events, kinds and people killed per province, every "
                                   "province included."),
    "provinces.geojson": ("Provinces (outlines)", "The rows of provinces.csv with the province "
                                                  "outlines, as GeoJSON (RFC 7946, EPSG:4326)."),
    "coverage.json": ("Coverage", "The coverage figure, as khorasan-map coverage --json "
                                  "prints it."),
    "join_report.csv": ("Join report", "Events whose placement needs a human eye."),
    "rejected.csv": ("Rejected rows", "Input rows that failed validation, with the reasons "
                                      "and the row as given."),
}

_FORMATS = {  # suffix: (format, media type, encoding)
    ".csv": ("csv", "text/csv", "utf-8-sig"),
    ".geojson": ("geojson", "application/geo+json", "utf-8"),
    ".json": ("json", "application/json", "utf-8"),
    ".parquet": ("parquet", "application/vnd.apache.parquet", None),
}


def events_table(events):
    """Return every event with its assigned province, as a GeoDataFrame of points.

    Parameters
    ----------
    events : pandas.DataFrame
        Events placed by :func:`khorasan_map.join.assign_provinces` (its ``events``): the
        event schema plus ``assigned_code``, ``assigned_province`` and ``assigned_by``.

    Returns
    -------
    geopandas.GeoDataFrame
        The same rows and columns in EPSG:4326, with a point geometry from ``longitude`` and
        ``latitude`` (None where either is missing).

    Examples
    --------
    >>> import pandas as pd
    >>> table = events_table(pd.DataFrame({"event_id": ["synthetic-1", "synthetic-2"],
    ...                                    "longitude": [69.2, None], "latitude": [34.5, None]}))
    >>> table.geometry.isna().tolist(), table.crs.to_epsg()
    ([False, True], 4326)
    """
    import geopandas as gpd
    import pandas as pd

    frame = pd.DataFrame(events).reset_index(drop=True)
    lon = pd.to_numeric(frame["longitude"], errors="coerce")
    lat = pd.to_numeric(frame["latitude"], errors="coerce")
    points = gpd.points_from_xy(lon, lat, crs="EPSG:4326")
    points[(lon.isna() | lat.isna()).to_numpy()] = None
    return gpd.GeoDataFrame(frame, geometry=points, crs="EPSG:4326")


def package_sources(inputs=None) -> list[dict]:
    """Return the Data Package ``sources``: the shipped dataset, or the input files' names.

    Parameters
    ----------
    inputs : sequence of str, optional
        Names of the event files read (as the reports name them); None or empty when the
        shipped records were used.

    Returns
    -------
    list of dict
        ``[{"title": ..., "version": ..., ...}]`` from
        :func:`khorasan_map.dataset.shipped_dataset`, or one ``{"title": name}`` per file.

    Examples
    --------
    >>> package_sources(["synthetic_acled.csv"])
    [{'title': 'synthetic_acled.csv'}]
    """
    if inputs:
        return [{"title": str(name)} for name in inputs]
    from khorasan_map.dataset import shipped_dataset

    info = shipped_dataset()
    return [{"title": info.label, **info.to_dict()}]


def csv_header(path: Path) -> list[str]:
    """Return the column names of a CSV file the project wrote (UTF-8 with a byte-order mark).

    Parameters
    ----------
    path : pathlib.Path
        A CSV written by :func:`khorasan_map.output.write_csv`.

    Returns
    -------
    list of str
        The header's cells; empty for an empty file.
    """
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return next(csv.reader(handle), [])


#: How a column is described that holds text as the input gave it.
AS_GIVEN = Field("string", "As given in the input file.")


def field_entry(name: str, *, as_given: bool = False) -> dict:
    """Return the Table Schema field for a column: its name, type, description and unit.

    Parameters
    ----------
    name : str
        The column as the CSV header spells it.
    as_given : bool, default False
        The column holds an input row's own text (``rejected.csv`` after its report columns),
        whatever its name: text, :data:`AS_GIVEN`.

    Returns
    -------
    dict
        From :data:`FIELDS`; a column not listed there is described as :data:`AS_GIVEN`.
    """
    known = AS_GIVEN if as_given else FIELDS.get(name, AS_GIVEN)
    entry = {"name": name, "type": known.type, "description": known.description}
    if known.unit:
        entry["unit"] = known.unit
    return entry


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resource(path: Path) -> dict:
    """Return the Data Package resource describing one data file of a build.

    Parameters
    ----------
    path : pathlib.Path
        A file named in :data:`TABLES`.

    Returns
    -------
    dict
        ``name``, ``path`` (the file name), ``title``, ``description``, ``format``,
        ``mediatype``, ``encoding``, ``bytes`` and ``hash`` and, for a CSV, ``profile``
        "tabular-data-resource" with its ``schema`` (one field per header column, in order).
    """
    title, description = TABLES[path.name]
    fmt, media, encoding = _FORMATS[path.suffix.lower()]
    entry = {
        "name": path.name.replace(".", "-").lower(), "path": path.name, "title": title,
        "description": description, "format": fmt, "mediatype": media, "encoding": encoding,
        "bytes": path.stat().st_size, "hash": f"sha256:{_sha256(path)}",
    }
    if encoding is None:  # a binary file
        del entry["encoding"]
    if fmt == "csv":
        entry["profile"] = "tabular-data-resource"
        entry["dialect"] = {"delimiter": ",", "lineTerminator": "\r\n", "header": True}
        header = csv_header(path)
        # rejected.csv: the report's columns, then the rejected row as it was given
        n_described = len(REPORT_COLUMNS) if path.name == "rejected.csv" else len(header)
        entry["schema"] = {"fields": [field_entry(c, as_given=i >= n_described)
                                      for i, c in enumerate(header)],
                           "missingValues": [""]}
    return entry


def data_package(folder, inputs=None, *, note: str = "") -> dict:
    """Describe the data files in a build folder as a Frictionless Data Package.

    Parameters
    ----------
    folder : path-like
        The build folder (or its staging folder); every file of :data:`TABLES` in it is
        described, in that order.
    inputs : sequence of str, optional
        The event files read; None or empty for the shipped records
        (:func:`package_sources`).
    note : str, optional
        A sentence added to the package's description (a build with no event says so).

    Returns
    -------
    dict
        ``profile`` "data-package", ``name``, ``title``, ``description``, ``sources`` and
        ``resources``.
    """
    folder = Path(folder)
    description = ("Tables written by khorasan-map build: Taliban-ISK events in Afghanistan, "
                   "the province each was assigned to, and counts per province.")
    package = {
        "profile": "data-package",
        "name": "khorasan-map-build",
        "title": "Where the Afghan Taliban and ISK have fought: build tables",
        "description": f"{description} {note}".strip(),
        "sources": package_sources(inputs),
        "resources": [resource(folder / name) for name in TABLES if (folder / name).is_file()],
    }
    return package


def write_datapackage(folder, inputs=None, *, note: str = "") -> Path:
    """Write ``datapackage.json`` into a build folder, describing the data files there.

    Parameters
    ----------
    folder : path-like
        The build folder; write the tables first.
    inputs : sequence of str, optional
        The event files read; None or empty for the shipped records.
    note : str, optional
        A sentence added to the package's description.

    Returns
    -------
    pathlib.Path
        The file written (atomically, UTF-8).
    """
    from khorasan_map.export import save_json

    folder = Path(folder)
    return save_json(data_package(folder, inputs, note=note), folder / DATAPACKAGE_FILE)
