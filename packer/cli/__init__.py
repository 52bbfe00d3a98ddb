"""The ``sitepack`` command line.

Each command lives in its own ``*_cmd.py`` module beside this file and exposes
``command`` (a click command or group). Commands only parse arguments and print; the
work is done in the library. Only modules that exist are registered, so the command
list is always exactly what works.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click

from restorer import __version__
from restorer.errors import SitepackError

from .common import ExitCode


class _Group(click.Group):
    """Turns a ``SitepackError`` into one clear line and exit code 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SitepackError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(ExitCode.FAILED)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sitepack")
def main() -> None:
    """Pack a PHP/MySQL website into one restorable archive and bring it back to life.

    Exit codes: 0 ok, 1 failed, 2 done with warnings.
    """


def _register_commands() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.endswith("_cmd"):
            module = importlib.import_module(f"{__name__}.{info.name}")
            main.add_command(module.command)


_register_commands()
