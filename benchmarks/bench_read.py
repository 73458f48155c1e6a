"""Benchmark read_events: 1M synthetic rows from CSV and from Parquet, against plain pandas.

Writes the files under benchmarks/_data/ (git-ignored; reused when present), then reads each
one in a fresh Python process so that the peak memory (maximum resident set size) belongs to
that read alone. Prints rows per second and peak memory for each format, and first the ratio
that matters: ``read_events`` (reading, mapping and full validation, the call a user makes)
against the baseline in the same run, ``pd.read_csv(path, engine="pyarrow")`` for CSV and
``pd.read_parquet(path)`` for Parquet (reading only, no validation). Issue 13 asks for a CSV
ratio of at most 3.

With ``--ucdp-rows N`` it also writes a UCDP GED-format CSV of N made-up rows, about 1% of them
"IS - Taleban", and reads it: the peak memory stays far below the file's size because the
reader streams the file and keeps only the Taliban-ISK rows of each chunk.

    python benchmarks/bench_read.py                        # 1,000,000 rows
    python benchmarks/bench_read.py --rows 200000
    python benchmarks/bench_read.py --ucdp-rows 3000000    # adds a 1.2 GB UCDP file
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


UCDP_TEXT = {
    "relid": "BENCH", "code_status": "Clear", "conflict_name": "Afghanistan: Government",
    "side_a": "Government of Afghanistan", "source_article": "made-up benchmark row",
    "source_office": "Bench Wire", "source_headline": "made-up headline",
    "source_original": "bench", "where_coordinates": "somewhere",
    "where_description": "made-up place", "adm_2": "", "geom_wkt": "", "country": "Afghanistan",
    "region": "Asia", "gwnoa": "700", "gwnob": "",
}


def write_ucdp(rows: int, seed: int) -> Path:
    """A UCDP GED-format CSV of made-up rows, 1% of them IS - Taleban (streamed to disk)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    path = DATA / f"ucdp_like_{rows}.csv"
    if path.exists():
        return path
    DATA.mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    provinces = np.array(["Nangarhar province", "Kunar province", "Kabul province",
                          "Helmand province", "Jowzjan province"])
    lat = np.array([34.3, 34.9, 34.5, 31.6, 36.1])
    lon = np.array([70.4, 71.1, 69.2, 64.4, 65.8])
    columns = None
    with open(path, "wb") as handle:
        writer = None
        for start in range(0, rows, 500_000):
            n = min(500_000, rows - start)
            isk = rng.random(n) < 0.01
            where = rng.integers(0, len(provinces), n)
            days = np.datetime64("2015-01-01") + rng.integers(0, 3000, n).astype(
                "timedelta64[D]")
            dates = np.char.add(days.astype(str), " 00:00:00.000")
            best = rng.integers(0, 20, n)
            data = {
                "id": np.arange(start, start + n), "year": days.astype("datetime64[Y]").astype(
                    int) + 1970, "active_year": np.ones(n, int),
                "type_of_violence": np.where(isk, 2, 1),
                "conflict_dset_id": np.where(isk, 13540, 333),
                "conflict_new_id": np.where(isk, 13540, 333),
                "dyad_dset_id": np.ones(n, int), "dyad_new_id": np.ones(n, int),
                "dyad_name": np.where(isk, "IS - Taleban", "Government of Afghanistan - Taleban"),
                "side_a_dset_id": np.ones(n, int), "side_a_new_id": np.ones(n, int),
                "side_b_dset_id": np.ones(n, int), "side_b_new_id": np.ones(n, int),
                "side_b": np.where(isk, "Taleban", "Taleban"), "number_of_sources": np.ones(n, int),
                "source_date": days.astype(str), "where_prec": rng.integers(1, 5, n),
                "adm_1": provinces[where], "latitude": lat[where] + rng.normal(0, 0.05, n),
                "longitude": lon[where] + rng.normal(0, 0.05, n),
                "priogrid_gid": np.zeros(n, int), "country_id": np.full(n, 700),
                "event_clarity": np.ones(n, int), "date_prec": np.ones(n, int),
                "date_start": dates, "date_end": dates, "deaths_a": np.zeros(n, int),
                "deaths_b": np.zeros(n, int), "deaths_civilians": np.zeros(n, int),
                "deaths_unknown": best, "best": best, "high": best + 2, "low": best,
            }
            for name, value in UCDP_TEXT.items():
                data[name] = np.full(n, value)
            table = pa.table({k: pa.array(v) for k, v in data.items()})
            if columns is None:
                columns = list(table.column_names)
                writer = pacsv.CSVWriter(handle, table.schema)
            writer.write_table(table.select(columns))
        writer.close()
    return path


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
        "rows": result.n_input, "read": result.n_read, "valid": len(result.events),
        "rejected": len(result.rejected), "seconds": seconds, "cpu": cpu,
        "peak_mib": _peak_mib(), "start_mib": before,
    }))


def baseline_once(path: str) -> None:
    """Child process: read one file with plain pandas and print JSON with the timing."""
    import pandas as pd

    before = _peak_mib()
    cpu = time.process_time()
    start = time.perf_counter()
    if path.endswith(".parquet"):
        frame = pd.read_parquet(path)
    else:
        frame = pd.read_csv(path, engine="pyarrow")
    seconds = time.perf_counter() - start
    print(json.dumps({"rows": len(frame), "seconds": seconds, "cpu": time.process_time() - cpu,
                      "peak_mib": _peak_mib(), "start_mib": before}))


def _child(flag: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, flag, str(path)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


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
    parser.add_argument("--ucdp-rows", type=int, default=0,
                        help="also read a UCDP-format CSV of this many made-up rows")
    parser.add_argument("--read", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read:
        read_once(args.read)
        return
    if args.baseline:
        baseline_once(args.baseline)
        return
    paths = write_files(args.rows, args.seed)
    if args.ucdp_rows:
        paths["ucdp csv"] = write_ucdp(args.ucdp_rows, args.seed)
    for name, path in paths.items():
        size = path.stat().st_size / 2**20
        stats = _child("--read", path)
        base = _child("--baseline", path)
        plain = "pd.read_parquet" if path.suffix == ".parquet" else 'pd.read_csv(engine="pyarrow")'
        print(f"{name:8s} read_events / {plain} = {stats['seconds'] / base['seconds']:.1f}x "
              f"wall ({stats['seconds']:.2f} s against {base['seconds']:.2f} s), "
              f"{stats['cpu'] / base['cpu']:.1f}x CPU ({stats['cpu']:.2f} s against "
              f"{base['cpu']:.2f} s); baseline peak {base['peak_mib']:,.0f} MiB")
        rate = stats["read"] / stats["seconds"]
        print(f"{name:8s} {size:7.1f} MiB  {stats['rows']:,} rows kept of {stats['read']:,} "
              f"({stats['valid']:,} valid, {stats['rejected']:,} rejected) in "
              f"{stats['seconds']:.1f} s (CPU {stats['cpu']:.1f} s) = {rate:,.0f} rows read/s; "
              f"peak memory "
              f"{stats['peak_mib']:,.0f} MiB (interpreter and imports: "
              f"{stats['start_mib']:,.0f} MiB)")


if __name__ == "__main__":
    main()
