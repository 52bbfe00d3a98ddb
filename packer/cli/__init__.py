"""The ``sitepack`` command line.

Each command lives in its own ``*_cmd.py`` module beside this file and exposes
``command`` (a click command or group) named like the module. Commands only parse
arguments and print; the work is done in the library. Only modules that exist are
listed, so the command list is always exactly what works. A command's module is
imported when that command runs: ``sitepack extract`` does not pay for the web UI's
and the database's imports (about half a second).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click

from restorer import __version__
from restorer.errors import SitepackError

from .common import ExitCode


_COMMAND_SUFFIX = "_cmd"


class _Group(click.Group):
    """Loads commands from their modules on demand; turns a ``SitepackError`` into one
    clear line and exit code 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(info.name[:-len(_COMMAND_SUFFIX)] for info in pkgutil.iter_modules(__path__)
                      if info.name.endswith(_COMMAND_SUFFIX))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.list_commands(ctx):
            return None
        return importlib.import_module(f"{__name__}.{name}{_COMMAND_SUFFIX}").command

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
