"""Benchmark the in-memory and the Dask engines on partitioned synthetic Parquet.

Writes 10 million synthetic events (10 files of 1 million rows) under
``benchmarks/_data/synthetic/`` unless they are already there, then times, each run in a fresh
subprocess so that peak memory (``ru_maxrss``) belongs to that run alone:

- both engines on the first file (1M events): read and validate the Parquet files, join,
  summarise by province; and whether the two agree (summary table, coverage figure, join
  report counts);
- the Dask engine alone on all 10 files (10M events), what issue 13 asks for at no more than
  10 s per million and 2 GiB peak;
- the baseline, in the same run: one pass of ``pyarrow`` over the same files, each row group
  read into pandas and dropped (the least any engine reading every row into pandas costs).

It prints first the ratio of the largest Dask run to the baseline, then rows per second,
seconds per million events and peak memory of each run. Where both engines run, each runs
``--repeat`` times (alternating) and the fastest time and the highest peak are reported, since
other work on a shared machine slows single runs.

Usage::

    python benchmarks/bench_scale.py                 # 1M (both engines), 10M (dask)
    python benchmarks/bench_scale.py --sizes 10 --both-max 0 --repeat 1   # 10M alone
    python benchmarks/bench_scale.py --data DIR      # keep the data elsewhere
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE / "_data" / "synthetic"
ROWS_PER_FILE = 1_000_000
TODAY = "2026-01-01"  # fixed, so both engines validate dates against the same day


def ensure_data(folder: Path, n_files: int) -> list[Path]:
    """Write the synthetic files if they are missing; return the first ``n_files``."""
    from khorasan_map.synthetic import write_synthetic_parquet

    marker = folder / "_SUCCESS"
    ok = False
    if marker.exists():
        meta = json.loads(marker.read_text())
        ok = (
            meta.get("n", 0) >= n_files * ROWS_PER_FILE
            and meta.get("rows_per_file") == ROWS_PER_FILE
        )
    if not ok:
        start = time.perf_counter()
        print(f"writing {n_files * ROWS_PER_FILE:,} synthetic events to {folder} ...", flush=True)
        write_synthetic_parquet(
            folder, n_files * ROWS_PER_FILE, seed=0, rows_per_file=ROWS_PER_FILE
        )
        print(f"  written in {time.perf_counter() - start:.0f} s", flush=True)
    return sorted(folder.glob("part-*.parquet"))


def peak_bytes() -> int:
    """Peak resident memory of this process (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def table_records(table) -> list:
    frame = table.drop(columns="geometry")
    return json.loads(frame.to_json(orient="records"))


def read_once(files: list[str]) -> int:
    """The baseline: read every row group of ``files`` into pandas once; return the rows."""
    import pyarrow.parquet as pq

    rows = 0
    for name in files:
        handle = pq.ParquetFile(name)
        for group in range(handle.num_row_groups):
            rows += len(handle.read_row_group(group).to_pandas())
    return rows


def run_one(engine: str, files: list[str], out: str, agree: bool) -> None:
    """One measured run (in its own process); writes a JSON result to ``out``."""
    import pandas as pd

    from khorasan_map import aggregate, scale
    from khorasan_map.boundaries import load_provinces
    from khorasan_map.events import read_events
    from khorasan_map.join import assign_provinces

    layer = load_provinces()
    base = peak_bytes()
    start = time.perf_counter()
    if engine == "read":
        n = read_once(files)
        Path(out).write_text(json.dumps({"engine": engine, "n": n, "peak_bytes": peak_bytes(),
                                         "seconds": time.perf_counter() - start}))
        return
    if engine == "dask":
        table = scale.summarize_dask(files, layer, today=TODAY)
    else:
        events = read_events(files, today=TODAY, progress=False)
        table = aggregate.summarize(events, layer)
    seconds = time.perf_counter() - start
    result = {
        "engine": engine,
        "n": int(table.attrs["n_events"] + table.attrs["n_left_out"]),
        "seconds": seconds,
        "peak_bytes": peak_bytes(),
        "base_bytes": base,
    }
    if agree:
        result["table"] = table_records(table)
        result["attrs"] = {k: v for k, v in table.attrs.items() if k not in ("scale", "engine")}
        if engine == "dask":
            cov = scale.coverage_dask(files, layer, today=TODAY)
            result["join"] = table.attrs["scale"]["join"]
        else:
            cov = aggregate.coverage(events, layer)
            joined = assign_provinces(events, layer)
            result["join"] = aggregate.join_counts_of(joined)
        result["coverage"] = cov.to_dict()
    del pd
    Path(out).write_text(json.dumps(result, default=str))


def measure(engine: str, files: list[Path], agree: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        cmd = [
            sys.executable,
            __file__,
            "--_run",
            engine,
            "--_out",
            out,
            *(["--_agree"] if agree else []),
            "--_files",
            *map(str, files),
        ]
        subprocess.run(cmd, check=True)
        return json.loads(Path(out).read_text())


def fmt_row(label: str, r: dict) -> str:
    per_m = r["seconds"] / (r["n"] / 1e6)
    return (
        f"{label:<14}{r['n']:>12,}{r['seconds']:>10.1f}{r['n'] / r['seconds']:>12,.0f}"
        f"{per_m:>10.2f}{r['peak_bytes'] / 2**30:>10.2f}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        nargs="+",
        type=int,
        default=[1, 10],
        help="millions of events; both engines up to --both-max, dask beyond",
    )
    parser.add_argument(
        "--both-max",
        type=int,
        default=1,
        help="largest size (millions) run with the in-memory engine too",
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="synthetic data folder")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs per engine up to --both-max, alternating engines; the fastest is reported "
        "(other work on the machine slows single runs); larger sizes run once",
    )
    parser.add_argument("--_run", help=argparse.SUPPRESS)
    parser.add_argument("--_out", help=argparse.SUPPRESS)
    parser.add_argument("--_agree", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--_files", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._run:
        run_one(args._run, args._files, args._out, args._agree)
        return 0

    files = ensure_data(args.data, max(args.sizes))
    from khorasan_map import scale

    ok = True
    largest = max(args.sizes)
    baseline = measure("read", files[:largest], agree=False)
    lines = []
    for size in sorted(args.sizes):
        subset = files[:size]
        both = size <= args.both_max
        results, runs = {}, {}
        for rep in range(max(args.repeat, 1) if both else 1):
            for engine in ("pandas", "dask") if both else ("dask",):
                r = measure(engine, subset, agree=both and rep == 0)
                runs.setdefault(engine, []).append(r)
                results.setdefault(engine, r)
        for engine, rs in runs.items():
            best = dict(results[engine])
            best["seconds"] = min(r["seconds"] for r in rs)
            best["peak_bytes"] = max(r["peak_bytes"] for r in rs)
            results[engine] = best
            times = ", ".join(f"{r['seconds']:.1f}" for r in rs)
            lines.append(fmt_row(f"{engine} {size}M", best) + f"   runs: {times} s")
        if both:
            p, d = results["pandas"], results["dask"]
            same_table = p["table"] == d["table"] and p["attrs"] == d["attrs"]
            same_cov = p["coverage"] == d["coverage"]
            same_join = p["join"] == d["join"]
            ratio = (d["seconds"] / d["n"]) / (p["seconds"] / p["n"])
            lines.append(
                f"  agreement at {size}M: summary table {'equal' if same_table else 'DIFFERENT'}"
                f", coverage {'equal' if same_cov else 'DIFFERENT'}"
                f" ({d['coverage']['sentence']}), join report counts "
                f"{'equal' if same_join else 'DIFFERENT'} ({d['join']}); "
                f"dask time per million / in-memory = {ratio:.2f}"
            )
            ok &= same_table and same_cov and same_join
        d = results["dask"]
        per_m = d["seconds"] / (d["n"] / 1e6)
        under = d["peak_bytes"] <= 2 * 2**30 and per_m <= 10
        lines.append(f"  {size}M with dask: {per_m:.2f} s per million, peak "
                     f"{d['peak_bytes'] / 2**30:.2f} GiB: {'within' if under else 'OVER'} "
                     "issue 13's 10 s per million and 2 GiB")
        ok &= under or size < 10
    d = results["dask"]
    print(f"RATIO dask {largest}M / baseline: {d['seconds'] / baseline['seconds']:.2f} "
          f"({d['seconds']:.1f} s against {baseline['seconds']:.1f} s; baseline: every row "
          "group of the same files read into pandas once with pyarrow)")
    print(
        f"{os.cpu_count()} cores; files of {ROWS_PER_FILE:,} rows; dask partitions of "
        f"{scale.ROWS_PER_PARTITION:,} rows, scheduler: local threads"
    )
    print(f"{'run':<14}{'events':>12}{'seconds':>10}{'rows/s':>12}{'s/M':>10}{'peak GiB':>10}")
    print("\n".join(lines))
    print(fmt_row(f"baseline {largest}M", baseline) + "   (read only)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
