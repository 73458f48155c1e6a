"""Time-to-drawn and file size of large points maps (the canvas layer) in headless Chromium.

Builds, from synthetic events (``khorasan_map.synthetic``, labelled synthetic), the points map
the user gets from :func:`khorasan_map.render.points_map` saved offline
(:func:`khorasan_map.export.save_html`), and a baseline in the same run:

* ``empty``: a folium map with no data, saved offline the same way; its time is the page's
  ``load`` event (what any map costs before it draws anything);
* ``markers`` (only with ``--markers``): the same points as before the canvas layer, one Leaflet
  marker each in Leaflet.markercluster (``cluster=True``); its time is the first frame where
  the clusters hold every point. Slow at 1M (about a minute): off by default.

Our time is read from the page: the last ``km-points-drawn`` performance mark, which
``kmcanvas.js`` sets when a draw of every point ends (measured from navigation start), once no
new draw has come for a second. Each file is opened ``--repeat`` times in a fresh tab; the
median is printed with the ratio to the baseline.

Run::

    python benchmarks/bench_bigmaps.py                     # 100,000 events
    python benchmarks/bench_bigmaps.py --events 1000000 --repeat 1

Targets: 100,000 events drawn within 1.5 s; 1,000,000 within 6 s and the file at most 40 MB.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "browser"))

TARGETS = {100_000: (1.5, None), 1_000_000: (6.0, 40_000_000)}

DRAWN = (
    "const e = performance.getEntriesByName('km-points-drawn');"
    " return e.length ? e[e.length - 1].startTime : null;"
)
LOADED = (
    "const t = performance.timing;"
    " return t.loadEventEnd ? t.loadEventEnd - t.navigationStart : null;"
)
CLUSTERED = (
    "let n = document.querySelectorAll('path.km-point').length;"
    " document.querySelectorAll('.marker-cluster span').forEach(s => n += Number(s.textContent));"
    " return n >= arguments[0] ? performance.now() : null;"
)


def build_maps(n_events: int, folder: Path, markers: bool) -> dict[str, Path]:
    """Save our points map, the empty baseline and optionally the markers baseline."""
    import folium

    from khorasan_map import render
    from khorasan_map.export import save_html
    from khorasan_map.synthetic import synthetic_events

    events = synthetic_events(n_events)
    t0 = time.perf_counter()
    prepared = render.prepare_points(events)
    print(f"prepare_points on {n_events:,} events: {time.perf_counter() - t0:.1f} s")
    paths = {"ours (canvas)": folder / "ours.html", "empty": folder / "empty.html"}
    t0 = time.perf_counter()
    save_html(render.points_map(None, prepared=prepared, tiles=None), paths["ours (canvas)"],
              offline=True)
    print(f"points_map + save_html: {time.perf_counter() - t0:.1f} s")
    save_html(folium.Map(tiles=None), paths["empty"], offline=True)
    if markers:
        paths["markers"] = folder / "markers.html"
        m = render.points_map(None, prepared=prepared, tiles=None, cluster=True)
        save_html(m, paths["markers"], offline=True)
    return paths, prepared.points["n"]


def settle(driver, script: str, args=(), quiet: float = 1.0, timeout: float = 180.0):
    """Poll a script until it gives a value that stays the same for ``quiet`` seconds."""
    deadline, last, since = time.monotonic() + timeout, None, None
    while time.monotonic() < deadline:
        value = driver.execute_script(script, *args)
        if value is not None and value == last:
            if time.monotonic() - since >= quiet:
                return value
        elif value is not None:
            last, since = value, time.monotonic()
        time.sleep(0.1)
    raise TimeoutError(f"no settled value from {script[:60]!r}")


def time_page(driver, path: Path, name: str, n_points: int) -> float:
    """Seconds from navigation start to drawn, for one map kind."""
    driver.get("about:blank")
    driver.get(path.as_uri())
    if name == "empty":
        ms = settle(driver, LOADED, quiet=0.2)
    elif name == "markers":
        ms = settle(driver, CLUSTERED, args=(n_points,), quiet=0.0)
    else:
        ms = settle(driver, DRAWN)
    return ms / 1000


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--markers", action="store_true", help="also time the marker layer")
    args = parser.parse_args(argv)

    from conftest import start_chrome

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths, n_points = build_maps(args.events, folder, args.markers)
        driver = start_chrome(str(folder / "profile"))
        try:
            times = {
                name: [time_page(driver, path, name, n_points) for _ in range(args.repeat)]
                for name, path in paths.items()
            }
        finally:
            driver.quit()
        print(f"\n{args.events:,} synthetic events, {n_points:,} drawn as points; "
              f"median of {args.repeat}, headless Chromium, offline files")
        base = statistics.median(times["empty"])
        print(f"{'map':<16}{'MB':>8}{'drawn s':>10}{'x empty':>10}")
        for name, path in paths.items():
            t = statistics.median(times[name])
            print(f"{name:<16}{path.stat().st_size / 1e6:>8.1f}{t:>10.2f}{t / base:>10.1f}")
        target = TARGETS.get(args.events)
        if target:
            t = statistics.median(times["ours (canvas)"])
            size = paths["ours (canvas)"].stat().st_size
            ok = t <= target[0] and (target[1] is None or size <= target[1])
            limit = f", <= {target[1] / 1e6:.0f} MB" if target[1] else ""
            print(f"target: drawn <= {target[0]} s{limit}: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
