"""The main job: every standard map, report and table from one set of events, in one folder.

:func:`build` is what ``khorasan-map build`` runs. It reads the events (the shipped dataset when
none are given), validates them, joins them to provinces, and writes:

=====================  ==============================================================
``index.html``         the combined interactive map (choropleth, points, legend)
``choropleth.html``    events by province
``points.html``        events as points, styled by kind and location precision
``timeline.html``      the choropleth and points by year, with a slider
``report.pdf``         overview map, the years side by side, tables of provinces
``report.png``         the overview map for slides and documents
``report.svg``         the overview map for editing
``provinces.csv``      the per-province summary (no geometry)
``provinces.geojson``  the per-province summary with province outlines
``events.csv``         every event with its assigned province (no geometry)
``events.geojson``     the same events as points (EPSG:4326, RFC 7946); above
                       :data:`~khorasan_map.settings.GEOJSON_MAX_EVENTS` events,
                       ``events.parquet`` (GeoParquet) in its place
``coverage.json``      the coverage figure, as ``khorasan-map coverage --json`` prints it
``join_report.csv``    events whose placement needs a human eye (only when there are any)
``rejected.csv``       rows that failed validation, with reasons (only with ``keep_going``)
``datapackage.json``   a Frictionless Data Package describing each data file's columns,
                       units and sources (:mod:`khorasan_map.datapackage`)
``build.json``         the files of the build, its counts, what was left out and why
=====================  ==============================================================

With no event left (none in the files, or every row rejected or outside the Taliban-ISK
rivalry) every file is still written: the maps and the report say that these files hold no
Taliban-ISK events, and what was left out and why; ``build.json`` says it too.

With the Dask engine (inputs larger than memory, see :mod:`khorasan_map.scale`) no event is held
in memory, so the maps that draw every event are not written: ``points.html`` is left out,
``index.html`` is the choropleth, the timeline and the report carry no points, and the join is
given as counts (no ``join_report.csv``). :attr:`BuildResult.skipped` says so.

The folder always holds one whole build: the files are written into a staging folder beside it,
which replaces the folder in one rename once every file is written (see
:func:`khorasan_map.output.staged_folder`). A failure, Ctrl-C or SIGTERM leaves the previous
build as it was; a second build into the same folder at the same time is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    problems : list of str
        The first rejected rows, one line each (all of them are in ``rejected.csv``).
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
    problems: list[str] = field(default_factory=list)


def read_sources(sources=None, *, source_format="auto", keep_all=False, **read_options):
    """Read and validate every source; return a :class:`~khorasan_map.events.ValidationResult`.

    Parameters
    ----------
    sources : sequence of path-like, optional
        Event files; the shipped dataset when empty or None.
    source_format : {"auto", "khorasan", "acled", "ucdp"}
        Format of every file (auto-detected by default).
    keep_all : bool
        Keep ACLED/UCDP events that are not Taliban-vs-ISK.
    **read_options
        Further :func:`khorasan_map.events.read_events` keywords (``layer=``, ``polygons=``).

    Returns
    -------
    ValidationResult
        Valid events, rejected rows (with the file each came from) and warnings.
    """
    from khorasan_map.events import read_events

    source = list(sources) if sources else None
    return read_events(source, format=source_format, on_invalid="report", keep_all=keep_all,
                       **read_options)


def build(
    sources: Sequence | None = None,
    out_dir=None,
    *,
    offline: bool = False,
    keep_going: bool = False,
    source_format: str = "auto",
    engine: str = "auto",
    scheduler=None,
    on_step: Callable[[str], None] | None = None,
    cluster: bool | None = None,
    tiles: str | None = "default",
    read_options: dict | None = None,
) -> BuildResult:
    """Write the standard maps, reports and tables for a set of events.

    Parameters
    ----------
    sources : sequence of path-like, optional
        Event files (the toolkit's schema, ACLED or UCDP exports); the shipped dataset when
        empty or None.
    out_dir : path-like, optional
        Folder to write to (default ``settings.BUILD_DIR``); created when missing. The build is
        written into a staging folder beside it and published in one rename, so the folder
        always holds one whole build; files an earlier build wrote and this one does not are
        gone. A second build into the same folder at the same time is refused.
    offline : bool
        Write HTML maps with no tiles at all. Maps always inline their scripts and work with
        no network; without ``offline`` tiles are an extra when reachable.
    cluster : bool or None, default None
        None clusters the event points (stacked events spiderfy when clicked), so every event
        can be opened, or, above :data:`khorasan_map.settings.CANVAS_THRESHOLD` points, draws
        them on one canvas layer (a click opens the nearest event). True always clusters;
        False draws every point as a marker of its own.
    tiles : str or None, default "default"
        Basemap of the online maps: an xyzservices name, ``"default"`` for
        :data:`khorasan_map.settings.TILES`, None or ``"none"`` for none.
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
    read_options : dict, optional
        Further :func:`khorasan_map.events.read_events` keywords for the in-memory engine, such
        as ``{"layer": "events"}`` for a GeoPackage with several layers or
        ``{"polygons": "representative_point"}``.

    Returns
    -------
    BuildResult

    Raises
    ------
    khorasan_map.errors.EventValidationError
        When rows are rejected and ``keep_going`` is false. Nothing is written then.
    khorasan_map.errors.OutputError
        When the folder cannot be written (a file in the way, a dangling link, locked by
        another build). The previous build is left as it was.
    OSError
        When writing fails (full disk, no permission), naming the file; the previous build is
        left as it was.
    KeyboardInterrupt
        On Ctrl-C or SIGTERM: the staging folder is removed, the previous build left as it was.

    Examples
    --------
    >>> from khorasan_map import build
    >>> result = build(out_dir="khorasan-maps")  # doctest: +SKIP
    >>> print(result.coverage_sentence)  # doctest: +SKIP
    """
    from khorasan_map.errors import EventValidationError
    from khorasan_map.events import rejected_reasons
    from khorasan_map.output import staged_folder
    from khorasan_map.scale import choose_engine
    from khorasan_map.worker import second_core

    step = on_step or (lambda message: None)
    out = Path(settings.BUILD_DIR if out_dir is None else out_dir)
    if sources and choose_engine(list(sources), engine) == "dask":
        with staged_folder(out, BUILD_FILES) as staging:
            result = _build_dask(list(sources), staging, offline, keep_going, source_format,
                                 scheduler, step)
            write_manifest(result, staging, rejected_reasons(result.n_rejected))
        return _published(result, out)
    step("Reading and validating events")
    with second_core() as beside:  # the report's process imports its libraries meanwhile
        read = read_sources(sources, source_format=source_format, **(read_options or {}))
        if len(read.rejected) and not keep_going:
            raise EventValidationError(_rejection_message(read.rejected), rejected=read.rejected)
        with staged_folder(out, BUILD_FILES) as staging:
            result = _write_build(read, staging, offline, step,
                                  {"cluster": cluster, "tiles": tiles},
                                  inputs=read.sources if sources else None, worker=beside)
    return _published(result, out)


#: Every file name a build may write (a folder holding only these is an earlier build's).
BUILD_FILES = frozenset({
    "index.html", "choropleth.html", "points.html", "timeline.html", "report.pdf",
    "report.png", "report.svg", "provinces.csv", "provinces.geojson", "coverage.json",
    "join_report.csv", "rejected.csv", "build.json",
    "events.csv", "events.geojson", "events.parquet", "datapackage.json",
})

#: What every output of a build with no event says.
NO_EVENTS_NOTE = "These files hold no Taliban-ISK events"


def left_out_reasons(read) -> dict[str, int]:
    """Return ``{reason: count}`` of the rows a read left out: rejected, or other conflicts.

    Parameters
    ----------
    read : khorasan_map.events.ValidationResult
        What :func:`read_sources` returned.

    Returns
    -------
    dict of str to int
        For the maps' "Left out" line and ``build.json``; empty when nothing was left out.
    """
    from khorasan_map.events import rejected_reasons

    reasons = rejected_reasons(len(read.rejected))
    if read.n_left_out:
        reasons["not Taliban-vs-ISK in Afghanistan"] = int(read.n_left_out)
    return reasons


def _write_build(read, out: Path, offline: bool, step, drawing=None, inputs=None,
                 worker=None) -> BuildResult:
    """Join, summarise and write every file of a build into ``out`` (the staging folder).

    ``drawing`` holds the maps' ``cluster`` and ``tiles`` choices; ``inputs`` names the event
    files read (None for the shipped records), for ``datapackage.json``. The tally, then the
    report and ``events.csv``, are made by ``worker`` (:func:`khorasan_map.worker.second_core`;
    here, in turn, when None) while the points are prepared and the maps written.
    """
    from khorasan_map import aggregate, render
    from khorasan_map.datapackage import events_table, write_datapackage
    from khorasan_map.export import save_html, save_json, save_table
    from khorasan_map.join import assign_provinces

    events, rejected = read.events, read.rejected
    result = BuildResult(out, n_input=read.n_input, n_valid=len(events), n_rejected=len(rejected),
                         problems=read.messages(limit=5))
    step("Joining events to provinces")
    joined = assign_provinces(events)
    result.join_summary = joined.summary_line()
    placed = joined.events
    left_out = left_out_reasons(read)
    texts = {"subtitle": NO_EVENTS_NOTE} if placed.empty else {}
    drawing = {"cluster": None, "tiles": "default", **(drawing or {})}

    def write(name, writer, obj, **options):
        step(f"Writing {name}")
        writer(obj, out / name, **options)
        result.written.append(out / name)

    if worker is None:
        from khorasan_map.worker import Inline

        worker = Inline()
    # Beside the maps and tables from here on: the tally, which every map and the report
    # read (computed once, there), then the report and events.csv.
    step("Summarising events and counting provinces; drawing the report")
    beside = worker.stream(_summarise_and_report, placed, out, left_out)
    try:
        prepared = render.prepare_points(placed)  # needs no tally: drawn while it is made
        summed = next(beside)
        counted, summary, cover = summed["tally"], summed["summary"], summed["coverage"]
        result.coverage_sentence = cover.sentence
        shared = {"summary": summary, "coverage": summed["headline"], "tiles": drawing["tiles"]}
        points = {"prepared": prepared, "cluster": _build_cluster(drawing["cluster"], prepared)}
        maps = {
            "index.html": (render.combined_map, {**shared, **points}),
            "choropleth.html": (render.choropleth_map, shared),
            "points.html": (render.points_map, {**points, "tiles": drawing["tiles"]}),
            "timeline.html": (render.timeline_map, {**shared, **points,
                                                     "summary": summed["by_year"],
                                                     "tally": counted}),
        }
        for name, (make, computed) in maps.items():
            write(name, save_html, make(placed, left_out=left_out, **texts, **computed),
                  offline=offline, inline=True)
        write("provinces.csv", save_table, summary)
        write("provinces.geojson", save_table, summary)
        points_file, skipped = events_points_file(len(placed))
        result.skipped += skipped
        write(points_file, save_table, events_table(placed))
        step("Finishing the report")
        result.written += next(beside)
    except BaseException:
        worker.shutdown(cancel_futures=True)  # it writes nothing into a folder being removed
        raise
    cover.dataset = aggregate.dataset_of(placed)  # the shipped records' version, if used
    write("coverage.json", save_json, cover.to_dict())
    if len(joined.report):
        write("join_report.csv", save_table, joined.report)
    if len(rejected):
        write("rejected.csv", save_table, rejected)
    result.written.append(write_datapackage(out, inputs, note=_no_events_note(result)))
    write_manifest(result, out, left_out)
    return result


def events_points_file(n_events: int) -> tuple[str, list[str]]:
    """Return the file a build writes its events into as points, and the note when not GeoJSON.

    Parameters
    ----------
    n_events : int
        Events in the build.

    Returns
    -------
    tuple of (str, list of str)
        ``"events.geojson"`` and no note, or, above
        :data:`khorasan_map.settings.GEOJSON_MAX_EVENTS` events (read at call time),
        ``"events.parquet"`` (GeoParquet) and the note saying why ``events.geojson`` is not
        written.

    Examples
    --------
    >>> events_points_file(34)
    ('events.geojson', [])
    """
    limit = settings.GEOJSON_MAX_EVENTS
    if n_events <= limit:
        return "events.geojson", []
    return "events.parquet", [
        f"events.geojson: {n_events:,} events is over settings.GEOJSON_MAX_EVENTS "
        f"({limit:,}); the same rows are in events.parquet (GeoParquet, EPSG:4326)"
    ]


def _build_cluster(cluster, prepared) -> bool | None:
    """Return the maps' clustering: the caller's choice, else clusters or the canvas layer.

    None is kept (so the maps draw a canvas layer) only above the canvas threshold; below it a
    build clusters, so stacked events can be opened.
    """
    from khorasan_map.pointlayer import uses_canvas

    if cluster is not None or uses_canvas(prepared.points["n"], None):
        return cluster
    return True


def _no_events_note(result: BuildResult) -> str:
    """Return the sentence build.json and datapackage.json add for a build with no event."""
    return NO_EVENTS_NOTE + "." if result.n_valid == 0 else ""


def write_manifest(result: BuildResult, out: Path, left_out: dict[str, int]) -> Path:
    """Write ``build.json``: the files of the build, its counts and what was left out, and why.

    Written last, into the staging folder: the next build reads it to know which files in the
    folder are a build's.

    Parameters
    ----------
    result : BuildResult
        The build so far; ``build.json`` is added to ``result.written``.
    out : pathlib.Path
        The folder being written.
    left_out : dict of str to int
        Rows left out, by reason (:func:`left_out_reasons`).

    Returns
    -------
    pathlib.Path
        The manifest written.
    """
    from khorasan_map.export import save_json
    from khorasan_map.output import BUILD_MANIFEST

    manifest = {
        "files": [p.name for p in result.written] + [BUILD_MANIFEST],
        "engine": result.engine,
        "rows_read": result.n_input,
        "events": result.n_valid,
        "rejected": result.n_rejected,
        "left_out": left_out,
        "not_written": result.skipped,
        "note": _no_events_note(result),
    }
    path = save_json(manifest, out / BUILD_MANIFEST)
    result.written.append(path)
    return path


def _published(result: BuildResult, out: Path) -> BuildResult:
    """Name the published folder in ``result`` instead of the staging folder it was built in."""
    result.out_dir = out
    result.written = [out / p.name for p in result.written]
    return result


def finish_three_ways(tally):
    """Finish one tally as every map and the report of a build read it.

    Parameters
    ----------
    tally : khorasan_map.aggregate.Tally
        The build's one tally of its placed events (either engine).

    Returns
    -------
    tuple
        The summary by province (every kind), the summary by province and year, and the
        headline coverage (clashes, as ``khorasan-map coverage`` answers by default).
    """
    from khorasan_map.aggregate import finish_coverage, finish_summary

    summary = finish_summary(tally)
    by_year = finish_summary(tally, by=("province", "year"))
    return summary, by_year, finish_coverage(tally)


def _build_dask(sources, out, offline, keep_going, source_format, scheduler, step):
    """:func:`build` with the Dask engine: one pass over the data, then every output.

    One compute reads, validates, places and tallies every partition
    (:func:`khorasan_map.scale.tally_dask`); the summary, the summary by year, the coverage,
    the rejected rows and the join counts are all finished from that one tally.
    """
    from khorasan_map import render
    from khorasan_map.datapackage import write_datapackage
    from khorasan_map.errors import EventValidationError
    from khorasan_map.events import rejected_reasons
    from khorasan_map.export import save_html, save_json, save_table
    from khorasan_map.join import join_sentence
    from khorasan_map.scale import tally_dask
    from khorasan_map.sources import expand_paths

    step("Reading, placing and counting events partition by partition (Dask)")
    tally = tally_dask(sources, format=source_format, scheduler=scheduler)
    if tally.n_rejected and not keep_going:
        raise EventValidationError(
            f"{tally.n_rejected:,} of {tally.n_input:,} rows were rejected; nothing was "
            "written (use --keep-going):\n" + "\n".join(f"  {x}" for x in tally.problems),
            rejected=tally.rejected,
        )
    tally.engine = "dask"
    summary, by_year, cover = finish_three_ways(tally)

    out.mkdir(parents=True, exist_ok=True)
    result = BuildResult(out, n_input=tally.n_input, n_valid=tally.n_input - tally.n_rejected,
                         n_rejected=tally.n_rejected, engine="dask")
    result.coverage_sentence = cover.sentence
    join = tally.join
    result.join_summary = join_sentence(
        join["n_input"], join["n_assigned"], join["n_unassigned"], join["by"],
        sum(join["cases"].values()), settings.BORDER_TOLERANCE_M, where="counts only",
    )
    result.skipped = [
        "points.html: the Dask engine does not hold every event in memory (use --engine "
        "pandas to draw points); index.html is the choropleth, with no points",
        "join_report.csv: the Dask engine gives the join as counts only",
        "events.csv, events.geojson: the Dask engine does not hold every event in memory "
        "(use --engine pandas for the events table)",
    ]

    def write(name, writer, obj, **options):
        step(f"Writing {name}")
        writer(obj, out / name, **options)
        result.written.append(out / name)

    left_out = rejected_reasons(result.n_rejected)
    choropleth = render.choropleth_map(summary, left_out=left_out)
    write("index.html", save_html, choropleth, offline=offline, inline=True)
    write("choropleth.html", save_html, choropleth, offline=offline, inline=True)
    write("timeline.html", save_html, render.timeline_map(by_year, left_out=left_out, tally=tally),
          offline=offline, inline=True)
    step("Drawing the report")
    result.written += _write_report(summary, out, left_out)
    write("provinces.csv", save_table, summary)
    write("provinces.geojson", save_table, summary)
    write("coverage.json", save_json, cover.to_dict())
    if result.n_rejected:
        write("rejected.csv", save_table, tally.rejected)
    inputs = [p.name for p in expand_paths(sources)]
    result.written.append(write_datapackage(out, inputs, note=_no_events_note(result)))
    return result


def _summarise_and_report(placed, out: Path, left_out):
    """Tally the placed events and yield what the maps read, then write the report and yield it.

    Run by a build's worker, beside the maps: the first value holds the ``tally``,
    ``summary``, ``by_year`` and ``coverage`` (:func:`finish_three_ways`) and the
    ``headline`` (:func:`khorasan_map.maptext.headline`); the second the files written by
    :func:`_write_report`, ``events.csv`` first.
    """
    from khorasan_map import aggregate, maptext

    counted = aggregate.tally(placed, engine="memory")
    summary, by_year, cover = finish_three_ways(counted)
    head = maptext.headline(placed, summary, coverage=cover)
    yield {"tally": counted, "summary": summary, "by_year": by_year, "coverage": cover,
           "headline": head}
    yield _write_report(placed, out, left_out,
                        {"summary": summary, "coverage": head, "by_year": by_year},
                        events_csv=True)


def _write_report(events, out: Path, left_out=None, computed=None, events_csv=False
                  ) -> list[Path]:
    """Draw the report once and write it as PDF (every page), PNG and SVG (the overview).

    ``computed`` holds what the build already computed (summary, coverage, by_year). With
    ``events_csv``, the events are also written to ``events.csv`` (first in the list): in a
    build this runs beside the maps, on the second core, which has time to spare for it.
    """
    from khorasan_map import static
    from khorasan_map.export import save_table

    texts = {"subtitle": NO_EVENTS_NOTE} if len(events) == 0 else {}
    pages = static.report_figures(events, multipage=True, left_out=left_out, **texts,
                                  **(computed or {}))
    written = [
        static.save_figures(pages, out / "report.pdf"),
        static.save_figures(pages[:1], out / "report.png"),
        static.save_figures(pages[:1], out / "report.svg"),
    ]
    if events_csv:  # the CSV has no geometry: the events as they are, no points table
        written.insert(0, save_table(events, out / "events.csv"))
    return written


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
