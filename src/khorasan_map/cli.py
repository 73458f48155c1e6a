"""The ``khorasan-map`` command.

Each command is a thin wrapper over the public API. Errors this package raises on purpose, and
faults reading or writing files, are printed as one line with no traceback (``--debug`` shows
it). Every command exits with a code from :data:`EXIT_CODES`, and every character it prints
from the data has its control characters escaped (:func:`khorasan_map.output.escape_control`).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys

import click

from khorasan_map import __version__
from khorasan_map.errors import EventValidationError, KhorasanMapError

#: Exit codes shared by every command.
EXIT_OK, EXIT_REJECTED, EXIT_UNUSABLE, EXIT_INTERRUPTED = 0, 1, 2, 130

#: What each exit code means, for the README and every command's ``--help``.
EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_REJECTED: "rows rejected and named; the rest used (build: only with --keep-going)",
    EXIT_UNUSABLE: "unusable input, usage error, output fault (old files kept) or a bug",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C or SIGTERM); no half-written file is left",
}

_EXIT_HELP = "\b\nExit codes:\n" + "\n".join(
    f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES.items()
)


def _describe(exc: BaseException) -> str:
    """One line for an error: the path and the cause for a file fault, else the message."""
    if isinstance(exc, OSError) and not isinstance(exc, KhorasanMapError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or exc}"
    return str(exc)


class _Group(click.Group):
    """A group that turns errors into short messages and exit codes, and escapes its output."""

    def main(self, *args, **kwargs):
        from khorasan_map.output import interrupt_on

        with _escaped_output(), interrupt_on(signal.SIGINT, signal.SIGTERM):
            return super().main(*args, **kwargs)

    def invoke(self, ctx):
        debug = bool(ctx.obj and ctx.obj.get("debug"))
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted: nothing half-written was left.", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except EventValidationError as exc:
            if debug:
                raise
            click.echo(f"Error: {exc}", err=True)
            sys.exit(EXIT_REJECTED)
        except (KhorasanMapError, OSError) as exc:
            if debug:
                raise
            click.echo(f"Error: {_describe(exc)}", err=True)
            sys.exit(EXIT_UNUSABLE)
        except Exception as exc:
            if debug:
                raise
            click.echo(f"Error: internal error ({type(exc).__name__}: {exc}); run "
                       "'khorasan-map --debug ...' for the traceback and please report it",
                       err=True)
            sys.exit(EXIT_UNUSABLE)


@contextlib.contextmanager
def _escaped_output():
    """Escape control characters in everything printed to stdout and stderr."""
    from khorasan_map.output import EscapingStream

    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = EscapingStream(sys.stdout), EscapingStream(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]},
             epilog=_EXIT_HELP)
@click.version_option(__version__, prog_name="khorasan-map")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
@click.pass_context
def main(ctx, debug):
    """Map where the Afghan Taliban and Islamic State-Khorasan (ISK) have fought.

    With no EVENTS, every command works on the shipped, sourced dataset.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


# --------------------------------------------------------------------------------------------
# Options shared by several commands
# --------------------------------------------------------------------------------------------

_EVENTS_ARGUMENT = click.argument("events", nargs=-1, type=click.Path(dir_okay=True))

_SOURCE_OPTION = click.option(
    "--source",
    "source_format",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "khorasan", "acled", "ucdp"]),
    help="Format of EVENTS (detected from the columns by default).",
)


def _reader_options(command):
    """Add --layer (a GeoPackage with several layers) and --polygons (shapes, not points)."""
    command = click.option(
        "--polygons", default="refuse", show_default=True,
        type=click.Choice(["refuse", "representative-point"]),
        help="Events given as polygons or lines: refuse the rows, or place each at a point "
             "inside its shape at district precision.")(command)
    return click.option(
        "--layer", default=None, metavar="NAME",
        help="Layer to read from a GeoPackage that holds several.")(command)


def _reader_settings(layer, polygons) -> dict:
    """Return the read_events keywords that --layer and --polygons change (none by default)."""
    given = {"layer": layer, "polygons": polygons.replace("-", "_")}
    return {k: v for k, v in given.items() if v not in (None, "refuse")}


def _checked(parse):
    """Return a click callback that runs ``parse(value)`` on a given value.

    A ``ValueError`` from ``parse`` becomes click's usage error naming the option, before any
    file is read; None (the option not given) passes through unparsed.
    """

    def callback(ctx, param, value):
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None

    return callback


def _parse_date(end=False):
    """Return a click callback that parses a date option (``YYYY-MM-DD``, ``YYYY-MM``, ``YYYY``)."""

    def parse(value):
        from khorasan_map.aggregate import parse_date

        return parse_date(value, end=end, name="")

    return _checked(parse)


def _check_kinds(value):
    """Check a ``--kind`` value (the readers keep only known kinds); return it as given."""
    from khorasan_map.aggregate import parse_kinds

    parse_kinds(value)
    return value


def _check_scheme(value):
    """Check a ``--scheme`` value; return it as given."""
    from khorasan_map.classify import normalize_scheme

    normalize_scheme(value)
    return value


def _number_list(value):
    """Parse ``--bins``: comma-separated numbers, or None when empty."""
    if not value:
        return None
    try:
        return [float(b) for b in value.split(",")]
    except ValueError:
        raise ValueError(f"{value!r} is not a comma-separated list of numbers") from None


def _filter_options(verb, kind_default=None):
    """Add the --since, --until, --kind and --min-confidence options, worded for ``verb``."""

    def decorate(command):
        for option in reversed(
            [
                click.option("--since", callback=_parse_date(),
                             help=f"First day {verb} (YYYY-MM-DD, YYYY-MM or YYYY)."),
                click.option("--until", callback=_parse_date(end=True),
                             help=f"Last day {verb}, inclusive."),
                click.option("--kind", "kinds", default=kind_default,
                             callback=_checked(_check_kinds), show_default=kind_default is not None,
                             help=f"Kinds {verb}, comma-separated, or 'all'."),
                click.option("--min-confidence", help=f"Lowest confidence grade {verb}.",
                             type=click.Choice(["low", "medium", "high"], case_sensitive=False)),
            ]
        ):
            command = option(command)
        return command

    return decorate


def _class_options(command):
    """Add the --metric, --scheme, --k and --bins options of the choropleth maps."""
    for option in reversed(
        [
            click.option("--metric", "column", default="events", show_default=True,
                         help="Summary column for the provinces (events, n_clash, n_defection, "
                              "fatalities, ...)."),
            click.option("--scheme", default=None, callback=_checked(_check_scheme),
                         help="Classification: quantiles, natural_breaks, equal_interval or "
                              "user_defined (with --bins)."),
            click.option("--k", type=click.IntRange(min=1), default=None,
                         help="Number of classes."),
            click.option("--bins", default=None, callback=_checked(_number_list),
                         help="Class upper bounds for user_defined, e.g. 1,3,10."),
        ]
    ):
        command = option(command)
    return command


def _check_window(since, until):
    if since is not None and until is not None and since > until:
        raise click.BadParameter(
            f"since {since:%Y-%m-%d} is after until {until:%Y-%m-%d}", param_hint="'--since'"
        )


def _read_events_argument(paths, source_format, **reader):
    """Read EVENTS (or the shipped data); rejected rows are named on stderr, never hidden.

    Returns the valid events and ``{reason: count}`` of the rows left out, for the maps.
    """
    from khorasan_map.events import read_events, rejected_reasons

    if not paths:
        return read_events(), {}
    result = read_events(list(paths), format=source_format, on_invalid="report", **reader)
    if len(result.rejected):
        click.echo(
            f"{len(result.rejected):,} of {result.n_input:,} rows rejected as invalid and not "
            "counted (run 'khorasan-map validate' for every row):",
            err=True,
        )
        for line in result.messages(limit=5):
            click.echo(f"  {line}", err=True)
    return result.events, rejected_reasons(len(result.rejected))


def _engine_options(command):
    """Add --engine and --scheduler (the Dask engine for inputs larger than memory)."""
    command = click.option(
        "--scheduler", envvar="DASK_SCHEDULER_ADDRESS", default=None, metavar="ADDRESS",
        help="Dask scheduler for --engine dask, e.g. tcp://10.0.0.5:8786 (default: "
             "$DASK_SCHEDULER_ADDRESS, else local threads).")(command)
    return click.option(
        "--engine", default="auto", show_default=True,
        type=click.Choice(["auto", "pandas", "dask"]),
        help="pandas: in memory; dask: partition by partition, for inputs larger than memory; "
             "auto: dask when the estimated peak memory is over half the memory free.")(command)


@contextlib.contextmanager
def _options_checked():
    """Turn a ValueError about the options (a --metric column, --bins) into a usage error."""
    try:
        yield
    except ValueError as exc:
        if isinstance(exc, KhorasanMapError):
            raise
        raise click.BadParameter(str(exc)) from None


def _expand_events(events):
    """Expand globs and folders in EVENTS (quoted globs reach us unexpanded), for every command."""
    from khorasan_map.sources import expand_paths

    return [str(p) for p in expand_paths(events)] if events else []


def _uses_dask(paths, engine):
    from khorasan_map.scale import choose_engine

    return bool(paths) and choose_engine(paths, engine) == "dask"


def _report_scale(info):
    """Name rejected rows on stderr for the Dask engine, as _read_events_argument does."""
    if info.get("n_rejected"):
        click.echo(
            f"{info['n_rejected']:,} of {info['n_input']:,} rows rejected as invalid and not "
            "counted (run 'khorasan-map validate' for every row):",
            err=True,
        )
        for line in info.get("problems", [])[:5]:
            click.echo(f"  {line}", err=True)


#: ``--tiles`` of map and build: the basemap of online maps.
_TILES_OPTION = click.option(
    "--tiles", default="default", show_default=True, metavar="NAME",
    help="Basemap tiles of online maps: an xyzservices name (OpenStreetMap.Mapnik, "
         "Esri.WorldImagery...), 'default' for settings.TILES, or 'none' (the province "
         "outlines are then the basemap). --offline maps never load tiles.")


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


@main.command(epilog=_EXIT_HELP)
@_EVENTS_ARGUMENT
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Folder to write to (default: ./khorasan-maps).")
@click.option("--offline", is_flag=True,
              help="No tiles at all. Maps always inline their scripts and work with no "
                   "network; without --offline tiles are an extra when reachable.")
@click.option("--keep-going", is_flag=True,
              help="Write what is valid and rejected.csv when rows are rejected (exit 1).")
@click.option("--cluster/--no-cluster", default=None,
              help="Cluster event points; stacked events spread out when clicked (default: "
                   "clustered, or one canvas layer above settings.CANVAS_THRESHOLD points).")
@_TILES_OPTION
@_SOURCE_OPTION
@_reader_options
@_engine_options
def build(events, out_dir, offline, keep_going, cluster, tiles, source_format, layer, polygons,
          engine, scheduler):
    """Write every standard map, report and table for EVENTS into one folder.

    With no EVENTS, builds from the shipped, sourced dataset.
    """
    from khorasan_map import settings
    from khorasan_map.pipeline import build as run_build

    events = _expand_events(events)
    if tiles.strip().lower() not in ("default", "none", ""):
        from khorasan_map.render import tile_provider

        with _options_checked():  # an unknown name, or tiles that need a key
            tile_provider(tiles)
    with _progress() as step:
        result = run_build(
            events,
            out_dir or settings.BUILD_DIR,
            offline=offline,
            keep_going=keep_going,
            source_format=source_format,
            engine=engine,
            scheduler=scheduler,
            on_step=step,
            cluster=cluster,
            tiles=tiles,
            read_options=_reader_settings(layer, polygons),
        )
    click.echo(result.coverage_sentence)
    click.echo(result.join_summary)
    click.echo(f"Wrote {len(result.written)} files to {result.out_dir}/:")
    for path in result.written:
        click.echo(f"  {path.name}")
    for note in result.skipped:
        click.echo(f"Not written: {note}")
    if result.n_rejected:
        rejected = result.out_dir / "rejected.csv"
        click.echo(f"{result.n_rejected:,} rows rejected: see {rejected}", err=True)
        for line in result.problems:
            click.echo(f"  {line}", err=True)
        sys.exit(EXIT_REJECTED)


class _progress:
    """The current step on one line of a terminal; silent when stderr is not a terminal.

    The line is redrawn at each step, with no refresh thread, so the build may fork a worker
    process safely while it shows.
    """

    def __enter__(self):
        self._live = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.live import Live

            stderr = getattr(sys.stderr, "unescaped", sys.stderr)  # rich draws with ANSI codes
            self._live = Live(console=Console(file=stderr), auto_refresh=False, transient=True)
            self._live.__enter__()
        return self.update

    def update(self, message):
        if self._live is not None:
            self._live.update(f"[dim]khorasan-map:[/dim] {message}...", refresh=True)

    def __exit__(self, *exc):
        if self._live is not None:
            self._live.__exit__(*exc)
        return False


@main.command("coverage", epilog=_EXIT_HELP)
@_EVENTS_ARGUMENT
@_filter_options("counted", kind_default="clash")
@_SOURCE_OPTION
@click.option("--split-date", callback=_parse_date(),
              help="First day of the 'after' side of the split (default: settings.SHIFT_DATE, "
                   "2021-08-15).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@_reader_options
@_engine_options
def coverage_command(events, since, until, kinds, min_confidence, source_format, split_date,
                     as_json, layer, polygons, engine, scheduler):
    """Count the provinces where Taliban-ISK clashes (or other kinds) were recorded.

    Prints the coverage sentence, the provinces, counts by year and the split before and after
    --split-date. With no EVENTS, uses the shipped dataset; several files are counted together.
    """
    import json

    from khorasan_map import settings
    from khorasan_map.aggregate import coverage

    _check_window(since, until)
    events = _expand_events(events)
    split = settings.SHIFT_DATE if split_date is None else split_date
    window = {"since": since, "until": until, "kinds": kinds, "min_confidence": min_confidence,
              "split_date": split}
    if _uses_dask(events, engine):
        cov = coverage(events, engine="dask", format=source_format, on_invalid="report",
                       scheduler=scheduler, **window)
        _report_scale(cov.scale)
        rejected = bool(cov.scale.get("n_rejected"))
    else:
        frame, left_out = _read_events_argument(events, source_format,
                                                 **_reader_settings(layer, polygons))
        rejected = bool(left_out)
        cov = coverage(frame, engine="memory", **window)
    if as_json:
        click.echo(json.dumps(cov.to_dict(), ensure_ascii=False, indent=2))
        sys.exit(EXIT_REJECTED if rejected else EXIT_OK)
    click.echo(cov.sentence)
    named = [f"{name} ({code})"
             for code, name in zip(cov.province_codes, cov.provinces, strict=True)]
    click.echo(f"Provinces: {', '.join(named) if named else 'none'}")
    for label, key in ((f"Before {cov.split_date}", "before"),
                       (f"From {cov.split_date}", "after")):
        side = getattr(cov, key)
        codes = ", ".join(side["province_codes"]) or "none"
        click.echo(f"{label}: {side['sentence']} [{codes}]")
        for answer in cov.by_confidence.values():
            graded = answer[key]
            codes = ", ".join(graded["province_codes"]) or "none"
            click.echo(f"  at {answer['label']}: {graded['provinces_with_events']} of "
                       f"{cov.total_provinces} [{codes}]")
    if cov.by_year:
        click.echo("Provinces by year: "
                   + ", ".join(f"{year}: {n}" for year, n in cov.by_year.items()))
    reasons = "; ".join(f"{reason}: {n:,}" for reason, n in cov.left_out_reasons.items())
    click.echo(f"Counted {cov.n_events:,} events; left out {cov.n_left_out:,}"
               + (f" ({reasons})" if reasons else ""))
    if cov.dataset:
        click.echo(f"Records: {cov.dataset['name']} {cov.dataset['version']} "
                   f"({cov.dataset['date']})")
    sys.exit(EXIT_REJECTED if rejected else EXIT_OK)


@main.command("export", epilog=_EXIT_HELP)
@_EVENTS_ARGUMENT
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="File to write: .png, .svg or .pdf.")
@_class_options
@_filter_options("mapped")
@click.option("--title", default=None, help="Title printed on the map.")
@click.option("--subtitle", default=None, help="Subtitle printed under the title.")
@click.option("--page", default="a4-landscape", show_default=True,
              help="a4, letter or a3, -portrait or -landscape.")
@click.option("--dpi", type=click.IntRange(min=10), default=200, show_default=True,
              help="Resolution of PNG output.")
@click.option("--multipage", is_flag=True,
              help="PDF: overview, the years side by side (or a page per kind), then tables.")
@click.option("--pages-by", type=click.Choice(["year", "kind"]), default="year", show_default=True)
@click.option("--no-points", is_flag=True, help="Do not draw event points on the map.")
@_SOURCE_OPTION
@_reader_options
def export_command(events, output, column, scheme, k, bins, since, until, kinds, min_confidence,
                   title, subtitle, page, dpi, multipage, pages_by, no_points, source_format,
                   layer, polygons):
    """Write a static map for a report (PNG, SVG or PDF), with no browser and no network.

    With no EVENTS, maps the shipped dataset.
    """
    from pathlib import Path

    from khorasan_map.static import STATIC_FORMATS, export_static, page_size

    if Path(output).suffix.lower() not in STATIC_FORMATS:
        raise click.BadParameter(
            f"{output!r}: static maps are written as {', '.join(STATIC_FORMATS)} (for HTML use "
            "'khorasan-map map')", param_hint="'-o'")
    try:
        page_size(page)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--page'") from None
    if multipage and not output.lower().endswith(".pdf"):
        raise click.BadParameter("--multipage needs a .pdf file", param_hint="'-o'")
    _check_window(since, until)
    # read_events expands globs and folders itself, with sources.expand_paths
    frame, left_out = _read_events_argument(events, source_format,
                                            **_reader_settings(layer, polygons))
    with _options_checked():
        path = export_static(
            frame, output, column=column, scheme=scheme, k=k, bins=bins, since=since,
            until=until, kinds=kinds, min_confidence=min_confidence, points=not no_points,
            title=title, subtitle=subtitle, page=page, dpi=dpi, multipage=multipage,
            pages_by=pages_by, left_out=left_out,
        )
    click.echo(f"Wrote {path}")
    sys.exit(EXIT_REJECTED if left_out else EXIT_OK)


@main.command("validate", epilog=_EXIT_HELP)
@click.argument("events", nargs=-1, type=click.Path(dir_okay=True))
@_SOURCE_OPTION
@click.option("--rejected", "rejected_path", type=click.Path(dir_okay=False),
              help="Write the rejected rows, with their reasons, to this CSV file.")
@click.option("--keep-all", is_flag=True,
              help="ACLED/UCDP: keep rows outside the Taliban-ISK rivalry (kind 'other').")
@click.option("--today", default=None, help="Reject dates after this day (default: today).")
@_reader_options
def validate_command(events, source_format, rejected_path, keep_all, today, layer, polygons):
    """Check event files row by row and say what is wrong, where.

    Exits 0 when every row is valid, 1 when rows were rejected, 2 when an input cannot be used
    (missing, unreadable, no usable columns). With no EVENTS, checks the shipped dataset.
    """
    from khorasan_map.events import read_events

    # read_events expands globs and folders itself, with sources.expand_paths
    result = read_events(list(events) or None, format=source_format,
                         on_invalid="report", keep_all=keep_all, today=today,
                         **_reader_settings(layer, polygons))
    click.echo(result.summary())
    limit = 20
    for line in result.messages("problems", limit=limit):
        click.echo(f"  {line}")
    for line in result.messages("warnings", limit=limit):
        click.echo(f"  warning: {line}")
    if len(result.problems) > limit and not rejected_path:
        click.echo("  (use --rejected FILE.csv to get every rejected row)")
    if rejected_path:
        from khorasan_map.output import write_csv

        write_csv(result.rejected, rejected_path)
        click.echo(f"Wrote {len(result.rejected):,} rejected rows to {rejected_path}")
    sys.exit(EXIT_REJECTED if len(result.rejected) else EXIT_OK)


@main.command("map", epilog=_EXIT_HELP)
@_EVENTS_ARGUMENT
@click.option("--type", "map_type", default="choropleth", show_default=True,
              type=click.Choice(["choropleth", "points", "combined", "timeline"]),
              help="Kind of map.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="HTML file to write.")
@click.option("--offline", is_flag=True,
              help="No tiles at all. The map always inlines its scripts and works with no "
                   "network; without --offline tiles are an extra when reachable.")
@_class_options
@_filter_options("mapped")
@click.option("--title", default=None, help="Title shown on the map.")
@click.option("--subtitle", default=None, help="Subtitle shown under the title.")
@click.option("--cluster/--no-cluster", default=None,
              help="Cluster event points (default: above 300 points); stacked events spread "
                   "out when clicked.")
@_TILES_OPTION
@_SOURCE_OPTION
@_reader_options
@_engine_options
def map_command(events, map_type, output, offline, column, scheme, k, bins, since, until, kinds,
                min_confidence, title, subtitle, cluster, tiles, source_format, layer, polygons,
                engine,
                scheduler):
    """Write an interactive HTML map: choropleth, points, combined layers or a year slider.

    With no EVENTS, maps the shipped dataset. Every text from the data is escaped; the file
    opens with no network (scripts inlined), and --offline leaves out the tiles too.
    """
    from pathlib import Path

    from khorasan_map import render
    from khorasan_map.export import save_html

    _check_window(since, until)
    events = _expand_events(events)
    if _uses_dask(events, engine):
        if map_type in ("points", "combined"):
            raise click.UsageError(f"--type {map_type} draws every event, which needs them in "
                                   "memory: use --engine pandas, or --type choropleth/timeline")
        from khorasan_map.scale import summarize_dask

        by = ("province", "year") if map_type == "timeline" else "province"
        frame = summarize_dask(events, by=by, since=since, until=until, kinds=kinds,
                               min_confidence=min_confidence, format=source_format,
                               on_invalid="report", scheduler=scheduler)
        from khorasan_map.events import rejected_reasons

        left_out = rejected_reasons(frame.attrs["scale"]["n_rejected"])
        _report_scale(frame.attrs["scale"])
    else:
        frame, left_out = _read_events_argument(events, source_format,
                                                **_reader_settings(layer, polygons))
    common = dict(since=since, until=until, kinds=kinds, min_confidence=min_confidence,
                  title=title, subtitle=subtitle, left_out=left_out, tiles=tiles)
    if map_type != "choropleth":
        common["cluster"] = cluster
    with _options_checked():  # an unknown --metric column, bins that do not fit the data
        if map_type == "points":
            m = render.points_map(frame, **common)
        else:
            make = {"choropleth": render.choropleth_map, "combined": render.combined_map,
                    "timeline": render.timeline_map}[map_type]
            m = make(frame, column, scheme=scheme, k=k, bins=bins, **common)
    path = save_html(m, output, offline=offline, inline=True)
    size = Path(path).stat().st_size
    click.echo(f"Wrote {map_type} map to {path} ({size / 1024:,.0f} KB"
               + (", offline" if offline else "") + ")")
    sys.exit(EXIT_REJECTED if left_out else EXIT_OK)


def run() -> None:
    """Run the ``khorasan-map`` command, then end the process without tearing Python down.

    What the ``khorasan-map`` script and ``python -m khorasan_map.cli`` call. The command's
    exit code (:data:`EXIT_CODES`) is kept. Once it has run, the exit handlers run (as
    :mod:`atexit` runs them) and the output is flushed; then the process ends at once, where
    Python would go on to free every module and object of geopandas, folium and matplotlib
    one by one (0.15 to 0.25 s of a 2.8 s build) before the system frees them anyway. Call
    :data:`main` to run a command and keep the interpreter (as the tests do).
    """
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    else:
        code = EXIT_OK
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if not (code is None or isinstance(code, int)) or run_exit_handlers is None:
        raise SystemExit(code)  # a message to print, or no way to run the handlers: as usual
    run_exit_handlers()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream
            stream.flush()
    os._exit(code or EXIT_OK)


if __name__ == "__main__":  # pragma: no cover
    run()
