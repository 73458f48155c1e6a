"""Benchmark: resolving a column of a million province names.

Draws N names (default 1,000,000) with repeats from a pool of about 300 realistic spellings
(English, ISO with diacritics, variants, affixed forms such as "Kunar Province" and
"Wilayat-e Kunar", Dari with and without "ولایت", Arabic letter forms and zero-width
non-joiners), weighted so a few spellings are common and most are rare, as in real data.

It times:

* ``resolve_provinces(values)``: the vectorised path (each distinct value resolved once);
* a naive per-row loop that normalises every row from scratch (no cache), on a 50,000-row
  subset, scaled up to N;
* a per-row loop over ``resolve_province`` with a warm cache, same subset, scaled up;
* ``resolution_report(values)``: how every distinct value was read (cold cache), against
  ``resolve_provinces`` on the same values, and the count of values by method.

Usage::

    python benchmarks/bench_resolve.py [--n 1000000] [--subset 50000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from khorasan_map import gazetteer
from khorasan_map.gazetteer import (
    province_table,
    resolution_report,
    resolve_province,
    resolve_provinces,
)

LATIN_FORMS = ("{}", "{} Province", "Province of {}", "Wilayat-e {}", "{} province")
DARI_FORMS = ("{}", "ولایت {}", "ولايت {}")


def _arabic_forms(text: str) -> str:
    return text.replace("ی", "ي").replace("ک", "ك")


def spelling_pool(seed: int = 0, size: int = 300) -> list[str]:
    """Return about ``size`` distinct realistic spellings of the 34 provinces."""
    pool = []
    for code, names in gazetteer._SPELLINGS.items():
        for name in names:
            if any("\u0600" <= ch <= "\u06ff" for ch in name):
                pool += [form.format(name) for form in DARI_FORMS]
                pool.append(_arabic_forms(name))
                pool.append(name.replace(" ", "\u200c"))
            else:
                pool += [form.format(name) for form in LATIN_FORMS]
                pool += [name.lower(), name.upper()]
        pool.append(code)
    pool = list(dict.fromkeys(pool))
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(pool), size=min(size, len(pool)), replace=False)
    return [pool[i] for i in sorted(chosen)]


def draw(pool: list[str], n: int, seed: int = 0) -> np.ndarray:
    """Draw ``n`` names from ``pool`` with Zipf-like weights."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, len(pool) + 1)
    weights = rng.permutation(weights / weights.sum())
    return np.array(pool, dtype=object)[rng.choice(len(pool), size=n, p=weights)]


def naive_resolve(text) -> str | None:
    """Resolve one row from scratch, as a per-row ``apply`` without a cache would."""
    return gazetteer._resolve_text.__wrapped__(str(text))[0]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--subset", type=int, default=50_000)
    args = parser.parse_args(argv)

    pool = spelling_pool()
    values = draw(pool, args.n)
    assert len(province_table()) == 34
    print(f"pool: {len(pool)} distinct spellings; drawn: {args.n:,} names")

    gazetteer._resolve_text.cache_clear()
    start = time.perf_counter()
    codes = resolve_provinces(values)
    vectorised = time.perf_counter() - start
    assert len(codes) == args.n and all(c is not None for c in codes[:1000])
    print(f"resolve_provinces: {vectorised:.3f} s ({args.n / vectorised:,.0f} names/s, cold cache)")

    subset = values[: args.subset]
    scale = args.n / len(subset)
    start = time.perf_counter()
    naive = [naive_resolve(v) for v in subset]
    naive_time = (time.perf_counter() - start) * scale
    assert naive == list(codes[: args.subset])
    print(
        f"naive per-row loop, no cache: {naive_time:.2f} s for {args.n:,} "
        f"(measured on {len(subset):,}, scaled x{scale:g}); "
        f"resolve_provinces is {naive_time / vectorised:.0f}x faster"
    )

    start = time.perf_counter()
    cached = [resolve_province(v) for v in subset]
    cached_time = (time.perf_counter() - start) * scale
    assert cached == naive
    print(
        f"per-row loop over resolve_province, warm cache: {cached_time:.2f} s for {args.n:,} "
        f"(scaled); resolve_provinces is {cached_time / vectorised:.1f}x faster"
    )

    gazetteer._resolve_text.cache_clear()
    start = time.perf_counter()
    report = resolution_report(values)
    report_time = time.perf_counter() - start
    assert int(report["count"].sum()) == args.n
    by_method = report.groupby("method")["count"].sum().to_dict()
    print(
        f"resolution_report: {report_time:.3f} s for {args.n:,} names, {len(report)} distinct "
        f"(cold cache); {report_time / vectorised:.2f}x the time of resolve_provinces; "
        f"values by method: {by_method}"
    )


if __name__ == "__main__":
    main()
