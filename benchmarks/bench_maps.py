"""Size and first-render time of our maps against ``geopandas.GeoDataFrame.explore``.

Builds, on the same synthetic data:

* the choropleth of the 34 provinces (events per province): ours with
  :func:`khorasan_map.render.choropleth_map`, and ``summary.explore(column="events")``;
* a points map of ``--points`` events (default 100,000): ours with
  :func:`khorasan_map.render.points_map`, and ``points.explore()``.

Ours is saved online and offline, ``.explore`` online (it cannot be made offline). Each file
is opened in headless Chromium, and the time from navigation start to the map being drawn
(the Leaflet container present and the shapes, markers or clusters on the page) is read from
``performance.now()`` inside the page, at the first animation frame that finds them.

The machine has no internet, so online files are timed with their Leaflet and
Leaflet.markercluster addresses pointed at the local copies from the XStatic packages; the other
CDN files (jQuery, Bootstrap, Font Awesome, awesome-markers) and the tiles are blocked, which
draws the same map without waiting on the network. The times therefore measure parsing and
drawing, not downloading.

Run::

    python benchmarks/bench_maps.py            # 100,000 points
    python benchmarks/bench_maps.py --points 20000 --repeat 1

Targets: choropleth <= 200 KB online and <= 700 KB offline; 100,000 points <= 6 MB and first
render under 3 s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

# When a map counts as drawn ("first"): the Leaflet container and at least n elements matching
# sel. When it is complete: every point is on the page, counted as the sum of the numbers on
# the visible clusters plus the single points matching csel (the whole country is in view), at
# least total. Leaflet.markercluster's chunked loading draws the first clusters before every
# point is placed, hence the two times.
PROVINCES = {"sel": "path.leaflet-interactive", "n": 34}
OUR_POINTS = {"sel": ".marker-cluster, path.km-point", "n": 1, "csel": "path.km-point"}
EXPLORE_POINTS = {"sel": "path.leaflet-interactive", "n": 1, "csel": "path.leaflet-interactive"}

# Runs before the page's own scripts; records when the map is first drawn and complete.
PROBE = """
window.__kmDrawn = null; window.__kmComplete = null;
(function () {
  function count(sel) { return document.querySelectorAll(sel).length; }
  function placed(want) {
    var n = want.csel ? count(want.csel) : 0;
    document.querySelectorAll('.marker-cluster span').forEach(function (s) {
      n += Number(s.textContent) || 0;
    });
    return n;
  }
  function poll() {
    var want = window.__kmWant || {sel: 'path.leaflet-interactive', n: 1};
    var now = performance.now();
    if (window.__kmDrawn === null && document.querySelector('.leaflet-container') &&
        count(want.sel) >= want.n) { window.__kmDrawn = now; }
    if (window.__kmDrawn !== null && (!want.total || placed(want) >= want.total)) {
      window.__kmComplete = now; return;
    }
    requestAnimationFrame(poll);
  }
  requestAnimationFrame(poll);
})();
"""

TARGETS = {
    ("choropleth", "ours online"): (200_000, None),
    ("choropleth", "ours offline"): (700_000, None),
    ("points", "ours online"): (6_000_000, 3.0),
    ("points", "ours offline"): (6_000_000, 3.0),
}


def local_cdn() -> dict[str, str]:
    """CDN address -> local file URL, for the files the XStatic packages ship."""
    import xstatic.pkg.leaflet as leaflet
    import xstatic.pkg.leaflet_markercluster as cluster

    lf, mc = Path(leaflet.BASE_DIR), Path(cluster.BASE_DIR)
    return {
        "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": (lf / "leaflet.js").as_uri(),
        "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": (
            lf / "leaflet.css"
        ).as_uri(),
        "leaflet.markercluster.js": (mc / "leaflet.markercluster.js").as_uri(),
        "MarkerCluster.css": (mc / "MarkerCluster.css").as_uri(),
        "MarkerCluster.Default.css": (mc / "MarkerCluster.Default.css").as_uri(),
    }


def timing_copy(path: Path, folder: Path) -> Path:
    """Copy an online page with its Leaflet files pointed at local copies."""
    import re

    html = path.read_text(encoding="utf-8")
    mapping = local_cdn()

    def swap(match):
        url = match.group(2)
        for key, local in mapping.items():
            if url == key or url.endswith("/" + key):
                return match.group(1) + local + match.group(3)
        return match.group(0)

    html = re.sub(r"""((?:src|href)=["'])(https?://[^"']+)(["'])""", swap, html)
    out = folder / ("timing-" + path.name)
    out.write_text(html, encoding="utf-8")
    return out


def start_browser(profile: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        "--window-size=1200,900",
        f"--user-data-dir={profile}",
        "--allow-file-access-from-files",
        "--host-resolver-rules=MAP * ~NOTFOUND",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    # explore's 100,000-point page takes minutes: let one command wait that long.
    driver.command_executor.client_config.timeout = 900
    driver.set_page_load_timeout(900)
    driver.set_script_timeout(900)
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["http://*", "https://*"]})
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PROBE})
    return driver


def first_render(path: Path, want: dict, timeout: float = 900.0) -> tuple[float, float]:
    """Seconds from navigation start until the map is first drawn, and until it is complete.

    Each measurement uses a fresh browser and profile (no cache, no memory of earlier pages).
    The times are taken inside the page, so waiting for the driver does not count.
    """
    profile = tempfile.mkdtemp(prefix="khorasan-bench-chromium-")
    driver = start_browser(profile)
    try:
        source = f"window.__kmWant = {json.dumps(want)};"
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": source})
        driver.get(path.resolve().as_uri())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            drawn, complete = driver.execute_script(
                "return [window.__kmDrawn, window.__kmComplete]"
            )
            if complete:
                return drawn / 1000.0, complete / 1000.0
            time.sleep(0.05)
        raise TimeoutError(f"{path.name} was not complete within {timeout} s")
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def build_maps(n_points: int, folder: Path) -> list[dict]:
    """Build and save every map; return one row per file (without timings)."""
    import geopandas as gpd

    from khorasan_map import render
    from khorasan_map.aggregate import summarize
    from khorasan_map.export import save_html
    from khorasan_map.synthetic import synthetic_events

    rows = []

    def add(case, who, path, want, build_s):
        rows.append(
            {
                "case": case,
                "who": who,
                "path": path,
                "bytes": path.stat().st_size,
                "want": want,
                "build_s": build_s,
            }
        )

    # Choropleth: events per province.
    events = synthetic_events(5_000, seed=0)
    t = time.perf_counter()
    m = render.choropleth_map(events)
    build = time.perf_counter() - t
    add(
        "choropleth", "ours online", save_html(m, folder / "ours_choropleth.html"), PROVINCES, build
    )
    add(
        "choropleth",
        "ours offline",
        save_html(m, folder / "ours_choropleth_offline.html", offline=True),
        PROVINCES,
        build,
    )
    summary = summarize(events)
    table = summary[["province_code", "province", "province_dari", "events", "geometry"]]
    t = time.perf_counter()
    em = table.explore(column="events", scheme="quantiles", k=5, cmap="YlOrRd")
    build = time.perf_counter() - t
    path = folder / "explore_choropleth.html"
    em.save(str(path))
    add("choropleth", "explore online", path, PROVINCES, build)

    # Points.
    events = synthetic_events(n_points, seed=0)
    located = events.dropna(subset=["latitude", "longitude"])  # province-only events: no point
    ours = {**OUR_POINTS, "total": len(located)}
    t = time.perf_counter()
    m = render.points_map(events)
    build = time.perf_counter() - t
    add("points", "ours online", save_html(m, folder / "ours_points.html"), ours, build)
    add(
        "points",
        "ours offline",
        save_html(m, folder / "ours_points_offline.html", offline=True),
        ours,
        build,
    )
    points = gpd.GeoDataFrame(
        located.assign(
            **{
                c: located[c].astype(str)
                for c in located.columns
                if "date" in c and c != "source_date"
            }
        ),
        geometry=gpd.points_from_xy(located["longitude"], located["latitude"]),
        crs="EPSG:4326",
    )
    t = time.perf_counter()
    em = points.explore(column="kind")
    build = time.perf_counter() - t
    path = folder / "explore_points.html"
    em.save(str(path))
    add("points", "explore online", path, {**EXPLORE_POINTS, "total": len(located)}, build)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000, help="synthetic events to map")
    parser.add_argument("--repeat", type=int, default=3, help="renders per file (median kept)")
    parser.add_argument("--keep", type=Path, default=None, help="folder to keep the files in")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)

    folder = args.keep or Path(tempfile.mkdtemp(prefix="khorasan-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    rows = build_maps(args.points, folder)

    for row in rows:
        page = row["path"] if "offline" in row["who"] else timing_copy(row["path"], folder)
        times = [first_render(page, row["want"])]
        while len(times) < args.repeat and times[0][1] < 30:  # one run is enough when slow
            times.append(first_render(page, row["want"]))
        row["render_s"] = statistics.median(t[0] for t in times)
        row["complete_s"] = statistics.median(t[1] for t in times)
        print(
            f"  {row['case']:<11} {row['who']:<15} first {row['render_s']:.2f} s, "
            f"complete {row['complete_s']:.2f} s ({len(times)} runs)",
            flush=True,
        )

    failed = report(rows, args.points)
    if args.json:
        out = [{k: (str(v) if isinstance(v, Path) else v) for k, v in r.items()} for r in rows]
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if failed else 0


def report(rows: list[dict], n_points: int) -> bool:
    """Print the table side by side with ratios to .explore; return True if a target is missed.

    The render target is checked, as the issue defines it, on the first-render time (container
    and clusters or markers present); whether the complete time (every point placed) also meets
    it is shown as "complete ok" or "complete over".
    """
    print(f"\nkhorasan_map vs geopandas.explore ({n_points:,} synthetic events)\n")
    print(
        f"{'map':<11} {'file':<15} {'size':>11} {'build s':>8} {'first s':>8} {'complete s':>11} "
        f"{'size ratio':>11} {'time ratio':>11}  target"
    )
    failed = False
    for case in ("choropleth", "points"):
        explore = next(r for r in rows if r["case"] == case and r["who"] == "explore online")
        for row in (r for r in rows if r["case"] == case):
            limit_bytes, limit_s = TARGETS.get((case, row["who"]), (None, None))
            verdict = ""
            if limit_bytes is not None:
                size_ok = row["bytes"] <= limit_bytes
                verdict = f"size {'ok' if size_ok else 'MISSED'} (<= {limit_bytes / 1e6:g} MB)"
                failed |= not size_ok
                if limit_s is not None:
                    first_ok = row["render_s"] < limit_s
                    failed |= not first_ok
                    verdict += f"; first {'ok' if first_ok else 'MISSED'} (< {limit_s:g} s)"
                    verdict += "; complete " + ("ok" if row["complete_s"] < limit_s else "over")
            print(
                f"{case:<11} {row['who']:<15} {row['bytes'] / 1e3:>9,.0f}KB "
                f"{row['build_s']:>8.2f} {row['render_s']:>8.2f} {row['complete_s']:>11.2f} "
                f"{row['bytes'] / explore['bytes']:>11.2f} "
                f"{row['complete_s'] / explore['complete_s']:>11.2f}  {verdict}"
            )
    print("\nratios: ours / explore (size; complete render time)")
    print("times are medians of fresh-browser runs; slow pages (over 30 s) are run once")
    return failed


if __name__ == "__main__":
    sys.exit(main())
