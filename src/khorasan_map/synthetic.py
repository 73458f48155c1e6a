"""Synthetic Taliban-ISK events for tests and benchmarks.

The events are made up: clustered like real conflict data (a few hundred hot spots with
heavy-tailed weights, gaussian scatter around each), inside the province polygons, with every
kind and every precision present. They are labelled ``dataset = "synthetic"`` and must never be
mixed into the shipped data.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from khorasan_map import settings
from khorasan_map.events import EVENT_COLUMNS

__all__ = ["synthetic_events", "write_synthetic_parquet"]

#: Rows per row group in the Parquet files :func:`write_synthetic_parquet` writes.
ROW_GROUP_SIZE: int = 250_000

#: Share of each kind (clash, defection, ISK attack, Taliban raid); kinds added to
#: :data:`settings.EVENT_KINDS` later get a share of 0.05.
KIND_WEIGHTS: dict[str, float] = {
    "clash": 0.5,
    "defection": 0.1,
    "isk_attack_on_taliban": 0.25,
    "taliban_raid_on_isk": 0.15,
}
#: Share of each location precision.
LOCATION_WEIGHTS: dict[str, float] = {"exact": 0.35, "near": 0.3, "district": 0.2,
                                      "province": 0.15}
#: Share of each date precision ("unknown" gives NaT dates, as the schema allows).
DATE_WEIGHTS: dict[str, float] = {"day": 0.7, "range": 0.12, "month": 0.12, "year": 0.055,
                                  "unknown": 0.005}

_START = np.datetime64("2015-01-01", "D")
_END = np.datetime64("2025-12-31", "D")
_N_CLUSTERS = 300


def _locate(lon, lat, boundaries, geoms):
    """Province code of each point, None outside every polygon."""
    from khorasan_map.join import locate_points

    return np.asarray(locate_points(lon, lat, boundaries), dtype=object)


_STR = pd.StringDtype("pyarrow", na_value=np.nan)


def _arrow_series(array) -> pd.Series:
    """Wrap an Arrow string array as a pandas text Series, without going through Python."""
    return pd.Series(array.to_pandas(types_mapper={pa.string(): _STR}.get))


def _str(values) -> pd.Series:
    """Text Series from an array of a few distinct labels (None stays missing)."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    labels = pa.array([str(u) for u in uniques], type=pa.string())
    return _arrow_series(labels.take(pa.array(codes, mask=codes < 0)))


def _kind_weights() -> dict[str, float]:
    """Weights for every kind in :data:`settings.EVENT_KINDS` (0.05 for kinds added later)."""
    return {kind: KIND_WEIGHTS.get(kind, 0.05) for kind in settings.EVENT_KINDS}


def _choice(rng, weights: dict[str, float], n: int) -> np.ndarray:
    keys = np.array(list(weights), dtype=object)
    p = np.array(list(weights.values()), dtype="float64")
    return keys[rng.choice(len(keys), size=n, p=p / p.sum())]


def _ensure_each(rng, values: np.ndarray, choices) -> None:
    """Overwrite a few random positions so that every choice appears at least once."""
    if len(values) < len(choices):
        return
    where = rng.choice(len(values), size=len(choices), replace=False)
    values[where] = np.array(list(choices), dtype=object)


def _points(rng, boundaries, geoms, n):
    """Draw clustered points inside the provinces; return lon, lat and each point's code."""
    import shapely

    outline = shapely.union_all(boundaries.geometry.values)
    shapely.prepare(outline)
    minx, miny, maxx, maxy = outline.bounds

    # Cluster centres: uniform inside the country, heavy-tailed weights.
    centres = np.empty((0, 2))
    while len(centres) < _N_CLUSTERS:
        cx = rng.uniform(minx, maxx, 4 * _N_CLUSTERS)
        cy = rng.uniform(miny, maxy, 4 * _N_CLUSTERS)
        inside = shapely.contains_xy(outline, cx, cy)
        centres = np.vstack([centres, np.column_stack([cx[inside], cy[inside]])])
    centres = centres[:_N_CLUSTERS]
    weight = rng.pareto(1.2, _N_CLUSTERS) + 0.05
    spread = rng.uniform(0.03, 0.35, _N_CLUSTERS)

    cluster = rng.choice(_N_CLUSTERS, size=n, p=weight / weight.sum())
    lon = centres[cluster, 0] + rng.normal(0.0, 1.0, n) * spread[cluster]
    lat = centres[cluster, 1] + rng.normal(0.0, 1.0, n) * spread[cluster]
    code = _locate(lon, lat, boundaries, geoms)
    for _ in range(20):  # re-draw the points that fell outside every province
        out = np.flatnonzero(pd.isna(code))
        if not out.size:
            break
        c = cluster[out]
        lon[out] = centres[c, 0] + rng.normal(0.0, 1.0, out.size) * spread[c]
        lat[out] = centres[c, 1] + rng.normal(0.0, 1.0, out.size) * spread[c]
        code[out] = _locate(lon[out], lat[out], boundaries, geoms)
    out = np.flatnonzero(pd.isna(code))
    if out.size:  # still outside after 20 draws: use the centre itself
        lon[out], lat[out] = centres[cluster[out], 0], centres[cluster[out], 1]
        code[out] = _locate(lon[out], lat[out], boundaries, geoms)
    return lon, lat, code


def _dates(rng, date_precision, n):
    """Draw each event's start and end dates from its date precision (NaT when unknown)."""
    # Dates: a start per event, an end from the precision.
    span = int((_END - _START).astype(int))
    start = _START + rng.integers(0, span, n).astype("timedelta64[D]")
    month = start.astype("datetime64[M]")
    year = start.astype("datetime64[Y]")
    start = np.where(date_precision == "month", month.astype("datetime64[D]"), start)
    start = np.where(date_precision == "year", year.astype("datetime64[D]"), start)
    one = np.timedelta64(1, "D")
    end = np.where(date_precision == "month", (month + 1).astype("datetime64[D]") - one, start)
    end = np.where(date_precision == "year", (year + 1).astype("datetime64[D]") - one, end)
    end = np.where(date_precision == "range",
                   start + rng.integers(1, 15, n).astype("timedelta64[D]"), end)
    end = np.minimum(end, _END)
    start_ns = pd.to_datetime(start.astype("datetime64[ns]"))
    end_ns = pd.to_datetime(end.astype("datetime64[ns]"))
    unknown = date_precision == "unknown"
    start_ns = start_ns.where(~unknown)
    end_ns = end_ns.where(~unknown)
    return start_ns, end_ns


def synthetic_events(n: int, seed: int = 0, boundaries=None) -> pd.DataFrame:
    """Generate ``n`` synthetic events in the event schema.

    Parameters
    ----------
    n : int
        Number of events.
    seed : int, default 0
        Seed of the random generator: the same seed gives the same events.
    boundaries : geopandas.GeoDataFrame, optional
        Province polygons (``province_code``, ``province``, geometry in EPSG:4326); the shipped
        layer when omitted.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`khorasan_map.events.EVENT_COLUMNS`, ``dataset`` "synthetic",
        ``source_name`` "synthetic", ``description`` "synthetic event for tests" and
        ``source_url`` under ``https://example.org/synthetic/``. Points fall inside the
        provinces; "province"-precision events have no coordinates, "unknown"-precision dates
        are NaT. Once ``n`` is at least the size of each vocabulary (five kinds, five date
        precisions), every kind, location precision and date precision appears.

    Examples
    --------
    >>> events = synthetic_events(1000, seed=1)
    >>> len(events), events["dataset"].unique().tolist()
    (1000, ['synthetic'])
    """
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be zero or more, not {n}")
    if n == 0:
        from khorasan_map.schema import empty_events, final_types

        return final_types(empty_events())
    if boundaries is None:
        from khorasan_map.boundaries import load_provinces

        boundaries = load_provinces()
    boundaries = boundaries.to_crs(settings.CRS) if boundaries.crs is not None else boundaries
    codes_all = boundaries["province_code"].astype(str).to_numpy()
    names_of = dict(zip(codes_all, boundaries["province"].astype(str), strict=True))
    geoms = dict(zip(codes_all, boundaries.geometry.values, strict=True))
    rng = np.random.default_rng(seed)

    lon, lat, code = _points(rng, boundaries, geoms, n)

    kinds = _kind_weights()
    kind = _choice(rng, kinds, n)
    loc_precision = _choice(rng, LOCATION_WEIGHTS, n)
    date_precision = _choice(rng, DATE_WEIGHTS, n)
    _ensure_each(rng, kind, kinds)
    _ensure_each(rng, loc_precision, LOCATION_WEIGHTS)
    _ensure_each(rng, date_precision, DATE_WEIGHTS)

    start_ns, end_ns = _dates(rng, date_precision, n)

    # Fatalities: heavy-tailed, some unknown, low/high around the best estimate.
    best = np.floor(rng.pareto(1.5, n) * 3).astype("float64")
    best[rng.random(n) < 0.1] = np.nan
    low = np.floor(best * rng.uniform(0.6, 1.0, n))
    high = np.ceil(best * rng.uniform(1.0, 1.8, n))

    point = loc_precision != "province"
    numbers = pc.utf8_lpad(pc.cast(pa.array(np.arange(n)), pa.string()), 7, "0")
    ids = pc.binary_join_element_wise(f"SYN-{seed}-", numbers, "")
    isk_first = kind == "isk_attack_on_taliban"
    actor1 = np.where(isk_first | (kind == "defection"),
                      np.where(isk_first, "ISK", "Taliban (defecting)"), "Taliban")
    actor2 = np.where(actor1 == "Taliban", "ISK", np.where(isk_first, "Taliban", "ISK"))
    confidence = _choice(rng, {"low": 0.3, "medium": 0.4, "high": 0.3}, n)
    end_days = end_ns.to_numpy().astype("datetime64[D]")  # NaT where the date is unknown
    source_date = pc.cast(pa.array(end_days.astype("datetime64[D]")), pa.string())
    events = pd.DataFrame({
        "event_id": _arrow_series(ids),
        "date": start_ns,
        "date_start": start_ns,
        "date_end": end_ns,
        "date_precision": _str(date_precision),
        "kind": _str(kind),
        "actor1": _str(actor1),
        "actor2": _str(actor2),
        "province_code": _str(code),
        "province": _str(pd.Series(code, dtype=object).map(names_of).to_numpy(dtype=object)),
        "district": _str(np.full(n, None, dtype=object)),
        "latitude": np.where(point, lat, np.nan),
        "longitude": np.where(point, lon, np.nan),
        "location_precision": _str(loc_precision),
        "fatalities": best,
        "fatalities_low": low,
        "fatalities_high": high,
        "description": _str(np.full(n, "synthetic event for tests", dtype=object)),
        "source_name": _str(np.full(n, "synthetic", dtype=object)),
        "source_title": _arrow_series(pc.binary_join_element_wise("Synthetic event ", ids, "")),
        "source_date": _arrow_series(source_date),
        "source_url": _arrow_series(
            pc.binary_join_element_wise("https://example.org/synthetic/", ids, "")),
        "confidence": _str(confidence),
        "dataset": _str(np.full(n, "synthetic", dtype=object)),
    })
    for c in ("date", "date_start", "date_end"):
        events[c] = events[c].astype("datetime64[ns]")
    return events[list(EVENT_COLUMNS)]


def write_synthetic_parquet(
    path, n: int, seed: int = 0, rows_per_file: int = 1_000_000, boundaries=None
) -> list[Path]:
    """Write ``n`` synthetic events as a folder of Parquet files, one chunk at a time.

    File ``i`` holds :func:`khorasan_map.synthetic.synthetic_events` of its rows with seed
    ``seed + i`` (its event ids, ``SYN-<seed>-<n>``, are therefore unique across files); only
    one file's rows are ever in memory. A ``_SUCCESS`` file records ``n``, ``seed`` and
    ``rows_per_file`` once every file is written (readers skip names starting with ``_``).

    Parameters
    ----------
    path : str or pathlib.Path
        Folder to create (existing ``part-*.parquet`` files in it are replaced).
    n : int
        Number of events.
    seed : int, default 0
        Seed of the first file.
    rows_per_file : int, default 1_000_000
        Rows per file, in row groups of :data:`ROW_GROUP_SIZE` rows.
    boundaries : geopandas.GeoDataFrame, optional
        Layer the points are drawn in (the shipped provinces when omitted).

    Returns
    -------
    list of pathlib.Path
        The files written, in order.

    Examples
    --------
    >>> files = write_synthetic_parquet("/tmp/ev", 3_000, rows_per_file=1_000)  # doctest: +SKIP
    >>> [f.name for f in files]  # doctest: +SKIP
    ['part-00000.parquet', 'part-00001.parquet', 'part-00002.parquet']
    """
    import pyarrow.parquet as pq

    if n < 0 or rows_per_file < 1:
        raise ValueError(f"n must be >= 0 and rows_per_file >= 1 (got {n}, {rows_per_file})")
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "_SUCCESS").unlink(missing_ok=True)
    for old in folder.glob("part-*.parquet"):
        old.unlink()
    written = []
    for i, start in enumerate(range(0, n, rows_per_file)):
        rows = min(rows_per_file, n - start)
        kwargs = {} if boundaries is None else {"boundaries": boundaries}
        frame = synthetic_events(rows, seed=seed + i, **kwargs)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        target = folder / f"part-{i:05d}.parquet"
        pq.write_table(table, target, row_group_size=ROW_GROUP_SIZE, compression="zstd")
        written.append(target)
        del frame, table
    (folder / "_SUCCESS").write_text(
        json.dumps(
            {
                "n": int(n),
                "seed": int(seed),
                "rows_per_file": int(rows_per_file),
                "files": len(written),
            }
        )
        + "\n"
    )
    return written
