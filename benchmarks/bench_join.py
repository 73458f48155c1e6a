"""Time khorasan_map.join.locate_points against geopandas.sjoin(predicate="within").

Both run in the same process on the same random points. Prints the times, their ratio, how many
points got identical assignments (every disagreement is checked to lie on a boundary) and peak
memory.

    python benchmarks/bench_join.py                      # the shipped 34-province layer
    python benchmarks/bench_join.py --boundaries ../shared/reference/geoBoundaries-AFG-ADM2_simplified.geojson --code-field shapeID
"""  # noqa: E501

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import geopandas as gpd
import numpy as np
import shapely

from khorasan_map import settings
from khorasan_map.join import PointLocator


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


def random_points(layer, n, seed, inside):
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = layer.total_bounds
    if not inside:
        return rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n)
    outline = shapely.union_all(layer.geometry.values)
    shapely.prepare(outline)
    xs, ys, have = [], [], 0
    while have < n:
        x = rng.uniform(xmin, xmax, n)
        y = rng.uniform(ymin, ymax, n)
        keep = shapely.contains_xy(outline, x, y)
        xs.append(x[keep])
        ys.append(y[keep])
        have += int(keep.sum())
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def maxrss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def best_of(repeat, func):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return min(times), result


def sjoin_reference(points, layer, code_field):
    joined = gpd.sjoin(points, layer[[code_field, "geometry"]], predicate="within")
    # Several matches only where polygons overlap: keep the lowest code, as locate_points does.
    joined = joined.sort_values(code_field, kind="stable")
    joined = joined[~joined.index.duplicated(keep="first")]
    ref = np.full(len(points), None, dtype=object)
    ref[joined.index.to_numpy()] = joined[code_field].to_numpy(dtype=object)
    return ref


def run(layer, code_field, lon, lat, repeat):
    n = len(lon)
    # Cold build (the grid), then the query with the grid ready.
    start = time.perf_counter()
    locator = PointLocator(layer, code_field=code_field)
    build = time.perf_counter() - start
    t_locate, got = best_of(repeat, lambda: locator.locate(lon, lat))
    rss_after_locate = maxrss_mb()
    tracemalloc.start()
    locator.locate(lon, lat)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    start = time.perf_counter()
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=settings.CRS)
    t_points = time.perf_counter() - start
    t_sjoin, ref = best_of(repeat, lambda: sjoin_reference(points, layer, code_field))
    rss_after_sjoin = maxrss_mb()

    differ = np.flatnonzero(got != ref)
    lines = shapely.union_all(layer.geometry.boundary.values)
    on_border = shapely.intersects_xy(lines, lon[differ], lat[differ]) if len(differ) else []
    n_border_diff = int(np.sum(on_border))

    print(f"  grid {locator.shape[0]} x {locator.shape[1]} cells, {locator.n_mixed:,} crossed by a")
    print(f"  boundary; {int((got != None).sum()):,} of {n:,} points inside a polygon")  # noqa: E711
    print(f"  sjoin(predicate='within')     {t_sjoin:8.3f} s  (+{t_points:.3f} s to build points)")
    print(f"  locate_points, grid ready     {t_locate:8.3f} s")
    print(f"  grid build                    {build:8.3f} s")
    print(f"  locate_points incl. build     {t_locate + build:8.3f} s")
    print(f"  RATIO sjoin / locate_points   {t_sjoin / t_locate:8.1f} x")
    print(f"  ratio incl. grid build        {t_sjoin / (t_locate + build):8.1f} x")
    print(
        f"  agreement: {n - len(differ):,} of {n:,} identical; {len(differ)} differ, "
        f"{n_border_diff} of them on a boundary"
    )
    print(
        f"  peak memory: maxrss {rss_after_locate:,.0f} MB after locate_points, "
        f"{rss_after_sjoin:,.0f} MB after sjoin; locate_points numpy peak "
        f"{traced_peak / 2**20:,.0f} MB (tracemalloc)"
    )
    ok = len(differ) == n_border_diff
    return t_sjoin / t_locate, ok


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boundaries", help="polygon layer (default: the shipped provinces)")
    parser.add_argument("--code-field", default="province_code")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument(
        "--inside", action="store_true", help="also run with points inside the layer only"
    )
    args = parser.parse_args(argv)

    layer, label = load_layer(args.boundaries, args.code_field)
    vertices = int(shapely.get_num_coordinates(layer.geometry.values).sum())
    print(f"layer: {label}: {len(layer)} polygons, {vertices:,} vertices")
    runs = [("over the layer's bounding box", False)]
    if args.inside:
        runs.append(("inside the layer only", True))
    all_ok = True
    for title, inside in runs:
        lon, lat = random_points(layer, args.n, args.seed, inside)
        print(f"{args.n:,} random points {title} (seed {args.seed}):")
        ratio, ok = run(layer, args.code_field, lon, lat, args.repeat)
        all_ok &= ok
    return 0 if all_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
