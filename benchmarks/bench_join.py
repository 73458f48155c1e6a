"""Time khorasan_map.join.assign_provinces against geopandas.sjoin(predicate="within").

Everything runs in one process, on the same events, and prints, in this order:

1. END TO END, for mixes of synthetic events in the full event schema (built with
   khorasan_map.synthetic; labelled synthetic): "inside" (the events as synthetic_events makes
   them, every point inside the country) and "bbox" (the same events with their points moved
   uniformly over the layer's bounding box, about half outside; as synthetic_events does, the
   stated province is the one holding the point, and points outside keep theirs). A third,
   "bbox, stated kept (stress)", keeps every stated province of the unmoved events, so most
   points inside disagree with it and about 83% of the events get a report row: a worst case
   for the report, not one of the issue's two mixes. For each: the time of
   ``assign_provinces(events, layer)`` against the time of
   ``gpd.sjoin(gpd.GeoDataFrame(events, geometry=points_from_xy(lon, lat)), layer,
   predicate="within")`` (what a user would run for the same table), their RATIO, the same
   against sjoin on a bare GeoDataFrame of the points, and both peak memories (the rise of the
   process's peak resident set over its size before the call, each call in a fresh process
   that has read the same events from Parquet, /proc/self/clear_refs resetting the peak; and
   tracemalloc's peak of the same call, which sees numpy and Python but not GEOS).
   Then how many point placements agree with sjoin's, where sjoin assigns. Times are the best of
   ``--repeat`` runs in CPU time of this process (the machine is shared: wall time is printed
   beside it).
2. KERNEL: ``PointLocator.locate`` alone (grid ready) against sjoin on bare points.
3. assign_provinces / kernel (issue 13 wants at most 5).

The locator's grid is built once before timing (as in a build, where validation has already
used it); its build time is printed, with the end-to-end ratio counting it.

    python benchmarks/bench_join.py                      # the shipped 34 provinces, 1,000,000 events
    python benchmarks/bench_join.py --boundaries ADM2.geojson --code-field shapeID
"""  # noqa: E501

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from khorasan_map import settings
from khorasan_map.join import PointLocator, assign_provinces, get_locator, locate_points
from khorasan_map.synthetic import synthetic_events

_CLEAR_REFS = Path("/proc/self/clear_refs")


def load_layer(path, code_field):
    if path is None:
        from khorasan_map.boundaries import load_provinces

        return load_provinces(), "shipped provinces (load_provinces())"
    layer = gpd.read_file(path)
    if layer.crs is None:
        layer = layer.set_crs(settings.CRS)
    layer = layer.to_crs(settings.CRS)
    if code_field not in layer.columns:
        raise SystemExit(f"{path}: no column {code_field!r}; columns: {list(layer.columns)}")
    return layer, str(path)


def _rss_kib(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise OSError(field)


def peak_rise_mib(func):
    """Run ``func`` once; return the rise of the peak resident set, in MiB (None if unknown)."""
    gc.collect()
    try:
        _CLEAR_REFS.write_text("5")  # resets the peak (VmHWM) to the current size
        before = _rss_kib("VmRSS")
        func()
        return (_rss_kib("VmHWM") - before) / 1024
    except OSError:
        func()
        return None


def traced_peak_mib(func):
    """Run ``func`` once under tracemalloc; return its peak (numpy and Python, not GEOS), MiB."""
    gc.collect()
    tracemalloc.start()
    func()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def measure_memory(path, which, boundaries, code_field):
    """Peak memory of one call in a fresh process (so no freed heap of this one is reused)."""
    args = [sys.executable, __file__, "--memory-of", which, "--events", str(path),
            "--code-field", code_field]
    if boundaries:
        args += ["--boundaries", boundaries]
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    rise, traced = done.stdout.split()
    return float(rise), float(traced)


def memory_child(args):
    """In the fresh process: read the events, warm the grid, measure one call."""
    layer, _ = load_layer(args.boundaries, args.code_field)
    events = pd.read_parquet(args.events)
    assign_provinces(events.iloc[:1000], layer, code_field=args.code_field)
    if args.memory_of == "assign_provinces":
        def call():
            return assign_provinces(events, layer, code_field=args.code_field)
    else:
        def call():
            return sjoin_events(events, layer, args.code_field)
    rise = peak_rise_mib(call)
    traced = traced_peak_mib(call)
    print(f"{'nan' if rise is None else f'{rise:.1f}'} {traced:.1f}")
    return 0


def best_of(repeat, func):
    """Return the best CPU time and the best wall time of ``repeat`` runs of ``func``."""
    cpu, wall = [], []
    for _ in range(repeat):
        gc.collect()
        start_cpu, start = time.process_time(), time.perf_counter()
        result = func()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        del result
    return min(cpu), min(wall)


def points_in(layer, n, seed, inside):
    """Random points: uniform over the layer's bounding box, or inside its polygons only."""
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = layer.total_bounds
    if not inside:
        return rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n)
    outline = shapely.union_all(layer.geometry.values)
    shapely.prepare(outline)
    xs, ys, have = [], [], 0
    while have < n:
        x, y = rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n)
        keep = shapely.contains_xy(outline, x, y)
        xs.append(x[keep])
        ys.append(y[keep])
        have += int(keep.sum())
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def restate(events, layer, code_field):
    """Name, as the stated province, the polygon holding each moved point (as synthetic does)."""
    lon, lat = events["longitude"].to_numpy(), events["latitude"].to_numpy()
    code = locate_points(lon, lat, layer, code_field=code_field)
    inside = pd.notna(code)
    events.loc[inside, "province_code"] = code[inside]
    if "province" in layer.columns:
        names = dict(zip(layer[code_field], layer["province"].astype(str), strict=True))
        events.loc[inside, "province"] = pd.Series(code[inside]).map(names).to_numpy()
    return events


def make_mixes(layer, n, seed, shipped, code_field):
    """Return the mixes: synthetic events with their points placed as described above."""
    events = synthetic_events(n, seed=seed)
    has_xy = events["latitude"].notna().to_numpy()
    mixes = {}
    for name, inside, stress in (("inside", True, False), ("bbox", False, False),
                                 ("bbox, stated kept (stress)", False, True)):
        if name == "inside" and shipped:
            mixes[name] = events  # synthetic_events puts every point inside the provinces
            continue
        moved = events.copy()
        lon, lat = points_in(layer, int(has_xy.sum()), seed + 1, inside)
        moved.loc[has_xy, "longitude"] = lon
        moved.loc[has_xy, "latitude"] = lat
        mixes[name] = moved if stress else restate(moved, layer, code_field)
    return mixes


def sjoin_events(events, layer, code_field):
    """The baseline a user would write: the events as points, joined with ``within``."""
    points = gpd.GeoDataFrame(
        events, geometry=gpd.points_from_xy(events["longitude"], events["latitude"]),
        crs=settings.CRS,
    )
    polygons = layer[[code_field, "geometry"]].rename(columns={code_field: "sjoin_code"})
    return gpd.sjoin(points, polygons, predicate="within")


def sjoin_points(lon, lat, layer, code_field):
    """The kernel baseline: bare points (geometry only), joined with ``within``."""
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=settings.CRS)
    return gpd.sjoin(points, layer[[code_field, "geometry"]], predicate="within")


def placements_agree(result, joined):
    """Where sjoin assigns and the join placed the event by its point: (compared, differ)."""
    n = len(result.events)
    ref = np.full(n, None, dtype=object)
    pos = np.asarray(joined.index)  # the events have a RangeIndex
    first = ~pd.Index(pos).duplicated()
    ref[pos[first]] = joined["sjoin_code"].to_numpy(dtype=object)[first]
    by = result.events["assigned_by"].to_numpy(dtype=object)
    placed = np.where(by == "point", result.events["assigned_code"].to_numpy(dtype=object), None)
    report = result.report
    disagreements = report.index[report["case"] == "disagreement"].to_numpy()
    placed[disagreements] = report.loc[disagreements, "point_code"].to_numpy(dtype=object)
    compared = (ref != None) & (placed != None)  # noqa: E711
    return int(compared.sum()), int((placed[compared] != ref[compared]).sum())


def end_to_end(name, events, layer, code_field, repeat, boundaries):
    kwargs = {"code_field": code_field}
    assign_provinces(events.iloc[:1000], layer, **kwargs)  # the tolerance band, built once
    result = assign_provinces(events, layer, **kwargs)
    joined = sjoin_events(events, layer, code_field)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.parquet"
        events.to_parquet(path)
        mem_assign, traced_assign = measure_memory(path, "assign_provinces", boundaries,
                                                   code_field)
        mem_sjoin, traced_sjoin = measure_memory(path, "sjoin", boundaries, code_field)
    t_assign, w_assign = best_of(repeat, lambda: assign_provinces(events, layer, **kwargs))
    t_sjoin, w_sjoin = best_of(repeat, lambda: sjoin_events(events, layer, code_field))
    lon, lat = events["longitude"].to_numpy(), events["latitude"].to_numpy()
    t_bare, _ = best_of(repeat, lambda: sjoin_points(lon, lat, layer, code_field))
    compared, differ = placements_agree(result, joined)
    by_point = int((result.events["assigned_by"] == "point").sum())
    print(f"  {name}: {len(events):,} events, {by_point:,} placed by their point, "
          f"{len(result.report):,} report rows")
    print(f"    sjoin(within) on the events as points {t_sjoin:8.3f} s CPU "
          f"({w_sjoin:.3f} s wall)")
    print(f"    sjoin(within) on bare points          {t_bare:8.3f} s CPU")
    print(f"    assign_provinces                      {t_assign:8.3f} s CPU "
          f"({w_assign:.3f} s wall)")
    print(f"    RATIO END TO END sjoin / assign_provinces ({name}) {t_sjoin / t_assign:6.1f} x CPU"
          f"   (wall {w_sjoin / w_assign:.1f} x; against bare points {t_bare / t_assign:.1f} x)")
    print(f"    memory (peak RSS rise, fresh process): assign_provinces {mem_assign:+,.0f} MiB, "
          f"sjoin {mem_sjoin:+,.0f} MiB; tracemalloc peak (numpy and Python, not GEOS): "
          f"assign_provinces {traced_assign:,.0f} MiB, sjoin {traced_sjoin:,.0f} MiB")
    print(f"    agreement: {compared - differ:,} of {compared:,} point placements identical to "
          f"sjoin's; {differ} differ")
    return t_assign, t_sjoin, differ == 0


def kernel(events, layer, code_field, repeat):
    lon, lat = events["longitude"].to_numpy(), events["latitude"].to_numpy()
    start = time.perf_counter()
    PointLocator(layer, code_field=code_field)
    build = time.perf_counter() - start
    locator = get_locator(layer, code_field)
    t_locate, _ = best_of(repeat, lambda: locator.locate(lon, lat))
    t_sjoin, _ = best_of(repeat, lambda: sjoin_points(lon, lat, layer, code_field))
    print(f"  grid {locator.shape[0]} x {locator.shape[1]} cells, {locator.n_mixed:,} crossed by "
          f"a boundary; built in {build:.3f} s")
    print(f"  sjoin(within) on bare points  {t_sjoin:8.3f} s CPU")
    print(f"  PointLocator.locate           {t_locate:8.3f} s CPU")
    print(f"  RATIO KERNEL sjoin / locate (a kernel figure, not end to end) "
          f"{t_sjoin / t_locate:.1f} x")
    return t_locate, build


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boundaries", help="polygon layer (default: the shipped provinces)")
    parser.add_argument("--code-field", default="province_code")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)  # always run
    parser.add_argument("--memory-of", choices=("assign_provinces", "sjoin"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--events", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_of:
        return memory_child(args)

    layer, label = load_layer(args.boundaries, args.code_field)
    vertices = int(shapely.get_num_coordinates(layer.geometry.values).sum())
    print(f"layer: {label}: {len(layer)} polygons, {vertices:,} vertices")
    mixes = make_mixes(layer, args.n, args.seed, args.boundaries is None, args.code_field)
    get_locator(layer, args.code_field)
    print(f"END TO END (synthetic events, full schema, seed {args.seed}; best of {args.repeat}):")
    times, all_ok = {}, True
    for name, events in mixes.items():
        t_assign, t_sjoin, ok = end_to_end(name, events, layer, args.code_field, args.repeat,
                                           args.boundaries)
        times[name] = t_assign
        all_ok &= ok
    print("KERNEL (the bbox points):")
    t_kernel, build = kernel(mixes["bbox"], layer, args.code_field, args.repeat)
    for name, t_assign in times.items():
        print(f"RATIO assign_provinces / kernel ({name}) {t_assign / t_kernel:.1f} x "
              f"(issue 13 wants at most 5); the grid build adds {build:.3f} s once")
    return 0 if all_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
