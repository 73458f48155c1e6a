"""Map where the Afghan Taliban and Islamic State-Khorasan (ISK) have fought.

The work follows the data: boundaries -> events -> join -> aggregate -> render / static / export.
Each stage lives in its own module; this package re-exports the public functions. They are
imported on first use, so ``import khorasan_map`` (and the command line) starts quickly.

Examples
--------
>>> import khorasan_map as km
>>> events = km.read_events()  # doctest: +SKIP
>>> km.coverage(events).sentence  # doctest: +SKIP
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: Public name -> module that defines it.
_EXPORTS: dict[str, str] = {
    # boundaries
    "load_provinces": "boundaries",
    "load_boundaries": "boundaries",
    # province names
    "resolve_province": "gazetteer",
    "resolve_provinces": "gazetteer",
    "suggest_provinces": "gazetteer",
    "province_table": "gazetteer",
    "province_name": "gazetteer",
    "PROVINCE_CODES": "gazetteer",
    "RESOLUTION_METHODS": "gazetteer",
    "Resolution": "gazetteer",
    "resolve_name": "gazetteer",
    "resolution_report": "gazetteer",
    "normalise_province_code": "gazetteer",
    # events
    "EVENT_COLUMNS": "events",
    "read_events": "events",
    "ValidationResult": "events",
    "synthetic_events": "synthetic",
    "shipped_dataset": "dataset",
    "data_package": "datapackage",
    "write_datapackage": "datapackage",
    "tally": "aggregate",
    "Tally": "aggregate",
    "DatasetInfo": "dataset",
    # join and counts
    "assign_provinces": "join",
    "locate_points": "join",
    "JoinResult": "join",
    "filter_events": "aggregate",
    "summarize": "aggregate",
    "coverage": "aggregate",
    "Coverage": "aggregate",
    # maps and exports
    "classify_values": "classify",
    "choropleth_map": "render",
    "points_map": "render",
    "combined_map": "render",
    "timeline_map": "render",
    "save_html": "export",
    "save_table": "export",
    "save_json": "export",
    "write_csv": "output",
    "export_static": "static",
    "build": "pipeline",
    # errors
    "KhorasanMapError": "errors",
    "UnknownProvinceError": "errors",
    "BoundaryError": "errors",
    "InputFileError": "errors",
    "EventValidationError": "errors",
    "UnknownProvincesError": "errors",
    "BoundaryRepairWarning": "errors",
    "OfflineAssetError": "errors",
    "OutputError": "errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    """Import a public name from its module on first use (PEP 562)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'khorasan_map' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"khorasan_map.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
