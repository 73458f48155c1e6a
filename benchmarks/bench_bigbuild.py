"""Time ``khorasan-map build`` on many synthetic events, with its peak memory, against one read.

Writes ``benchmarks/_data/synthetic_N.csv`` (N synthetic events from
:func:`khorasan_map.synthetic.synthetic_events`, labelled synthetic; git-ignored, reused when
present), then runs, each in a fresh Python process so that every import and the peak memory
belong to that run alone:

* **build**: ``khorasan-map build FILE --out TMP`` (every map, the report, the tables);
* **baseline**: ``read_events(FILE)``, one read of the same file with full validation, the
  least a build of that file costs.

Prints first the ratio of the two wall times, then each run's wall time and peak resident
memory (``VmHWM``): for the build, of the main process and of its report process (the
forked child, which shares the parent's pages until it writes to them). Issue 13 asks for a
build of 1M events in at most 20 s and 3 GiB.

Run::

    python benchmarks/bench_bigbuild.py                   # 1,000,000 events
    python benchmarks/bench_bigbuild.py --events 100000

The machine is shared: run the 1M case only as often as needed.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).parent / "_data"


def write_csv(n: int, seed: int) -> Path:
    """Write (or reuse) a CSV of ``n`` synthetic events in the toolkit's schema."""
    from khorasan_map.synthetic import synthetic_events

    path = DATA / f"synthetic_{n}.csv"
    if path.exists():
        return path
    DATA.mkdir(exist_ok=True)
    start = time.perf_counter()
    events = synthetic_events(n, seed=seed)
    for column in ("date", "date_start", "date_end"):
        events[column] = events[column].dt.strftime("%Y-%m-%d")
    events.to_csv(path, index=False)
    print(f"wrote {n:,} synthetic events to {path} in {time.perf_counter() - start:.1f} s")
    return path


def _peak_mib() -> float:
    """Peak resident memory of this process in MiB (VmHWM; reset by exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_once(path: str, out: str) -> None:
    """Child process: build from ``path`` into ``out``; print JSON with the peak memory."""
    from khorasan_map.cli import main

    sys.argv = ["khorasan-map", "build", path, "--out", out]
    try:
        main(standalone_mode=False)
    finally:
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        manifest = json.loads((Path(out) / "build.json").read_text("utf-8"))
        print(json.dumps({"peak_mib": _peak_mib(), "child_peak_mib": children,
                          "engine": manifest["engine"], "events": manifest["events"]}))


def read_once(path: str) -> None:
    """Child process: one ``read_events`` of ``path``; print JSON with the peak memory."""
    from khorasan_map.events import read_events

    result = read_events(path, on_invalid="report", progress=False)
    print(json.dumps({"peak_mib": _peak_mib(), "events": len(result.events)}))


def _run(*args: str) -> tuple[float, dict]:
    """Wall seconds of one fresh ``python bench_bigbuild.py args`` and the JSON it printed."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True,
                          text=True)
    seconds = time.perf_counter() - start
    return seconds, json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """Write the file, run the baseline and the build, print the ratio and the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--build", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--read", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build_once(*args.build)
        return
    if args.read:
        read_once(args.read)
        return
    path = write_csv(args.events, args.seed)
    folder = Path(tempfile.mkdtemp(prefix="bench_bigbuild_"))
    try:
        base_s, base = _run("--read", str(path))
        build_s, built = _run("--build", str(path), str(folder / "build"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"RATIO build / read_events: {build_s / base_s:.2f} ({args.events:,} synthetic events; "
          f"target: build <= 20 s and <= 3 GiB)")
    print(f"build     {build_s:6.1f} s, peak {built['peak_mib']:,.0f} MiB (report process "
          f"{built['child_peak_mib']:,.0f} MiB), engine {built['engine']}, "
          f"{built['events']:,} events")
    print(f"baseline  {base_s:6.1f} s, peak {base['peak_mib']:,.0f} MiB: one read_events of "
          f"the same file, {base['events']:,} events")


if __name__ == "__main__":
    main()
