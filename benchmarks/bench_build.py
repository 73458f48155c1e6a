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
``python -c "from khorasan_map.cli import main; main()"`` (what the ``khorasan-map`` script
does), so it measures the checkout on ``PYTHONPATH`` or the installed package.

Run::

    python benchmarks/bench_build.py            # 7 pairs
    python benchmarks/bench_build.py --repeat 3

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
BUILD = "import sys; from khorasan_map.cli import main; sys.argv[0] = 'khorasan-map'; main()"


def run_once(code: str, *args: str) -> float:
    """Wall-clock seconds of one fresh ``python -c code args...`` process (output discarded)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(repeat: int, folder: Path) -> tuple[list[float], list[float]]:
    """Alternate baseline and build ``repeat`` times after one warm-up each; return the times."""
    build_args = ("build", "--out", str(folder / "build"))
    run_once(BASELINE)
    run_once(BUILD, *build_args)
    base, build = [], []
    for _ in range(repeat):
        base.append(run_once(BASELINE))
        build.append(run_once(BUILD, *build_args))
    return base, build


def main(argv=None) -> None:
    """Run the benchmark and print the ratio, then each side's median, min and max."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="pairs of runs (default 7)")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="bench_build_"))
    try:
        base, build = measure(args.repeat, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    ratios = [b / a for a, b in zip(base, build, strict=True)]
    print(f"RATIO build / baseline: {statistics.median(ratios):.2f} (median of {len(ratios)} "
          f"pairs; min {min(ratios):.2f}, max {max(ratios):.2f}; target <= 1.8)")
    for name, times in (("build", build), ("baseline", base)):
        print(f"{name:9s} median {statistics.median(times):.2f} s "
              f"(min {min(times):.2f}, max {max(times):.2f})")
    print(f"baseline: python -c {BASELINE!r}")


if __name__ == "__main__":
    main()
