"""What every command shares: exit codes, secret options, the size option, progress."""

from __future__ import annotations

import enum
import os
import sys
from collections.abc import Callable
from pathlib import Path

import click

from restorer.errors import SitepackError
from restorer.progress import Progress


class ExitCode(enum.IntEnum):
    OK = 0
    FAILED = 1
    WARNINGS = 2


def secret_options(name: str, what: str):
    """Adds ``--NAME-env VAR`` and ``--NAME-file FILE`` for one secret.

    Secrets are never plain arguments: they would show in the process list and in shell
    history. ``resolve_secret`` reads them back.
    """

    def decorate(func):
        func = click.option(
            f"--{name}-file", f"{name.replace('-', '_')}_file", metavar="FILE",
            type=click.Path(dir_okay=False, path_type=Path),
            help=f"Read the {what} from the first line of FILE.")(func)
        func = click.option(
            f"--{name}-env", f"{name.replace('-', '_')}_env", metavar="VAR",
            help=f"Read the {what} from environment variable VAR.")(func)
        return func

    return decorate


def https_options(func):
    """``--cert``, ``--key`` and ``--insecure-http``: how a web server listens (``restorer.web.tls``)."""
    func = click.option("--insecure-http", is_flag=True,
                        help="Serve plain HTTP beyond 127.0.0.1 (passwords cross the network in clear).")(func)
    func = click.option("--key", type=click.Path(dir_okay=False, exists=True, path_type=Path),
                        help="The private key of --cert (PEM).")(func)
    return click.option("--cert", type=click.Path(dir_okay=False, exists=True, path_type=Path),
                        help="HTTPS certificate (PEM); beyond 127.0.0.1 a self-signed one is made "
                             "without it.")(func)


def resolve_secret(what: str, env: str | None, file: Path | None, *, required: bool,
                   confirm: bool = False) -> str | None:
    """The secret from the environment, a file or, on a terminal, a prompt.

    Returns ``None`` when it is not required and nothing was given.
    """
    if env and file:
        raise SitepackError(f"give the {what} either with an environment variable or a file, not both")
    if env:
        value = os.environ.get(env)
        if value is None:
            raise SitepackError(f"environment variable {env} is not set (it should hold the {what})")
        if value == "":
            raise SitepackError(f"environment variable {env} is empty (it should hold the {what})")
        return value
    if file:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise SitepackError(f"cannot read the {what} from {file}: {exc.strerror}") from None
        value = text.splitlines()[0] if text else ""
        if not value:
            raise SitepackError(f"{file} is empty (its first line should hold the {what})")
        return value
    if not required:
        return None
    ask = ask_on_terminal(what, confirm=confirm)
    if ask is None:
        raise SitepackError(
            f"this needs the {what}: pass --…-env VAR or --…-file FILE (no terminal to ask on)")
    return ask()


def ask_on_terminal(what: str, *, confirm: bool = False) -> Callable[[], str] | None:
    """A hidden prompt for the secret ``what``, or ``None`` when there is no terminal."""
    if not sys.stdin.isatty():
        return None
    return lambda: click.prompt(f"{what[0].upper()}{what[1:]}", hide_input=True,
                                confirmation_prompt=confirm)


class SizeType(click.ParamType):
    name = "SIZE"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        # Imported here: the profiles pull in the archive writers, which commands without
        # a size option (extract, ls, verify) need not pay for.
        from packer.profiles import parse_size
        try:
            return parse_size(value)
        except SitepackError as exc:
            self.fail(str(exc), param, ctx)


SIZE = SizeType()


def progress(label: str, total: float | None = None, *, unit: str = "bytes",
             quiet: bool = False) -> Progress:
    """A progress reporter on stderr: a bar on a terminal, plain lines when piped."""
    return Progress(label, total, unit=unit, enabled=not quiet)
