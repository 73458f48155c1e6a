"""The shipped dataset's identity: its name, version and fingerprint, read from ``dataset.json``.

Every output built from the shipped records names this version, so a reader of a map, a table or
a report can tell which edition of the records it shows (``data/events/CHANGES.md`` says what
each edition changed).
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from dataclasses import dataclass

from khorasan_map import settings

#: The ``dataset`` value that marks the shipped records in an events table.
SHIPPED_DATASET: str = "khorasan_map"


@dataclass(frozen=True)
class DatasetInfo:
    """Identity of the shipped event records.

    Read from the dataset file by :func:`shipped_dataset`; the maps, the tables and the
    coverage answers built from the shipped records name it.

    Attributes
    ----------
    name : str
        The dataset's name.
    version : str
        Its version, for example ``"2.0.0"``; changes are listed in ``data/events/CHANGES.md``.
    date : str
        ISO date of this version.
    n_records : int
        Number of records in the shipped events file.
    sha256 : str
        SHA-256 of the shipped events file, to tell the shipped file from an edited copy.
    """

    name: str
    version: str
    date: str
    n_records: int
    sha256: str

    @property
    def label(self) -> str:
        """Short text naming the dataset and version, for map and report footers.

        Examples
        --------
        >>> DatasetInfo("records", "2.0.0", "2026-12-02", 82, "").label
        'records 2.0.0 (2026-12-02)'
        """
        return f"{self.name} {self.version} ({self.date})"

    def to_dict(self) -> dict:
        """Plain JSON-ready mapping of the fields, for coverage.json and data packages."""
        return {"name": self.name, "version": self.version, "date": self.date,
                "n_records": self.n_records, "sha256": self.sha256}


@functools.lru_cache(maxsize=4)
def _read(file_name: str) -> DatasetInfo:
    resource = importlib.resources.files("khorasan_map") / "data" / file_name
    meta = json.loads(resource.read_text(encoding="utf-8"))
    return DatasetInfo(name=meta["name"], version=meta["version"], date=meta["date"],
                       n_records=int(meta["n_records"]), sha256=meta["sha256"])


def shipped_dataset() -> DatasetInfo:
    """Return the identity of the event records shipped with the package.

    Returns
    -------
    DatasetInfo
        Name, version, date, record count and fingerprint from the package's ``dataset.json``
        (the file named by :data:`khorasan_map.settings.DATASET_FILE`).

    Examples
    --------
    >>> info = shipped_dataset()
    >>> info.version.count(".")
    2
    """
    return _read(settings.DATASET_FILE)
