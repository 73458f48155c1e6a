"""Benchmark the measure stage: summarize + coverage at 1M events, and the Dask build at 1M.

Every event is synthetic (:func:`khorasan_map.synthetic.synthetic_events`). Two parts, each in
a fresh subprocess so that peak memory (``ru_maxrss``) belongs to that part alone:

1. **summarize + coverage, in memory.** 1,000,000 synthetic events are placed once with
   :func:`khorasan_map.join.assign_provinces` (not timed: the build places them once for every
   output). Then, timed, in the same process:

   - ``front doors``: ``summarize(placed)`` then ``coverage(placed)``, the two calls a user
     makes (each makes its own tally);
   - ``one tally``: ``tally(placed)`` then ``.summary()`` and ``.coverage()``, as the build does;
   - the named baseline, ``pandas groupby``: plain pandas on ``assigned_code`` computing the
     same per-province counts (events, one count per kind, the three fatality sums, first and
     last date, distinct sources and actors) and the coverage counts (clash provinces, before
     and after the split).

   Each runs ``--repeat`` times, alternating; the fastest run is reported, with the ratio to
   the baseline (above 1: slower than plain pandas).

2. **The Dask build.** 1,000,000 synthetic events as 4 Parquet files (written under
   ``benchmarks/_data/measure/`` once), built with ``build(files, engine="dask")``: one pass
   over the data (:func:`khorasan_map.scale.tally_dask`), then the maps, report and tables.
   Printed: seconds, peak memory, and, as the baseline in the same run, one plain
   ``read_events`` of the same files (reading and validating only).

Usage::

    python benchmarks/bench_measure.py               # both parts
    python benchmarks/bench_measure.py --n 200000    # smaller
    python benchmarks/bench_measure.py --part 1      # summarize + coverage only
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
DATA = HERE / "_data" / "measure"
TODAY = "2026-01-01"


def peak_mib() -> float:
    """Peak resident memory of this process in MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def baseline(placed, split):
    """Plain pandas: the same per-province counts and coverage counts, no tally."""
    import pandas as pd

    from khorasan_map import settings

    g = placed.groupby("assigned_code")
    table = pd.DataFrame({"events": g.size()})
    kinds = pd.crosstab(placed["assigned_code"], placed["kind"])
    for k in settings.EVENT_KINDS:
        table["n_" + k] = kinds[k] if k in kinds else 0
    for col in ("fatalities", "fatalities_low", "fatalities_high"):
        table[col] = g[col].sum(min_count=1)
    table["first_date"] = g["date"].min()
    table["last_date"] = g["date"].max()
    table["n_sources"] = g["source_url"].nunique()
    actors = pd.concat([placed[["assigned_code", "actor1"]].set_axis(["c", "a"], axis=1),
                        placed[["assigned_code", "actor2"]].set_axis(["c", "a"], axis=1)])
    table["n_actors"] = actors.groupby("c")["a"].nunique()
    clash = placed[placed["kind"] == "clash"]
    cover = {
        "all": clash["assigned_code"].nunique(),
        "before": clash.loc[clash["date_start"] < split, "assigned_code"].nunique(),
        "after": clash.loc[clash["date_end"] >= split, "assigned_code"].nunique(),
    }
    return table, cover


def part_measure(n: int, repeat: int) -> dict:
    """Part 1, in its own process."""
    import pandas as pd

    from khorasan_map import settings
    from khorasan_map.aggregate import coverage, summarize, tally
    from khorasan_map.boundaries import load_provinces
    from khorasan_map.join import assign_provinces
    from khorasan_map.synthetic import synthetic_events

    layer = load_provinces()
    placed = assign_provinces(synthetic_events(n, seed=0), layer).events
    split = pd.Timestamp(settings.SHIFT_DATE)
    runs = {
        "front doors": lambda: (summarize(placed, layer, engine="memory"),
                                coverage(placed, layer, engine="memory")),
        "one tally": lambda: (lambda t: (t.summary(layer), t.coverage(layer)))(
            tally(placed, layer, engine="memory")),
        "pandas groupby": lambda: baseline(placed, split),
    }
    best: dict[str, float] = {}
    answers = {}
    for _ in range(max(repeat, 1)):
        for name, run in runs.items():
            start = time.perf_counter()
            answers[name] = run()
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - start)
    table, cover = answers["front doors"]
    base_table, base_cover = answers["pandas groupby"]
    agree = (
        int(table["events"].sum()) == int(base_table["events"].sum())
        and cover.provinces_with_events == base_cover["all"]
        and cover.before["provinces_with_events"] == base_cover["before"]
        and cover.after["provinces_with_events"] == base_cover["after"]
        and (table.set_index("province_code")["n_clash"].reindex(base_table.index)
             == base_table["n_clash"]).all()
    )
    return {"n": n, "seconds": best, "peak_mib": peak_mib(), "agree": bool(agree)}


def ensure_files(n: int) -> list[Path]:
    """Write ``n`` synthetic events as 4 Parquet files under benchmarks/_data/measure."""
    from khorasan_map.synthetic import write_synthetic_parquet

    folder = DATA / f"n{n}"
    marker = folder / "_SUCCESS"
    if not marker.exists() or json.loads(marker.read_text()).get("n") != n:
        write_synthetic_parquet(folder, n, seed=0, rows_per_file=max(n // 4, 1))
    return sorted(folder.glob("part-*.parquet"))


def part_build(files: list[str], mode: str) -> dict:
    """Part 2, in its own process: the Dask build, or the plain read baseline."""
    start = time.perf_counter()
    if mode == "build":
        from khorasan_map.pipeline import build

        with tempfile.TemporaryDirectory() as out:
            result = build(files, out, engine="dask", offline=True)
        n = result.n_input
    else:
        from khorasan_map.events import read_events

        n = len(read_events(files, today=TODAY, progress=False))
    return {"n": n, "seconds": time.perf_counter() - start, "peak_mib": peak_mib()}


def in_subprocess(*args) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        subprocess.run([sys.executable, __file__, "--_out", out, *args], check=True)
        return json.loads(Path(out).read_text())


def report_measure(r: dict) -> None:
    base = r["seconds"]["pandas groupby"]
    print(f"\nsummarize + coverage, {r['n']:,} placed synthetic events (fastest of the runs)")
    print(f"{'run':<16}{'seconds':>10}{'x baseline':>12}")
    for name, sec in r["seconds"].items():
        print(f"{name:<16}{sec:>10.2f}{sec / base:>12.2f}")
    print(f"peak memory of the process: {r['peak_mib']:,.0f} MiB; same per-province counts "
          f"and coverage as the baseline: {r['agree']}")


def report_build(build: dict, read: dict) -> None:
    print(f"\nDask build, {build['n']:,} synthetic events in 4 Parquet files")
    print(f"{'run':<34}{'seconds':>10}{'peak MiB':>10}{'x baseline':>12}")
    print(f"{'build(engine=dask)':<34}{build['seconds']:>10.1f}{build['peak_mib']:>10,.0f}"
          f"{build['seconds'] / read['seconds']:>12.2f}")
    print(f"{'baseline: read_events (one pass)':<34}{read['seconds']:>10.1f}"
          f"{read['peak_mib']:>10,.0f}{1:>12.2f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="synthetic events")
    parser.add_argument("--repeat", type=int, default=3, help="runs of part 1; fastest kept")
    parser.add_argument("--part", type=int, choices=[1, 2], help="run one part only")
    parser.add_argument("--_out", help=argparse.SUPPRESS)
    parser.add_argument("--_part", help=argparse.SUPPRESS)
    parser.add_argument("--_files", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._out:
        if args._part == "measure":
            result = part_measure(args.n, args.repeat)
        else:
            result = part_build(args._files, args._part)
        Path(args._out).write_text(json.dumps(result))
        return 0
    print(f"{os.cpu_count()} cores; synthetic events (khorasan_map.synthetic)")
    if args.part in (None, 1):
        report_measure(in_subprocess("--_part", "measure", "--n", str(args.n),
                                     "--repeat", str(args.repeat)))
    if args.part in (None, 2):
        files = [str(p) for p in ensure_files(args.n)]
        read = in_subprocess("--_part", "read", "--_files", *files)
        build = in_subprocess("--_part", "build", "--_files", *files)
        report_build(build, read)
    return 0


if __name__ == "__main__":
    sys.exit(main())
