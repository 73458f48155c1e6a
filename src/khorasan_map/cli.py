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


if __name__ == "__main__":  # pragma: no cover
    main()
