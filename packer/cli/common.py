"""What every command shares: exit codes, secret options, size parsing, progress."""

from __future__ import annotations

import enum
import os
import re
import sys
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
    """``--cert``, ``--key`` and ``--insecure-http``: how a web server listens (``restorer.tls``)."""
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
    if not sys.stdin.isatty():
        raise SitepackError(
            f"this needs the {what}: pass --…-env VAR or --…-file FILE (no terminal to ask on)")
    return click.prompt(f"{what[0].upper()}{what[1:]}", hide_input=True,
                        confirmation_prompt=confirm)


_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4}


def parse_size(text: str) -> int:
    """``"64K"``, ``"2MiB"``, ``"1.5G"``, ``"65536"`` → bytes (binary units)."""
    match = _SIZE_RE.match(text)
    if not match:
        raise click.BadParameter(f"{text!r} is not a size; write it like 65536, 64K, 20M or 2G")
    number, unit, _ = match.groups()
    return int(float(number) * _SIZE_UNITS[unit.lower()])


class SizeType(click.ParamType):
    name = "SIZE"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            return parse_size(value)
        except click.BadParameter as exc:
            self.fail(exc.message, param, ctx)


SIZE = SizeType()

ARCHIVE_FORMATS = ("jpa", "jps", "jps2", "zip")


def progress(label: str, total: float | None = None, *, unit: str = "bytes",
             quiet: bool = False) -> Progress:
    """A progress reporter on stderr: a bar on a terminal, plain lines when piped."""
    return Progress(label, total, unit=unit, enabled=not quiet)
