"""``sitepack profiles``: list, show, set and delete backup profiles (B11)."""

from __future__ import annotations

import json

import click

from packer import profiles
from restorer.errors import SitepackError

from .common import resolve_secret, secret_options


@click.group("profiles")
def command() -> None:
    """Named backup settings: output dir, format, filters, execution times…"""


@command.command("list")
def list_cmd() -> None:
    for name in profiles.list_profiles():
        click.echo(name)


@command.command("show")
@click.argument("name", default=profiles.DEFAULT_PROFILE)
def show_cmd(name: str) -> None:
    """The profile's settings as JSON (a stored archive password shows as ***)."""
    data = profiles.load(name).to_dict()
    if data["archive_password"]:
        data["archive_password"] = "***"
    click.echo(json.dumps(data, indent=1, ensure_ascii=False))


def _parse(assignment: str) -> tuple[list[str], object]:
    key, sep, raw = assignment.partition("=")
    if not sep or not key:
        raise SitepackError(f"{assignment!r} is not KEY=VALUE (e.g. format=zip, "
                            f"filters.exclude_dirs='[\"images/big\"]')")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw  # plain text: a path, a name template, a format
    return key.split("."), value


@command.command("set")
@click.argument("name")
@click.argument("assignments", nargs=-1, metavar="KEY=VALUE...")
@secret_options("archive-password", "default archive password")
def set_cmd(name: str, assignments: tuple[str, ...], archive_password_env, archive_password_file):
    """Change settings of profile NAME (created when missing); values are JSON or text.

    Example: sitepack profiles set nightly format=jps part_size=104857600
    filters.exclude_dirs='["images/big"]' --archive-password-env KEY
    """
    try:
        data = profiles.load(name).to_dict()
    except SitepackError:
        if name in profiles.list_profiles():
            raise
        data = profiles.Profile(name=name).to_dict()
    for assignment in assignments:
        path, value = _parse(assignment)
        if path[0] == "archive_password":
            raise SitepackError("give the archive password with --archive-password-env VAR or "
                                "--archive-password-file FILE, never on the command line")
        target = data
        for part in path[:-1]:
            if not isinstance(target.get(part), dict):
                raise SitepackError(f"{'.'.join(path)}: {part!r} is not a group of settings")
            target = target[part]
        target[path[-1]] = value
    secret = resolve_secret("default archive password", archive_password_env,
                            archive_password_file, required=False)
    if secret:
        data["archive_password"] = secret
    profiles.save(data, name=name)
    click.echo(f"profile {name!r} saved")


@command.command("delete")
@click.argument("name")
def delete_cmd(name: str) -> None:
    profiles.delete(name)
    click.echo(f"profile {name!r} deleted")
