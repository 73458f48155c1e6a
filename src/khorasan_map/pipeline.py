"""The main job: every standard map, report and table from one set of events, in one folder.

:func:`build` is what ``khorasan-map build`` runs. It reads the events (the shipped dataset when
none are given), validates them, joins them to provinces, and writes:

=====================  ==============================================================
``index.html``         the combined interactive map (choropleth, points, legend)
``choropleth.html``    events by province
``points.html``        events as points, styled by kind and location precision
``timeline.html``      the choropleth and points by year, with a slider
``report.pdf``         overview map, one page per year, a table of provinces
``report.png``         the overview map for slides and documents
``report.svg``         the overview map for editing
``provinces.csv``      the per-province summary (no geometry)
``provinces.geojson``  the per-province summary with province outlines
``coverage.json``      the coverage figure, as ``khorasan-map coverage --json`` prints it
``join_report.csv``    events whose placement needs a human eye (only when there are any)
``rejected.csv``       rows that failed validation, with reasons (only with ``keep_going``)
=====================  ==============================================================

With the Dask engine (inputs larger than memory, see :mod:`khorasan_map.scale`) no event is held
in memory, so the maps that draw every event are not written: ``points.html`` is left out,
``index.html`` is the choropleth, the timeline and the report carry no points, and the join is
given as counts (no ``join_report.csv``). :attr:`BuildResult.skipped` says so.

Every file is written atomically: a crash leaves the previous file or none, never half of one.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from khorasan_map import settings


@dataclass
class BuildResult:
    """What :func:`build` did.

    Attributes
    ----------
    out_dir : pathlib.Path
        Folder the files were written to.
    written : list of pathlib.Path
        Every file written, in order.
    n_input, n_valid, n_rejected : int
        Rows read, rows kept, rows rejected by validation.
    coverage_sentence : str
        The headline figure, as printed.
    join_summary : str
        One line from the province join: assigned and unassigned counts.
    engine : str
        "pandas" (events in memory) or "dask" (partition by partition).
    skipped : list of str
        What was not written, and why (only with the Dask engine).
    """

    out_dir: Path
    written: list[Path] = field(default_factory=list)
    n_input: int = 0
    n_valid: int = 0
    n_rejected: int = 0
    coverage_sentence: str = ""
    join_summary: str = ""
    engine: str = "pandas"
    skipped: list[str] = field(default_factory=list)


def read_sources(sources=None, *, source_format="auto", keep_all=False):
    """Read and validate every source; return a :class:`~khorasan_map.events.ValidationResult`.

    Parameters
    ----------
    sources : sequence of path-like, optional
        Event files; the shipped dataset when empty or None.
    source_format : {"auto", "khorasan", "acled", "ucdp"}
        Format of every file (auto-detected by default).
    keep_all : bool
        Keep ACLED/UCDP events that are not Taliban-vs-ISK.

    Returns
    -------
    ValidationResult
        Valid events, rejected rows (with the file each came from) and warnings.
    """
    from khorasan_map.events import read_events

    source = list(sources) if sources else None
    return read_events(source, format=source_format, on_invalid="report", keep_all=keep_all)


def build(
    sources: Sequence | None = None,
    out_dir=settings.BUILD_DIR,
    *,
    offline: bool = False,
    keep_going: bool = False,
    source_format: str = "auto",
    engine: str = "auto",
    scheduler=None,
    on_step: Callable[[str], None] | None = None,
) -> BuildResult:
    """Write the standard maps, reports and tables for a set of events.

    Parameters
    ----------
    sources : sequence of path-like, optional
        Event files (the toolkit's schema, ACLED or UCDP exports); the shipped dataset when
        empty or None.
    out_dir : path-like
        Folder to write to; created when missing.
    offline : bool
        Write self-contained HTML maps that need no network (no tiles, scripts inlined).
    keep_going : bool
        When rows are rejected, write the rest and ``rejected.csv`` instead of stopping.
    source_format : {"auto", "khorasan", "acled", "ucdp"}
        Format of the event files.
    engine : {"auto", "pandas", "dask"}, default "auto"
        "pandas" reads every event into memory; "dask" works partition by partition (for inputs
        larger than memory; see the module docstring for what it leaves out); "auto" picks Dask
        for large inputs (:func:`khorasan_map.scale.choose_engine`).
    scheduler : str, dask.distributed.Client or None
        Where the Dask engine runs (:func:`khorasan_map.scale.summarize_dask`).
    on_step : callable, optional
        Called with a short description before each step (for progress displays).

    Returns
    -------
    BuildResult

    Raises
    ------
    khorasan_map.errors.EventValidationError
        When rows are rejected and ``keep_going`` is false. Nothing is written then.

    Examples
    --------
    >>> from khorasan_map import build
    >>> result = build(out_dir="khorasan-maps")  # doctest: +SKIP
    >>> print(result.coverage_sentence)  # doctest: +SKIP
    """
    from khorasan_map import aggregate, maptext, render
    from khorasan_map.errors import EventValidationError
    from khorasan_map.events import rejected_reasons
    from khorasan_map.export import save_html, save_json, save_table
    from khorasan_map.join import assign_provinces
    from khorasan_map.scale import choose_engine

    step = on_step or (lambda message: None)
    if sources and choose_engine(list(sources), engine) == "dask":
        return _build_dask(list(sources), Path(out_dir), offline, keep_going, source_format,
                           scheduler, step)
    step("Reading and validating events")
    read = read_sources(sources, source_format=source_format)
    events, rejected, n_input = read.events, read.rejected, read.n_input
    if len(rejected) and not keep_going:
        raise EventValidationError(_rejection_message(rejected), rejected=rejected)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = BuildResult(out, n_input=n_input, n_valid=len(events), n_rejected=len(rejected))

    step("Joining events to provinces")
    joined = assign_provinces(events)
    result.join_summary = joined.summary_line()
    placed = joined.events
    # Every map and the report read these: each is computed once, here.
    step("Summarising events and counting provinces")
    summary = aggregate.summarize(placed)
    by_year = aggregate.summarize(placed, by=("province", "year"))
    head = maptext.headline(placed, summary)
    cover = head.coverage
    result.coverage_sentence = cover.sentence
    prepared = render.prepare_points(placed)
    shared = {"summary": summary, "coverage": head}

    def write(name, writer, obj, **options):
        step(f"Writing {name}")
        writer(obj, out / name, **options)
        result.written.append(out / name)

    maps = {
        "index.html": (render.combined_map, {**shared, "prepared": prepared}),
        "choropleth.html": (render.choropleth_map, shared),
        "points.html": (render.points_map, {"prepared": prepared}),
        "timeline.html": (render.timeline_map, {**shared, "summary": by_year,
                                                "prepared": prepared}),
    }
    import mapclassify  # noqa: F401  imported once, before the fork, for both processes

    left_out = rejected_reasons(len(rejected))
    with _second_core() as worker:
        step("Drawing the report")
        report = worker.submit(_write_report, placed, out, left_out,
                               {**shared, "by_year": by_year})
        for name, (make, computed) in maps.items():
            write(name, save_html, make(placed, left_out=left_out, **computed), offline=offline)
        step("Finishing the report")
        result.written += report.result()
    write("provinces.csv", save_table, summary)
    write("provinces.geojson", save_table, summary)
    write("coverage.json", save_json, cover.to_dict())
    if len(joined.report):
        write("join_report.csv", save_table, joined.report)
    if len(rejected):
        write("rejected.csv", save_table, rejected)
    return result


def _build_dask(sources, out, offline, keep_going, source_format, scheduler, step):
    """:func:`build` with the Dask engine: summaries and coverage, partition by partition."""
    from khorasan_map import render
    from khorasan_map.errors import EventValidationError
    from khorasan_map.events import rejected_reasons
    from khorasan_map.export import save_html, save_json, save_table
    from khorasan_map.join import join_sentence
    from khorasan_map.scale import _compute, coverage_dask, read_events_dask, summarize_dask

    read = {"format": source_format, "on_invalid": "report", "scheduler": scheduler}
    step("Summarising events partition by partition (Dask)")
    summary = summarize_dask(sources, **read)
    info = summary.attrs["scale"]
    if info["n_rejected"] and not keep_going:
        raise EventValidationError(
            f"{info['n_rejected']:,} of {info['n_input']:,} rows were rejected; nothing was "
            "written (use --keep-going):\n" + "\n".join(f"  {x}" for x in info["problems"])
        )
    step("Summarising events by year (Dask)")
    by_year = summarize_dask(sources, by=("province", "year"), **read)
    step("Counting provinces (Dask)")
    cover = coverage_dask(sources, **read)

    out.mkdir(parents=True, exist_ok=True)
    n_input = info["n_input"]
    result = BuildResult(out, n_input=n_input, n_valid=n_input - info["n_rejected"],
                         n_rejected=info["n_rejected"], engine="dask")
    result.coverage_sentence = cover.sentence
    join = info["join"]
    result.join_summary = join_sentence(
        join["n_input"], join["n_assigned"], join["n_unassigned"], join["by"],
        sum(join["cases"].values()), settings.BORDER_TOLERANCE_M, where="counts only",
    )
    result.skipped = [
        "points.html: the Dask engine does not hold every event in memory (use --engine "
        "pandas to draw points); index.html is the choropleth, with no points",
        "join_report.csv: the Dask engine gives the join as counts only",
    ]

    def write(name, writer, obj, **options):
        step(f"Writing {name}")
        writer(obj, out / name, **options)
        result.written.append(out / name)

    left_out = rejected_reasons(result.n_rejected)
    choropleth = render.choropleth_map(summary, left_out=left_out)
    write("index.html", save_html, choropleth, offline=offline)
    write("choropleth.html", save_html, choropleth, offline=offline)
    write("timeline.html", save_html, render.timeline_map(by_year, left_out=left_out),
          offline=offline)
    step("Drawing the report")
    result.written += _write_report(summary, out, left_out)
    write("provinces.csv", save_table, summary)
    write("provinces.geojson", save_table, summary)
    write("coverage.json", save_json, cover.to_dict())
    if result.n_rejected:
        step("Listing rejected rows")
        rejected = read_events_dask(sources, format=source_format, on_invalid="report")
        (table,) = _compute(rejected.rejected, scheduler=scheduler)
        write("rejected.csv", save_table, table)
        if len(table) < result.n_rejected:
            result.skipped.append(
                f"rejected.csv: {result.n_rejected - len(table):,} rows repeat event ids "
                "first used in another file; they are counted as rejected but listed only "
                "in the problems above"
            )
    return result


def _write_report(events, out: Path, left_out=None, computed=None) -> list[Path]:
    """Draw the report once and write it as PDF (every page), PNG and SVG (the overview).

    ``computed`` holds what the build already computed (summary, coverage, by_year).
    """
    from khorasan_map import static

    pages = static.report_figures(events, multipage=True, left_out=left_out, **(computed or {}))
    return [
        static.save_figures(pages, out / "report.pdf"),
        static.save_figures(pages[:1], out / "report.png"),
        static.save_figures(pages[:1], out / "report.svg"),
    ]


def _second_core() -> Executor:
    """Return a one-process pool on a forked worker on Linux with 2+ cores, else run inline.

    The report (matplotlib) and the HTML maps (folium) need nothing from each other, so on a
    machine with two cores they are drawn at the same time. A fork shares what is already
    imported and computed; elsewhere, where fork is unsafe or missing, the work runs in turn.
    """
    if sys.platform.startswith("linux") and (os.cpu_count() or 1) > 1:
        return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    return _Inline()


class _Inline(Executor):
    """An executor that runs each task at once, in this process."""

    def submit(self, fn, /, *args, **kwargs):
        future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # delivered by future.result(), as from a worker
            future.set_exception(exc)
        return future


def _rejection_message(rejected: pd.DataFrame, limit: int = 20) -> str:
    """Return one message listing the first rejected rows and how many more there are."""
    lines = [f"{len(rejected):,} rows were rejected; nothing was written (use --keep-going):"]
    for row in rejected.head(limit).itertuples(index=False):
        lines.append(f"  {row.file}: row {row.row}, column {row.column}: {row.reason}")
    if len(rejected) > limit:
        lines.append(
            f"  ... and {len(rejected) - limit:,} more (every row: khorasan-map validate EVENTS "
            "--rejected rejected.csv)"
        )
    return "\n".join(lines)
