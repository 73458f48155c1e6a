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

#: Module -> the public names it defines, exported here.
_MODULE_EXPORTS: dict[str, tuple[str, ...]] = {
    "boundaries": ("load_provinces", "load_boundaries"),
    "gazetteer": (
        "resolve_province", "resolve_provinces", "suggest_provinces", "province_table",
        "province_name", "PROVINCE_CODES", "RESOLUTION_METHODS", "Resolution", "resolve_name",
        "resolution_report", "normalise_province_code",
    ),
    "events": ("EVENT_COLUMNS", "read_events", "ValidationResult"),
    "synthetic": ("synthetic_events",),
    "dataset": ("shipped_dataset", "DatasetInfo"),
    "datapackage": ("data_package", "write_datapackage"),
    "join": ("assign_provinces", "locate_points", "JoinResult"),
    "aggregate": ("tally", "Tally", "filter_events", "summarize", "coverage", "Coverage"),
    "classify": ("classify_values",),
    "render": ("choropleth_map", "points_map", "combined_map", "timeline_map"),
    "export": ("save_html", "save_table", "save_json"),
    "output": ("write_csv",),
    "static": ("export_static",),
    "pipeline": ("build",),
    "errors": (
        "KhorasanMapError", "UnknownProvinceError", "BoundaryError", "InputFileError",
        "EventValidationError", "UnknownProvincesError", "BoundaryRepairWarning",
        "OfflineAssetError", "OutputError", "Interrupted",
    ),
}

#: Public name -> module that defines it.
_EXPORTS: dict[str, str] = {
    name: module for module, names in _MODULE_EXPORTS.items() for name in names
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
