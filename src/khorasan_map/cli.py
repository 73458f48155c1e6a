"""The ``khorasan-map`` command.

Each command is a thin wrapper over the public API. Errors this package raises on purpose are
printed as one or two lines with no traceback (``--debug`` shows it) and exit with code 2.
"""

from __future__ import annotations

import sys

import click

from khorasan_map import __version__
from khorasan_map.errors import KhorasanMapError

#: Exit codes shared by every command.
EXIT_OK, EXIT_REJECTED, EXIT_UNUSABLE = 0, 1, 2


class _Group(click.Group):
    """A group that turns this package's errors into short messages."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KhorasanMapError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"Error: {exc}", err=True)
            sys.exit(EXIT_UNUSABLE)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="khorasan-map")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
@click.pass_context
def main(ctx, debug):
    """Map where the Afghan Taliban and Islamic State-Khorasan (ISK) have fought.

    With no EVENTS, every command works on the shipped, sourced dataset.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


@main.command()
@click.argument("events", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Folder to write to (default: ./khorasan-maps).")
@click.option("--offline", is_flag=True, help="Self-contained HTML maps: no tiles, no CDN.")
@click.option("--keep-going", is_flag=True,
              help="Write what is valid and rejected.csv when rows are rejected (exit 1).")
@click.option("--source", "source_format", default="auto", show_default=True,
              type=click.Choice(["auto", "khorasan", "acled", "ucdp"]), help="Format of EVENTS.")
def build(events, out_dir, offline, keep_going, source_format):
    """Write every standard map, report and table for EVENTS into one folder.

    With no EVENTS, builds from the shipped, sourced dataset.
    """
    from khorasan_map import settings
    from khorasan_map.build import build as run_build

    with _progress() as step:
        result = run_build(
            events,
            out_dir or settings.BUILD_DIR,
            offline=offline,
            keep_going=keep_going,
            source_format=source_format,
            on_step=step,
        )
    click.echo(result.coverage_sentence)
    click.echo(result.join_summary)
    click.echo(f"Wrote {len(result.written)} files to {result.out_dir}/:")
    for path in result.written:
        click.echo(f"  {path.name}")
    if result.n_rejected:
        rejected = result.out_dir / "rejected.csv"
        click.echo(f"{result.n_rejected:,} rows rejected: see {rejected}", err=True)
        sys.exit(EXIT_REJECTED)


class _progress:
    """A spinner with the current step on a terminal; silent when output is not a terminal."""

    def __enter__(self):
        self._status = None
        if sys.stderr.isatty():
            from rich.console import Console

            self._status = Console(stderr=True).status("Starting")
            self._status.__enter__()
        return self.update

    def update(self, message):
        if self._status is not None:
            self._status.update(message)

    def __exit__(self, *exc):
        if self._status is not None:
            self._status.__exit__(*exc)
        return False


if __name__ == "__main__":  # pragma: no cover
    main()
