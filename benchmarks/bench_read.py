"""Benchmark read_events: 1M synthetic rows from CSV and from Parquet.

Writes the files under benchmarks/_data/ (git-ignored; reused when present), then reads each
one in a fresh Python process so that the peak memory (maximum resident set size) belongs to
that read alone. Prints rows per second and peak memory for each format.

    python benchmarks/bench_read.py            # 1,000,000 rows
    python benchmarks/bench_read.py --rows 200000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).parent / "_data"


def write_files(rows: int, seed: int) -> dict[str, Path]:
    from khorasan_map.synthetic import synthetic_events

    DATA.mkdir(exist_ok=True)
    paths = {"csv": DATA / f"synthetic_{rows}.csv", "parquet": DATA / f"synthetic_{rows}.parquet"}
    if all(p.exists() for p in paths.values()):
        return paths
    start = time.perf_counter()
    events = synthetic_events(rows, seed=seed)
    print(f"generated {rows:,} synthetic events in {time.perf_counter() - start:.1f} s")
    out = events.copy()
    for column in ("date", "date_start", "date_end"):
        out[column] = out[column].dt.strftime("%Y-%m-%d")
    out.to_csv(paths["csv"], index=False)
    events.to_parquet(paths["parquet"], index=False)
    return paths


def read_once(path: str) -> None:
    """Child process: read one file and print JSON with the timing and peak memory."""
    from khorasan_map.events import read_events

    before = _peak_mib()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    result = read_events(path, on_invalid="report", progress=False)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    print(json.dumps({
        "rows": result.n_input, "valid": len(result.events), "rejected": len(result.rejected),
        "seconds": seconds, "cpu": cpu, "peak_mib": _peak_mib(), "start_mib": before,
    }))


def _peak_mib() -> float:
    """Peak resident memory of this process (VmHWM; reset by exec, unlike ru_maxrss)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--read", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read:
        read_once(args.read)
        return
    paths = write_files(args.rows, args.seed)
    for name, path in paths.items():
        size = path.stat().st_size / 2**20
        out = subprocess.run([sys.executable, __file__, "--read", str(path)], check=True,
                             capture_output=True, text=True).stdout
        stats = json.loads(out.strip().splitlines()[-1])
        rate = stats["rows"] / stats["seconds"]
        print(f"{name:8s} {size:7.1f} MiB  {stats['rows']:,} rows "
              f"({stats['valid']:,} valid, {stats['rejected']:,} rejected) in "
              f"{stats['seconds']:.1f} s (CPU {stats['cpu']:.1f} s) = {rate:,.0f} rows/s; "
              f"peak memory "
              f"{stats['peak_mib']:,.0f} MiB (interpreter and imports: "
              f"{stats['start_mib']:,.0f} MiB)")


if __name__ == "__main__":
    main()
