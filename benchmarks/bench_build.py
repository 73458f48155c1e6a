"""Time ``khorasan-map build`` on the shipped data against a process that imports the stack.

Each run is a fresh Python process, so every import is counted, as a user running the command
pays it:

* **build**: ``khorasan-map build --out TMP`` on the shipped dataset (every map, the report
  as PDF, PNG and SVG: its overview, the year maps side by side and the two tables; the data
  tables and ``build.json``);
* **baseline**: ``python -c "import geopandas, folium, matplotlib.pyplot"``, the least any
  build with these libraries costs.

The two alternate (baseline, build, baseline, build, ...) after one warm-up of each, so a
machine whose speed drifts slows both alike; the figure quoted is the median of the per-pair
ratios, printed first. The command is run with the interpreter that runs this script, through
``python -c "from khorasan_map.cli import run; run()"`` (what the ``khorasan-map`` script
does), so it measures the checkout on ``PYTHONPATH`` or the installed package.

With ``--floor`` a third command runs in each round, for the next person looking for time:

* **floor**: the same build with no report and no second process (the tally, maps and tables
  in turn, in one process): what the build costs before its report.

Run::

    python benchmarks/bench_build.py            # 7 pairs
    python benchmarks/bench_build.py --repeat 3
    python benchmarks/bench_build.py --repeat 5 --floor

Target (issue 13): build at most 1.8 times the baseline.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASELINE = "import geopandas, folium, matplotlib.pyplot"
BUILD = "import sys; from khorasan_map.cli import run; sys.argv[0] = 'khorasan-map'; run()"
FLOOR = ("import sys; from khorasan_map import pipeline, worker; "
         "pipeline._write_report = lambda *a, **k: []; worker.second_core = worker.Inline; "
         "from khorasan_map.cli import run; sys.argv[0] = 'khorasan-map'; run()")


def run_once(code: str, *args: str) -> float:
    """Wall-clock seconds of one fresh ``python -c code args...`` process (output discarded)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(repeat: int, folder: Path, floor: bool = False) -> dict[str, list[float]]:
    """Alternate baseline, build (and floor) ``repeat`` times after one warm-up each."""
    build_args = ("build", "--out", str(folder / "build"))
    commands = {"baseline": (BASELINE,), "build": (BUILD, *build_args)}
    if floor:
        commands["floor"] = (FLOOR, "build", "--out", str(folder / "floor"))
    for command in commands.values():
        run_once(*command)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            times[name].append(run_once(*command))
    return times


def main(argv=None) -> None:
    """Run the benchmark and print the ratio, then each side's median, min and max."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="pairs of runs (default 7)")
    parser.add_argument("--floor", action="store_true",
                        help="also time the build with no report and no second process")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="bench_build_"))
    try:
        times = measure(args.repeat, folder, floor=args.floor)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    base = times["baseline"]
    for name in [n for n in times if n != "baseline"]:
        ratios = [b / a for a, b in zip(base, times[name], strict=True)]
        target = "; target <= 1.8" if name == "build" else ""
        print(f"RATIO {name} / baseline: {statistics.median(ratios):.2f} (median of "
              f"{len(ratios)} pairs; min {min(ratios):.2f}, max {max(ratios):.2f}{target})")
    for name, runs in times.items():
        print(f"{name:9s} median {statistics.median(runs):.2f} s "
              f"(min {min(runs):.2f}, max {max(runs):.2f})")
    print(f"baseline: python -c {BASELINE!r}")


if __name__ == "__main__":
    main()
